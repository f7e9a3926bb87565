"""SQLite writers queue on promo's file lock: in order, released on commit, rollback and death."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from promo.store.db import make_engine, transaction
from promo.store.migrate import upgrade
from promo.store.writer_lock import WriterLock

HOLD_S = 0.6


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'promo.db'}")
    upgrade(engine)
    return engine


def hold_writer(url: str, seconds: float, then: str = "commit") -> subprocess.Popen[bytes]:
    """Another process opens a write transaction, says so, holds it, then commits (or is killed)."""
    code = (
        "import sys, time\n"
        "from promo.store.db import make_engine\n"
        f"engine = make_engine({url!r})\n"
        "with engine.begin() as c:\n"
        "    c.exec_driver_sql(\"INSERT INTO meta (key, value) VALUES ('holder', 'x')\")\n"
        "    print('holding', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"holding\n"
    return process


def test_a_writer_waits_for_the_holder_and_gets_in_as_it_leaves(sqlite_store: Engine) -> None:
    holder = hold_writer(str(sqlite_store.url), HOLD_S)
    started = time.monotonic()
    with transaction(sqlite_store) as session:
        session.execute(text("INSERT INTO meta (key, value) VALUES ('second', 'y')"))
    waited = time.monotonic() - started
    assert holder.wait(10) == 0
    assert 0.3 <= waited < HOLD_S + 0.5
    with sqlite_store.connect() as c:
        assert dict(c.execute(text("SELECT key, value FROM meta WHERE key IN ('holder', 'second')")).all()) == {
            "holder": "x", "second": "y"}


def test_a_killed_holder_leaves_nothing_locked(sqlite_store: Engine) -> None:
    holder = hold_writer(str(sqlite_store.url), 60)
    holder.kill()
    holder.wait(10)
    started = time.monotonic()
    with transaction(sqlite_store) as session:
        session.execute(text("INSERT INTO meta (key, value) VALUES ('after', 'z')"))
    assert time.monotonic() - started < 1.0


def test_rollback_and_commit_release_the_lock(sqlite_store: Engine, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), transaction(sqlite_store) as session:
        session.execute(text("INSERT INTO meta (key, value) VALUES ('gone', 'x')"))
        raise RuntimeError("rolled back")
    probe = WriterLock(tmp_path / "promo.db-writer", timeout=0.2)
    probe.acquire()  # free again: nobody holds it after the rollback
    probe.close()
    with sqlite_store.begin() as c:
        c.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('kept', 'y')")
    probe.acquire()
    probe.close()
    with sqlite_store.connect() as c:
        assert [k for (k,) in c.execute(text("SELECT key FROM meta WHERE key IN ('gone', 'kept')"))] == ["kept"]


def test_a_lock_held_too_long_is_a_clear_error(tmp_path: Path) -> None:
    holder, waiter = WriterLock(tmp_path / "x-writer", 1.0), WriterLock(tmp_path / "x-writer", 0.1)
    holder.acquire()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        waiter.acquire()
    holder.close()
    waiter.acquire()
    waiter.close()
