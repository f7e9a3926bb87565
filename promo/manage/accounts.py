"""The configured accounts as a person sees them (``promo accounts``, ``promo config``), and a
read-only check of their credentials (``promo accounts check``). Never a credential's value.

Each account's credentials come from the environment (which takes precedence), from its connected
tokens in the store (``promo accounts connect``), or are missing: ``source`` says which. A
connected account also shows its scopes, when its token expires and whether it needs reconnecting,
with a warning ``token_warn_days`` ahead of an expiry promo cannot refresh away. Listing reads the
store's readable columns only (no key needed); checking decrypts the tokens (``PROMO_SECRET_KEY``).

A passing check clears the account's credentials flag in the store (``promo status`` stops showing
it); it leaves a rate-limit block alone, which ends by itself at its reset time. It also caches what
the platform said that ``promo apply`` checks posts against (TikTok's creator_info, a subreddit's
rules: ``promo.planning.facts``).

Listing (``list_accounts``) survives a store it cannot read: the accounts from promo.toml and the
environment are still described, and one line says the connected tokens could not be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.accounts import CONNECTED, ENVIRONMENT, MISSING, Account, with_connection
from promo.engine.ratelimits import clear_flag
from promo.errors import PromoError
from promo.planning.facts import save_facts
from promo.platforms.base import build_adapter
from promo.platforms.mediahost import needs_host
from promo.platforms.oauth import CONNECTABLE, flow_for
from promo.platforms.oauth.refresh import Ahead
from promo.store import tokens as store
from promo.times import iso, utcnow

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

    from promo.platforms.mediahost import MediaHost

DAY = timedelta(days=1)
UNKNOWN = "unknown"  # the store could not be read, and only a connection could have supplied the credentials


def credential_states(account: Account, source: str | None = None) -> dict[str, str]:
    """``{"access_token": "set" | "missing"}``: never the values. A connected account's are ``connected``
    (its tokens are in the store); ``unknown`` when the store could not be read."""
    unset = {CONNECTED: CONNECTED, UNKNOWN: UNKNOWN}.get(source or "", "missing")
    return {c: ("set" if c in account.credentials else unset) for c in account.spec.credentials}


def credential_variables(account: Account) -> dict[str, str]:
    """``{"access_token": "PROMO_ACCOUNT_JJ_X_ACCESS_TOKEN"}``: where each credential is read from."""
    return {c: account.variable(c) for c in account.spec.credentials}


def missing_credentials(account: Account) -> list[str]:
    """The variables an account still needs set (by the name configured with ``*_env``, if any)."""
    return [account.variable(c) for c in account.spec.credentials if c not in account.credentials]


def stored_tokens(engine: Engine | None) -> dict[str, store.StoredToken]:
    """Every connected account's row, readable columns only (nothing decrypted); none without a store."""
    if engine is None:
        return {}
    with engine.connect() as connection:
        return store.load_all(connection)


def credential_warnings(accounts: Iterable[Account], engine: Engine | None = None) -> list[str]:
    """One line per account whose credentials are missing (its posts would fail); connected ones have them."""
    connected = stored_tokens(engine)
    return [f"account {account.name} ({account.platform}): credentials missing, set "
            f"{', '.join(missing)}{_or_connect(account)} (its posts will fail until then)"
            for account in accounts
            if (missing := missing_credentials(account)) and not (account.connected or account.name in connected)]


def _or_connect(account: Account) -> str:
    return f" or 'promo accounts connect {account.name}'" if account.platform in CONNECTABLE else ""


def source_of(account: Account, stored: store.StoredToken | None, *, store_read: bool = True) -> str:
    """``environment`` (takes precedence), ``connected`` (the store) or ``missing``; ``unknown`` when the
    store could not be read and the account could have been connected."""
    if account.in_environment:
        return ENVIRONMENT
    if stored is not None or account.connected:
        return CONNECTED
    return UNKNOWN if not store_read and account.platform in CONNECTABLE else MISSING


