"""Connected accounts: connect one through its platform's flow, refresh what is due, rotate the key.

- ``connect_account``: run the account's flow (``promo.platforms.oauth``): the URL to open goes to
  ``show``, the answer comes back to a loopback redirect or is pasted (``paste``); the tokens are
  stored encrypted, the account's credentials flag is cleared and the posts held while it needed
  reconnecting go back to ``scheduled`` (the late-post rule still applies to them), in one
  transaction. Bluesky is connected with an app password instead (``connect_app_password``).
- ``refresh_due``: every connected token whose remaining life is under the settings' margin
  (``token_refresh_fraction`` of its lifetime or ``token_refresh_days``, whichever comes first) is
  refreshed, one process at a time per account; a refusal marks the account ``needs-reconnect``.
- ``rotate_key``: re-encrypt every stored token under the first key of ``PROMO_SECRET_KEY``.

Each owns its transactions; none prints. Never a token's value in what they return.
"""

from __future__ import annotations

import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select

from promo.accounts import Account, with_connection
from promo.engine.ratelimits import clear_flag, flag
from promo.errors import ConfigError, PromoError
from promo.platforms.base import build_adapter
from promo.platforms.oauth import flow_for
from promo.platforms.oauth.loopback import Loopback, read_pasted
from promo.platforms.oauth.refresh import Ahead, Refreshed, refresh_account
from promo.settings import Settings
from promo.store import states
from promo.store import tokens as store
from promo.store.ledger import transition
from promo.store.notifications import NEEDS_RECONNECT
from promo.store.tables import Event, PostRow
from promo.times import iso, utcnow

DEFAULT_WAIT_S = 300.0
PASTE_PORT = 8765  # the redirect URI's port when nothing listens (--no-browser) and none is configured
RECONNECT_MARK = "needs reconnecting"  # in the reason of a post held for it (promo.engine.runtime.NeedsReconnect)


