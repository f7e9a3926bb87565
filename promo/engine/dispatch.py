"""The dispatcher: claim due posts atomically, commit, then hand them to the broker.

Safe to run twice at once (two beats, a beat and ``promo run``): PostgreSQL claims with
``FOR UPDATE SKIP LOCKED``; SQLite takes the write lock with ``BEGIN IMMEDIATE``; and every claim is
a conditional ``scheduled -> queued`` update stamping a fresh attempt id. It looks ``lookahead``
seconds ahead so a post is enqueued with a short countdown and goes out on the second, while a
far-future time is never held in the broker (F1, F3).

Before claiming, each due post meets the policies (``promo.engine.policies``), in this order:

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
from promo.engine.policies import lateness_reason, send_time
from promo.engine.ratelimits import blocked_accounts
from promo.settings import Settings
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition, transition_locked
from promo.store.meta import LAST_DISPATCH, put_meta
from promo.store.pauses import Scope, active_pauses, pause_covering
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
    """Apply the policies to every due post in this transaction; claim the ones that may go."""
    checks = _Checks(active_pauses(session), blocked_accounts(session, now), accounts, settings, now, actor)
    horizon = now + timedelta(seconds=settings.dispatch_lookahead)
    claimable: list[tuple[int, datetime]] = []
    for row in _due_rows(session, horizon, settings.dispatch_batch):
        when = _send_time_unless_moved(session, row, checks)
        if when is None:
            continue
        at, why = when
        if at > horizon:  # embargoed, or its account is blocked: due later
            _move(session, row.id, states.SCHEDULED, "deferred", checks, {"why": why, "until": iso(at)}, due_at=at)
        else:
            claimable.append((row.id, at))
    return _claim(session, claimable, settings, actor, now)


@dataclass(frozen=True)
class _Checks:
    """What one dispatcher run checks every due post against."""

    pauses: list[Scope]
    blocked: dict[str, datetime]
    accounts: Mapping[str, Account]
    settings: Settings
    now: datetime
    actor: str


def _send_time_unless_moved(session: Session, row: Any, checks: _Checks) -> tuple[datetime, str] | None:
    """When a due post may be sent, and why not sooner; None if a pause or the late-post rule moved it."""
    pause = pause_covering(checks.pauses, row.campaign_id, row.account)
    if pause is not None:
        _move(session, row.id, states.PAUSED, "paused", checks, {"hold": pause.describe()})
        return None
    late = lateness_reason(row, checks.accounts.get(row.account), checks.settings, checks.now)
    if late:
        _move(session, row.id, states.HELD, "held", checks, {"reason": late}, reason=late)
        return None
    return send_time(row, checks.blocked.get(row.account))


def _move(session: Session, post_id: int, target: str, action: str, checks: _Checks, detail: dict[str, Any],
          **values: Any) -> None:
    """``scheduled -> target``, logged with ``detail``."""
    transition(session, post_id, [states.SCHEDULED], target, action=action, actor=checks.actor,
               detail=detail, now=checks.now, **values)


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


def _claim(
    session: Session, due: list[tuple[int, datetime]], settings: Settings, actor: str, now: datetime
) -> list[Claim]:
    """``scheduled -> queued`` with a fresh attempt id each, for rows this transaction has locked.

    The lease runs from the post's time, or from now for a post claimed late (a backlog): counted
    from a time already past, it would end before any worker could start the post, and the sweeper
    would take it back again and again.
    """
    claims = [Claim(post_id, uuid.uuid4().hex, at) for post_id, at in due]
    lease = timedelta(seconds=settings.queued_lease)
    transition_locked(
        session,
        [(c.post_id, {"attempt_id": c.attempt_id, "due_at": c.due_at, "lease_until": max(c.due_at, now) + lease},
          {"due_at": iso(c.due_at)}) for c in claims],
        states.SCHEDULED,
        states.QUEUED,
        action="claimed",
        actor=actor,
        now=now,
    )
    return claims
