"""The queue as people handle it: list, show, cancel, reschedule, and ad hoc posts.

``queue_posts`` lists what is coming first (scheduled, queued, publishing, paused, held, by due
time), then, if asked, the history (newest first), so a long history never hides what goes out next.

Each function opens its own transaction and changes state only through ``ledger.transition``, so a
worker racing with a person never publishes a post that was just cancelled (its conditional update
finds the row moved and stops).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from promo.engine.policies import due_time
from promo.errors import NotFound, PostInvalid, TransitionRefused
from promo.manage.approvals import after_move
from promo.manage.views import (  # the views live there: the read commands build them without SQLAlchemy
    DEFAULT_LIMIT,
    UPCOMING,
    EventView,
    PostDetail,
    PostView,
    QueuePage,
    chosen_statuses,
    queue_page,
    zone_names,
)
from promo.posts import Post, post_digest
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import clear_attempt, log, new_idempotency_key, status_of, transition
from promo.store.tables import Campaign, Event, PostRow
from promo.times import iso, utcnow, zone

if TYPE_CHECKING:
    from promo.accounts import Account

__all__ = ["DEFAULT_LIMIT", "UPCOMING", "EngineReads", "EventView", "PostDetail", "PostView", "QueuePage",
           "campaign_zones", "cancel", "create_adhoc", "get_post", "list_posts", "post_zone",
           "queue_posts", "reschedule"]
ADHOC_KIND = "adhoc"
# From these a post can be moved to a new time; paused stays paused, awaiting approval keeps waiting
# (``promo.manage.approvals.after_move``), the rest become scheduled.
RESCHEDULABLE = frozenset({states.AWAITING, states.SCHEDULED, states.QUEUED, states.PAUSED, states.HELD,
                           states.FAILED})


# -- reading -------------------------------------------------------------------------------------

def list_posts(engine: Engine, status: str | Sequence[str] | None = None, campaign: str | None = None,
               account: str | None = None, limit: int = DEFAULT_LIMIT) -> list[PostView]:
    """Posts in the order they go out (due time, then id), filtered by status, campaign, account."""
    wanted = chosen_statuses(status)
    query = select(PostRow).order_by(PostRow.due_at, PostRow.id).limit(limit)
    if wanted:
        query = query.where(PostRow.status.in_(wanted))
    if campaign is not None:
        query = query.where(PostRow.campaign_id == campaign)
    if account is not None:
        query = query.where(PostRow.account == account)
    with transaction(engine) as session:
        return [PostView.of(row) for row in session.scalars(query)]


def queue_posts(engine: Engine, status: str | Sequence[str] | None = None, campaign: str | None = None,
                account: str | None = None, *, history: bool = False, limit: int = DEFAULT_LIMIT) -> QueuePage:
    """Upcoming posts by due time, then (``history``, or asked for by status) the rest, newest first."""
    filters = [PostRow.campaign_id == campaign] if campaign is not None else []
    filters += [PostRow.account == account] if account is not None else []

    def fetch(statuses: list[str], newest_first: bool, most: int) -> list[PostRow]:
        order = (PostRow.due_at.desc(), PostRow.id.desc()) if newest_first else (PostRow.due_at, PostRow.id)
        return list(session.scalars(select(PostRow).where(PostRow.status.in_(statuses), *filters)
                                    .order_by(*order).limit(most)))

    def count(statuses: list[str]) -> int:
        return int(session.scalar(select(func.count()).select_from(PostRow)
                                  .where(PostRow.status.in_(statuses), *filters)) or 0)

    with transaction(engine) as session:
        return queue_page(status, history, limit, fetch, count)


def post_zone(engine: Engine, post_id: int, account_zone: Callable[[str], ZoneInfo]) -> ZoneInfo:
    """The zone a time typed about a post is read in: its campaign's, else its account's (ad hoc)."""
    with transaction(engine) as session:
        found = session.execute(select(PostRow.account, Campaign.timezone)
                                .outerjoin(Campaign, Campaign.id == PostRow.campaign_id)
                                .where(PostRow.id == post_id)).first()
    if found is None:
        raise NotFound(f"no post with id {post_id} ('promo queue' lists them)")
    account, name = found
    if name:
        with contextlib.suppress(ValueError):
            return zone(name)
    return account_zone(account)


def get_post(engine: Engine, post_id: int) -> PostDetail:
    """One post with its payload and every event, oldest first. NotFound if there is none."""
    with transaction(engine) as session:
        row = _row(session, post_id)
        events = session.scalars(select(Event).where(Event.post_id == post_id).order_by(Event.id))
        return PostDetail.of(row, list(events))


def campaign_zones(engine: Engine, campaigns: Iterable[str | None]) -> dict[str, ZoneInfo]:
    """The zone each named campaign was written in (unknown zones are left out)."""
    wanted = {c for c in campaigns if c}
    if not wanted:
        return {}
    with transaction(engine) as session:
        found = session.execute(select(Campaign.id, Campaign.timezone).where(Campaign.id.in_(wanted))).all()
    return zone_names([(campaign, name) for campaign, name in found])


class EngineReads:
    """The read commands' queries through SQLAlchemy (``promo.manage.reads.FileReads`` is the other)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def queue(self, status: str | Sequence[str] | None = None, campaign: str | None = None,
              account: str | None = None, *, history: bool = False, limit: int = DEFAULT_LIMIT) -> QueuePage:
        return queue_posts(self.engine, status, campaign, account, history=history, limit=limit)

    def post(self, post_id: int) -> PostDetail:
        return get_post(self.engine, post_id)

    def campaign_zones(self, campaigns: Iterable[str | None]) -> dict[str, ZoneInfo]:
        return campaign_zones(self.engine, campaigns)


