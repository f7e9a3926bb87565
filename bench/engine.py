"""Engine fixtures for the benchmarks: a store, ledger rows in bulk, a promo.toml, and real worker processes.

Rows go in with the driver's fastest path (``executemany`` in one transaction on SQLite, ``COPY`` on
PostgreSQL) so a million of them take seconds. Workers are real processes; their Celery logs
("Task ... succeeded") are the clock both promo and raw Celery are measured by.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import children, cpu_seconds, rss_kib, subprocess_env, wait_until

ACCOUNT = "bench"
COLUMNS = ("idempotency_key", "kind", "account", "platform", "payload", "digest", "status", "scheduled_at",
           "due_at", "attempts", "journal", "created_at", "updated_at")
SUCCEEDED = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}): INFO/[^\]]*\] "
                       r"Task (\S+)\[[^\]]*\] succeeded")


def make_store(url: str) -> Any:
    from promo.store.db import make_engine
    from promo.store.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    return engine


def insert_posts(engine: Any, due_times: Sequence[datetime], status: str = "scheduled") -> None:
    """One ledger row per due time for the bench account, in one transaction."""
    from promo.posts import Post

    payload = json.dumps(Post.single("outbox", ACCOUNT, "Jessica Jones season 3 is out now").to_payload())
    now, run = datetime.now(UTC), uuid.uuid4().hex[:12]
    rows = [(f"bench-{run}-{i}", "generic", ACCOUNT, "outbox", payload, "-", status, due, due, 0, "{}",
             now, now) for i, due in enumerate(due_times)]
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, rows)
    else:
        _insert_sqlite(engine, rows)


def _stamp(value: datetime) -> str:
    """How SQLAlchemy's DateTime stores an aware UTC value in SQLite (promo.store.tables.Stamp)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_sqlite(engine: Any, rows: list[tuple[Any, ...]]) -> None:
    stamped = [(*r[:7], _stamp(r[7]), _stamp(r[8]), r[9], r[10], _stamp(r[11]), _stamp(r[12])) for r in rows]
    sql = f"INSERT INTO posts ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(sql, stamped)
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE posts")
    finally:
        raw.close()


def _copy_postgres(engine: Any, rows: list[tuple[Any, ...]]) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY posts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        raw.commit()
        cursor.execute("ANALYZE posts")
        raw.commit()
    finally:
        raw.close()


