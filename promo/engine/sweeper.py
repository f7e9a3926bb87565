"""The sweeper: the ledger heals itself when the broker or a worker loses work.

- ``queued`` past its lease: the message was lost (a Redis restart, FLUSHALL, a dead worker) and
  no call was made, because a call starts only after ``queued -> publishing``: back to ``scheduled``.
- ``publishing`` past the publish time limit: the worker died or hung mid-call. The call may have
  gone out, so the post becomes ``unknown`` and is reconciled, never blindly retried.
- every ``queued`` post, at once, when the broker says it lost its messages (a new broker epoch:
  ``requeue_after_broker_loss``, called by the dispatcher's tick before it claims): a Redis restart
  without persistence or a ``FLUSHALL`` would otherwise leave each lost claim waiting for its lease.
- the post a pool process was running when it died (``lost_job``, called by the worker's main
  process, which learns of it at once): still ``queued`` (it never reached the fence) -> ``scheduled``;
  ``publishing`` (the call may have gone out) -> ``unknown``, looked up within seconds
  (``promo.engine.reconcile``, ``FIRST_LOOK``).
- the overdue ``queued`` posts claimed before a worker or beat vanished without a clean stop (its
  heartbeat stale: ``requeue_after_process_loss``, called by the dispatcher's tick): the messages a
  dead worker held for their time come back from Redis only after the visibility timeout.

Every move is fenced on the post's attempt id, so a worker finishing late still wins or loses
cleanly. No Celery here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.store import states
from promo.store.db import transaction
from promo.store.heartbeats import LIVENESS_BEATS, processes
from promo.store.ledger import transition
from promo.store.meta import BROKER_EPOCH, LAST_SWEEP, get_meta, put_meta, upsert_statement
from promo.store.tables import Meta, PostRow
from promo.times import iso, utcnow

ACTOR = "sweeper"
LOST = "the worker never started it (message lost or worker gone): dispatched again"
NO_RESULT = (
    "no result within the publish time limit (the worker died or hung mid-call): it may have "
    "gone out; promo will check the platform"
)

BROKER_LOST = "the broker lost its messages (restarted empty, or flushed): dispatched again"
WORKER_LOST = "worker-lost"  # the action of every move made because a worker (or a beat) was lost
NEVER_STARTED = "the worker process running it died before it started the post: dispatched again"
CUT_OFF = (
    "the worker process publishing it died mid-call (killed, out of memory, or past the publish time "
    "limit): it may have gone out; promo will check the platform"
)
PROCESS_LOST = ("a worker or beat that may have held its message stopped without a clean stop (its heartbeat "
                "went stale): dispatched again")
OVERDUE_S = 1.0  # a queued post this far past its time, claimed before a process vanished, was the dead one's
# The latest ``Lost.settled_at`` already handled (ISO): of two beats, only the first takes a loss back.
PROCESSES_LOST = "engine.processes_lost"


@dataclass
class Swept:
    requeued: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


def sweep(engine: Engine, *, now: datetime | None = None, actor: str = ACTOR) -> Swept:
    now = now or utcnow()
    swept = Swept()
    with transaction(engine) as session:
        for status, target, action, reason, found in (
            (states.QUEUED, states.SCHEDULED, "lease-expired", LOST, swept.requeued),
            (states.PUBLISHING, states.UNKNOWN, "timed-out", NO_RESULT, swept.unknown),
        ):
            for post_id, attempt_id in _expired(session, status, now):
                if transition(session, post_id, [status], target, action=action, actor=actor,
                              attempt_id=attempt_id, now=now, lease_until=None, reason=reason):
                    found.append(post_id)
        put_meta(session, LAST_SWEEP, iso(now))
    return swept


def requeue_after_broker_loss(
    engine: Engine, epoch: str, *, now: datetime | None = None, actor: str = ACTOR
) -> list[int] | None:
    """Every ``queued`` post back to ``scheduled``, if ``epoch`` is not the broker epoch the store last saw.

    The caller reads ``epoch`` from the broker. A new one means the broker lost what it held, so no
    queued post's message can be trusted to arrive: each goes back to ``scheduled`` at once, fenced
    on its attempt id (logged as ``broker-lost``), and the next claim gives it a new attempt id; a
    stale message that still arrives fails the publish fence. A post a worker has already started
    (``publishing``) is not touched. The epoch is stored in the same transaction, its row locked, so
    of two dispatchers that see one new epoch only the first requeues. Returns the posts moved, or
    None if the store already knew ``epoch``.
    """
    now = now or utcnow()
    with transaction(engine) as session:
        if get_meta(session, BROKER_EPOCH, for_update=True) == epoch:
            return None
        moved = [post_id for post_id, attempt_id in _queued(session)
                 if transition(session, post_id, [states.QUEUED], states.SCHEDULED, action="broker-lost",
                               actor=actor, attempt_id=attempt_id, now=now, lease_until=None, reason=BROKER_LOST)]
        put_meta(session, BROKER_EPOCH, epoch)
    return moved


def _queued(session: object) -> list[tuple[int, str | None]]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(PostRow.id, PostRow.attempt_id).where(PostRow.status == states.QUEUED).order_by(PostRow.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def _expired(session: object, status: str, now: datetime) -> list[tuple[int, str | None]]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(PostRow.id, PostRow.attempt_id)
        .where(PostRow.status == status, PostRow.lease_until < now)
        .order_by(PostRow.id)
    ).all()
    return [(row[0], row[1]) for row in rows]


def lost_job(engine: Engine, post_id: int, attempt_id: str, why: str, *, now: datetime | None = None,
             actor: str = ACTOR) -> str | None:
    """A pool process died running this attempt: where its post goes, fenced on ``attempt_id``.

    Still ``queued``: it never passed the publish fence, so nothing was sent: back to ``scheduled``
    at once. ``publishing``: the call may have gone out: ``unknown``, for the reconciler's look-up
    (never a blind re-send). Returns the new state, or None if the attempt had already moved on.
    """
    now = now or utcnow()
    fenced: dict[str, Any] = {"action": WORKER_LOST, "actor": actor, "attempt_id": attempt_id, "now": now,
                              "lease_until": None, "detail": {"why": why}}
    with transaction(engine) as session:
        for status, target, reason in ((states.QUEUED, states.SCHEDULED, NEVER_STARTED),
                                       (states.PUBLISHING, states.UNKNOWN, CUT_OFF)):
            if transition(session, post_id, [status], target, reason=reason, **fenced):
                return target
    return None


@dataclass(frozen=True)
class Lost:
    """A worker or beat whose heartbeat went stale: it stopped without deleting its row (SIGKILL, a crash)."""

    kind: str
    hostname: str
    pid: int
    last_seen: datetime
    interval_s: float

    @property
    def gone_by(self) -> datetime:
        """When it was certainly no longer taking messages: no beat for ``LIVENESS_BEATS`` intervals."""
        return self.last_seen + timedelta(seconds=LIVENESS_BEATS * self.interval_s)

    def settled_at(self, lookahead: float) -> datetime:
        """When it counts as gone and every message it could have held is overdue by ``OVERDUE_S``."""
        held = self.interval_s + lookahead + OVERDUE_S  # a claim sent just before it died, due lookahead later
        return self.last_seen + timedelta(seconds=max(LIVENESS_BEATS * self.interval_s, held))

    def describe(self) -> str:
        return f"{self.kind} {self.hostname}:{self.pid}"


def lost_processes(session: Session, lookahead: float, now: datetime, after: datetime | None = None) -> list[Lost]:
    """The processes lost by ``now`` (``settled_at`` passed), and after ``after`` if given."""
    found = [Lost(row.kind, row.hostname, row.pid, row.last_seen, row.interval_s) for row in processes(session)]
    return [lost for lost in found if lost.settled_at(lookahead) <= now
            and (after is None or lost.settled_at(lookahead) > after)]


def requeue_after_process_loss(engine: Engine, lookahead: float, *, now: datetime | None = None,
                               actor: str = ACTOR) -> tuple[list[Lost], list[int], datetime | None]:
    """Take back what workers and beats that vanished were holding: their overdue ``queued`` posts.

    A worker killed with its main process takes the messages it held for their time with it (Redis
    gives them back only after the visibility timeout), and a beat killed between its claim and its
    send never sent some. Neither says which posts: each ``queued`` post claimed before the lost
    process was gone and overdue by ``OVERDUE_S`` goes back to ``scheduled``, fenced on its attempt id
    (``worker-lost``), and the dispatcher claims it again with a new one; a stale message that still
    arrives fails the publish fence. A post waiting behind a full pool of a live worker may be taken
    back too (its old message then does nothing): only a lost process triggers this. The mark
    (``PROCESSES_LOST``, its row locked) makes it once per loss, however many beats see it. Returns
    the losses handled, the posts moved and the mark.
    """
    now = now or utcnow()
    with transaction(engine) as session:
        session.execute(upsert_statement(session, Meta).values(key=PROCESSES_LOST, value="")
                        .on_conflict_do_nothing(index_elements=["key"]))
        stored = get_meta(session, PROCESSES_LOST, for_update=True)
        mark = datetime.fromisoformat(stored) if stored else None
        lost = lost_processes(session, lookahead, now, mark)
        if not lost:
            return [], [], mark
        gone_by = max(process.gone_by for process in lost)
        rows = session.execute(select(PostRow.id, PostRow.attempt_id).where(
            PostRow.status == states.QUEUED, PostRow.updated_at <= gone_by,
            PostRow.due_at <= now - timedelta(seconds=OVERDUE_S)).order_by(PostRow.id)).all()
        detail = {"lost": [process.describe() for process in lost]}
        moved = [post_id for post_id, attempt_id in rows
                 if transition(session, post_id, [states.QUEUED], states.SCHEDULED, action=WORKER_LOST, actor=actor,
                               attempt_id=attempt_id, now=now, lease_until=None, reason=PROCESS_LOST, detail=detail)]
        mark = max(process.settled_at(lookahead) for process in lost)
        put_meta(session, PROCESSES_LOST, mark.isoformat())  # to the microsecond: compared, not read
    return lost, moved, mark
