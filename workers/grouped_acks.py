"""Grouped outcome commits: a worker acknowledges a publish only after one WAL flush shared by many.

With ``outcome_commit = "grouped"`` on PostgreSQL, a pool process commits a post's success without
waiting for the WAL flush (``promo.store.hot_path``) and returns at once. Celery, in the worker's
main process, would then acknowledge the message; the publish task's strategy (``strategy``:
Celery's own, given an acknowledgement that holds) hands it instead to this process's
``GroupedAcks``, a thread that gathers for up to ``outcome_group_ms``, makes one durable commit
(``promo.store.wal``), then acknowledges, on the event loop's thread, every message whose outcome
that flush covers. So no message is acknowledged before its ``published`` row is durable, as with a
flush per outcome, and one flush serves them all. (A strategy, not a request class of promo's own:
Celery's request class is measurably quicker per message than a subclass, docs/benchmarks.md.)

A flush that fails, or cannot vouch for a commit (its connection is younger than the message's
arrival in this process: the server may have restarted since and forgotten the commit), gives the
messages back to the broker (rejected, requeued). Delivered again, each finds its post published
(a duplicate, acknowledged) or, if the server forgot the commit, still ``publishing`` under the same
attempt: fenced out like any duplicate; the lease runs out, the sweeper makes the post ``unknown``
and the reconciler looks it up on the platform. It is never sent twice (docs/reliability.md, "Grouped outcome commits").

While a message waits for its flush its prefetch slot is handed back to the consumer
(``qos.increment_eventually``, as Celery does for a task with an ETA), so the pool process that
published it takes its next message at once. Every acknowledgement of the publish task is held
(a failure's too): one rule, and a task that failed after committing is covered as well.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery import Celery, bootsteps
from celery.worker.strategy import default as celery_strategy
from sqlalchemy.engine import make_url

from promo.settings import Settings
from promo.store.wal import FlushFailed, WalFlush

log = logging.getLogger("promo.worker")
STRATEGY = "workers.grouped_acks:strategy"  # the publish task's, when outcomes are grouped (create_app)
STOP_WAIT_S = 10.0  # at a worker's stop: the longest the last flush may take before its messages are requeued


def enabled(settings: Settings) -> bool:
    """Whether outcomes are grouped: the setting asks for it and the store is PostgreSQL.

    Both the pool processes (relaxed commits) and the main process (held acknowledgements) decide
    by this, from the same settings. SQLite's commits are already not flushed one by one (WAL,
    ``synchronous=NORMAL``): there is nothing to group.
    """
    return settings.outcome_commit == "grouped" and make_url(settings.database).get_backend_name() == "postgresql"


def strategy(task: Any, app: Celery, consumer: Any, **options: Any) -> Any:
    """Celery's own strategy for the publish task, each message's acknowledgement held while grouping.

    The request Celery builds calls ``ack(logger, errors)`` when the task is done; here that call is
    held by ``GroupedAcks`` until a flush covers the outcome. The message's arrival in this process
    (before any pool process can have started it) dates the commits a flush must cover.
    """
    handle = celery_strategy(task, app, consumer, **options)

    def on_message(message: Any, body: Any, ack: Any, reject: Any, callbacks: Any, **kwargs: Any) -> Any:
        acks = _active
        if acks is not None:
            ack = _Held(acks, ack, reject, time.monotonic()).ack
        return handle(message, body, ack, reject, callbacks, **kwargs)

    return on_message


@dataclass
class _Held:
    """One message's acknowledgement and rejection, and when the message arrived (monotonic)."""

    acks: GroupedAcks
    ack_now: Any
    reject_now: Any
    arrived: float
    logger: Any = None
    errors: Any = ()

    def ack(self, logger: Any, errors: Any) -> None:
        """What Celery calls to acknowledge: held for the flush instead."""
        self.logger, self.errors = logger, errors
        self.acks.hold(self)

    def settle(self, durable: bool) -> None:
        """Acknowledge (the flush covered its outcome) or give the message back to the broker."""
        if durable:
            self.ack_now(self.logger, self.errors)
        else:
            self.reject_now(self.logger, self.errors, requeue=True)


class GroupedAcks:
    """The held acknowledgements of one worker, and the thread that flushes and releases them."""

    def __init__(self, flush: WalFlush, window_s: float, hub: Any, qos: Any) -> None:
        self.flush, self.window_s, self.hub, self.qos = flush, window_s, hub, qos
        self._held: list[_Held] = []
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="promo-grouped-acks", daemon=True)

    def start(self) -> GroupedAcks:
        self._connect()
        self._thread.start()
        return self

    def hold(self, held: _Held) -> None:
        """Called on the event loop's thread for a message that would have been acknowledged now."""
        with self._wake:
            self._held.append(held)
            self._wake.notify()
        self.qos.increment_eventually()

    def stop(self) -> None:
        """Flush and settle what is held (on the caller's thread), then close the connection."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        self._thread.join(STOP_WAIT_S)
        self._settle(self._flushed(self._take()))
        self.flush.dispose()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._held and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
            time.sleep(self.window_s)  # let the outcomes of the moment join this flush
            batch = self._flushed(self._take())
            self.hub.call_soon(self._settle, batch)

    def _take(self) -> list[_Held]:
        with self._wake:
            batch, self._held = self._held, []
        return batch

    def _flushed(self, batch: list[_Held]) -> list[tuple[_Held, bool]]:
        """Each held message with whether one flush, begun now, makes its outcome durable."""
        if not batch:
            return []
        try:
            self.flush.flush()
        except FlushFailed as exc:
            log.warning("grouped outcomes: %s; %d message(s) go back to the broker", exc, len(batch))
            self._connect()
            return [(held, False) for held in batch]
        return [(held, self.flush.covers(held.arrived)) for held in batch]

    def _settle(self, batch: list[tuple[_Held, bool]]) -> None:
        for held, durable in batch:
            held.settle(durable)
            self.qos.decrement_eventually()

    def _connect(self) -> None:
        try:
            self.flush.connect()
        except FlushFailed as exc:
            log.warning("grouped outcomes: %s; trying again at the next flush", exc)


class InlineAcks(GroupedAcks):
    """No event loop (a worker on a polling transport): each acknowledgement flushes on its own, at once."""

    def start(self) -> GroupedAcks:
        self._connect()
        return self

    def hold(self, held: _Held) -> None:
        if self.flush.connected_at is None:
            self._connect()
        for each, durable in self._flushed([held]):
            each.settle(durable)

    def stop(self) -> None:
        self.flush.dispose()


_active: GroupedAcks | None = None  # this worker's, in its main process, while its consumer runs


class GroupedAcksStep(bootsteps.StartStopStep):
    """Holds the publish task's acknowledgements for the flush while the worker's consumer runs.

    It starts after Celery's task step and before the event loop's: no message is handled before it.
    """

    label = "promo grouped outcomes"
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        global _active
        settings: Settings | None = getattr(parent.app.conf, "promo_settings", None)
        if settings is None or not enabled(settings) or _active is not None:
            return
        kind = GroupedAcks if parent.hub is not None else InlineAcks
        _active = kind(WalFlush(settings.database), settings.outcome_group_ms / 1000, parent.hub, parent.qos).start()

    def stop(self, parent: Any) -> None:
        global _active
        acks, _active = _active, None
        if acks is not None:
            acks.stop()

    def shutdown(self, parent: Any) -> None:
        self.stop(parent)


def install(app: Celery) -> None:
    """Add the step to the worker's consumer (the publish task's strategy: ``publish_annotations``)."""
    app.steps["consumer"].add(GroupedAcksStep)
