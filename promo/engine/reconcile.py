"""Settle ``unknown`` posts by asking the platform, through the adapter's ``lookup``.

``lookup`` answers ``Published`` (it is there: record its id and URL), ``NotPublished`` (certainly
not there: schedule it again, under the same fence) or ``CannotTell`` (a Telegram or Slack message
sent without an answer, a LinkedIn comment not found): the post stays ``unknown`` with the reason
and the ``promo resolve`` hint, and ``promo status`` shows it to a person. A look-up that fails on
the way (a timeout, a 500) is "cannot tell" too, and is asked again on the next run. Never a blind
re-send. A post is looked up only after it has been unknown for a settling time (``http_timeout``),
so a platform still processing a slow request is not asked too early.

``reconcile`` runs every ``sweep_interval``. ``reconcile_first`` looks only at posts never looked up
whose outcome was lost with a process (``FIRST_LOOK``: a pool process killed mid-call, or the
sweeper's publish time limit), and the beat runs it every ``dispatch_interval``: such a post is
settled a settling time after it became ``unknown``, not a sweep later. A look-up replaces the
reason, so each post is asked once this way.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from promo.engine.outcomes import record_published
from promo.engine.publishing import DbJournal
from promo.engine.runtime import Runtime
from promo.engine.sweeper import CUT_OFF, NO_RESULT
from promo.errors import PromoError
from promo.posts import CannotTell, Lookup, Post, Published
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.tables import PostRow
from promo.times import utcnow

log = logging.getLogger("promo.engine.reconcile")
ACTOR = "reconciler"
ASK_A_PERSON = "'promo resolve {id} --published URL' or '--not-published' once you have checked"
BATCH = 50  # unknown posts looked up per run, each lookup bounded by http_timeout
FIRST_LOOK = (CUT_OFF, NO_RESULT)  # the reasons of posts whose outcome a dead or stuck process took with it


@dataclass
class Reconciled:
    published: list[int] = field(default_factory=list)
    rescheduled: list[int] = field(default_factory=list)
    undecided: list[int] = field(default_factory=list)


def reconcile(runtime: Runtime, *, now: datetime | None = None, limit: int = BATCH,
              reasons: Collection[str] = ()) -> Reconciled:
    """Look up the oldest settled ``unknown`` posts (``limit`` of them; with one of ``reasons``, if
    given) and record what each lookup says."""
    now = now or utcnow()
    settle = timedelta(seconds=runtime.settings.http_timeout)
    query = select(PostRow).where(PostRow.status == states.UNKNOWN, PostRow.updated_at <= now - settle)
    if reasons:
        query = query.where(PostRow.reason.in_(list(reasons)))
    with transaction(runtime.db) as session:
        rows = list(session.execute(query.order_by(PostRow.updated_at).limit(limit)).scalars())
    done = Reconciled()
    for row in rows:
        _settle_one(runtime, row, now, done)
    return done


def reconcile_first(runtime: Runtime, *, now: datetime | None = None, limit: int = BATCH) -> Reconciled:
    """The first look-up of posts whose outcome a lost process took with it (``FIRST_LOOK``), once settled."""
    return reconcile(runtime, now=now, limit=limit, reasons=FIRST_LOOK)


def _settle_one(runtime: Runtime, row: PostRow, now: datetime, done: Reconciled) -> None:
    post = Post.from_payload(row.platform, row.account, row.payload, row.idempotency_key)
    journal = DbJournal(runtime.db, row.id, row.attempt_id or "", row.journal)
    try:
        found: Lookup = runtime.adapter(row.account, row.platform).lookup(post, journal)
    except PromoError as exc:
        found = CannotTell(f"the look-up failed: {exc}")
    if isinstance(found, CannotTell):
        _undecided(runtime, row, f"the platform cannot tell whether it went out ({found.reason}); "
                   + ASK_A_PERSON.format(id=row.id), now)
        done.undecided.append(row.id)
    elif isinstance(found, Published):
        record_published(runtime, row.id, row.attempt_id or "", found, now, action="reconciled")
        done.published.append(row.id)
    else:
        _send_again(runtime, row, found.reason, now, done)


def _send_again(runtime: Runtime, row: PostRow, why: str, now: datetime, done: Reconciled) -> None:
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
            detail={"found": False, "why": why},
            reason=f"the platform has no such post ({why}): sending it again" if why
            else "the platform has no such post: sending it again",
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
