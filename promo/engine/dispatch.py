"""The dispatcher: claim due posts atomically, commit, then hand them to the broker.

Safe to run twice at once (two beats, a beat and ``promo run``): PostgreSQL claims with
``FOR UPDATE SKIP LOCKED``; SQLite takes the write lock with ``BEGIN IMMEDIATE``; and every claim is
a conditional ``scheduled -> queued`` update stamping a fresh attempt id. It looks ``lookahead``
seconds ahead so a post is enqueued with a short countdown and goes out on the second, while a
far-future time is never held in the broker (F1, F3).

Before claiming, each due post meets the policies, in this order:

1. a pause covers it                    -> ``paused``
2. later than its allowed lateness      -> ``held`` for a person, with a reason
3. embargoed past the horizon           -> stays ``scheduled``, due at ``not_before``
4. its account is blocked (rate limit)  -> stays ``scheduled``, due when the block ends
5. otherwise                            -> ``queued`` with a new attempt id and a lease

No Celery here: the caller passes ``enqueue``, called after the commit (F11).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.accounts import Account
from promo.engine.ratelimits import blocked_accounts
from promo.settings import Settings
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition, transition_locked
from promo.store.meta import LAST_DISPATCH, put_meta
from promo.store.pauses import active_pauses, pause_covering
from promo.store.tables import PostRow
from promo.times import iso, utcnow

ACTOR = "dispatcher"


@dataclass(frozen=True)
class Claim:
    """A post handed to a worker: publish ``post_id`` under ``attempt_id`` at ``due_at``."""

    post_id: int
    attempt_id: str
    due_at: datetime

    def countdown(self, now: datetime) -> float:
        return max(0.0, (self.due_at - now).total_seconds())


def dispatch(
    engine: Engine,
    settings: Settings,
    accounts: Mapping[str, Account],
    enqueue: Callable[[Claim], Any] | None = None,
    *,
    now: datetime | None = None,
    actor: str = ACTOR,
) -> list[Claim]:
    """One dispatcher run: apply the policies, claim due posts, commit, then ``enqueue`` each."""
    now = now or utcnow()
    with transaction(engine) as session:
        claims = claim_due(session, settings, accounts, now, actor)
        put_meta(session, LAST_DISPATCH, iso(now))
    for claim in claims:
        if enqueue is not None:
            enqueue(claim)
    return claims


def claim_due(
    session: Session, settings: Settings, accounts: Mapping[str, Account], now: datetime, actor: str = ACTOR
) -> list[Claim]:
    horizon = now + timedelta(seconds=settings.dispatch_lookahead)
    holds = active_pauses(session)
    blocked = blocked_accounts(session, now)
    claimable: list[tuple[int, datetime]] = []
    for row in _due_rows(session, horizon, settings.dispatch_batch):
        hold = pause_covering(holds, row.campaign_id, row.account)
        if hold is not None:
            transition(
                session,
                row.id,
                [states.SCHEDULED],
                states.PAUSED,
                action="paused",
                actor=actor,
                detail={"hold": hold.describe()},
                now=now,
            )
            continue
        late = lateness_reason(row, accounts.get(row.account), settings, now)
        if late:
            transition(
                session,
                row.id,
                [states.SCHEDULED],
                states.HELD,
                action="held",
                actor=actor,
                detail={"reason": late},
                now=now,
                reason=late,
            )
            continue
        at, why = earliest_send(row), "embargo"
        if row.account in blocked and blocked[row.account] > at:
            at, why = blocked[row.account], "account blocked (rate limit)"
        if at > horizon:
            _defer(session, row.id, at, why, actor, now)
        else:
            claimable.append((row.id, at))
    return _claim(session, claimable, settings, actor, now)


def _due_rows(session: Session, horizon: datetime, batch: int) -> list[Any]:
    query = (
        select(
            PostRow.id,
            PostRow.campaign_id,
            PostRow.account,
            PostRow.scheduled_at,
            PostRow.due_at,
            PostRow.not_before,
            PostRow.max_lateness_s,
        )
        .where(PostRow.status == states.SCHEDULED, PostRow.due_at <= horizon)
        .order_by(PostRow.due_at, PostRow.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=PostRow)
    return list(session.execute(query).all())


def earliest_send(row: Any) -> datetime:
    """The due time, never before the embargo."""
    due = row.due_at
    if row.not_before is not None:
        return max(due, row.not_before)
    return due


def allowed_lateness(row: Any, account: Account | None, settings: Settings) -> timedelta:
    if row.max_lateness_s is not None:
        return timedelta(seconds=row.max_lateness_s)
    if account is not None and account.max_lateness is not None:
        return account.max_lateness
    return settings.max_lateness


def lateness_reason(row: Any, account: Account | None, settings: Settings, now: datetime) -> str | None:
    """Why a post is too late to send as written, or None. Lateness counts from its intended time."""
    intended = row.scheduled_at
    if row.not_before is not None:
        intended = max(intended, row.not_before)
    allowed = allowed_lateness(row, account, settings)
    overdue = now - intended
    if overdue <= allowed:
        return None
    return (
        f"{_words(overdue)} late (allowed {_words(allowed)}): held so stale copy is not sent; "
        f"'promo retry {row.id}' sends it anyway, 'promo cancel {row.id}' drops it"
    )


def _words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _defer(session: Session, post_id: int, until: datetime, why: str, actor: str, now: datetime) -> None:
    transition(
        session,
        post_id,
        [states.SCHEDULED],
        states.SCHEDULED,
        action="deferred",
        actor=actor,
        detail={"why": why, "until": iso(until)},
        now=now,
        due_at=until,
    )


def _claim(
    session: Session, due: list[tuple[int, datetime]], settings: Settings, actor: str, now: datetime
) -> list[Claim]:
    """``scheduled -> queued`` with a fresh attempt id each, for rows this transaction has locked."""
    claims = [Claim(post_id, uuid.uuid4().hex, at) for post_id, at in due]
    lease = timedelta(seconds=settings.queued_lease)
    transition_locked(
        session,
        [(c.post_id, {"attempt_id": c.attempt_id, "due_at": c.due_at, "lease_until": c.due_at + lease},
          {"due_at": iso(c.due_at)}) for c in claims],
        states.SCHEDULED,
        states.QUEUED,
        action="claimed",
        actor=actor,
        now=now,
    )
    return claims
