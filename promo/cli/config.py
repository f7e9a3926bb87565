"""``promo config``: the effective settings, secrets masked."""

from __future__ import annotations

from typing import Any

import click

from promo.cli.common import App, emit_json, json_option, pass_app


@click.command()
@json_option
@pass_app
def config(app: App, as_json: bool) -> None:
    """Show the effective settings (environment, .env, promo.toml), secrets masked.

    Each account is listed with its platform and where its credentials come from, as 'promo
    accounts' says it: environment, connected (tokens in the store, never shown) or missing (naming
    the variable to set). When the database cannot be reached, one warning line says so on stderr
    and a source only a connection could give shows as unknown; the settings are still shown (exit 0).

    \b
    Example:
        PROMO_DATABASE_URL=postgresql://promo:pw@db/promo promo config
    """
    from promo.manage.accounts import list_accounts

    shown = app.settings.display()
    rows, problem = list_accounts(app.accounts, lambda: app.engine, warn_days=app.settings.token_warn_days)
    accounts = {row["name"]: {key: value for key, value in row.items() if key != "name"} for row in rows}
    if as_json:
        emit_json({"settings": shown, "accounts": accounts, "warnings": [problem] if problem else []})
    else:
        width = max(len(k) for k in shown)
        for key, value in shown.items():
            click.echo(f"{key:<{width}}  {value}")
        for name, account in accounts.items():
            click.echo(f"account {name}: {account['platform']}, {_credentials(account)}")
    if problem is not None:
        click.echo(f"warning: {problem}", err=True)


def _credentials(account: dict[str, Any]) -> str:
    """``connected (scopes ..., expires ...)``, ``environment (bot_token set)`` or the variables to set."""
    source = account["source"]
    if source == "connected":
        return (f"connected (scopes {' '.join(account['scopes']) or '-'}, expires {account['expires_at'] or 'never'})"
                + (f"; WARNING: {account['warning']}" if account["warning"] else ""))
    if source == "unknown":
        return "unknown (connected tokens unread: the database is unreachable)"
    creds = ", ".join(f"{c} {state}" + (f" (set {account['variables'][c]})" if state == "missing" else "")
                      for c, state in account["credentials"].items()) or "no credentials"
    return f"{source} ({creds})"
