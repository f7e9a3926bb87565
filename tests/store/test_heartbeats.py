"""Heartbeat rows on SQLite and PostgreSQL: upsert, liveness, forgetting, and the beating thread."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from promo.store.heartbeats import (
    BEAT,
    FORGET_AFTER_S,
    WORKER,
    Heartbeat,
    Identity,
    alive,
    beat,
    forget,
    processes,
)
from promo.times import utcnow


def _rows(engine: Any) -> list[Any]:
    with Session(engine) as session:
        return processes(session)


def test_a_beat_upserts_one_row_per_process(engine: Any) -> None:
    now = utcnow()
    me = Identity(WORKER, "host-a", 41, "promo-41@host-a", 4, "1.0", started_at=now)
    beat(engine, me, 5.0, now=now)
    beat(engine, me, 5.0, now=now + timedelta(seconds=5))
    beat(engine, Identity(BEAT, "host-b", 7), 2.0, now=now)
    rows = _rows(engine)
    assert [(row.kind, row.hostname, row.pid) for row in rows] == [(WORKER, "host-a", 41), (BEAT, "host-b", 7)]
    worker = rows[0]
    assert worker.last_seen == now + timedelta(seconds=5) and worker.started_at == now
    assert (worker.name, worker.concurrency, worker.version, worker.interval_s) == ("promo-41@host-a", 4, "1.0", 5.0)
    forget(engine, me)
    assert [row.kind for row in _rows(engine)] == [BEAT]


def test_alive_means_within_three_of_its_own_beats() -> None:
    now = utcnow()
    assert alive(now - timedelta(seconds=15), 5.0, now)
    assert not alive(now - timedelta(seconds=15.1), 5.0, now)
    assert alive(now - timedelta(seconds=100), 60.0, now)


def test_rows_not_seen_for_long_are_forgotten_by_the_next_beat(engine: Any) -> None:
    now = utcnow()
    beat(engine, Identity(WORKER, "gone", 1), 5.0, now=now - timedelta(seconds=FORGET_AFTER_S + 1))
    beat(engine, Identity(WORKER, "stale", 2), 5.0, now=now - timedelta(seconds=60))
    beat(engine, Identity(WORKER, "here", 3), 5.0, now=now)
    assert sorted(row.hostname for row in _rows(engine)) == ["here", "stale"]


def test_the_thread_beats_until_stopped_then_deletes_its_row(engine: Any, database_url: str) -> None:
    me = Identity.here(WORKER, name="test@here", concurrency=2)
    heartbeat = Heartbeat(database_url, me, 0.1).start()
    try:
        first = _rows(engine)[0].last_seen  # the first beat is written by start() itself
        assert (_rows(engine)[0].pid, _rows(engine)[0].concurrency) == (os.getpid(), 2)
        deadline = time.monotonic() + 5
        while _rows(engine)[0].last_seen == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _rows(engine)[0].last_seen > first, "no second beat"
    finally:
        heartbeat.stop()
    assert _rows(engine) == []
    heartbeat.stop()  # twice is harmless


def test_a_database_that_is_down_does_not_stop_the_thread(tmp_path: Any) -> None:
    heartbeat = Heartbeat(f"sqlite:///{tmp_path / 'not-migrated.db'}", Identity.here(BEAT), 0.05).start()
    try:
        assert heartbeat.beat_now() is False  # no table: logged, and tried again next time
        assert heartbeat._thread is not None and heartbeat._thread.is_alive()
    finally:
        heartbeat.stop()
