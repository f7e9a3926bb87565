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

    (created) --needs approval--> awaiting_approval --enough approvals of this payload--> scheduled
    scheduled, queued, paused, held, failed --payload edited / rejected--> awaiting_approval
    awaiting_approval --cancel--> cancelled

A post under an approval rule (``promo.store.approvals``) waits in ``awaiting_approval`` until
enough approvers approved its exact payload; the dispatcher claims only ``scheduled``, so nothing
in it is ever sent. A rejection keeps (or puts) it there, with the rejection as its ``reason``.

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
AWAITING = "awaiting_approval"

ALL = (AWAITING, SCHEDULED, QUEUED, PUBLISHING, PUBLISHED, FAILED, UNKNOWN, CANCELLED, PAUSED, HELD)

# A post in one of these may have reached the platform: an edit never re-queues it.
MAYBE_SENT = frozenset({PUBLISHING, PUBLISHED, UNKNOWN})
# Finished: no move leaves them.
FINAL = frozenset({PUBLISHED, CANCELLED})
# Cancellable without any doubt: nothing was sent. Under an approval rule, each goes back to
# awaiting_approval when its payload changes or a person rejects it.
UNSENT = frozenset({AWAITING, SCHEDULED, QUEUED, PAUSED, HELD, FAILED})
# Needs a person's look (promo status lists them).
ATTENTION = frozenset({FAILED, UNKNOWN, HELD})

TRANSITIONS: dict[str, frozenset[str]] = {
    AWAITING: frozenset({AWAITING, SCHEDULED, CANCELLED}),
    SCHEDULED: frozenset({SCHEDULED, QUEUED, PAUSED, HELD, CANCELLED, AWAITING}),
    QUEUED: frozenset({SCHEDULED, PUBLISHING, PAUSED, HELD, CANCELLED, AWAITING}),
    PUBLISHING: frozenset({PUBLISHED, FAILED, UNKNOWN, SCHEDULED, HELD}),  # HELD: account needs reconnecting
    UNKNOWN: frozenset({UNKNOWN, PUBLISHED, SCHEDULED, FAILED}),
    FAILED: frozenset({SCHEDULED, CANCELLED, AWAITING}),
    PAUSED: frozenset({PAUSED, SCHEDULED, CANCELLED, AWAITING}),
    HELD: frozenset({HELD, SCHEDULED, CANCELLED, AWAITING}),
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
