"""The sweeper: the ledger heals itself when the broker or a worker loses work.

- ``queued`` past its lease: the message was lost (a Redis restart, FLUSHALL, a dead worker) and
  no call was made, because a call starts only after ``queued -> publishing``: back to ``scheduled``.
- ``publishing`` past the publish time limit: the worker died or hung mid-call. The call may have
  gone out, so the post becomes ``unknown`` and is reconciled, never blindly retried.

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
from promo.store.meta import LAST_SWEEP, put_meta
from promo.store.tables import PostRow
from promo.times import iso, utcnow

ACTOR = "sweeper"
LOST = "the worker never started it (message lost or worker gone): dispatched again"
NO_RESULT = (
    "no result within the publish time limit (the worker died or hung mid-call): it may have "
    "gone out; promo will check the platform"
)


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


def _expired(session: object, status: str, now: datetime) -> list[tuple[int, str | None]]:
    rows = session.execute(  # type: ignore[attr-defined]
        select(PostRow.id, PostRow.attempt_id)
        .where(PostRow.status == status, PostRow.lease_until < now)
        .order_by(PostRow.id)
    ).all()
    return [(row[0], row[1]) for row in rows]
