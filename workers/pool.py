"""The prefork pool, tolerant of a pool process killed while the worker starts.

Celery checks once, when the consumer first starts, that no pool process has exited
(``asynloop``: ``pool.did_start_ok()``), and otherwise stops the whole worker with
``WorkerLostError('Could not start worker processes')``. A child killed in that window (the OOM
killer, an operator's kill -9) took the worker down (issue 12), although billiard replaces a
child lost at any later moment. Here a child lost during start-up is replaced like any other, and
start-up fails only when the replacements keep dying (``START_CHECKS`` checks, ``START_SETTLE_S``
apart): a child that cannot start at all still stops the worker, now with a non-zero exit.

``workers.app.create_app`` names this pool in ``worker_pool`` (``POOL``).
"""

from __future__ import annotations

import logging
import time

from celery.concurrency import prefork

START_CHECKS = 3
START_SETTLE_S = 1.0
log = logging.getLogger("promo.worker")


class TaskPool(prefork.TaskPool):
    def did_start_ok(self) -> bool:
        for _ in range(START_CHECKS):
            if self._pool.did_start_ok():  # also reaps the children that exited
                return True
            log.warning("a pool process exited while the worker was starting; starting another")
            self._pool.maintain_pool()
            time.sleep(START_SETTLE_S)
        return bool(self._pool.did_start_ok())
