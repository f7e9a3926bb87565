"""The real engine: redis-server, Celery worker and beat processes, a fake platform, SQLite and PostgreSQL.

Each test asserts the one promise: every post reaches the platform at most once, and the ledger
ends in the right state, whatever is killed or flushed.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from promo.store.meta import LAST_DISPATCH
from promo.store.tables import Meta
from promo.times import utcnow
from tests.engine.enginekit import EngineProcess, add_post, engine_env, post, statuses, wait_for, write_config
from tests.fakes.webhook import SECRET, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
def engine_of(tmp_path: Path, database_url: str, receiver: Receiver, store: Engine, started: Any) -> Any:
    write_config(tmp_path, receiver.url)

    def start(broker_url: str | None, *args: str, **overrides: Any) -> EngineProcess:
        return started(engine_env(tmp_path, database_url, broker_url, SECRET, **overrides), *args)

    return start


def all_published(store: Engine, ids: list[int]) -> bool:
    return all(statuses(store)[i] == "published" for i in ids)


def dispatcher_ticked(store: Engine) -> bool:
    with store.connect() as connection:
        return connection.execute(select(Meta.value).where(Meta.key == LAST_DISPATCH)).first() is not None


def once_each(receiver: Receiver) -> None:
    duplicates = {key: n for key, n in Counter(receiver.keys()).items() if n > 1}
    assert not duplicates, f"posted twice: {duplicates}"


def test_posts_go_out_on_the_second(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    worker = engine_of(redis_server.url, "worker", "-c", "2")
    engine_of(redis_server.url, "beat")
    # on time is measured once the engine runs: a busy machine may take seconds to start Python
    wait_for(lambda: dispatcher_ticked(store) and "ready:" in worker.output(), 30,
             what="the dispatcher's first tick (the beat's) and the worker ready")
    due = [utcnow() + timedelta(seconds=2 + i * 0.5) for i in range(4)]
    ids = [add_post(store, due=at) for at in due]
    wait_for(lambda: all_published(store, ids), 30, what="all published")
    once_each(receiver)
    for call, at in zip(sorted(receiver.calls, key=lambda c: c.at), due, strict=True):
        assert -0.05 <= call.at - at.timestamp() < 1.0, "published a second or more off its time"


def test_a_backlog_drains_without_waiting_for_the_next_tick(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """A full batch queues the next dispatcher run at once: 40 posts, batches of 4, a tick every 3 s."""
    ids = [add_post(store) for _ in range(40)]
    slow_ticks = {"dispatch_interval": 3, "dispatch_batch": 4}
    engine_of(redis_server.url, "worker", "-c", "2", **slow_ticks)
    engine_of(redis_server.url, "beat", **slow_ticks)
    wait_for(lambda: all_published(store, ids), 40, what="all published")
    once_each(receiver)
    times = sorted(call.at for call in receiver.calls)
    spread = [round(t - times[0], 2) for t in times]
    assert times[-1] - times[0] < 3.0, f"the backlog waited for the beat's ticks: {spread}"


def test_kill_9_worker_child_mid_publish(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    receiver.mode, receiver.delay = "slow", 1.5
    worker = engine_of(redis_server.url, "worker", "-c", "1")
    engine_of(redis_server.url, "beat")
    post_id = add_post(store, due=utcnow() + timedelta(seconds=1))
    wait_for(lambda: receiver.calls, 20, what="the call to arrive")
    assert worker.kill_children()
    receiver.mode = "accept"
    wait_for(lambda: statuses(store)[post_id] == "published", 30, what="reconciled")
    assert len(receiver.calls) == 1
    assert post(store, post_id).platform_id == "wh-1"


def test_kill_9_worker_main_process_mid_publish(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    receiver.mode, receiver.delay = "slow", 1.5
    first = engine_of(redis_server.url, "worker", "-c", "1")
    engine_of(redis_server.url, "beat")
    ids = [
        add_post(store, due=utcnow() + timedelta(seconds=1)),
        add_post(store, due=utcnow() + timedelta(seconds=2)),
    ]
    wait_for(lambda: receiver.calls, 20, what="the first call")
    first.kill()
    receiver.mode = "accept"
    engine_of(redis_server.url, "worker", "-c", "1")
    wait_for(lambda: all_published(store, ids), 40, what="all published after the crash")
    once_each(receiver)


def test_flushall_and_redis_restart_lose_nothing(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """A FLUSHALL, then a restart: nothing lost or doubled, and no process needs restarting (issue 12)."""
    running = [engine_of(redis_server.url, "worker", "-c", "2"), engine_of(redis_server.url, "beat")]
    now = utcnow()
    ids = [add_post(store, due=now + timedelta(seconds=1 + i * 0.3)) for i in range(10)]
    wait_for(lambda: "queued" in statuses(store).values() or receiver.calls, 20, what="work in flight")
    redis_server.flushall()
    redis_server.restart()
    later = [add_post(store, due=utcnow() + timedelta(seconds=1)) for _ in range(3)]
    wait_for(lambda: all_published(store, ids + later), 45, what="all published after the flush")
    once_each(receiver)
    assert len(receiver.calls) == len(ids + later)
    for process in running:  # kombu's restore_unacked error once stopped the worker (workers/redisbroker.py)
        assert process.process.poll() is None, process.output()[-3000:]


def test_two_beats_and_a_tiny_visibility_timeout_publish_once(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    receiver.mode, receiver.delay = "slow", 0.3
    # the smallest timeout start-up allows: twice the 2.5 s a message may be held (workers.app.check_timing)
    tiny = {"visibility_timeout": 5, "dispatch_lookahead": 0.5, "publish_time_limit": 2.0}
    engine_of(redis_server.url, "worker", "-c", "2", **tiny)
    engine_of(redis_server.url, "worker", "-c", "2", **tiny)
    engine_of(redis_server.url, "beat", **tiny)
    engine_of(redis_server.url, "beat", **tiny)
    now = utcnow()
    ids = [add_post(store, due=now + timedelta(seconds=2 + (i % 5) * 0.2)) for i in range(20)]
    wait_for(lambda: all_published(store, ids), 45, what="all published")
    once_each(receiver)
    assert len(receiver.calls) == 20


def test_429_then_accept_then_hang_reconciled(
    engine_of: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    receiver.mode, receiver.times, receiver.retry_after = "ratelimit", 1, 2
    engine_of(redis_server.url, "worker", "-c", "2")
    engine_of(redis_server.url, "beat")
    limited = add_post(store, due=utcnow() + timedelta(seconds=1))
    wait_for(lambda: statuses(store)[limited] == "published", 30, what="published after the reset")
    first, second = sorted(call.at for call in receiver.calls)
    assert second - first >= 1.9, "the reset header was not honoured"
    receiver.mode, receiver.delay = "hang", 2.5
    hung = add_post(store, due=utcnow() + timedelta(seconds=1))
    wait_for(lambda: statuses(store)[hung] == "unknown", 20, what="unknown after the timeout")
    wait_for(lambda: statuses(store)[hung] == "published", 20, what="reconciled by lookup")
    assert receiver.keys().count(post(store, hung).idempotency_key) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_promo_run_on_the_embedded_broker_without_redis(
    engine_of: Any, store: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    runner = engine_of(None, "run", "-c", "2")
    ids = [add_post(store, due=utcnow() + timedelta(seconds=2 + i * 0.3)) for i in range(3)]
    wait_for(lambda: all_published(store, ids), 40, what=f"published; log:\n{runner.output()[-2000:]}")
    once_each(receiver)
    with closing(sqlite3.connect(tmp_path / "home" / "broker.db")) as broker:
        assert broker.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # no disk sync per message


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dry_run_rehearses_without_touching_the_ledger(
    engine_of: Any, store: Engine, receiver: Receiver, tmp_path: Path
) -> None:
    ids = [add_post(store, due=utcnow() + timedelta(seconds=2)) for _ in range(2)]
    engine_of(None, "run", "--dry-run", "-c", "1")
    log = tmp_path / "home" / "rehearsal" / "rehearsal.jsonl"
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) == 2, 40, what="two rehearsed posts")
    assert receiver.calls == []
    assert set(statuses(store).values()) == {"scheduled"} and len(ids) == 2
