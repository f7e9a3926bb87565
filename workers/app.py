"""The Celery app, built from Settings. Tasks only route and retry; the logic is in promo's modules.

``celery -A workers.app worker`` finds ``app`` here, built on first use from the environment.
``create_app(settings)`` builds one explicitly (``promo run``, ``promo worker``, ``promo beat``).

The broker only carries work; the database decides (docs/architecture.md). Hence:
``worker_prefetch_multiplier=1`` (F7), late acks (a lost message is fine, the sweeper re-dispatches),
no result backend, one visibility timeout set everywhere and checked against the countdowns (F1, F2),
each task its own time limits (``time_limits``), and a dedicated queue.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from typing import Any

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

from promo.engine import reconcile
from promo.errors import ConfigError
from promo.settings import Settings, load_settings
from promo.store.db import SQLITE_BUSY_TIMEOUT_MS
from workers.embedded import embedded_url

QUEUE = "promo"
PUBLISH, DISPATCH, SWEEP, RECONCILE = "promo.publish", "promo.dispatch", "promo.sweep", "promo.reconcile"
# Dispatch and sweep are a few statements each, but a fresh pool child first builds its Runtime
# (imports, the accounts file, the store), and a SQLite writer may wait the store's whole busy
# timeout for the lock. Twice that wait before the soft limit, which rolls the transaction back.
LEDGER_TASK_SOFT_LIMIT_S = 2 * SQLITE_BUSY_TIMEOUT_MS / 1000
# A task still running this long after its soft limit is killed with its pool child.
HARD_AFTER_SOFT_S = 10.0
# kombu's virtual transports sleep this long whenever the prefetch window is full or the queue is
# empty: at 0.1 s a worker idles between short tasks. 0.01 s costs ~100 cheap SELECTs a second.
EMBEDDED_POLL_S = 0.01
# How often a worker that lost the broker tries again before it gives up and exits 1 for its
# supervisor (Celery's default, 100, is about 45 minutes of backoff); not a promo setting yet.
# Named, not imported: Celery loads them when a worker starts (issue 12, docs/reliability.md gap 1).
POOL = "workers.pool:TaskPool"  # a pool process killed during start-up is replaced
REDIS_TRANSPORT = "workers.redisbroker:Transport"  # kombu's Redis transport, closed channels guarded


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
        task_annotations=time_limits(settings),
        worker_prefetch_multiplier=1,
        worker_concurrency=settings.worker_concurrency,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=settings.broker_connection_max_retries,
        worker_pool=POOL,
        broker_transport_options=transport,
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout},
        beat_schedule=beat_schedule(settings),
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=True,
    )
    app.conf.promo_settings = settings
    return app


def check_timing(settings: Settings) -> None:
    """Countdowns (at most the lookahead) must be far below the visibility timeout (F1, F2)."""
    if settings.dispatch_lookahead * 2 >= settings.visibility_timeout:
        raise ConfigError(
            f"dispatch_lookahead ({settings.dispatch_lookahead}s) must be well under visibility_timeout "
            f"({settings.visibility_timeout}s): the Redis transport would deliver held messages twice"
        )
    if settings.http_timeout >= settings.publish_time_limit:
        raise ConfigError(
            f"http_timeout ({settings.http_timeout}s) must be shorter than publish_time_limit "
            f"({settings.publish_time_limit}s)"
        )


def time_limits(settings: Settings) -> dict[str, dict[str, float]]:
    """Each task's time limits, as Celery task annotations.

    A publish has only a hard limit, ``publish_time_limit``: the sweeper calls a post still
    ``publishing`` after it ``unknown``. Dispatch and sweep get ``LEDGER_TASK_SOFT_LIMIT_S``;
    reconcile as much again as its lookups may take (``reconcile.BATCH`` of them, each bounded by
    ``http_timeout``). Each hard limit follows its soft one by ``HARD_AFTER_SOFT_S``.
    """
    lookups = reconcile.BATCH * settings.http_timeout
    return {
        PUBLISH: {"time_limit": settings.publish_time_limit},
        DISPATCH: _soft_then_hard(LEDGER_TASK_SOFT_LIMIT_S),
        SWEEP: _soft_then_hard(LEDGER_TASK_SOFT_LIMIT_S),
        RECONCILE: _soft_then_hard(LEDGER_TASK_SOFT_LIMIT_S + lookups),
    }


def _soft_then_hard(soft: float) -> dict[str, float]:
    return {"soft_time_limit": soft, "time_limit": soft + HARD_AFTER_SOFT_S}


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Dispatch often, sweep and reconcile less often; stale ticks expire instead of piling up."""
    dispatch, sweep = settings.dispatch_interval, settings.sweep_interval
    return {
        "dispatch": {
            "task": DISPATCH,
            "schedule": timedelta(seconds=dispatch),
            "options": {"expires": dispatch_expiry(settings)},
        },
        "sweep": {
            "task": SWEEP,
            "schedule": timedelta(seconds=sweep),
            "options": {"expires": max(sweep * 2, 1.0)},
        },
        "reconcile": {
            "task": RECONCILE,
            "schedule": timedelta(seconds=sweep),
            "options": {"expires": max(sweep * 2, 1.0)},
        },
    }


def dispatch_expiry(settings: Settings) -> float:
    """A dispatcher run not started within two intervals is dropped: the next tick does its work."""
    return max(settings.dispatch_interval * 2, 1.0)


@cache
def default_app() -> Celery:
    return create_app(load_settings())


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return default_app()
    raise AttributeError(name)
