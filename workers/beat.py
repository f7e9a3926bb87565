"""The beat's scheduler: Celery's in-memory one, except that promo's ticks run here, on threads.

``promo beat`` and the beat inside ``promo run`` use it (``workers.app.create_app`` names it in
``beat_scheduler``). The schedule is intervals and the state is in the database, so nothing is
persisted. An entry for one of promo's ticks (``workers.ticks.TICKS``) is not sent as a message:
``apply_async`` starts the tick's library call on a thread of its own, so publishes filling the
workers' pool never delay a dispatch. One run per kind at a time: a tick whose previous run is
still going is skipped, not queued (and reported once it has run longer than its ``stuck_after``).
Any other entry is sent to the broker as usual.

The dispatcher's sends then leave from the beat, on its own broker connection. Two beats at once
stay safe: every claim is a fenced update in the database (docs/reliability.md, F8).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from celery import beat

from workers.ticks import TICKS, Beat, Tick

log = logging.getLogger("promo.beat")
STOP_WAIT_S = 5.0  # on shutdown, how long the running ticks get to finish (the rest end with the process)


@dataclass
class _Run:
    thread: threading.Thread
    started: float
    reported: bool = False  # told the log it is stuck (once per run)


class TickRunner:
    """Runs each tick on a thread of its own, at most one run per kind at a time."""

    def __init__(self, beat: Beat) -> None:
        self.beat = beat
        self._running: dict[str, _Run] = {}
        self._last_error: dict[str, str] = {}

    def start(self, tick: Tick) -> bool:
        """Start a run of ``tick``, unless one is still going. Returns whether it started."""
        run = self._running.get(tick.name)
        if run is not None and run.thread.is_alive():
            age, limit = time.monotonic() - run.started, tick.stuck_after(self.beat.settings)
            if age > limit and not run.reported:
                log.error("the %s tick has run for %.0f s (more than %.0f s): stuck? Its next runs are "
                          "skipped until it ends; restarting this beat ends it", tick.name, age, limit)
                run.reported = True
            return False
        if self.beat.stopping.is_set():
            return False
        thread = threading.Thread(target=self._run, args=(tick,), name=f"promo-{tick.name}", daemon=True)
        self._running[tick.name] = _Run(thread, time.monotonic())
        thread.start()
        return True

    def _run(self, tick: Tick) -> None:
        try:
            tick.run(self.beat)
        except Exception as exc:  # the next tick tries again; one line per new error, not per second
            message = f"{type(exc).__name__}: {exc}"
            if self._last_error.get(tick.name) != message:
                log.error("the %s tick failed: %s (it runs again at its next turn)", tick.name, message,
                          exc_info=not _is_connection_error(exc))
            self._last_error[tick.name] = message
        else:
            self._last_error.pop(tick.name, None)

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the running ticks to end."""
        deadline = time.monotonic() + timeout
        for run in list(self._running.values()):
            run.thread.join(max(0.0, deadline - time.monotonic()))

    def busy(self, name: str) -> bool:
        run = self._running.get(name)
        return run is not None and run.thread.is_alive()


def _is_connection_error(exc: BaseException) -> bool:
    """A broker or store that does not answer: said in one line, without a traceback."""
    return isinstance(exc, (OSError, ConnectionError)) or "ConnectionError" in type(exc).__name__ or (
        "TimeoutError" in type(exc).__name__)


class Scheduler(beat.Scheduler):
    """Celery's in-memory scheduler, running ``workers.ticks.TICKS`` itself."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self.stopping = threading.Event()
        self.ticks = {tick.task: tick for tick in TICKS}
        self.runner = TickRunner(Beat(app, self.stopping))
        super().__init__(app, *args, **kwargs)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        """A due entry. A tick is started, not sent: without Celery's "Sending due task" line, which
        said otherwise three times a second at INFO (``promo run --verbose``)."""
        if entry.task not in self.ticks:
            super().apply_entry(entry, producer)
            return
        try:
            self.apply_async(entry, producer, advance=False)
        except Exception as exc:  # a thread that cannot start: the next turn tries again
            log.error("the %s tick could not start: %s: %s", entry.name, type(exc).__name__, exc)

    def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> Any:
        tick = self.ticks.get(entry.task)
        if tick is None:
            return super().apply_async(entry, producer, advance, **kwargs)
        if advance:
            self.reserve(entry)
        if not self.runner.start(tick):
            log.debug("the %s tick is still running: this turn is skipped", tick.name)
        return None

    @property
    def producer(self) -> Any:
        """None: ticks send nothing through it, and any other entry's ``apply_async`` then takes a
        producer from the app's pool. Celery's would connect to the broker on the first tick, and
        block every tick (the sweeper's too) while the broker is down."""
        return None

    def close(self) -> None:
        self.stopping.set()
        self.runner.wait(STOP_WAIT_S)
        super().close()
