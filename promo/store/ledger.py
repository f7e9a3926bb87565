"""The ledger's one write primitive: a conditional state change, logged in the same transaction.

Every status change anywhere in promo goes through ``transition``: ``UPDATE posts SET ... WHERE
id = ? AND status IN (expected) [AND attempt_id = ?]``. Zero rows changed means somebody else moved
the post first (a duplicate delivery, a concurrent cancel): the caller stops.

These run once or twice per published post, so the statements are Core constructs built once per
shape (which columns it sets, whether it is fenced) and executed on the transaction's connection:
SQLAlchemy then compiles each shape once per process instead of rebuilding it on every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Insert, Table, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session

from promo.errors import PromoError
from promo.store.tables import Event, PostRow
from promo.times import utcnow

POSTS: Table = PostRow.__table__  # type: ignore[assignment]
EVENTS: Table = Event.__table__  # type: ignore[assignment]


def transition(
    db: Session | Connection,
    post_id: int,
    expected: Iterable[str],
    target: str,
    *,
    action: str,
    actor: str,
    attempt_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
    new_attempt_id: str | None = None,
    **values: Any,
) -> bool:
    """Move post ``post_id`` from one of ``expected`` to ``target`` if it is still there.

    ``attempt_id`` fences the change to the current attempt; ``new_attempt_id`` stamps a new one (a
    claim). ``values`` are other columns to set.
    Returns whether the row changed; the event is written only if it did.
    """
    now = now or utcnow()
    expected = tuple(expected)
    if new_attempt_id is not None:
        values["attempt_id"] = new_attempt_id
    values["status"], values["updated_at"] = target, now
    params = {f"v_{name}": value for name, value in values.items()}
    params.update({f"w_status_{i}": status for i, status in enumerate(expected)}, w_id=post_id)
    if attempt_id is not None:
        params["w_attempt_id"] = attempt_id
    statement = _update(tuple(sorted(values)), len(expected), attempt_id is not None)
    if connection_of(db).execute(statement, params).rowcount != 1:
        return False
    previous = expected[0] if len(expected) == 1 else None
    log(db, post_id, action, actor=actor, from_status=previous, to_status=target,
        attempt_id=values.get("attempt_id", attempt_id), detail=detail, now=now)
    return True


def transition_locked(
    db: Session | Connection,
    moves: Sequence[tuple[int, dict[str, Any], dict[str, Any] | None]],
    expected: str,
    target: str,
    *,
    action: str,
    actor: str,
    now: datetime,
) -> None:
    """``transition`` for many posts at once, in two statements: ``(post_id, values, detail)`` each.

    Only for rows this transaction has locked, so that every one of them moves: the dispatcher's
    claim (``BEGIN IMMEDIATE`` on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Each move sets
    the same columns. If a row did not move after all, nothing does: the transaction is refused.
    """
    if not moves:
        return
    columns = tuple(sorted({*moves[0][1], "status", "updated_at"}))
    connection = connection_of(db)
    changed = connection.execute(_update(columns, 1, False), [
        {**{f"v_{name}": value for name, value in values.items()}, "v_status": target, "v_updated_at": now,
         "w_id": post_id, "w_status_0": expected}
        for post_id, values, _detail in moves
    ]).rowcount
    if changed != len(moves):
        raise PromoError(f"{action}: {changed} of {len(moves)} locked posts moved; nothing was changed")
    connection.execute(_insert_event(), [
        {"post_id": post_id, "at": now, "action": action, "from_status": expected, "to_status": target,
         "attempt_id": values.get("attempt_id"), "actor": actor, "detail": detail or {}}
        for post_id, values, detail in moves
    ])


def log(
    db: Session | Connection,
    post_id: int | None,
    action: str,
    *,
    actor: str,
    from_status: str | None = None,
    to_status: str | None = None,
    attempt_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Append one event."""
    connection_of(db).execute(_insert_event(), {
        "post_id": post_id, "at": now or utcnow(), "action": action, "from_status": from_status,
        "to_status": to_status, "attempt_id": attempt_id, "actor": actor, "detail": detail or {},
    })


def status_of(db: Session | Connection, post_id: int) -> str | None:
    return connection_of(db).scalar(select(POSTS.c.status).where(POSTS.c.id == post_id))


def connection_of(db: Session | Connection) -> Connection:
    """The connection under a Session's transaction, or the Connection itself."""
    return db.connection() if isinstance(db, Session) else db


@cache
def _update(columns: tuple[str, ...], expected: int, fenced: bool) -> Update:
    statuses: list[Any] = [bindparam(f"w_status_{i}") for i in range(expected)]
    condition = [POSTS.c.id == bindparam("w_id"), POSTS.c.status.in_(statuses)]
    if fenced:
        condition.append(POSTS.c.attempt_id == bindparam("w_attempt_id"))
    return update(POSTS).where(*condition).values({name: bindparam(f"v_{name}") for name in columns})


@cache
def _insert_event() -> Insert:
    return insert(EVENTS).values({column.name: bindparam(column.name) for column in EVENTS.c if column.name != "id"})
