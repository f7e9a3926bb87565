"""The Celery app, built from Settings. The one task only routes; the logic is in promo's modules.

``celery -A workers.app worker`` finds ``app`` here, built on first use from the environment.
``create_app(settings)`` builds one explicitly (``promo run``, ``promo worker``, ``promo beat``).

The broker only carries work; the database decides (docs/architecture.md). Hence:
``worker_prefetch_multiplier=1`` (F7), late acks (a lost message is fine, the ledger re-dispatches),
no result backend, one visibility timeout set everywhere and checked against the longest time a
message is held (F1, F2), the publish time limit (``time_limits``), and a dedicated queue. Workers
only publish: the beat runs the dispatcher, the sweeper and the reconciler itself, on its own
threads (``BEAT_SCHEDULER``, ``workers/ticks.py``).
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from promo.errors import ConfigError
from promo.settings import Settings, load_settings
from workers import grouped_acks, heartbeat
from workers.embedded import embedded_url
from workers.tasks import PUBLISH, QUEUE
from workers.ticks import TICKS

__all__ = ["BEAT_SCHEDULER", "PUBLISH", "QUEUE", "beat_schedule", "check_timing", "create_app", "time_limits"]
# The visibility timeout is at least this many times the longest a message is legitimately held
# unacknowledged (``check_timing``).
VISIBILITY_MARGIN = 2
# kombu's virtual transports sleep this long whenever the prefetch window is full or the queue is
# empty: at 0.1 s a worker idles between short tasks. 0.01 s costs ~100 cheap SELECTs a second.
EMBEDDED_POLL_S = 0.01
# Named, not imported: Celery loads them when a worker starts (issue 12, docs/reliability.md gap 1).
POOL = "workers.pool:TaskPool"  # a pool process killed during start-up is replaced
REDIS_TRANSPORT = "workers.redisbroker:Transport"  # kombu's Redis transport, closed channels guarded
BEAT_SCHEDULER = "workers.beat:Scheduler"  # runs promo's ticks on the beat's threads


def create_app(settings: Settings) -> Celery:
    check_timing(settings)
    transport: dict[str, Any] = {"visibility_timeout": settings.visibility_timeout}
    broker = settings.broker
    if broker.startswith("sqla+"):  # the embedded broker, or a SQLAlchemy broker named explicitly
        settings.home.mkdir(parents=True, exist_ok=True)
        transport["polling_interval"] = EMBEDDED_POLL_S
        broker = embedded_url(broker)
    for scheme in ("redis", "rediss"):  # kombu picks the transport by the URL's scheme; logs keep it
        TRANSPORT_ALIASES[scheme] = REDIS_TRANSPORT
    app = Celery("promo", broker=broker, include=["workers.tasks"])
    app.conf.update(
        task_default_queue=QUEUE,
        task_default_exchange=QUEUE,
        task_default_routing_key=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        task_annotations=publish_annotations(settings),
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=settings.broker_connection_max_retries,
        worker_pool=POOL,
        broker_transport_options=transport,
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        beat_schedule=beat_schedule(settings),
        beat_scheduler=BEAT_SCHEDULER,
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=True,
    )
    app.conf.promo_settings = settings
    heartbeat.install(app)
    grouped_acks.install(app)
    return app


def check_timing(settings: Settings) -> None:
    """The visibility timeout far above the longest time a message is held; calls shorter than a publish.

    A publish message is taken by a worker up to ``dispatch_lookahead`` before its ETA and held,
    unacknowledged, until then; it runs for up to ``publish_time_limit``; only then is it
    acknowledged (late acks). Redis gives a message held longer than ``visibility_timeout`` to a
    second worker (F1): harmless (the attempt-id fence stops it) but wasted work, so the timeout
    must be ``VISIBILITY_MARGIN`` times that at least (the margin covers a message waiting for a
    free pool process). The defaults: 2 + 120 s held, 3600 s timeout.
    """
    held = settings.dispatch_lookahead + settings.publish_time_limit
    if settings.visibility_timeout < VISIBILITY_MARGIN * held:
        raise ConfigError(
            f"visibility_timeout ({settings.visibility_timeout}s) must be at least {VISIBILITY_MARGIN}x "
            f"dispatch_lookahead + publish_time_limit ({held:g}s), the longest a message is held before "
            f"its late ack: the Redis transport would deliver held messages twice. Raise "
            f"PROMO_VISIBILITY_TIMEOUT to {VISIBILITY_MARGIN * held:g} or more"
        )
    if settings.http_timeout >= settings.publish_time_limit:
        raise ConfigError(
            f"http_timeout ({settings.http_timeout}s) must be shorter than publish_time_limit "
            f"({settings.publish_time_limit}s)"
        )


def time_limits(settings: Settings) -> dict[str, dict[str, float]]:
    """The publish task's time limit, as a Celery task annotation: the hard ``publish_time_limit``.

    The sweeper calls a post still ``publishing`` after it ``unknown``. The ticks are not tasks: the
    beat runs them (``workers/ticks.py``), and reports one running past its ``stuck_after``.
    """
    return {PUBLISH: {"time_limit": settings.publish_time_limit}}


def publish_annotations(settings: Settings) -> dict[str, dict[str, Any]]:
    """The publish task's annotation: its time limit, and with grouped outcomes the strategy that holds acks."""
    annotation: dict[str, Any] = dict(time_limits(settings)[PUBLISH])
    if grouped_acks.enabled(settings):
        annotation["Strategy"] = grouped_acks.STRATEGY
    return {PUBLISH: annotation}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """One entry per tick in ``workers.ticks.TICKS``, at its interval; the beat runs each itself."""
    return {tick.name: {"task": tick.task, "schedule": timedelta(seconds=tick.every(settings))} for tick in TICKS}


@cache
def default_app() -> Celery:
    return create_app(load_settings())


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return default_app()
    raise AttributeError(name)
