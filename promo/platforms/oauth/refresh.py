"""Refresh one connected account's tokens: one process at a time, the rotated refresh token kept.

``refresh_account`` takes the account's lease (a conditional UPDATE on its ``account_tokens`` row,
committed at once), reads and decrypts its tokens, asks the platform for new ones with no
transaction open, and stores them in one statement that also releases the lease. A platform that
rotates refresh tokens has already invalidated the old one when it answers, so nothing happens
between its answer and the write. Two callers at once: one refreshes, the other finds the lease
taken and is told ``busy``; a caller that gets the lease after the first finished reads the new
expiry (``due`` says no) or the new ``version`` (``unless_changed``) and does nothing.

A refusal (the refresh token revoked or expired) marks the account ``needs-reconnect`` in the same
transaction as ``on_refused`` (the engine flags the account for ``promo status`` there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from promo.errors import ConfigError
from promo.platforms.oauth import flow_for
from promo.platforms.oauth.authcode import ConnectAccount, RefreshFailed, RefreshRefused
from promo.store import tokens as store

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet
    from sqlalchemy import Connection, Engine

LEASE_SECONDS = 120.0  # longer than any token request (they time out after http_timeout)
REFRESHED, BUSY, NOT_DUE, NEEDS_RECONNECT, FAILED = "refreshed", "busy", "not-due", "needs-reconnect", "failed"


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did: ``outcome`` (above), a readable ``detail``, and the new expiry."""

    account: str
    outcome: str
    detail: str = ""
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Ahead:
    """When a token is due: its remaining life under ``fraction`` of its lifetime or under ``at_most``."""

    fraction: float = 0.2
    at_most: timedelta = timedelta(days=7)

    def due(self, row: store.StoredToken, now: datetime) -> bool:
        if row.expires_at is None or row.status != store.CONNECTED:
            return False
        margin = self.at_most
        if row.lifetime_s:
            margin = min(margin, timedelta(seconds=row.lifetime_s * self.fraction))
        return row.expires_at - now <= margin


def refresh_account(db: Engine, keys: MultiFernet, account: ConnectAccount, *, owner: str, now: datetime,
                    timeout: float, due: Ahead | None = None, unless_changed: int | None = None,
                    on_refused: Callable[[Connection, str], None] | None = None) -> Refreshed:
    """Refresh ``account`` if due (``due``) or if its row is still at version ``unless_changed``."""
    with db.begin() as connection:
        if not store.take_lease(connection, account.name, owner, now, LEASE_SECONDS):
            return Refreshed(account.name, BUSY, "another process is refreshing it")
        row = store.load(connection, account.name, keys)
        skip = _skip(row, now, due, unless_changed)
        if skip is not None:
            store.release_lease(connection, account.name, owner)
            return Refreshed(account.name, NOT_DUE, skip, row.expires_at if row else None)
    assert row is not None and row.tokens is not None
    try:
        flow = flow_for(row.platform)
        fresh = flow.refresh(flow.app(account, timeout, row.tokens), row.tokens)
    except RefreshRefused as exc:
        reason = (f"{row.platform} refused to refresh the token ({exc}): run 'promo accounts connect "
                  f"{account.name}'")
        with db.begin() as connection:
            store.mark(connection, account.name, store.NEEDS_RECONNECT, reason, now)
            if on_refused is not None:
                on_refused(connection, reason)
        return Refreshed(account.name, NEEDS_RECONNECT, reason)
    except (RefreshFailed, ConfigError) as exc:
        with db.begin() as connection:
            store.release_lease(connection, account.name, owner)
        return Refreshed(account.name, FAILED, str(exc), row.expires_at)
    with db.begin() as connection:
        store.save(connection, keys, account.name, row.platform, fresh, now, refreshed=True)
    return Refreshed(account.name, REFRESHED, "new tokens stored", fresh.expires_at)


def _skip(row: store.StoredToken | None, now: datetime, due: Ahead | None, unless_changed: int | None) -> str | None:
    """Why not to refresh now, or None to go ahead."""
    if row is None:
        return "not connected"
    if row.status != store.CONNECTED:
        return f"marked {row.status}"
    if unless_changed is not None:
        return None if row.version == unless_changed else "already refreshed by another process"
    if due is not None and not due.due(row, now):
        return "not due yet"
    return None
