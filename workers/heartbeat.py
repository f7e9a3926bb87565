"""Heartbeats of workers and beats (``promo.store.heartbeats``), wired into Celery, and Celery's ping.

``install(app)`` adds a worker bootstep that beats from the worker's main process while the worker
runs (started after the pool, so no pool process is forked holding its connection, and each write
under the pool's fork guard, so none is forked inside it on SQLite; stopped on a warm or cold stop,
which deletes the row), and connects ``beat_init`` so that a beat, standalone or
embedded (``promo run``), beats on a thread from its start. ``beat_heartbeat(settings)`` is the
per-tick form: a beat that runs its own ticks may call it each tick; it writes at most once an
interval. A beat deletes its row at exit; an embedded beat's row is deleted by its worker at exit,
once Celery has stopped the beat process.

``ping(app)`` asks the workers over the broker (Celery's remote control) which of them answer.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
from typing import Any

from celery import Celery, bootsteps, signals

from promo.settings import Settings
from promo.store.heartbeats import BEAT, WORKER, Heartbeat, Identity, forget
from workers.pool import FORK_GUARD

_beats: dict[int, Heartbeat] = {}  # this process's beat heartbeat, by pid (never shared across a fork)
_last_beat: dict[int, float] = {}


class HeartbeatStep(bootsteps.StartStopStep):
    """The worker's heartbeat thread, from the pool's start to the worker's stop."""

    label = "promo heartbeat"
    requires = ("celery.worker.components:Pool",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.heartbeat: Heartbeat | None = None

    def start(self, parent: Any) -> None:
        settings = _settings(parent.app)
        if settings is None or self.heartbeat is not None:
            return
        me = Identity.here(WORKER, name=str(parent.hostname), concurrency=int(parent.concurrency or 0) or None)
        self.heartbeat = Heartbeat(settings.database, me, settings.heartbeat_interval, guard=FORK_GUARD.held).start()

    def stop(self, parent: Any) -> None:
        heartbeat, self.heartbeat = self.heartbeat, None
        if heartbeat is None:
            return
        heartbeat.stop()
        embedded = getattr(parent, "beat", None)  # promo run's beat process: it cannot delete its own row
        if getattr(embedded, "pid", None):
            atexit.register(_forget_embedded_beat, heartbeat, embedded)  # once Celery has stopped it

    def terminate(self, parent: Any) -> None:
        self.stop(parent)


def _forget_embedded_beat(heartbeat: Heartbeat, process: Any) -> None:
    """At the worker's exit, after Celery has terminated its embedded beat: delete the beat's row."""
    with contextlib.suppress(Exception):  # a stop never fails on a heartbeat; the row goes stale instead
        process.join(5)
        forget(heartbeat.db, Identity(BEAT, heartbeat.me.hostname, int(process.pid)))
        heartbeat.db.dispose()


def install(app: Celery) -> None:
    """Heartbeats for this app's workers and beats. Idempotent."""
    if HeartbeatStep not in app.steps["worker"]:
        app.steps["worker"].add(HeartbeatStep)
    signals.beat_init.connect(_beat_started, weak=False, dispatch_uid="promo.heartbeat.beat")


def _settings(app: Any) -> Settings | None:
    settings = getattr(app.conf, "promo_settings", None)
    return settings if isinstance(settings, Settings) else None


def _beat_started(sender: Any = None, **_: Any) -> None:
    settings = _settings(sender.app) if sender is not None else None
    if settings is not None:
        _beat_for(settings).start()


def _beat_for(settings: Settings) -> Heartbeat:
    """This process's beat heartbeat (made on first use; deleted at exit)."""
    pid = os.getpid()
    if pid not in _beats:
        _beats.clear()
        _beats[pid] = Heartbeat(settings.database, Identity.here(BEAT), settings.heartbeat_interval)
        atexit.register(_beats[pid].stop)
    return _beats[pid]


def beat_heartbeat(settings: Settings) -> bool:
    """One beat of this beat process, if an interval has passed since its last; True if one was written."""
    pid, now = os.getpid(), time.monotonic()
    if now - _last_beat.get(pid, float("-inf")) < settings.heartbeat_interval:
        return False
    _last_beat.clear()
    _last_beat[pid] = now
    return _beat_for(settings).beat_now()


def ping(app: Celery, timeout: float = 1.0) -> list[str]:
    """The node names of the workers that answer Celery's ping within ``timeout`` seconds."""
    replies = app.control.ping(timeout=timeout) or []
    return sorted(name for reply in replies for name, answer in reply.items() if answer.get("ok") == "pong")
