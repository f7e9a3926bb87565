"""The chaos test's kit: a fresh database, a supervisor, the faults, a liveness probe, the run read back.

- ``fresh_database``: a PostgreSQL database of its own, so ``pg_terminate_backend`` can pick this
  test's connections by ``datname`` and touch no other test's; dropped afterwards, even on failure.
- ``Supervisor``: what systemd's ``Restart=on-failure`` does for each ``promo`` process. A process that
  exits is recorded with its status; what is left of its process group is killed ``ORPHAN_GRACE_S``
  later; it is started again after ``RESTART_DELAY_S`` unless it exited 0, which a supervisor takes
  for a wanted stop.
- ``Faults``: each fault, logged with when it began and when the resource was back.
- ``Probe``: every worker answers Celery's ping, every beat's heartbeat row advances, and the
  dispatcher's ticks advance (``LAST_DISPATCH``).
- ``read_outboxes``, ``read_history``: the outbox files and the ledger read back after the run
  (each post's stretches in flight from ``events``), for the verdict the test draws.

Every loop is bounded in count and time, and only processes this kit started are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text

from tests.engine.enginekit import EngineProcess

RESTART_DELAY_S = 1.0  # systemd's RestartSec, shortened for the test (the documented units say 5)
ORPHAN_GRACE_S = 3.0  # then what is left of a dead process's group is killed, like a unit's final SIGKILL
MAX_STARTS = 12  # per process slot: a crash loop ends the test instead of spinning
MONITOR_APP = "promo-chaos-monitor"  # the test's own connections, which pg_terminate_backend spares


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[tuple[str, str]]:
    """A new, empty database on the server of ``admin_url``: (its URL, its name); dropped afterwards."""
    name = f"promo_chaos_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False), name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_available(admin_url: str) -> bool:
    url = make_url(admin_url)
    with contextlib.suppress(OSError), socket.create_connection((url.host, url.port or 5432), timeout=1):
        return True
    return False


def monitor_engine(url: str) -> Engine:
    """The test's own connection to the store: named, so the faults spare it; pinged before use."""
    return create_engine(url, pool_pre_ping=True, connect_args={"application_name": MONITOR_APP,
                                                                "connect_timeout": 2})


@dataclass
class Exit:
    slot: str
    pid: int
    code: int  # negative: killed by that signal
    at: float
    by_test: bool  # the test killed it on purpose


@dataclass
class Slot:
    """One supervised ``promo`` command: the process running now and when each incarnation started."""

    name: str
    args: tuple[str, ...]
    process: EngineProcess | None = None
    starts: list[tuple[int, float]] = field(default_factory=list)  # (pid, time)
    restart_at: float | None = None
    given_up: bool = False


