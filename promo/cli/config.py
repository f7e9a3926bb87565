"""``promo config``: the effective settings, secrets masked."""

from __future__ import annotations

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.manage.accounts import credential_states


@click.command()
@json_option
@pass_app
def config(app: App, as_json: bool) -> None:
    """Show the effective settings (environment, .env, promo.toml), secrets masked.

    \b
    Example:
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo config
    """
    shown = app.settings.display()
    accounts = {name: {"platform": a.platform, "base_url": a.base_url or a.spec.default_base_url,
                       "credentials": credential_states(a)}
                for name, a in app.accounts.items()}
    if as_json:
        emit_json({"settings": shown, "accounts": accounts})
        return
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        click.echo(f"{key:<{width}}  {value}")
    for name, account in app.accounts.items():
        states = credential_states(account)
        creds = ", ".join(f"{c} {state}" for c, state in states.items()) or "no credentials"
        click.echo(f"account {name}: {account.platform} ({creds})")

