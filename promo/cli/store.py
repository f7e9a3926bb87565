"""``promo migrate``: create or upgrade the database tables."""

from __future__ import annotations

import click

from promo.cli.common import App, pass_app
from promo.settings import mask_url
from promo.store.migrate import current_revision


@click.command()
@pass_app
def migrate(app: App) -> None:
    """Create or upgrade the database tables (safe to run twice, or from two places at once).

    \b
    Example:
        promo migrate
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo migrate
    """
    engine = app.engine  # opening the store migrates it
    click.echo(f"{mask_url(app.settings.database)}: at revision {current_revision(engine)}")
