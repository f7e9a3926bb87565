"""What a person does about a post that needs attention: retry it, or settle an unknown one.

- ``retry``: a ``failed`` or ``held`` post goes back to ``scheduled``, due now, attempts reset. A
  retried post is sent even if late: its allowed lateness is stretched to cover the delay.
- ``resolve``: an ``unknown`` post is settled by a person who checked the platform: ``published``
  (with the URL they found) or not published, which schedules it to be sent again now (cancel it
  afterwards with ``promo cancel`` if it should not go out at all).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from promo.errors import NotFound, TransitionRefused
from promo.store import states
from promo.store.ledger import transition
from promo.store.tables import PostRow
from promo.times import utcnow

LATENESS_MARGIN_S = 3600


def _row(session: Session, post_id: int) -> PostRow:
    row = session.get(PostRow, post_id)
    if row is None:
        raise NotFound(f"no post with id {post_id} ('promo queue' lists them)")
    return row


def retry(session: Session, post_id: int, *, actor: str = "cli", now: datetime | None = None) -> None:
    now = now or utcnow()
    row = _row(session, post_id)
    if row.status not in (states.FAILED, states.HELD):
        hint = "; use 'promo resolve' for unknown posts" if row.status == states.UNKNOWN else ""
        raise TransitionRefused(post_id, row.status, "retry" + hint)
    intended = row.scheduled_at
    if row.not_before is not None:
        intended = max(intended, row.not_before)
    stretched = max(row.max_lateness_s or 0, int((now - intended).total_seconds()) + LATENESS_MARGIN_S)
    if not transition(
        session,
        post_id,
        [row.status],
        states.SCHEDULED,
        action="retried",
        actor=actor,
        now=now,
        due_at=now,
        attempts=0,
        reason=None,
        max_lateness_s=stretched,
    ):
        raise TransitionRefused(
            post_id, str(session.scalar(select(PostRow.status).where(PostRow.id == post_id))), "retry"
        )


def resolve(
    session: Session,
    post_id: int,
    *,
    published_url: str | None,
    actor: str = "cli",
    now: datetime | None = None,
) -> str:
    """Settle an unknown post. Returns its new state."""
    now = now or utcnow()
    row = _row(session, post_id)
    if row.status != states.UNKNOWN:
        raise TransitionRefused(post_id, row.status, "resolve (only unknown posts need it)")
    if published_url is not None:
        platform_id = published_url.rstrip("/").rsplit("/", 1)[-1] or published_url
        moved = transition(
            session,
            post_id,
            [states.UNKNOWN],
            states.PUBLISHED,
            action="resolved",
            actor=actor,
            now=now,
            detail={"published": True, "url": published_url},
            url=published_url,
            platform_id=row.platform_id or platform_id,
            published_at=now,
            reason=None,
        )
        target = states.PUBLISHED
    else:
        moved = transition(
            session,
            post_id,
            [states.UNKNOWN],
            states.SCHEDULED,
            action="resolved",
            actor=actor,
            now=now,
            detail={"published": False},
            due_at=now,
            reason=None,
        )
        target = states.SCHEDULED
    if not moved:
        raise TransitionRefused(post_id, "no longer unknown", "resolve")
    return target