def connect_account(settings: Settings, engine: Engine, account: Account, *, show: Callable[[str], None],
                    open_browser: bool = False, paste: Callable[[], str] | None = None, port: int | None = None,
                    wait_s: float = DEFAULT_WAIT_S, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Authorise promo for ``account`` and store its tokens. Returns what may be shown (no secret)."""
    keys = store.cipher(environ)  # before the browser: a missing key fails now, not after the person agreed
    flow = flow_for(account.platform)
    if account.platform == "bluesky":
        raise ConfigError(f"account {account.name}: Bluesky connects with an app password: "
                          f"'promo accounts connect {account.name} --app-password-stdin'")
    app = flow.app(account, settings.http_timeout)
    chosen = port if port is not None else int(account.connect.get("redirect_port") or 0)
    if paste is not None:
        redirect = f"http://127.0.0.1:{chosen or PASTE_PORT}/callback"
        started = flow.begin(app, redirect)
        _offer(show, started.url, open_browser)
        params = read_pasted(paste())
    else:
        with Loopback(chosen) as loopback:
            started = flow.begin(app, loopback.redirect_uri)
            _offer(show, started.url, open_browser)
            params = loopback.wait(wait_s)
    tokens = flow.complete(started, params)
    return _stored(settings, engine, keys, account, tokens)


def connect_app_password(settings: Settings, engine: Engine, account: Account, password: str,
                         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bluesky: prove the app password with one login, then store it like a token."""
    keys = store.cipher(environ)
    flow = flow_for(account.platform)
    if account.platform != "bluesky":
        raise ConfigError(f"account {account.name}: app passwords are for Bluesky; "
                          f"'promo accounts connect {account.name}' runs {account.spec.title}'s authorisation")
    tokens, _who = flow.with_password(account, password, settings.http_timeout)  # type: ignore[attr-defined]
    return _stored(settings, engine, keys, account, tokens)


def _offer(show: Callable[[str], None], url: str, open_browser: bool) -> None:
    show(url)
    if open_browser:
        webbrowser.open(url)


def _stored(settings: Settings, engine: Engine, keys: Any, account: Account, tokens: store.TokenSet) -> dict[str, Any]:
    """Store the tokens, clear the flag, release the posts held for a reconnect: one transaction."""
    now = utcnow()
    with engine.begin() as connection:
        store.save(connection, keys, account.name, account.platform, tokens, now)
        cleared = clear_flag(connection, account.name)
        released = _release_held(connection, account.name, now)
    result = {"name": account.name, "platform": account.platform, "scopes": list(tokens.scopes),
              "expires_at": iso(tokens.expires_at) if tokens.expires_at else None,
              "refreshable": bool(tokens.refresh_token) or account.platform == "facebook",
              "flag_cleared": cleared, "released": released, "environment_wins": account.in_environment}
    result["verified"] = _verify(settings, account, tokens)
    return result


def _release_held(connection: Any, account: str, now: datetime) -> list[int]:
    """Posts held because the account needed reconnecting go back to ``scheduled``, due now."""
    held = connection.execute(select(PostRow.id).where(
        PostRow.account == account, PostRow.status == states.HELD,
        PostRow.reason.like(f"%account {account} {RECONNECT_MARK}%"))).scalars().all()
    released = []
    for post_id in held:
        if transition(connection, post_id, [states.HELD], states.SCHEDULED, action="released",
                      actor="cli", now=now, detail={"why": "account connected again"}, due_at=now,
                      attempts=0, reason=None):
            released.append(post_id)
    return released


def _verify(settings: Settings, account: Account, tokens: store.TokenSet) -> str:
    """One read-only call with the new tokens: who we are, or why it failed (the tokens stay stored)."""
    flow = flow_for(account.platform)
    connected = with_connection(replace(account, credentials={}), flow.credentials(tokens), flow.adapter)
    try:
        return f"ok: {build_adapter(connected, timeout=settings.http_timeout).verify()}"
    except PromoError as exc:
        return f"not verified: {exc}"


def refresh_due(settings: Settings, engine: Engine, accounts: Mapping[str, Account], *, owner: str,
                now: datetime | None = None, environ: Mapping[str, str] | None = None) -> list[Refreshed]:
    """Refresh every connected token that is due; one ``Refreshed`` per connected account looked at."""
    now = now or utcnow()
    ahead = Ahead(settings.token_refresh_fraction, timedelta(days=settings.token_refresh_days))
    with engine.connect() as connection:
        rows = store.load_all(connection)
    due = [row for row in rows.values() if ahead.due(row, now)]
    if not due:
        return []
    keys = store.cipher(environ)
    results = []
    for row in due:
        account = accounts.get(row.account)
        if account is None or account.in_environment:
            continue  # not configured any more, or the environment's credentials win: nothing uses it
        results.append(refresh_account(engine, keys, account, owner=owner[:64], now=now,
                                       timeout=settings.http_timeout, due=ahead, on_refused=_flagger(row.account, now)))
    return results


def _flagger(name: str, now: datetime) -> Callable[[Any, str], None]:
    """Flag ``name`` for ``promo status`` in the transaction that marks it ``needs-reconnect``, and log
    it (an ``account.needs_reconnect`` notification, docs/notifications.md)."""
    def flagged(connection: Any, reason: str) -> None:
        flag(connection, name, reason, now)
        connection.execute(insert(Event).values(post_id=None, at=now, action=NEEDS_RECONNECT, actor="refresh",
                                                detail={"account": name, "reason": reason}))
    return flagged


def rotate_key(engine: Engine, environ: Mapping[str, str] | None = None) -> int:
    """Re-encrypt every stored token under the first key of ``PROMO_SECRET_KEY``, in one transaction."""
    keys = store.cipher(environ)
    with engine.begin() as connection:
        return store.rotate_all(connection, keys)


def disconnect(engine: Engine, name: str) -> bool:
    """Forget an account's stored tokens (revoke promo's access on the platform too)."""
    with engine.begin() as connection:
        return store.delete(connection, name)