def write_config(folder: Path) -> Path:
    """A promo.toml with one account whose adapter is the zero-latency recorder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "promo.toml"
    path.write_text(f'[accounts.{ACCOUNT}]\nplatform = "outbox"\n'
                    'adapter = "bench.recording:RecordingAdapter"\n', encoding="utf-8")
    return path


def promo_env(folder: Path, database_url: str, broker_url: str | None, **settings: Any) -> dict[str, str]:
    """The environment a promo worker reads: store, broker, config, home and any setting overrides."""
    env = subprocess_env(PROMO_HOME=str(folder / "home"), PROMO_CONFIG_FILE=str(write_config(folder)),
                         PROMO_DATABASE_URL=database_url)
    if broker_url:
        env["PROMO_BROKER_URL"] = broker_url
    env.update({f"PROMO_{name.upper()}": str(value) for name, value in settings.items()})
    return env


class Worker:
    """A worker as a real process in its own session, its log in a file we read as it grows."""

    def __init__(self, folder: Path, command: Sequence[str], env: dict[str, str], name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.log = folder / f"{name}.log"
        self.process = subprocess.Popen(list(command), cwd=folder, env=env, stdout=self.log.open("wb"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._offset, self._partial = 0, b""
        self.succeeded: dict[str, list[datetime]] = {}

    @classmethod
    def promo(cls, folder: Path, env: dict[str, str], concurrency: int = 2) -> Worker:
        """``promo run``: the worker with the dispatcher and sweeper schedule in one process."""
        command = [sys.executable, "-c", "from promo.cli import main; main()", "run", "--verbose",
                   "-c", str(concurrency)]
        return cls(folder, command, env, "promo-run")

    @classmethod
    def noop(cls, folder: Path, broker_url: str, concurrency: int = 2) -> Worker:
        """Raw Celery: ``celery -A bench.noop worker -P prefork -c 2``, same flags as promo's worker."""
        from bench.noop import QUEUE

        command = [sys.executable, "-m", "celery", "-A", "bench.noop", "worker", "-P", "prefork",
                   "-c", str(concurrency), "-Q", QUEUE, "--loglevel", "INFO", "--without-gossip",
                   "--without-mingle", "-n", f"bench-{os.getpid()}@%h"]
        return cls(folder, command, subprocess_env(BENCH_BROKER_URL=broker_url), "celery-noop")

    def read(self) -> None:
        """Take in the new log lines: each task's success time, by task name."""
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            match = SUCCEEDED.match(line.decode(errors="replace"))
            if match:
                at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
                self.succeeded.setdefault(match.group(2), []).append(at)

    def count(self, task: str) -> int:
        self.read()
        return len(self.succeeded.get(task, []))

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.output()[-3000:]}")
            return b" ready." in self.log.read_bytes()
        wait_until(ready, timeout, 0.05, "the worker to be ready")

    def wait_for(self, task: str, n: int, timeout: float, progress: Callable[[int], None] | None = None) -> None:
        """Until ``n`` ``task`` tasks succeeded; ``progress`` is told the count at each look."""
        def done() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.output()[-3000:]}")
            count = self.count(task)
            if progress is not None:
                progress(count)
            return count >= n
        wait_until(done, timeout, 0.2, f"{n} {task} tasks")

    def roles(self) -> dict[str, int]:
        """The worker's processes by role: main, pool 1, pool 2 and, under ``promo run``, beat.

        Pool children share billiard's pipes with the main process; Celery's embedded beat (a child
        process of its own, ``celery.beat._Process``) closes every descriptor it inherits but stdio
        and the log.
        """
        main = self.process.pid
        pool = [pid for pid in sorted(children(main)) if pipes(pid) & pipes(main)]
        rest = [pid for pid in sorted(children(main)) if pid not in pool]
        return {"main": main, **{f"pool {i}": pid for i, pid in enumerate(pool, 1)},
                **{("beat" if len(rest) == 1 else f"child {pid}"): pid for pid in rest}}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU used so far: the worker's main process, its pool children together, and its beat."""
        seconds = {"worker main": 0.0, "pool children": 0.0, "beat": 0.0}
        for role, pid in self.roles().items():
            group = "worker main" if role == "main" else "pool children" if role.startswith("pool") else "beat"
            seconds[group] += cpu_seconds(pid)
        return seconds

    def rate(self, task: str) -> float:
        """Tasks per second between the first and the last success of ``task``."""
        times = sorted(self.succeeded.get(task, []))
        if len(times) < 2:
            return float("nan")
        return (len(times) - 1) / max((times[-1] - times[0]).total_seconds(), 1e-3)

    def rss_kib(self) -> int:
        """RSS of the worker: the main process plus its pool children."""
        pids = [self.process.pid, *children(self.process.pid)]
        return sum(rss_kib(pid) for pid in pids)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        except ProcessLookupError:
            pass


def pipes(pid: int) -> set[str]:
    """The pipes a process holds open, past stdin, stdout and stderr."""
    found: set[str] = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return found
    for fd in descriptors:
        with suppress(OSError):
            target = os.readlink(fd)
            if int(fd.name) > 2 and target.startswith("pipe:"):
                found.add(target)
    return found


def published_count(engine: Any) -> int:
    from sqlalchemy import func, select

    from promo.store.tables import PostRow

    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(PostRow.status == "published")) or 0)


def published_events(engine: Any) -> tuple[int, int]:
    """(published events, distinct posts published): equal when nothing went out twice."""
    from sqlalchemy import func, select

    from promo.store.tables import Event

    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).where(Event.action == "published"))
        distinct = conn.scalar(select(func.count(func.distinct(Event.post_id)))
                               .where(Event.action == "published"))
    return int(total or 0), int(distinct or 0)
