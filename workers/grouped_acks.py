"""Grouped outcome commits: a worker acknowledges a publish only after one WAL flush shared by many.

With ``outcome_commit = "grouped"`` on PostgreSQL, a pool process commits a post's success without
waiting for the WAL flush (``promo.store.hot_path``) and returns at once. Celery, in the worker's
main process, would then acknowledge the message; ``GroupedAckRequest`` holds the acknowledgement
instead and hands it to this process's ``GroupedAcks``, a thread that gathers for up to
``outcome_group_ms``, makes one durable commit (``promo.store.wal``), then acknowledges, on the event
loop's thread, every message whose outcome that flush covers. So no message is acknowledged before
its ``published`` row is durable, as with a flush per outcome, and one flush serves them all.

A flush that fails, or cannot vouch for a commit (its connection was made after the publish began:
the server may have restarted and forgotten it), gives the messages back to the broker (rejected,
requeued). Delivered again, each finds its post published (a duplicate, acknowledged) or, if the
server forgot the commit, still ``publishing`` under the same attempt: fenced out like any duplicate;
the lease runs out, the sweeper makes the post ``unknown`` and the reconciler looks it up on the
platform. It is never sent twice (docs/reliability.md, "Grouped outcome commits").

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
from celery.worker.request import Request
from sqlalchemy.engine import make_url

from promo.settings import Settings
from promo.store.wal import FlushFailed, WalFlush

log = logging.getLogger("promo.worker")
REQUEST = "workers.grouped_acks:GroupedAckRequest"  # the publish task's, when outcomes are grouped (create_app)
STOP_WAIT_S = 10.0  # at a worker's stop: the longest the last flush may take before its messages are requeued


def enabled(settings: Settings) -> bool:
    """Whether outcomes are grouped: the setting asks for it and the store is PostgreSQL.

    Both the pool processes (relaxed commits) and the main process (held acknowledgements) decide
    by this, from the same settings. SQLite's commits are already not flushed one by one (WAL,
    ``synchronous=NORMAL``): there is nothing to group.
    """
    return settings.outcome_commit == "grouped" and make_url(settings.database).get_backend_name() == "postgresql"


class GroupedAckRequest(Request):
    """The publish task's request: its acknowledgement waits for a flush when outcomes are grouped."""

    _accepted_at: float | None = None  # the pool process's monotonic clock when it took the task
    _held = False

    def on_accepted(self, pid: Any, time_accepted: float) -> None:
        self._accepted_at = time_accepted
        super().on_accepted(pid, time_accepted)

    def acknowledge(self) -> None:
        acks = _active
        if acks is None or self.acknowledged or self._held:
            super().acknowledge()
            return
        self._held = True
        acks.hold(self)

    def settle(self, durable: bool) -> None:
        """Acknowledge (the flush covered its outcome) or give the message back to the broker."""
        if durable:
            super().acknowledge()
        else:
            self.reject(requeue=True)


@dataclass(frozen=True)
class _Held:
    request: GroupedAckRequest
    accepted_at: float | None


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

    def hold(self, request: GroupedAckRequest) -> None:
        """Called on the event loop's thread for a request that would have been acknowledged now."""
        with self._wake:
            self._held.append(_Held(request, request._accepted_at))
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

    def _flushed(self, batch: list[_Held]) -> list[tuple[GroupedAckRequest, bool]]:
        """Each held request with whether one flush, begun now, makes its outcome durable."""
        if not batch:
            return []
        try:
            self.flush.flush()
        except FlushFailed as exc:
            log.warning("grouped outcomes: %s; %d message(s) go back to the broker", exc, len(batch))
            self._connect()
            return [(held.request, False) for held in batch]
        return [(held.request, held.accepted_at is not None and self.flush.covers(held.accepted_at))
                for held in batch]

    def _settle(self, batch: list[tuple[GroupedAckRequest, bool]]) -> None:
        for request, durable in batch:
            request.settle(durable)
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

    def hold(self, request: GroupedAckRequest) -> None:
        if self.flush.connected_at is None:
            self._connect()
        for held_request, durable in self._flushed([_Held(request, request._accepted_at)]):
            held_request.settle(durable)

    def stop(self) -> None:
        self.flush.dispose()


_active: GroupedAcks | None = None  # this worker's, in its main process, while its consumer runs


class GroupedAcksStep(bootsteps.StartStopStep):
    """Holds the publish task's acknowledgements for the flush while the worker's consumer runs."""

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
    """Add the step to the worker's consumer (the publish task's request class: ``publish_annotations``)."""
    app.steps["consumer"].add(GroupedAcksStep)