def _row(session: Session, post_id: int, lock: bool = False) -> PostRow:
    query = select(PostRow).where(PostRow.id == post_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound(f"no post with id {post_id} ('promo queue --all' lists them)")
    return row


# -- changing ------------------------------------------------------------------------------------

def cancel(engine: Engine, post_id: int, actor: str = "cli") -> PostView:
    """Cancel a post that has not been sent. TransitionRefused once it may have gone out."""
    with transaction(engine) as session:
        row = _row(session, post_id, lock=True)
        status = row.status
        if status not in states.UNSENT:
            raise TransitionRefused(post_id, status, "cancel")
        reason = f"cancelled by {actor}"
        if not transition(session, post_id, (status,), states.CANCELLED, action="cancelled", actor=actor,
                          reason=reason, lease_until=None, detail={"reason": reason}):
            raise TransitionRefused(post_id, _status(session, post_id), "cancel")
        session.refresh(row)
        return PostView.of(row)


def reschedule(engine: Engine, post_id: int, at: datetime, actor: str = "cli") -> PostView:
    """Move an unsent post to ``at`` (aware). Its embargo still holds: it is due at the later of the two."""
    if at.tzinfo is None:
        raise ValueError("reschedule needs an aware datetime")
    with transaction(engine) as session:
        row = _row(session, post_id, lock=True)
        status = row.status
        if status not in RESCHEDULABLE:
            raise TransitionRefused(post_id, status, "reschedule")
        old = row.scheduled_at
        not_before = row.not_before
        target = after_move(session, row, states.PAUSED if status == states.PAUSED else states.SCHEDULED, at)
        values: dict[str, Any] = {"scheduled_at": at, "due_at": due_time(at, not_before),
                                  "digest": post_digest(row.payload, at, not_before, row.max_lateness_s),
                                  "lease_until": None}
        if not transition(session, post_id, (status,), target, action="rescheduled", actor=actor,
                          detail={"from": iso(old), "to": iso(at)}, **values):
            raise TransitionRefused(post_id, _status(session, post_id), "reschedule")
        if status == states.QUEUED:
            clear_attempt(session, post_id)
        session.refresh(row)
        return PostView.of(row)


def create_adhoc(engine: Engine, account: Account, text: str, at: datetime, actor: str = "cli") -> PostView:
    """Queue one post outside any campaign. PostInvalid (nothing written) if it breaks a platform rule."""
    if at.tzinfo is None:
        raise ValueError("an ad hoc post needs an aware datetime")
    post = checked_adhoc(account, text)
    with transaction(engine) as session:
        return add_adhoc(session, account, post, at, actor)


def checked_adhoc(account: Account, text: str) -> Post:
    """The ad hoc post for ``account``, checked by its platform's rules (PostInvalid if it breaks one)."""
    post = Post.single(account.platform, account.name, text)
    from promo.platforms.registry import rules_for  # every platform's rules: only when posting, not listing

    report = rules_for(account.platform, account.options).check(post)
    if not report.ok:
        raise PostInvalid(report.problems, context=f"{account.name} ({account.platform})")
    return post


def add_adhoc(session: Session, account: Account, post: Post, at: datetime, actor: str) -> PostView:
    """Write a checked ad hoc post scheduled at ``at`` inside the caller's transaction."""
    lateness = round(account.max_lateness.total_seconds()) if account.max_lateness else None
    payload = post.to_payload()
    now = utcnow()
    row = PostRow(idempotency_key=new_idempotency_key(), campaign_id=None, announcement=None,
                  kind=ADHOC_KIND, account=account.name, platform=account.platform, payload=payload,
                  digest=post_digest(payload, at, None, lateness), status=states.SCHEDULED,
                  scheduled_at=at, due_at=at, max_lateness_s=lateness, attempts=0,
                  journal={}, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    log(session, row.id, "created", actor=actor, to_status=states.SCHEDULED, now=now,
        detail={"adhoc": True})
    return PostView.of(row)


def _status(session: Session, post_id: int) -> str:
    return status_of(session, post_id) or "missing"
