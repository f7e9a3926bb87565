"""The prefork pool: tolerant of a pool process killed while the worker starts, and quick to report
the post a pool process was running when it died.

Celery checks once, when the consumer first starts, that no pool process has exited
(``asynloop``: ``pool.did_start_ok()``), and otherwise stops the whole worker with
``WorkerLostError('Could not start worker processes')``. A child killed in that window (the OOM
killer, an operator's kill -9) took the worker down (issue 12), although billiard replaces a
child lost at any later moment. Here a child lost during start-up is replaced like any other, and
start-up fails only when the replacements keep dying (``START_CHECKS`` checks, ``START_SETTLE_S``
apart): a child that cannot start at all still stops the worker, now with a non-zero exit.

A child that dies running a publish (kill -9, the OOM killer, the hard time limit) is known at once
to the worker's main process: Celery fails the job with ``WorkerLostError`` (or
``TimeLimitExceeded``) and sends ``task_failure`` there. ``on_lost_publish`` hands that post to
``promo.engine.sweeper.lost_job`` on a thread of its own (the main process's event loop never waits
on the database): ``queued`` -> ``scheduled``, ``publishing`` -> ``unknown`` for a look-up within
seconds, both fenced on the attempt id. Without it the post waited for its lease or the publish time
limit. The main process talks to the store through a pool-less engine, so a child forked later
inherits no connection of it.

On SQLite, a child forked while another thread of the main process is inside a write transaction
inherits SQLite's record of that lock (its per-process lock table), and its own first write waits
the whole busy timeout (30 s; seen here). ``FORK_GUARD`` is held around those transactions (the
lost publish's, the heartbeat's), and a fork waits for it, at most ``FORK_WAIT_S``.

Celery learns of a dead child from its exit pipe, but checks the exit code at once: a child still
being torn down (a PostgreSQL connection to close) is not reaped yet, its pipe is forgotten, and
only Celery's 5 s timer finds it, 4 s later in our runs. ``AsynPool`` here checks every
``EXIT_CHECK_S`` (a ``waitpid`` per child).

``workers.app.create_app`` names this pool in ``worker_pool`` (``POOL``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import signals
from celery.concurrency import asynpool, prefork
from celery.exceptions import TimeLimitExceeded
from sqlalchemy import Engine

from promo.engine.runtime import worker_name
from promo.engine.sweeper import lost_job
from promo.settings import Settings
from workers.tasks import PUBLISH

START_CHECKS = 3
START_SETTLE_S = 1.0
EXIT_CHECK_S = 0.5  # how often the pool looks for exited children (Celery's own: 5 s, and at each exit)
FORK_WAIT_S = 5.0  # a fork waits this long at most for a SQLite transaction of another thread to end
log = logging.getLogger("promo.worker")
_stores: dict[tuple[int, str], Engine] = {}  # the main process's pool-less engine, by pid and URL
_stores_lock = threading.Lock()


class ForkGuard:
    """Held by a thread around a SQLite write transaction; a fork of this process waits until it ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forking = False
        os.register_at_fork(before=self._before, after_in_parent=self._after, after_in_child=self._reset)

    @contextlib.contextmanager
    def held(self, database_url: str) -> Iterator[None]:
        """Around one transaction on ``database_url``: a no-op unless it is a SQLite file."""
        if not database_url.startswith("sqlite"):
            yield
            return
        with self._lock:
            yield

    def _before(self) -> None:
        self._forking = self._lock.acquire(timeout=FORK_WAIT_S)

    def _after(self) -> None:
        if self._forking:
            self._forking = False
            self._lock.release()

    def _reset(self) -> None:
        self._lock, self._forking = threading.Lock(), False


FORK_GUARD = ForkGuard()


class AsynPool(asynpool.AsynPool):
    @property
    def timers(self) -> dict[Any, float]:
        return {self.maintain_pool: EXIT_CHECK_S}


class TaskPool(prefork.TaskPool):
    Pool = AsynPool

    def on_start(self) -> None:
        super().on_start()
        signals.task_failure.connect(on_lost_publish, weak=False, dispatch_uid="promo.pool.lost-publish")

    def did_start_ok(self) -> bool:
        for _ in range(START_CHECKS):
            if self._pool.did_start_ok():  # also reaps the children that exited
                return True
            log.warning("a pool process exited while the worker was starting; starting another")
            self._pool.maintain_pool()
            time.sleep(START_SETTLE_S)
        return bool(self._pool.did_start_ok())


def on_lost_publish(sender: Any = None, exception: BaseException | None = None, args: Any = None,
                    **_: Any) -> None:
    """``task_failure`` in the main process: a publish whose pool process died, handed to a thread."""
    if getattr(sender, "name", None) != PUBLISH or not isinstance(exception, (WorkerLostError, TimeLimitExceeded)):
        return
    settings = getattr(sender.app.conf, "promo_settings", None)
    if not isinstance(settings, Settings) or not args or len(args) != 2:
        return
    why = f"{type(exception).__name__}: {exception}".splitlines()[0][:300]
    threading.Thread(target=settle_lost, args=(settings, int(args[0]), str(args[1]), why),
                     name="promo-lost-publish", daemon=True).start()


def settle_lost(settings: Settings, post_id: int, attempt_id: str, why: str) -> str | None:
    """Move the post its dead pool process left behind; if the store does not answer, the sweeper will."""
    try:
        with FORK_GUARD.held(settings.database):
            moved = lost_job(_store(settings), post_id, attempt_id, why, actor=worker_name())
    except Exception as exc:
        log.warning("post %s: its pool process died (%s), and the store could not be told (%s); the sweeper "
                    "takes it back at the end of its lease", post_id, why, f"{type(exc).__name__}: {exc}"
                    .splitlines()[0])
        return None
    if moved is not None:
        log.warning("post %s: its pool process died (%s): %s", post_id, why,
                    "sent again" if moved == "scheduled" else "unknown, to be looked up")
    return moved


def _store(settings: Settings) -> Engine:
    key = (os.getpid(), settings.database)
    with _stores_lock:
        if key not in _stores:
            from sqlalchemy.pool import NullPool

            from promo.store.db import make_engine

            _stores.clear()
            _stores[key] = make_engine(settings.database, poolclass=NullPool)
        return _stores[key]
