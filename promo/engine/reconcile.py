"""Settle ``unknown`` posts by asking the platform, through the adapter's ``lookup``.

``lookup`` answers ``Published`` (it is there: record its id and URL), ``None`` (certainly not
there: schedule it again), or raises ``Ambiguous`` when the platform cannot tell (X without a
match, Telegram): the post stays ``unknown`` with a reason and ``promo status`` shows it to a person,
who runs ``promo resolve``. A post is looked up only after it has been unknown for a settling time,
so a platform still processing a slow request is not asked too early.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from promo.engine.outcomes import record_published
from promo.engine.publishing import DbJournal
from promo.engine.runtime import Runtime
from promo.errors import PromoError
from promo.posts import Post
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.tables import PostRow
from promo.times import utcnow

log = logging.getLogger("promo.engine.reconcile")
ACTOR = "reconciler"
ASK_A_PERSON = "'promo resolve {id} --published URL' or '--not-published' once you have checked"
BATCH = 50  # unknown posts looked up per run, each lookup bounded by http_timeout


@dataclass
class Reconciled:
    published: list[int] = field(default_factory=list)
    rescheduled: list[int] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)


def reconcile(runtime: Runtime, *, now: datetime | None = None, limit: int = BATCH) -> Reconciled:
    """Look up the oldest settled ``unknown`` posts (``limit`` of them) and record what each lookup says."""
    now = now or utcnow()
    settle = timedelta(seconds=runtime.settings.http_timeout)
    with transaction(runtime.db) as session:
        rows = list(
            session.execute(
                select(PostRow)
                .where(
                    PostRow.status == states.UNKNOWN,
                    PostRow.updated_at <= now - settle,
                )
                .order_by(PostRow.updated_at)
                .limit(limit)
            ).scalars()
        )
    done = Reconciled()
    for row in rows:
        _settle_one(runtime, row, now, done)
    return done


def _settle_one(runtime: Runtime, row: PostRow, now: datetime, done: Reconciled) -> None:
    post = Post.from_payload(row.platform, row.account, row.payload, row.idempotency_key)
    journal = DbJournal(runtime.db, row.id, row.attempt_id or "", row.journal)
    try:
        found = runtime.adapter(row.account, row.platform).lookup(post, journal)
    except PromoError as exc:
        _undecided(
            runtime,
            row,
            f"the platform cannot tell whether it went out ({exc}); " + ASK_A_PERSON.format(id=row.id),
            now,
        )
        done.undecided.append(row.id)
        return
    if found is not None:
        record_published(runtime, row.id, row.attempt_id or "", found, now, action="reconciled")
        done.published.append(row.id)
        return
    with transaction(runtime.db) as session:
        if transition(
            session,
            row.id,
            [states.UNKNOWN],
            states.SCHEDULED,
            action="reconciled",
            actor=ACTOR,
            attempt_id=row.attempt_id,
            now=now,
            due_at=now,
            detail={"found": False},
            reason="the platform has no such post: sending it again",
        ):
            done.rescheduled.append(row.id)


def _undecided(runtime: Runtime, row: PostRow, reason: str, now: datetime) -> None:
    if row.reason == reason:
        return
    with transaction(runtime.db) as session:
        transition(
            session,
            row.id,
            [states.UNKNOWN],
            states.UNKNOWN,
            action="lookup-failed",
            actor=ACTOR,
            attempt_id=row.attempt_id,
            now=now,
            reason=reason,
        )
