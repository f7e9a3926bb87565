"""Heartbeats: which workers and beats are alive, one row each in the ``processes`` table.

A process beats every ``heartbeat_interval`` seconds (an upsert of its row, keyed by kind, host and
pid) and deletes its row when it stops cleanly. A process killed with SIGKILL cannot: its row stays
and its ``last_seen`` goes stale. So a process is **alive** while its last beat is at most
``LIVENESS_BEATS`` of its own intervals old (``alive``); each row carries its interval, so a reader
needs no setting. Rows not seen for ``FORGET_AFTER_S`` are deleted by any process's next beat. A
row gone stale is also how the beat learns that a worker died holding messages for their time
(``promo.engine.sweeper.requeue_after_process_loss``).

``Heartbeat`` is the beating thread one process runs (``workers.heartbeat`` starts it in a worker
and a beat). It opens a connection per beat and holds none between beats, so a pool process forked
from a worker inherits no open connection of it. Times are the writer's clock (keep hosts on NTP;
three beats of slack absorb small skews).

SQLAlchemy is imported inside the functions: ``alive`` and the constants serve the read commands'
fast path (``promo status`` on SQLite), which loads none.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.times import utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

log = logging.getLogger("promo.heartbeat")

WORKER, BEAT = "worker", "beat"
KINDS = (WORKER, BEAT)
LIVENESS_BEATS = 3        # alive while the last beat is at most this many intervals old
FORGET_AFTER_S = 3600.0   # a row not seen for this long is deleted (a process killed long ago)


@dataclass(frozen=True)
class Identity:
    """Who beats: what the row says besides its times."""

    kind: str
    hostname: str
    pid: int
    name: str = ""
    concurrency: int | None = None
    version: str = ""
    started_at: datetime = field(default_factory=utcnow)

    @classmethod
    def here(cls, kind: str, *, name: str = "", concurrency: int | None = None) -> Identity:
        """This process, on this host."""
        import socket

        return cls(kind, socket.gethostname(), os.getpid(), name, concurrency, promo_version())


def promo_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("promo")
    except PackageNotFoundError:
        return ""


def alive(last_seen: datetime, interval_s: float, now: datetime) -> bool:
    """Whether a process that last beat at ``last_seen``, every ``interval_s`` seconds, is alive at ``now``."""
    return now - last_seen <= timedelta(seconds=LIVENESS_BEATS * interval_s)


def beat(db: Engine, me: Identity, interval_s: float, *, now: datetime | None = None) -> None:
    """Upsert ``me``'s row with ``last_seen = now``, and delete rows forgotten long ago; one transaction."""
    from sqlalchemy import delete

    from promo.store.meta import upsert_statement
    from promo.store.tables import Process

    now = now or utcnow()
    values = {"kind": me.kind, "hostname": me.hostname, "pid": me.pid, "name": me.name,
              "started_at": me.started_at, "last_seen": now, "interval_s": interval_s,
              "concurrency": me.concurrency, "version": me.version}
    with db.begin() as connection:
        statement = upsert_statement(connection, Process.__table__).values(**values)
        changing = {key: statement.excluded[key] for key in values if key not in ("kind", "hostname", "pid")}
        connection.execute(statement.on_conflict_do_update(index_elements=["kind", "hostname", "pid"],
                                                           set_=changing))
        connection.execute(delete(Process).where(Process.last_seen < now - timedelta(seconds=FORGET_AFTER_S)))


def forget(db: Engine, me: Identity) -> None:
    """Delete ``me``'s row: a clean stop."""
    from sqlalchemy import delete

    from promo.store.tables import Process

    with db.begin() as connection:
        connection.execute(delete(Process).where(Process.kind == me.kind, Process.hostname == me.hostname,
                                                 Process.pid == me.pid))


def processes(session: Session) -> list[Any]:
    """Every ``processes`` row (alive or not), workers first, then by host and pid."""
    from sqlalchemy import select

    from promo.store.tables import Process

    return list(session.scalars(select(Process).order_by(Process.kind.desc(), Process.hostname, Process.pid)))


class Heartbeat:
    """One process's beating thread: ``start()``, then ``stop()`` on a clean stop (which deletes the row).

    A beat that fails (the database down, a lock timeout) is logged and tried again at the next
    interval; the thread never stops on its own. Only the process that started it beats or
    forgets: in a forked child, ``stop`` does nothing.
    """

    def __init__(self, database_url: str, me: Identity, interval_s: float,
                 guard: Callable[[str], AbstractContextManager[None]] | None = None) -> None:
        self.database_url = database_url
        self.me = me
        self.interval_s = interval_s
        self.guard = guard  # held around each write (the worker's fork guard: workers.pool.FORK_GUARD)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._db: Engine | None = None
        self._owner = os.getpid()

    @property
    def db(self) -> Engine:
        if self._db is None:
            from sqlalchemy.pool import NullPool

            from promo.store.db import make_engine

            self._db = make_engine(self.database_url, poolclass=NullPool)
        return self._db

    def start(self) -> Heartbeat:
        """Beat once now (so a reader sees the process at once), then every interval on a daemon thread."""
        if self._thread is None:
            self.beat_now()
            self._thread = threading.Thread(target=self._run, name=f"promo-heartbeat-{self.me.kind}", daemon=True)
            self._thread.start()
        return self

    def beat_now(self) -> bool:
        """One beat; False (logged) if it could not be written."""
        if os.getpid() != self._owner:
            return False
        try:
            with self.guard(self.database_url) if self.guard else contextlib.nullcontext():
                beat(self.db, self.me, self.interval_s)
        except Exception as exc:
            log.warning("heartbeat of %s %s not written: %s", self.me.kind, self.me.pid,
                        f"{type(exc).__name__}: {exc}".splitlines()[0])
            return False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.beat_now()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop beating and delete the row (a clean stop). Safe to call twice."""
        if os.getpid() != self._owner:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        try:
            forget(self.db, self.me)
        except Exception as exc:
            log.warning("heartbeat row of %s %s not deleted: %s", self.me.kind, self.me.pid,
                        f"{type(exc).__name__}: {exc}".splitlines()[0])
        finally:
            if self._db is not None:
                self._db.dispose()
                self._db = None
