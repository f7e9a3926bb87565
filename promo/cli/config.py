"""``promo config``: the effective settings, secrets masked."""

from __future__ import annotations

import click

from promo.cli.common import App, emit_json, json_option, pass_app
from promo.manage.accounts import describe


@click.command()
@json_option
@pass_app
def config(app: App, as_json: bool) -> None:
    """Show the effective settings (environment, .env, promo.toml), secrets masked.

    Each account is listed with its platform and which credentials are set; a missing one names
    the variable it is read from.

    \b
    Example:
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo config
    """
    shown = app.settings.display()
    accounts = {name: {key: value for key, value in describe(a).items() if key != "name"}
                for name, a in app.accounts.items()}
    if as_json:
        emit_json({"settings": shown, "accounts": accounts})
        return
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        click.echo(f"{key:<{width}}  {value}")
    for name, account in accounts.items():
        creds = ", ".join(f"{c} {state}" + (f" (set {account['variables'][c]})" if state == "missing" else "")
                          for c, state in account["credentials"].items()) or "no credentials"
        click.echo(f"account {name}: {account['platform']} ({creds})")
