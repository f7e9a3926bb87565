"""What a person does about a post that needs attention: retry it, or settle an unknown one.

- ``retry``: a ``failed`` or ``held`` post goes back to ``scheduled``, due now, attempts reset. A
  retried post is sent even if late: its allowed lateness is stretched to cover the delay.
- ``resolve``: an ``unknown`` post is settled by a person who checked the platform: ``published``
  (with the URL they found) or not published, which schedules it to be sent again now (cancel it
  afterwards with ``promo cancel`` if it should not go out at all).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.engine.policies import lateness_for_retry
from promo.errors import NotFound, TransitionRefused
from promo.manage.posts import PostView
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.tables import PostRow
from promo.times import utcnow


def retry(engine: Engine, post_id: int, *, actor: str = "cli", now: datetime | None = None) -> PostView:
    """Send a failed or held post again, now, in one transaction. Returns the post as it is now."""
    with transaction(engine) as session:
        _retry(session, post_id, actor, now or utcnow())
        row = _row(session, post_id)
        session.refresh(row)
        return PostView.of(row)


def resolve(
    engine: Engine,
    post_id: int,
    *,
    published_url: str | None,
    actor: str = "cli",
    now: datetime | None = None,
) -> str:
    """Settle an unknown post, in one transaction. Returns its new state."""
    with transaction(engine) as session:
        return _resolve(session, post_id, published_url, actor, now or utcnow())


def _row(session: Session, post_id: int) -> PostRow:
    row = session.get(PostRow, post_id)
    if row is None:
        raise NotFound(f"no post with id {post_id} ('promo queue --all' lists them)")
    return row


def _retry(session: Session, post_id: int, actor: str, now: datetime) -> None:
    row = _row(session, post_id)
    if row.status not in (states.FAILED, states.HELD):
        hint = "; use 'promo resolve' for unknown posts" if row.status == states.UNKNOWN else ""
        raise TransitionRefused(post_id, row.status, "retry" + hint)
    stretched = lateness_for_retry(row, now)
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


def _resolve(session: Session, post_id: int, published_url: str | None, actor: str, now: datetime) -> str:
    row = _row(session, post_id)
    if row.status != states.UNKNOWN:
        raise TransitionRefused(post_id, row.status, "resolve (only unknown posts need it)")
    target = states.PUBLISHED if published_url is not None else states.SCHEDULED
    if published_url is not None:
        detail: dict[str, Any] = {"published": True, "url": published_url}
        values = _published(row, published_url, now)
    else:
        detail, values = {"published": False}, {"due_at": now}
    if not transition(session, post_id, [states.UNKNOWN], target, action="resolved", actor=actor, now=now,
                      detail=detail, reason=None, **values):
        raise TransitionRefused(post_id, "no longer unknown", "resolve")
    return target


def _published(row: PostRow, url: str, now: datetime) -> dict[str, Any]:
    """The columns a post settled as published gets: its URL, its platform id (the URL's last part)."""
    platform_id = url.rstrip("/").rsplit("/", 1)[-1] or url
    return {"url": url, "platform_id": row.platform_id or platform_id, "published_at": now}
