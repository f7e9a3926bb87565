"""``promo accounts``: the configured accounts; ``promo accounts check``: verify their credentials."""

from __future__ import annotations

from typing import Any

import click

from promo.cli.common import NAME, App, emit_json, json_option, pass_app
from promo.manage.accounts import describe, verify_accounts


@click.group(invoke_without_command=True)
@json_option
@pass_app
@click.pass_context
def accounts(ctx: click.Context, app: App, as_json: bool) -> None:
    """List the configured accounts: platform, API base URL, credentials set or missing.

    \b
    Example:
        promo accounts
        promo accounts --json
        promo accounts check jj-bluesky
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = [describe(a) for a in app.accounts.values()]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(f"no accounts in {app.settings.config_file}")
    for row in rows:
        click.echo(_account_line(row))


def _account_line(row: dict[str, Any]) -> str:
    """``jj-x  x  https://api.x.com  (api_key missing: set PROMO_ACCOUNT_JJ_X_API_KEY)``."""
    creds = [f"{name} {state}" + (f": set {row['variables'][name]}" if state == "missing" else "")
             for name, state in row["credentials"].items()]
    zone = f"  {row['timezone']}" if row["timezone"] else ""
    return f"{row['name']}  {row['platform']}  {row['base_url'] or '-'}{zone}  ({', '.join(creds) or 'no credentials'})"


@accounts.command()
@click.argument("name", required=False, type=NAME)
@json_option
@pass_app
def check(app: App, name: str | None, as_json: bool) -> None:
    """Verify each account's credentials with one read-only call. Never posts.

    An account that passes loses its credentials flag ('promo status' stops showing it).
    Exits 1 if any account fails.

    \b
    Example:
        promo accounts check
        promo accounts check jj-mastodon --json
    """
    chosen = [app.account(name)] if name else list(app.accounts.values())
    results = verify_accounts(chosen, app.settings.http_timeout, app.engine)
    if as_json:
        emit_json(results)
    else:
        for result in results:
            mark = "ok  " if result["ok"] else "FAIL"
            cleared = " (credentials flag cleared)" if result["flag_cleared"] else ""
            click.echo(f"{mark} {result['name']} ({result['platform']}): {result['detail']}{cleared}")
    if not all(r["ok"] for r in results):
        raise SystemExit(1)

