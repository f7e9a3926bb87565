"""The ledger's one write primitive: a conditional state change, logged in the same transaction.

Every status change anywhere in promo goes through ``transition``: ``UPDATE posts SET ... WHERE
id = ? AND status IN (expected) [AND attempt_id = ?]``. Zero rows changed means somebody else moved
the post first (a duplicate delivery, a concurrent cancel): the caller stops.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from promo.store.tables import Event, PostRow
from promo.times import utcnow


def transition(
    session: Session,
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
    condition = [PostRow.id == post_id, PostRow.status.in_(expected)]
    if attempt_id is not None:
        condition.append(PostRow.attempt_id == attempt_id)
    result = session.execute(
        update(PostRow).where(*condition).values(status=target, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    previous = expected[0] if len(expected) == 1 else None
    log(session, post_id, action, actor=actor, from_status=previous, to_status=target,
        attempt_id=values.get("attempt_id", attempt_id), detail=detail, now=now)
    return True


def log(
    session: Session,
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
    session.execute(insert(Event).values(
        post_id=post_id, at=now or utcnow(), action=action, from_status=from_status,
        to_status=to_status, attempt_id=attempt_id, actor=actor, detail=detail or {},
    ))


def status_of(session: Session, post_id: int) -> str | None:
    return session.scalar(select(PostRow.status).where(PostRow.id == post_id))