def describe(account: Account, stored: store.StoredToken | None = None, *, warn_days: float = 7.0,
             ahead: Ahead | None = None, now: datetime | None = None, store_read: bool = True) -> dict[str, Any]:
    """What may be shown about an account: platform, API base URL, zone, where its credentials come
    from and which are set, and for a connected one its scopes, expiry and any warning."""
    source = source_of(account, stored, store_read=store_read)
    row: dict[str, Any] = {
        "name": account.name,
        "platform": account.platform,
        "base_url": account.base_url or account.spec.default_base_url,
        "timezone": account.timezone,
        "source": source,
        "credentials": credential_states(account, source),
        "variables": credential_variables(account),
        "scopes": [], "expires_at": None, "status": None, "refreshable": None, "warning": None,
    }
    if source == CONNECTED and stored is not None:
        row.update(_connection(account, stored, warn_days, ahead or Ahead(), now or utcnow()))
    elif source == MISSING:
        row["warning"] = (f"credentials missing: set {', '.join(missing_credentials(account))}"
                          f"{_or_connect(account)}")
    return row


def _connection(account: Account, stored: store.StoredToken, warn_days: float, ahead: Ahead,
                now: datetime) -> dict[str, Any]:
    return {"scopes": list(stored.scopes), "status": stored.status, "refreshable": stored.refreshable,
            "expires_at": iso(stored.expires_at) if stored.expires_at else None,
            "warning": _warning(account.name, stored, warn_days, now, ahead)}


def _warning(name: str, stored: store.StoredToken, warn_days: float, now: datetime, ahead: Ahead) -> str | None:
    """Needs reconnecting, expired, overdue for a refresh (is the beat running?), or an expiry promo
    cannot refresh away within ``warn_days``; else None."""
    reconnect = f"run 'promo accounts connect {name}'"
    if stored.status != store.CONNECTED:
        return f"needs reconnecting ({stored.status_reason or 'its tokens were refused'}): {reconnect}"
    if stored.expires_at is None:
        return None
    left = stored.expires_at - now
    if left <= timedelta(0):
        return f"token expired {iso(stored.expires_at)}: {reconnect}"
    if stored.refreshable:
        if ahead.due(stored, now):
            return (f"token due for a refresh (expires {iso(stored.expires_at)}): the beat refreshes it; "
                    "'promo accounts refresh' does it now")
        return None
    if left <= timedelta(days=warn_days):
        return (f"token expires in {left / DAY:.1f} days ({iso(stored.expires_at)}) and cannot be refreshed: "
                f"{reconnect} before then")
    return None


def describe_all(accounts: Mapping[str, Account], engine: Engine | None, *, warn_days: float = 7.0,
                 ahead: Ahead | None = None, now: datetime | None = None) -> list[dict[str, Any]]:
    rows = stored_tokens(engine)
    return [describe(account, rows.get(name), warn_days=warn_days, ahead=ahead, now=now)
            for name, account in accounts.items()]


