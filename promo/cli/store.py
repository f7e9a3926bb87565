"""``promo migrate``: create or upgrade the database tables."""

from __future__ import annotations

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.settings import mask_url
from promo.store.migrate import current_revision


@click.command()
@json_option
@pass_app
def migrate(app: App, as_json: bool) -> None:
    """Create or upgrade the database tables (safe to run twice, or from two places at once).

    \b
    Example:
        promo migrate
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo migrate
    """
    engine = app.engine  # opening the store migrates it
    database, revision = mask_url(app.settings.database), current_revision(engine)
    if as_json:
        emit_json({"database": database, "revision": revision})
        return
    click.echo(f"{database}: at revision {revision}")
