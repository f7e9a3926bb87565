"""Celery tasks: each routes to one library function. Ids travel, never objects.

Each worker process builds its ``Runtime`` (store, accounts, adapters) once, on its first task.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from celery import current_app, shared_task
from kombu.utils.uuid import uuid

from promo.engine.dispatch import Claim
from promo.engine.dispatch import dispatch as dispatch_due
from promo.engine.outcomes import DUPLICATE
from promo.engine.publishing import publish_claimed
from promo.engine.reconcile import reconcile as reconcile_unknown
from promo.engine.runtime import Runtime
from promo.engine.sweeper import sweep as sweep_ledger
from promo.settings import load_settings
from promo.times import utcnow
from workers.app import DISPATCH, PUBLISH, QUEUE, RECONCILE, SWEEP, dispatch_expiry

log = logging.getLogger("promo.worker")
events = logging.getLogger("promo.events")  # what ``promo run`` prints per post (promo/cli/events.py)
SEND_BATCH = 200  # messages per Redis pipeline
_runtimes: dict[int, Runtime] = {}


def runtime() -> Runtime:
    """This process's Runtime (rebuilt in a forked child, never shared across a fork)."""
    pid = os.getpid()
    if pid not in _runtimes:
        settings = getattr(current_app.conf, "promo_settings", None) or load_settings()
        _runtimes.clear()
        _runtimes[pid] = Runtime.from_settings(settings)
    return _runtimes[pid]


@shared_task(name=PUBLISH, acks_late=True)
def publish(post_id: int, attempt_id: str) -> str:
    outcome: str = publish_claimed(runtime(), post_id, attempt_id)
    if outcome == DUPLICATE:
        log.debug("post %s attempt %s: already handled", post_id, attempt_id)
    return outcome


@shared_task(name=DISPATCH, acks_late=False)
def dispatch() -> int:
    rt = runtime()
    claims = dispatch_due(rt.db, rt.settings, rt.accounts)
    if claims:
        events.info("queued %s posts: %s", len(claims), ", ".join(str(c.post_id) for c in claims[:20]),
                    extra={"queued": [(c.post_id, c.due_at) for c in claims]})
    send(claims, backlog=len(claims) >= rt.settings.dispatch_batch)
    return len(claims)


def send(claims: list[Claim], *, backlog: bool) -> None:
    """Hand the committed claims to the broker, on one connection, in batches where the transport can.

    Redis takes a batch as one pipeline. If sending fails part way, the claims not sent stay
    ``queued`` in the ledger and the sweeper re-dispatches them when their lease ends (F11).

    A full batch means more posts are due: the next dispatcher run is queued halfway through this
    batch, so it claims the next one while the second half is published and the workers never wait
    for the beat's next tick. It expires like the beat's own ticks.
    """
    app = publish.app
    halfway = len(claims) // 2
    with app.producer_or_acquire() as producer, producer.batch(max_size=SEND_BATCH):
        for index, claim in enumerate(claims):
            if backlog and index == halfway:
                dispatch.apply_async(producer=producer, expires=dispatch_expiry(runtime().settings))
            send_publish(app, producer, claim.post_id, claim.attempt_id, claim.due_at)


def send_publish(app: Any, producer: Any, post_id: int, attempt_id: str, due_at: datetime) -> None:
    """``publish.apply_async((post_id, attempt_id), eta=...)``, at a sixth of its cost.

    The message is Celery's own (``create_task_message``, protocol 2), put straight on promo's queue
    through the default exchange. What it skips is per-message overhead promo has no use for: the
    router, the publish signals and ``saferepr`` of the arguments. Measured: 0.36 ms of CPU per message
    through ``apply_async``, 0.065 ms this way (docs/benchmarks.md).
    """
    args = (post_id, attempt_id)
    # an absolute time: a countdown would drift by however long the earlier sends took
    eta = due_at if due_at > utcnow() else None
    task = app.tasks[publish.name]
    message = app.amqp.create_task_message(
        uuid(), task.name, args, {}, eta=eta, argsrepr=repr(args), kwargsrepr="{}", time_limit=task.time_limit,
        soft_time_limit=task.soft_time_limit, ignore_result=task.ignore_result)
    producer.publish(message.body, exchange="", routing_key=QUEUE, serializer="json", headers=message.headers,
                     retry=True, retry_policy=app.conf.task_publish_retry_policy, **message.properties)


@shared_task(name=SWEEP, acks_late=False)
def sweep() -> dict[str, list[int]]:
    swept = sweep_ledger(runtime().db)
    if swept.requeued or swept.unknown:
        log.warning("sweeper: requeued %s, unknown %s", swept.requeued, swept.unknown)
    return {"requeued": swept.requeued, "unknown": swept.unknown}


@shared_task(name=RECONCILE, acks_late=False)
def reconcile() -> dict[str, list[int]]:
    done = reconcile_unknown(runtime())
    return {"published": done.published, "rescheduled": done.rescheduled, "undecided": done.undecided}
