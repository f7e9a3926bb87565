"""Per-account limits shared by every worker: ``blocked_until``, a credentials flag and a fixed posting window.

All live in ``account_state`` and change only by conditional UPDATEs inside the caller's
transaction, so two workers on two machines can never both take the last slot of a window.

- ``block(session, account, until, reason)``: the platform said "wait until"; later wins. It ends by
  itself: once ``blocked_until`` has passed nothing reads it as a block (``promo status`` neither).
- ``flag(session, account, reason)`` / ``clear_flag(session, account)``: credentials a person must fix;
  cleared by a passing ``promo accounts check`` or a successful publish. Its own columns
  (``flagged_reason``, ``flagged_at``): a block and a flag never overwrite each other.
- ``take_slot(session, account, limit, now)``: ``None`` if this post may go now, else the time the
  account is free again (blocked, or the window is full).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.orm import Session

from promo.accounts import RateLimit
from promo.store.meta import upsert_statement
from promo.store.tables import AccountState

Db = Session | Connection
_BLOCKED_UNTIL = select(AccountState.blocked_until).where(AccountState.account == bindparam("account"))


def ensure_row(session: Db, account: str) -> None:
    session.execute(
        upsert_statement(session, AccountState)
        .values(account=account, window_count=0)
        .on_conflict_do_nothing(index_elements=["account"])
    )


def blocked_until(session: Db, account: str, now: datetime) -> datetime | None:
    """When the account is free again if it is blocked now, else None."""
    value = session.scalar(_BLOCKED_UNTIL, {"account": account})
    if value is None or value <= now:
        return None
    return value


def blocked_accounts(session: Db, now: datetime) -> dict[str, datetime]:
    rows = session.execute(
        select(AccountState.account, AccountState.blocked_until).where(AccountState.blocked_until > now)
    ).all()
    return {account: until for account, until in rows if until is not None}


def block(session: Db, account: str, until: datetime, reason: str) -> None:
    """Block ``account`` until ``until`` unless it is already blocked for longer."""
    ensure_row(session, account)
    session.execute(
        update(AccountState)
        .where(
            AccountState.account == account,
            (AccountState.blocked_until.is_(None)) | (AccountState.blocked_until < until),
        )
        .values(blocked_until=until, blocked_reason=reason)
    )


def flag(session: Db, account: str, reason: str, now: datetime) -> None:
    """Note a problem a person must fix (a revoked token); ``promo status`` shows it until cleared."""
    ensure_row(session, account)
    session.execute(update(AccountState).where(AccountState.account == account)
                    .values(flagged_reason=reason, flagged_at=now))


def clear_flag(session: Db, account: str) -> bool:
    """The account's credentials work again: drop its flag (its block, if any, stays). Whether it had one."""
    cleared = session.execute(update(AccountState)
                              .where(AccountState.account == account, AccountState.flagged_reason.is_not(None))
                              .values(flagged_reason=None, flagged_at=None))
    return bool(cleared.rowcount)  # type: ignore[attr-defined]


def take_slot(session: Db, account: str, limit: RateLimit | None, now: datetime) -> datetime | None:
    """Take one posting slot for ``account`` now, or say when the next one opens."""
    free_at = blocked_until(session, account, now)
    if free_at is not None:
        return free_at
    if limit is None:
        return None
    ensure_row(session, account)
    window_opened_before = now - limit.per
    fresh = session.execute(
        update(AccountState)
        .where(
            AccountState.account == account,
            (AccountState.window_start.is_(None)) | (AccountState.window_start <= window_opened_before),
        )
        .values(window_start=now, window_count=1)
    )
    if fresh.rowcount == 1:  # type: ignore[attr-defined]
        return None
    counted = session.execute(
        update(AccountState)
        .where(
            AccountState.account == account,
            AccountState.window_start > window_opened_before,
            AccountState.window_count < limit.posts,
        )
        .values(window_count=AccountState.window_count + 1)
    )
    if counted.rowcount == 1:  # type: ignore[attr-defined]
        return None
    start = session.scalar(select(AccountState.window_start).where(AccountState.account == account))
    return start + limit.per if start is not None else now + limit.per
