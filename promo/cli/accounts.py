"""``promo accounts``: the configured accounts; ``promo accounts check``: verify their credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import App, emit_json, json_option, pass_app

if TYPE_CHECKING:
    from promo.accounts import Account


def describe(account: Account) -> dict[str, Any]:
    """What may be shown about an account: never a credential's value."""
    return {
        "name": account.name,
        "platform": account.platform,
        "base_url": account.base_url or account.spec.default_base_url,
        "credentials": {
            c: ("set" if c in account.credentials else "missing") for c in account.spec.credentials
        },
    }


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
        creds = ", ".join(f"{name} {state}" for name, state in row["credentials"].items()) or "no credentials"
        click.echo(f"{row['name']}  {row['platform']}  {row['base_url'] or '-'}  ({creds})")


@accounts.command()
@click.argument("name", required=False)
@json_option
@pass_app
def check(app: App, name: str | None, as_json: bool) -> None:
    """Verify each account's credentials with one read-only call. Never posts.

    Exits 1 if any account fails.

    \b
    Example:
        promo accounts check
        promo accounts check jj-mastodon --json
    """
    from promo.platforms.base import build_adapter

    chosen = [app.account(name)] if name else list(app.accounts.values())
    results = [_verify(build_adapter, account, app.settings.http_timeout) for account in chosen]
    if as_json:
        emit_json(results)
    else:
        for result in results:
            mark = "ok  " if result["ok"] else "FAIL"
            click.echo(f"{mark} {result['name']} ({result['platform']}): {result['detail']}")
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


def _verify(build: Any, account: Account, timeout: float) -> dict[str, Any]:
    from promo.errors import PromoError

    try:
        detail, ok = build(account, timeout=timeout).verify(), True
    except PromoError as exc:
        detail, ok = str(exc), False
    return {"name": account.name, "platform": account.platform, "ok": ok, "detail": detail}