class Supervisor:
    """Start, watch and restart ``promo`` processes the way ``Restart=on-failure`` would."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder, self.env = folder, env
        self.slots: dict[str, Slot] = {}
        self.exits: list[Exit] = []
        self.killed: set[int] = set()  # pids the test killed on purpose
        self.groups: set[int] = set()  # the process groups started and not yet killed: killed at the end
        self._orphans: dict[int, float] = {}  # group -> when its leader died
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chaos-supervisor", daemon=True)

    def add(self, name: str, *args: str) -> None:
        self.slots[name] = Slot(name, args)
        self._start(self.slots[name])

    def run(self) -> None:
        self._thread.start()

    def current(self, name: str) -> EngineProcess:
        process = self.slots[name].process
        assert process is not None, f"{name} is not running"
        return process

    def kill(self, name: str) -> int:
        """kill -9 the slot's main process (its pool children are left to the supervisor); its pid."""
        with self._lock:
            process = self.current(name)
            self.killed.add(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            return process.pid

    def stop(self) -> None:
        """Stop watching, then SIGKILL every process group this supervisor started and has not killed yet."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        for group in list(self.groups):
            self._kill_group(group)
        for slot in self.slots.values():
            if slot.process is not None:
                with contextlib.suppress(Exception):
                    slot.process.process.wait(5)

    def _start(self, slot: Slot) -> None:
        process = EngineProcess(self.folder, self.env, *slot.args)
        slot.process, slot.restart_at = process, None
        slot.starts.append((process.pid, time.time()))
        self.groups.add(process.pid)  # start_new_session: the pid is the group id

    def _watch(self) -> None:
        deadline = time.monotonic() + 600  # bounded, whatever the test does
        while not self._stop.wait(0.05) and time.monotonic() < deadline:
            with self._lock:
                for slot in self.slots.values():
                    self._check(slot)
                self._reap_orphans()

    def _check(self, slot: Slot) -> None:
        now = time.time()
        if slot.restart_at is not None and now >= slot.restart_at:
            self._start(slot)
            return
        process = slot.process
        if process is None or slot.restart_at is not None or process.process.poll() is None:
            return
        code = int(process.process.returncode)
        self.exits.append(Exit(slot.name, process.pid, code, now, process.pid in self.killed))
        self._orphans[process.pid] = now
        if code == 0 or len(slot.starts) >= MAX_STARTS:  # on-failure: an exit 0 is left down
            slot.process, slot.given_up = None, True
        else:
            slot.restart_at = now + RESTART_DELAY_S

    def _reap_orphans(self) -> None:
        """Pool children outliving their worker get ``ORPHAN_GRACE_S`` to finish, then SIGKILL."""
        for group, died in list(self._orphans.items()):
            if time.time() - died >= ORPHAN_GRACE_S:
                self._kill_group(group)
                del self._orphans[group]

    def _kill_group(self, group: int) -> None:
        """SIGKILL a group this supervisor created, once: a group id is never signalled after that."""
        if group in self.groups:
            self.groups.discard(group)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)


@dataclass
class Fault:
    kind: str
    at: float  # when it began
    back: float  # when what it took away was back (the broker reachable, the database accepting)
    target: str = ""


BROKER_FAULTS = ("flushall", "redis-restart")


class Faults:
    """Each fault, injected on request and logged with its times."""

    def __init__(self, supervisor: Supervisor, redis: Any, admin_url: str, database: str) -> None:
        self.supervisor, self.redis, self.database = supervisor, redis, database
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.log: list[Fault] = []

    def inject(self, kind: str) -> Fault:
        began = time.time()
        target = getattr(self, kind.replace("-", "_"))()
        fault = Fault(kind, began, time.time(), target)
        self.log.append(fault)
        return fault

    def pool_child(self) -> str:
        for _ in range(50):  # a worker restarting has no children for a moment: wait, bounded
            for name in ("worker-1", "worker-2"):
                slot = self.supervisor.slots[name]
                children = slot.process.children() if slot.process else []
                if children:
                    os.kill(children[0], signal.SIGKILL)
                    return f"{name} child {children[0]}"
            time.sleep(0.1)
        raise AssertionError("no pool child to kill within 5 s")

    def worker_main(self) -> str:
        return f"worker-2 pid {self.supervisor.kill('worker-2')}"

    def beat(self) -> str:
        return f"beat-1 pid {self.supervisor.kill('beat-1')}"

    def flushall(self) -> str:
        self.redis.flushall()
        return "FLUSHALL"

    def redis_restart(self) -> str:
        self.redis.restart()  # SIGKILL, then a new, empty redis-server on the same port
        return f"port {self.redis.port}"

    def pg_terminate(self) -> str:
        with self.admin.connect() as connection:
            ended = connection.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db "
                "AND pid <> pg_backend_pid() AND coalesce(application_name, '') <> :monitor"),
                {"db": self.database, "monitor": MONITOR_APP}).scalar_one()
        return f"{ended} connections"

    def pg_unreachable(self, seconds: float = 3.0) -> str:
        """No connection to this test's database for ``seconds``: new ones refused, open ones ended."""
        with self.admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": self.database})
            time.sleep(seconds)
            connection.execute(text(f'ALTER DATABASE "{self.database}" ALLOW_CONNECTIONS true'))
        return f"{seconds:g} s"

    def close(self) -> None:
        self.admin.dispose()


class Probe:
    """Once a second: which workers answer Celery's ping, the beats' heartbeats and the dispatcher's last tick."""

    def __init__(self, supervisor: Supervisor, broker_url: str, store: Engine) -> None:
        from celery import Celery

        self.supervisor, self.store = supervisor, store
        self.app = Celery("chaos-probe", broker=broker_url, set_as_current=False)
        self.answers: dict[int, list[float]] = {}  # worker pid -> times it answered
        self.ticks: list[tuple[float, str]] = []  # (seen at, LAST_DISPATCH value)
        self.heartbeats: dict[int, set[float]] = {}  # beat pid -> its heartbeats (the ``processes`` table)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chaos-probe", daemon=True)

    def run(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def answered(self, pid: int) -> bool:
        return bool(self.answers.get(pid))

    def _loop(self) -> None:
        deadline = time.monotonic() + 600
        while not self._stop.wait(1.0) and time.monotonic() < deadline:
            self._ping()
            self._tick()

    def _ping(self) -> None:
        nodes = {f"promo-{slot.process.pid}@{socket.gethostname()}": slot.process.pid  # promo/cli/engine.py
                 for name, slot in self.supervisor.slots.items() if name.startswith("worker") and slot.process}
        try:
            replies = self.app.control.ping(destination=list(nodes), timeout=1.0)
        except Exception:  # the broker is down or flushed mid-call: no answer this round
            return
        now = time.time()
        for reply in replies:
            for node in reply:
                if node in nodes:
                    self.answers.setdefault(nodes[node], []).append(now)

    def _tick(self) -> None:
        from promo.store.meta import LAST_DISPATCH

        try:
            with self.store.connect() as connection:
                value = connection.execute(text("SELECT value FROM meta WHERE key = :k"),
                                           {"k": LAST_DISPATCH}).scalar()
                beats = connection.execute(text("SELECT pid, last_seen FROM processes WHERE kind = 'beat'")).all()
        except Exception:  # the database is away (a fault): no reading this round
            return
        if value is not None:
            self.ticks.append((time.time(), str(value)))
        for pid, last_seen in beats:
            self.heartbeats.setdefault(int(pid), set()).add(last_seen.timestamp())


IN_FLIGHT = ("queued", "publishing")


@dataclass
class Stay:
    """A stretch of one post in flight: from its claim until it left ``queued`` and ``publishing``."""

    claimed: float
    due: float  # the claim's due time: its message's ETA
    left: float = float("inf")
    left_by: str = ""  # the action that ended it
    started: float = float("inf")  # when it moved to ``publishing`` (its call could go out from then on)


@dataclass
class PostHistory:
    """One post as the ledger and the outbox tell it; times are Unix seconds."""

    id: int
    key: str
    account: str
    status: str
    scheduled: float
    recorded: float | None  # the ledger's published_at
    stays: list[Stay] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)  # its outbox lines (one, if all is well)

    @property
    def out(self) -> float | None:
        """When it went out: its one outbox line's time."""
        return _stamp(self.lines[0]["published_at"]) if len(self.lines) == 1 else None


def _stamp(value: Any) -> float:
    from datetime import datetime

    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    assert when.tzinfo is not None, f"a naive time in the record: {value!r}"
    return when.timestamp()


def read_outboxes(paths: list[Path]) -> tuple[list[dict[str, Any]], int]:
    """Every line of every outbox file, and how many lines were not whole JSON."""
    import json

    lines, torn = [], 0
    for path in paths:
        for raw in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
            try:
                lines.append(json.loads(raw))
            except json.JSONDecodeError:
                torn += 1
    return lines, torn


def read_history(store: Engine, lines: list[dict[str, Any]]) -> dict[int, PostHistory]:
    """Each post of the ledger with its stretches in flight (from ``events``) and its outbox lines."""
    from sqlalchemy import select

    from promo.store.tables import Event, PostRow

    with store.connect() as connection:
        posts = connection.execute(select(PostRow.id, PostRow.idempotency_key, PostRow.account, PostRow.status,
                                          PostRow.scheduled_at, PostRow.published_at)).all()
        events = connection.execute(select(Event.post_id, Event.at, Event.action, Event.to_status, Event.detail)
                                    .order_by(Event.id)).all()
    history = {row[0]: PostHistory(row[0], row[1], row[2], row[3], _stamp(row[4]),
                                   _stamp(row[5]) if row[5] else None) for row in posts}
    for post_id, at, action, to_status, detail in events:
        if post_id in history:
            _follow(history[post_id], _stamp(at), action, to_status, detail or {})
    by_key = {post.key: post for post in history.values()}
    for line in lines:
        if line.get("idempotency_key") in by_key:
            by_key[line["idempotency_key"]].lines.append(line)
    return history


def _follow(post: PostHistory, at: float, action: str, to_status: str | None, detail: dict[str, Any]) -> None:
    post.actions.append(action)
    open_stay = post.stays and post.stays[-1].left == float("inf")
    if to_status in IN_FLIGHT and not open_stay:
        due = _stamp(detail["due_at"]) if "due_at" in detail else post.scheduled
        post.stays.append(Stay(at, due))
    elif open_stay and to_status is not None and to_status not in IN_FLIGHT:
        post.stays[-1].left, post.stays[-1].left_by = at, action
    if to_status == "publishing" and post.stays and post.stays[-1].started == float("inf"):
        post.stays[-1].started = at
