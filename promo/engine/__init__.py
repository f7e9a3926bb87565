"""The engine: what runs inside workers and beats. No Celery in here (``workers/`` routes to it).

- ``runtime``     what one process holds: settings, the store, accounts, adapters built once
- ``policies``    when a post may go: due time, embargo, blocked account, the late-post rule
- ``dispatch``    claim due posts (``scheduled -> queued``) after the policies
- ``publishing``  one claimed post, exactly once: start it (fenced, policies re-checked), call the adapter
- ``outcomes``    what the adapter's answer does to the ledger (published, retry later, failed, unknown)
- ``sweeper``     expired leases: lost messages re-dispatched, hung publishes called unknown
- ``reconcile``   settle ``unknown`` posts by asking the platform
- ``ratelimits``  per-account blocks and posting windows, shared by every worker
- ``rehearsal``   ``promo run --dry-run`` and the demo's outbox: the real engine, nothing sent
"""
