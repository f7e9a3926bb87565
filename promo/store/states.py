"""The ledger's fixed set of states and the moves between them.

::

    scheduled --claim--> queued --start--> publishing --> published
        ^  |                |                  |------> failed      (permanent, or out of attempts)
        |  |                |                  |------> unknown     (sent, no answer; reconcile or ask a person)
        |  |                |                  '------> scheduled   (refused before acceptance: retry later)
        |  |                '--lease expired--> scheduled
        |  '--pause--> paused --resume--> scheduled
        |  '--too late--> held --release--> scheduled
        '-- retry (failed / unknown resolved as not published)
    any unpublished state --cancel--> cancelled
"""

from __future__ import annotations

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
# Finished: nothing more happens without a person.
FINAL = frozenset({PUBLISHED, CANCELLED})
# Cancellable without any doubt: nothing was sent.
UNSENT = frozenset({SCHEDULED, QUEUED, PAUSED, HELD, FAILED})
# Needs a person's look (promo status lists them).
ATTENTION = frozenset({FAILED, UNKNOWN, HELD})

TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({QUEUED, PAUSED, HELD, CANCELLED, SCHEDULED}),
    QUEUED: frozenset({PUBLISHING, SCHEDULED, PAUSED, HELD, CANCELLED}),
    PUBLISHING: frozenset({PUBLISHED, FAILED, UNKNOWN, SCHEDULED}),
    UNKNOWN: frozenset({PUBLISHED, SCHEDULED, FAILED}),
    FAILED: frozenset({SCHEDULED, CANCELLED}),
    PAUSED: frozenset({SCHEDULED, CANCELLED, PAUSED}),
    HELD: frozenset({SCHEDULED, CANCELLED}),
    PUBLISHED: frozenset(),
    CANCELLED: frozenset(),
}


def allowed(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())
