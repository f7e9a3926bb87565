"""Posts in flight when a process dies go out within seconds, not after their lease (issue 12, item 9).

Real ``promo worker`` and ``promo beat`` processes on a throwaway redis-server, a fake webhook
receiver, SQLite and PostgreSQL. The lease (60 s) and the publish time limit (30 s) are far longer
than any test waits, so only the new paths can send a post on time:

- a pool process SIGKILLed mid-publish: the worker's main process marks the post ``unknown`` at
  once (``workers/pool.py``), and the beat's first-look tick looks it up a settling time later:
  found -> ``published``; not there -> sent again; once either way;
- a worker SIGKILLed (its whole process group, as systemd does) while it holds messages for their
  time: its heartbeat goes stale, and the beat dispatches its overdue claims again;
- a worker whose pool is busy for longer than the detection time is not taken for dead.

Every wait is bounded; each test kills only the processes it started.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select

from promo.engine.sweeper import OVERDUE_S
from promo.store.meta import LAST_DISPATCH
from promo.store.tables import Event, Meta
from promo.times import utcnow
from tests.engine import sleepy, stalling
from tests.engine.enginekit import EngineProcess, actions, add_post, engine_env, statuses, wait_for
from tests.fakes.webhook import SECRET, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]
ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_S, LOOKAHEAD_S, TICK_S = 0.5, 2.0, 0.2
SETTINGS = {"dispatch_interval": TICK_S, "dispatch_lookahead": LOOKAHEAD_S, "queued_lease": 60,
            "publish_time_limit": 30, "sweep_interval": 0.5, "http_timeout": 0.8,
            "heartbeat_interval": HEARTBEAT_S, "visibility_timeout": 200}
# A worker killed is taken for lost this long after its last heartbeat (promo.engine.sweeper.Lost)
DETECTION_S = max(3 * HEARTBEAT_S, HEARTBEAT_S + LOOKAHEAD_S + OVERDUE_S)
SLACK_S = 2.5  # a loaded 2-core machine: process scheduling, a tick's own time


@pytest.fixture
def start(tmp_path: Path, database_url: str, receiver: Receiver, store: Engine) -> Iterator[Any]:
    started: list[EngineProcess] = []
    chosen: list[str] = []  # the hook's adapter, once a launch names one: later launches keep it

    def launch(broker_url: str, *args: str, adapter: str | None = None) -> EngineProcess:
        chosen.extend([adapter] if adapter else [])
        named = f'adapter = "{chosen[-1]}"\n' if chosen else ""
        (tmp_path / "promo.toml").write_text(
            f'[accounts.hook]\nplatform = "webhook"\nurl = "{receiver.url}"\n{named}\n'
            '[accounts.slow]\nplatform = "outbox"\nadapter = "tests.engine.sleepy:SleepingAdapter"\n',
            encoding="utf-8")
        env = engine_env(tmp_path, database_url, broker_url, SECRET, **SETTINGS)
        env["PYTHONPATH"] = str(ROOT)  # the test adapters live in tests/
        process = EngineProcess(tmp_path, env, *args)
        started.append(process)
        return process

    yield launch
    for process in started:
        process.stop()


def up(store: Engine, worker: EngineProcess) -> bool:
    with store.connect() as connection:
        ticked = connection.execute(select(Meta.value).where(Meta.key == LAST_DISPATCH)).first() is not None
    return ticked and "ready:" in worker.output()


def wait_up(store: Engine, worker: EngineProcess) -> float:
    wait_for(lambda: up(store, worker), 45, what=f"the engine up; log:\n{worker.output()[-2000:]}")
    return time.time()


def once_each(receiver: Receiver) -> None:
    assert not {key: n for key, n in Counter(receiver.keys()).items() if n > 1}, "posted twice"


def event_times(store: Engine, post_id: int, action: str) -> list[float]:
    with store.connect() as connection:
        return [at.timestamp() for at in connection.scalars(
            select(Event.at).where(Event.post_id == post_id, Event.action == action))]


def test_a_pool_process_killed_mid_call_is_looked_up_within_seconds(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """The call went out (the receiver has it), then the child died: recorded published, never re-sent."""
    worker = start(redis_server.url, "worker", "-c", "1")
    start(redis_server.url, "beat")
    wait_up(store, worker)
    receiver.mode, receiver.delay = "slow", 10.0
    post_id = add_post(store, due=utcnow() + timedelta(seconds=0.5))
    wait_for(lambda: receiver.calls, 20, what="the call to arrive")
    killed_at = time.time()
    assert worker.kill_children()
    receiver.mode = "accept"
    receiver.release.set()
    wait_for(lambda: statuses(store)[post_id] == "published", 20, what="looked up and recorded")
    took = event_times(store, post_id, "reconciled")[0] - killed_at
    assert took < 1 + SETTINGS["http_timeout"] + 2 * TICK_S + SLACK_S, f"looked up {took:.1f} s after the kill"
    assert len(receiver.calls) == 1
    assert "worker-lost" in actions(store, post_id) and "timed-out" not in actions(store, post_id)


def test_a_pool_process_killed_before_its_call_is_sent_again_once(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """The child died ``publishing`` before its call: the look-up finds nothing, and it is sent again."""
    worker = start(redis_server.url, "worker", "-c", "1", adapter="tests.engine.stalling:StallingWebhook")
    start(redis_server.url, "beat")
    wait_up(store, worker)
    post_id = add_post(store, due=utcnow() + timedelta(seconds=0.5))
    wait_for(lambda: statuses(store)[post_id] == "publishing", 20, what="the publish started")
    killed_at = time.time()
    assert worker.kill_children() and not receiver.calls
    wait_for(lambda: statuses(store)[post_id] == "published", 30, what="sent again and published")
    took = receiver.calls[0].at - killed_at
    bound = 1 + SETTINGS["http_timeout"] + 3 * TICK_S + stalling.STALL_S + SLACK_S
    assert took < bound, f"out {took:.1f} s after the kill (bound {bound:.1f} s)"
    assert len(receiver.calls) == 1
    assert actions(store, post_id).count("worker-lost") == 1 and "reconciled" in actions(store, post_id)


def test_a_worker_killed_holding_messages_for_their_time_has_them_sent_again(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """kill -9 of the worker (its process group) with every post's message held: out within detection."""
    first = start(redis_server.url, "worker", "-c", "1")
    start(redis_server.url, "beat")
    wait_up(store, first)
    due = utcnow() + timedelta(seconds=LOOKAHEAD_S - 0.3)
    ids = [add_post(store, due=due) for _ in range(4)]
    broker = redis.Redis.from_url(redis_server.url)
    wait_for(lambda: broker.hlen("unacked") >= len(ids), 10, what="the worker holding every message")
    killed_at = time.time()
    first.stop()  # SIGKILL to the worker and its pool: no clean stop, its heartbeat row stays
    second = start(redis_server.url, "worker", "-c", "1")
    ready = wait_up(store, second)
    wait_for(lambda: all(statuses(store)[i] == "published" for i in ids), 30, what="all published")
    once_each(receiver)
    assert len(receiver.calls) == len(ids)
    latest = max(killed_at + DETECTION_S + 2 * TICK_S, ready) + SLACK_S
    for call in receiver.calls:
        assert call.at < latest, f"out {call.at - killed_at:.1f} s after the kill (bound {latest - killed_at:.1f} s)"
    assert all(call.at > killed_at for call in receiver.calls), "a post went out before the kill: nothing tested"
    for post_id in ids:
        assert "worker-lost" in actions(store, post_id) and "lease-expired" not in actions(store, post_id)
    broker.close()


def test_a_worker_whose_pool_is_busy_is_not_taken_for_lost(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    """Posts waiting behind slow publishes for longer than the detection time: no one is taken back."""
    worker = start(redis_server.url, "worker", "-c", "1")
    start(redis_server.url, "beat")
    wait_up(store, worker)
    ids = [add_post(store, account="slow", platform="outbox") for _ in range(3)]
    wait_for(lambda: all(statuses(store)[i] == "published" for i in ids), 3 * sleepy.SLEEP_S + 20,
             what="all published")
    assert 3 * sleepy.SLEEP_S - sleepy.SLEEP_S > DETECTION_S  # the last one waited past the detection time
    for post_id in ids:
        done = actions(store, post_id)
        assert "worker-lost" not in done and done.count("publishing") == 1, done
