"""The sweeper: the ledger heals itself when the broker or a worker loses work.

- ``queued`` past its lease: the message was lost (a Redis restart, FLUSHALL, a dead worker) and
  no call was made, because a call starts only after ``queued -> publishing``: back to ``scheduled``.
- ``publishing`` past the publish time limit: the worker died or hung mid-call. The call may have
  gone out, so the post becomes ``unknown`` and is reconciled, never blindly retried.
- every ``queued`` post, at once, when the broker says it lost its messages (a new broker epoch:
  ``requeue_after_broker_loss``, called by the dispatcher's tick before it claims): a Redis restart
  without persistence or a ``FLUSHALL`` would otherwise leave each lost claim waiting for its lease.

Every move is fenced on the post's attempt id, so a worker finishing late still wins or loses
cleanly. No Celery here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, select

from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.meta import BROKER_EPOCH, LAST_SWEEP, get_meta, put_meta
from promo.store.tables import PostRow
from promo.times import iso, utcnow

ACTOR = "sweeper"
LOST = "the worker never started it (message lost or worker gone): dispatched again"
NO_RESULT = (
    "no result within the publish time limit (the worker died or hung mid-call): it may have "
    "gone out; promo will check the platform"
)

BROKER_LOST = "the broker lost its messages (restarted empty, or flushed): dispatched again"


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
