"""The ledger's one write primitive: a conditional state change, logged in the same transaction.

Every status change anywhere in promo goes through ``transition``: ``UPDATE posts SET ... WHERE
id = ? AND status IN (expected) [AND attempt_id = ?]``. Zero rows changed means somebody else moved
the post first (a duplicate delivery, a concurrent cancel): the caller stops. A move the state
machine in ``promo.store.states`` does not have is refused before anything is written
(``IllegalTransition``): that is a bug in the caller, not a race.

These run once or twice per published post, so the statements are Core constructs built once per
shape (which columns it sets, whether it is fenced) and executed on the transaction's connection:
SQLAlchemy then compiles each shape once per process instead of rebuilding it on every call. On
PostgreSQL the update and its event are one statement (``WITH moved AS (UPDATE ... RETURNING id)
INSERT INTO events ... SELECT ... FROM moved``): one round trip, and a transition on its own needs no
transaction around it (``single_transition``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Select, Table, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session

from promo.errors import PromoError
from promo.store import states
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
    claim); ``values`` are other columns to set. Returns whether the row changed; the event is written
    only if it did. A move the state machine lacks raises ``IllegalTransition`` and writes nothing.
    """
    expected = tuple(expected)
    states.check(expected, target, action=action, post_id=post_id)
    now = now or utcnow()
    if new_attempt_id is not None:
        values["attempt_id"] = new_attempt_id
    values["status"], values["updated_at"] = target, now
    params = {f"v_{name}": value for name, value in values.items()}
    params.update({f"w_status_{i}": status for i, status in enumerate(expected)}, w_id=post_id)
    if attempt_id is not None:
        params["w_attempt_id"] = attempt_id
    shape = (tuple(sorted(values)), len(expected), attempt_id is not None)
    connection = connection_of(db)
    logged = event(post_id, action, actor=actor, from_status=expected[0] if len(expected) == 1 else None,
                   to_status=target, attempt_id=values.get("attempt_id", attempt_id), detail=detail, now=now)
    if connection.dialect.name == "postgresql":
        return connection.execute(_update_logged(*shape), {**params, **event_params(logged)}).first() is not None
    if connection.execute(_update(*shape), params).rowcount != 1:
        return False
    append(connection, logged)
    return True


@contextmanager
def single_transition(engine: Engine) -> Iterator[Connection]:
    """A connection for one ``transition`` and nothing else.

    On PostgreSQL that transition is one statement, atomic on its own: it runs autocommitted, with
    no ``BEGIN`` and ``COMMIT`` round trips. Elsewhere it is a transaction as usual.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
    else:
        with engine.begin() as connection:
            yield connection


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
    states.check((expected,), target, action=action)
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
        event(post_id, action, actor=actor, from_status=expected, to_status=target,
              attempt_id=values.get("attempt_id"), detail=detail, now=now)
        for post_id, values, detail in moves
    ])


def log(db: Session | Connection, post_id: int | None, action: str, **fields: Any) -> None:
    """Append one event; ``fields`` as for ``event``."""
    append(db, event(post_id, action, **fields))


def append(db: Session | Connection, logged: dict[str, Any]) -> None:
    """Append an ``event``."""
    connection_of(db).execute(_insert_event(), logged)


def event(
    post_id: int | None,
    action: str,
    *,
    actor: str,
    from_status: str | None = None,
    to_status: str | None = None,
    attempt_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One event's columns, for ``log`` or (through ``event_params``) ``with_event``."""
    return {"post_id": post_id, "at": now or utcnow(), "action": action, "from_status": from_status,
            "to_status": to_status, "attempt_id": attempt_id, "actor": actor, "detail": detail or {}}


def with_event(moving: Update) -> Select[Any]:
    """PostgreSQL: ``moving`` and the moved post's event in one statement.

    ``moving`` is an UPDATE of one post whose RETURNING includes ``posts.id``; the statement returns
    what it returns, and writes the event only for a row it moved. Execute it with the update's
    parameters plus ``event_params(event(...))``.
    """
    moved = moving.cte("moved")
    logged = [column for column in EVENTS.c if column.name not in ("id", "post_id")]
    insert_event = insert(EVENTS).from_select(
        ["post_id", *(column.name for column in logged)],
        select(moved.c.id, *(bindparam(f"e_{column.name}", type_=column.type) for column in logged)),
    )
    return select(moved).add_cte(insert_event.cte("logged"))


def event_params(logged: dict[str, Any]) -> dict[str, Any]:
    """An ``event``'s columns as ``with_event``'s parameters (named apart from the update's own)."""
    return {f"e_{name}": value for name, value in logged.items() if name != "post_id"}


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


@cache
def _update_logged(columns: tuple[str, ...], expected: int, fenced: bool) -> Select[Any]:
    return with_event(_update(columns, expected, fenced).returning(POSTS.c.id))


def new_idempotency_key() -> str:
    """Fixed when a post is created and never changed: adapters send it to platforms that dedupe."""
    return "promo-" + uuid.uuid4().hex


def clear_attempt(session: Session, post_id: int) -> None:
    """Drop the queued attempt's fence: an in-flight publish task for it finds nothing to claim."""
    session.execute(update(PostRow).where(PostRow.id == post_id).values(attempt_id=None)
                    .execution_options(synchronize_session=False))
