"""The engine: what runs inside workers and beats.

``runtime`` (what one process holds), ``dispatch`` (claim due posts), ``publishing`` (one claimed
post, exactly once), ``sweeper`` (expired leases), ``reconcile`` (settle ``unknown`` posts),
``ratelimits`` (per-account blocks and slots) and ``rehearsal`` (``promo run --dry-run``).
"""