def list_accounts(accounts: Mapping[str, Account], open_store: Callable[[], Engine], *, warn_days: float = 7.0,
                  ahead: Ahead | None = None, now: datetime | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """``promo accounts``: every account described, and None; or, when the store cannot be opened or
    read, every account from promo.toml and the environment (``unknown`` where only the store could
    tell) and the one line saying so, with the database's problem and the next step."""
    if not accounts:
        return [], None
    try:
        rows = stored_tokens(open_store())
    except Exception as exc:  # the database being down is a finding: the listing goes on without it
        return ([describe(a, None, warn_days=warn_days, ahead=ahead, now=now, store_read=False)
                 for a in accounts.values()], store_problem(exc))
    return [describe(account, rows.get(name), warn_days=warn_days, ahead=ahead, now=now)
            for name, account in accounts.items()], None


def store_problem(exc: BaseException) -> str:
    """One line: connected tokens unread, why (the driver's first line, which names no password), what next."""
    cause = getattr(exc, "orig", None) or exc
    reason = (str(cause).strip().splitlines() or [""])[0][:200]
    return (f"connected tokens could not be read: the database is unreachable ({type(cause).__name__}: {reason}); "
            "accounts that only a connection could supply show as unknown: check database_url ('promo config') "
            "and that the database is running, then run 'promo accounts' again")


def connected_accounts(accounts: Mapping[str, Account], engine: Engine,
                       environ: Mapping[str, str] | None = None) -> dict[str, Account]:
    """The accounts with each connected one's stored tokens as credentials (the environment's win)."""
    rows = stored_tokens(engine)
    wanted = [name for name, account in accounts.items() if name in rows and not account.in_environment]
    if not wanted:
        return dict(accounts)
    keys = store.cipher(environ)
    merged = dict(accounts)
    with engine.connect() as connection:
        for name in wanted:
            found = store.load(connection, name, keys)
            if found is not None and found.tokens is not None:
                flow = flow_for(accounts[name].platform)
                merged[name] = with_connection(accounts[name], flow.credentials(found.tokens), flow.adapter)
    return merged


def verify_accounts(accounts: Iterable[Account], timeout: float, engine: Engine | None = None, *,
                    home: Path | None = None) -> list[dict[str, Any]]:
    """One read-only call per account: ``{name, platform, source, ok, detail, flag_cleared}`` each. Never posts.

    With ``engine``, each passing account's credentials flag is cleared, in one transaction after
    the calls (none is held open during them); ``flag_cleared`` says whether it had one.
    """
    checked = [_verify(account, timeout, home) for account in accounts]
    results = [result for result, _ in checked]
    passed = [result for result in results if result["ok"]]
    if engine is not None and passed:
        with engine.begin() as connection:
            for result in passed:
                result["flag_cleared"] = clear_flag(connection, result["name"])
    if engine is not None:
        now = utcnow()
        for result, facts in checked:
            if facts is not None:
                save_facts(engine, result["name"], result["platform"], facts, now)
                result["cached"] = True
    return results


def _verify(account: Account, timeout: float, home: Path | None = None) -> tuple[dict[str, Any], Any]:
    """The check's row, and what the platform said that is cached (TikTok's creator_info, a subreddit's rules)."""
    facts = None
    try:
        adapter = build_adapter(account, timeout=timeout, home=home)
        detail, ok = adapter.verify(), True
        facts = getattr(adapter, "facts", None)
    except PromoError as exc:
        detail, ok = str(exc), False
    return ({"name": account.name, "platform": account.platform, "source": account.source, "ok": ok,
             "detail": detail, "flag_cleared": False, "cached": False}, facts)


def check_accounts(accounts: Mapping[str, Account], names: Iterable[str], timeout: float, engine: Engine,
                   environ: Mapping[str, str] | None = None, *, home: Path | None = None) -> list[dict[str, Any]]:
    """``promo accounts check``: each named account verified with the credentials it publishes with.

    A connected account marked ``needs-reconnect`` fails without a call: reconnecting is the fix.
    """
    rows = stored_tokens(engine)
    merged = connected_accounts(accounts, engine, environ)
    chosen = [merged[name] for name in names]
    results = verify_accounts([a for a in chosen if not _needs_reconnect(a, rows)], timeout, engine, home=home)
    marked = [{"name": a.name, "platform": a.platform, "source": CONNECTED, "ok": False, "flag_cleared": False,
               "cached": False,
               "detail": _warning(a.name, rows[a.name], 0, utcnow(), Ahead())}
              for a in chosen if _needs_reconnect(a, rows)]
    order = {name: index for index, name in enumerate(names)}
    return sorted(results + marked, key=lambda result: order[result["name"]])


def _needs_reconnect(account: Account, rows: Mapping[str, store.StoredToken]) -> bool:
    row = rows.get(account.name)
    return row is not None and not account.in_environment and row.status != store.CONNECTED


def ahead_of(fraction: float, days: float) -> Ahead:
    """The refresh margin from the settings (``token_refresh_fraction``, ``token_refresh_days``)."""
    return Ahead(fraction, timedelta(days=days))


def check_media_host(host: MediaHost | None, accounts: Iterable[Account]) -> dict[str, Any] | None:
    """``promo accounts check``'s row for the media host (docs/media-host.md): reachable, writable, presigns.

    None when no host is configured and no account needs one.
    """
    row: dict[str, Any] = {"name": "media-host", "platform": "media-host", "source": "settings",
                           "flag_cleared": False}
    if host is None:
        needing = sorted(a.name for a in accounts if needs_host(a.platform, a.options))
        if not needing:
            return None
        return {**row, "ok": False, "detail": f"not configured, and {', '.join(needing)} fetch media by URL: set "
                                              "media_host_bucket (or media_host_base_url); see docs/media-host.md"}
    try:
        detail, ok = host.check(), True
    except PromoError as exc:
        detail, ok = str(exc), False
    return {**row, "ok": ok, "detail": detail}

