"""``promo accounts``: the configured accounts; ``check`` verifies them; ``connect`` runs a platform's
authorisation; ``refresh`` refreshes due tokens; ``rotate-key`` re-encrypts the stored tokens."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from promo.cli.common import NAME, App, emit_json, json_option, pass_app

STORE_UNREACHABLE = 4  # as ``promo status``: the database cannot be reached (the listing is still printed)


@click.group(invoke_without_command=True)
@json_option
@pass_app
@click.pass_context
def accounts(ctx: click.Context, app: App, as_json: bool) -> None:
    """List the configured accounts: platform, API base URL, where the credentials come from
    (environment, connected or missing), and a connected account's scopes and token expiry.

    When the database cannot be reached, the accounts are still listed (a source only a connection
    could give shows as unknown), one warning line on stderr names the problem, and it exits 4.

    \b
    Example:
        promo accounts
        promo accounts --json
        promo accounts connect jj-x
        promo accounts check jj-bluesky
    """
    if ctx.invoked_subcommand is not None:
        return
    from promo.manage.accounts import ahead_of, list_accounts

    settings = app.settings
    ahead = ahead_of(settings.token_refresh_fraction, settings.token_refresh_days)
    rows, problem = list_accounts(app.accounts, lambda: app.engine, warn_days=settings.token_warn_days, ahead=ahead)
    if as_json:
        emit_json(rows)
    else:
        if not rows:
            click.echo(f"no accounts in {app.settings.config_file}")
        for row in rows:
            click.echo(_account_line(row))
    if problem is not None:
        click.echo(f"warning: {problem}", err=True)
        raise SystemExit(STORE_UNREACHABLE)


def _account_line(row: dict[str, Any]) -> str:
    """``jj-x  x  https://api.x.com  connected  scopes tweet.read ...  expires 2026-...``."""
    zone = f"  {row['timezone']}" if row["timezone"] else ""
    line = f"{row['name']}  {row['platform']}  {row['base_url'] or '-'}{zone}  {row['source']}"
    if row["source"] == "unknown":
        line += "  (connected tokens unread: the database is unreachable)"
    elif row["source"] == "connected":
        line += f"  scopes {' '.join(row['scopes']) or '-'}  expires {row['expires_at'] or 'never'}"
    else:
        creds = [f"{name} {state}" + (f": set {row['variables'][name]}" if state == "missing" else "")
                 for name, state in row["credentials"].items()]
        line += f"  ({', '.join(creds) or 'no credentials'})"
    return line + (f"  WARNING: {row['warning']}" if row["warning"] else "")


@accounts.command()
@click.argument("name", required=False, type=NAME)
@json_option
@pass_app
def check(app: App, name: str | None, as_json: bool) -> None:
    """Verify each account's credentials (environment or connected) with one read-only call. Never posts.

    An account that passes loses its credentials flag ('promo status' stops showing it). A TikTok
    account's creator_info and a Reddit account's subreddit rules are cached in the store, and
    'promo apply' checks posts against them (docs/accounts.md#cached-platform-rules). The media
    host (docs/media-host.md), when configured or needed, is checked too: reachable, writable, presigns.
    Exits 1 if any account fails.

    \b
    Example:
        promo accounts check
        promo accounts check jj-mastodon --json
    """
    from promo.manage.accounts import check_accounts, check_media_host
    from promo.platforms.mediahost import host_from_settings

    chosen = [app.account(name).name] if name else list(app.accounts)
    results = check_accounts(app.accounts, chosen, app.settings.http_timeout, app.engine, home=app.settings.home)
    host = check_media_host(host_from_settings(app.settings), [app.accounts[n] for n in chosen])
    results += [host] if host is not None else []
    if as_json:
        emit_json(results)
    else:
        for result in results:
            mark = "ok  " if result["ok"] else "FAIL"
            cleared = " (credentials flag cleared)" if result["flag_cleared"] else ""
            cleared += " (cached for 'promo apply')" if result.get("cached") else ""
            source = ", connected" if result["source"] == "connected" else ""
            click.echo(f"{mark} {result['name']} ({result['platform']}{source}): {result['detail']}{cleared}")
    if not all(r["ok"] for r in results):
        raise SystemExit(1)


@accounts.command()
@click.argument("name", type=NAME)
@click.option("--no-browser", "paste", is_flag=True,
              help="Headless: print the URL, then read the address the browser was sent to (or the code).")
