"""Celery tasks: each routes to one library function. Ids travel, never objects.

Each worker process builds its ``Runtime`` (store, accounts, adapters) once, on its first task.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import current_app, shared_task

log = logging.getLogger("promo.worker")
_runtimes: dict[int, Any] = {}


def runtime() -> Any:
    """This process's Runtime (rebuilt in a forked child, never shared across a fork)."""
    pid = os.getpid()
    if pid not in _runtimes:
        from promo.runtime import Runtime
        from promo.settings import load_settings

        settings = getattr(current_app.conf, "promo_settings", None) or load_settings()
        _runtimes.clear()
        _runtimes[pid] = Runtime.from_settings(settings)
    return _runtimes[pid]


@shared_task(name="promo.publish", acks_late=True)
def publish(post_id: int, attempt_id: str) -> str:
    from promo.publishing import publish_claimed

    outcome: str = publish_claimed(runtime(), post_id, attempt_id)
    log.info("post %s attempt %s: %s", post_id, attempt_id, outcome)
    return outcome


@shared_task(name="promo.dispatch", acks_late=False)
def dispatch() -> int:
    from promo.dispatch import dispatch as dispatch_due

    rt = runtime()
    claims = dispatch_due(rt.db, rt.settings, rt.accounts, enqueue=enqueue)
    return len(claims)


def enqueue(claim: Any) -> None:
    from promo.times import utcnow

    publish.apply_async((claim.post_id, claim.attempt_id), countdown=claim.countdown(utcnow()))


@shared_task(name="promo.sweep", acks_late=False)
def sweep() -> dict[str, list[int]]:
    from promo.sweeper import sweep as sweep_ledger

    swept = sweep_ledger(runtime().db)
    if swept.requeued or swept.unknown:
        log.warning("sweeper: requeued %s, unknown %s", swept.requeued, swept.unknown)
    return {"requeued": swept.requeued, "unknown": swept.unknown}


@shared_task(name="promo.reconcile", acks_late=False)
def reconcile() -> dict[str, list[int]]:
    from promo.reconcile import reconcile as reconcile_unknown

    done = reconcile_unknown(runtime())
    return {"published": done.published, "rescheduled": done.rescheduled, "undecided": done.undecided}
