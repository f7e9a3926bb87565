"""The ledger's fixed set of states and the only moves between them.

::

    scheduled --claim--> queued --start--> publishing --> published
        ^  |                |                  |------> failed      (permanent, or out of attempts)
        |  |                |                  |------> unknown     (sent, no answer; reconcile or ask a person)
        |  |                |                  '------> scheduled   (refused before acceptance: retry later)
        |  |                '--lease expired--> scheduled
        |  |                '--pause / too late / not yet (at start)--> paused / held / scheduled
        |  |                                   publishing --account needs reconnecting--> held
        |  '--pause--> paused --resume--> scheduled
        |  '--too late--> held --release (retry, an edit to a later time)--> scheduled
        '-- retry (failed / unknown resolved as not published)
    any unsent state (scheduled, queued, paused, held, failed) --cancel--> cancelled

A post may also "move" to its own state when a column changes and the move is logged: deferred
(scheduled), edited while paused or held, a lookup that could not tell (unknown). ``check`` refuses
anything else; ``promo.store.ledger`` calls it before every write.
"""

from __future__ import annotations

from collections.abc import Iterable

from promo.errors import IllegalTransition

SCHEDULED = "scheduled"
QUEUED = "queued"
PUBLISHING = "publishing"
PUBLISHED = "published"
FAILED = "failed"
UNKNOWN = "unknown"
CANCELLED = "cancelled"
PAUSED = "paused"
HELD = "held"

ALL = (SCHEDULED, QUEUED, PUBLISHING, PUBLISHED, FAILED, UNKNOWN, CANCELLED, PAUSED, HELD)

# A post in one of these may have reached the platform: an edit never re-queues it.
MAYBE_SENT = frozenset({PUBLISHING, PUBLISHED, UNKNOWN})
# Finished: no move leaves them.
FINAL = frozenset({PUBLISHED, CANCELLED})
# Cancellable without any doubt: nothing was sent.
UNSENT = frozenset({SCHEDULED, QUEUED, PAUSED, HELD, FAILED})
# Needs a person's look (promo status lists them).
ATTENTION = frozenset({FAILED, UNKNOWN, HELD})

TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({SCHEDULED, QUEUED, PAUSED, HELD, CANCELLED}),
    QUEUED: frozenset({SCHEDULED, PUBLISHING, PAUSED, HELD, CANCELLED}),
    PUBLISHING: frozenset({PUBLISHED, FAILED, UNKNOWN, SCHEDULED, HELD}),  # HELD: account needs reconnecting
    UNKNOWN: frozenset({UNKNOWN, PUBLISHED, SCHEDULED, FAILED}),
    FAILED: frozenset({SCHEDULED, CANCELLED}),
    PAUSED: frozenset({PAUSED, SCHEDULED, CANCELLED}),
    HELD: frozenset({HELD, SCHEDULED, CANCELLED}),
    **{state: frozenset() for state in FINAL},
}


def allowed(current: str, target: str) -> bool:
    """Whether the state machine has a move from ``current`` to ``target``."""
    return target in TRANSITIONS.get(current, frozenset())


def check(current: Iterable[str], target: str, *, action: str = "", post_id: int | None = None) -> None:
    """Refuse a move to ``target`` from any of ``current`` that the state machine does not have."""
    for status in current:
        if not allowed(status, target):
            raise IllegalTransition(status, target, action=action, post_id=post_id)