@click.option("--open", "open_browser", is_flag=True, help="Open the URL in this machine's browser.")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Loopback port of the redirect URI (default: redirect_port, else a free one).")
@click.option("--app-password-stdin", "password_stdin", is_flag=True,
              help="Bluesky: read the app password from standard input.")
@json_option
@pass_app
def connect(app: App, name: str, paste: bool, open_browser: bool, port: int | None, password_stdin: bool,
            as_json: bool) -> None:
    """Connect an account through its platform's own authorisation (OAuth 2.0 with PKCE), and store
    its tokens encrypted with PROMO_SECRET_KEY. promo refreshes them before they expire.

    Prints the URL to open; the browser comes back to http://127.0.0.1:PORT/callback. With
    --no-browser, open the URL anywhere and paste the address it ends on. Bluesky asks for an app
    password instead.

    \b
    Example:
        promo accounts connect jj-x --port 8765
        promo accounts connect jj-linkedin --no-browser
        promo accounts connect jj-bluesky --app-password-stdin < app-password.txt
    """
    from promo.manage.connections import connect_account, connect_app_password

    account = app.account(name)
    if account.platform == "bluesky":
        password = sys.stdin.readline() if password_stdin else click.prompt("Bluesky app password", hide_input=True,
                                                                              err=True)
        result = connect_app_password(app.settings, app.engine, account, password)
    else:
        result = connect_account(
            app.settings, app.engine, account, show=_show_url, port=port,
            open_browser=open_browser or (not paste and _has_display()),
            paste=(lambda: click.prompt("Paste the address the browser was sent to (or the code)", err=True))
            if paste else None,
        )
    _connected(result, as_json)


def _show_url(url: str) -> None:
    click.echo("Open this address to authorise promo, then allow access:", err=True)
    click.echo(url, err=True)


def _has_display() -> bool:
    """A browser may be opened: a desktop session and a terminal (never in scripts or over plain SSH)."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    desktop = sys.platform in ("darwin", "win32") or bool(display)
    return desktop and sys.stdin.isatty() and not os.environ.get("SSH_CONNECTION")


def _connected(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    expiry = f"token expires {result['expires_at']}" if result["expires_at"] else "token does not expire"
    click.echo(f"connected {result['name']} ({result['platform']}): scopes {' '.join(result['scopes']) or '-'}; "
               f"{expiry}; {result['verified']}")
    if result["released"]:
        click.echo(f"released {len(result['released'])} held post(s): {', '.join(map(str, result['released']))}")
    if result["environment_wins"]:
        click.echo(f"note: credentials for {result['name']} are set in the environment and take precedence; "
                   "unset them to use the connection")


@accounts.command()
@json_option
@pass_app
def refresh(app: App, as_json: bool) -> None:
    """Refresh every connected token that is due now (the beat does this on its own).

    A token is due when token_refresh_fraction of its lifetime or token_refresh_days remain,
    whichever comes first. One process refreshes an account at a time.

    \b
    Example:
        promo accounts refresh
        promo accounts refresh --json
    """
    from dataclasses import asdict

    from promo.engine.runtime import worker_name
    from promo.manage.connections import refresh_due

    results = refresh_due(app.settings, app.engine, app.accounts, owner=worker_name().replace("worker", "cli"))
    if as_json:
        emit_json([asdict(r) for r in results])
        return
    if not results:
        click.echo("no connected token is due for a refresh")
    for r in results:
        click.echo(f"{r.account}: {r.outcome}" + (f" ({r.detail})" if r.detail else ""))
    if any(r.outcome == "needs-reconnect" for r in results):
        raise SystemExit(1)


@accounts.command("rotate-key")
@json_option
@pass_app
def rotate_key(app: App, as_json: bool) -> None:
    """Re-encrypt every stored token under the first key of PROMO_SECRET_KEY.

    Put the new key first and keep the old one after it while rotating; drop the old one after.

    \b
    Example:
        PROMO_SECRET_KEY="$NEW_KEY,$OLD_KEY" promo accounts rotate-key
    """
    from promo.manage.connections import rotate_key as rotate

    count = rotate(app.engine)
    if as_json:
        emit_json({"rotated": count})
        return
    click.echo(f"re-encrypted {count} account(s)' tokens under the first key of PROMO_SECRET_KEY; "
               "the old key may now be dropped from it")
