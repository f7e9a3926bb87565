"""Raw Celery, the engine's floor: a no-op task with the same worker settings as workers/app.py.

``celery -A bench.noop worker`` builds the app from ``BENCH_BROKER_URL``. Same serializer, late acks,
prefetch 1, no result backend and one queue, so the only difference from promo is promo's own work.

For controlled experiments on the worker's main process (docs/benchmarks.md, issue 17), the worker
reads three knobs from its environment: ``BENCH_NOOP_TIME_LIMIT`` (seconds: a hard time limit, as
promo's publish has, so the main process arms a timer per task), ``BENCH_NOOP_BURN_MS`` (CPU the task
burns in the pool child) and ``BENCH_NOOP_SLEEP_MS`` (then sleeps). Unset, the task does nothing.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import Celery

QUEUE = "bench-noop"


def create_app(broker: str) -> Celery:
    transport: dict[str, Any] = {"visibility_timeout": 3600}
    if broker.startswith("sqla+"):
        from workers.app import EMBEDDED_POLL_S
        from workers.embedded import embedded_url

        transport["polling_interval"] = EMBEDDED_POLL_S
        broker = embedded_url(broker)
    app = Celery("bench-noop", broker=broker)
    app.conf.update(
        task_default_queue=QUEUE, task_default_exchange=QUEUE, task_default_routing_key=QUEUE,
        task_serializer="json", accept_content=["json"], task_ignore_result=True, task_acks_late=True,
        worker_prefetch_multiplier=1, broker_connection_retry_on_startup=True,
        broker_transport_options=transport, timezone="UTC", enable_utc=True,
    )
    limit = float(os.environ.get("BENCH_NOOP_TIME_LIMIT", "0")) or None
    app.task(name="bench.noop", acks_late=True, time_limit=limit)(noop)
    return app


BURN_S = float(os.environ.get("BENCH_NOOP_BURN_MS", "0")) / 1000
SLEEP_S = float(os.environ.get("BENCH_NOOP_SLEEP_MS", "0")) / 1000


def noop(index: int, token: str) -> None:
    """Takes two arguments, like promo.publish(post_id, attempt_id), and does nothing."""
    if BURN_S:
        end = time.process_time() + BURN_S
        while time.process_time() < end:
            pass
    if SLEEP_S:
        time.sleep(SLEEP_S)


app = create_app(os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/0"))
