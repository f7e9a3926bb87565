"""Engine processes under a supervisor: exit codes it can trust, and workers that come back by themselves.

Real ``promo worker``, ``promo run`` and ``promo beat`` processes on a throwaway redis-server
(docs/reliability.md, gap 1; docs/operations.md, "Keep workers supervised"). Every wait is
bounded; each test kills only the processes it started.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from promo.store.meta import LAST_DISPATCH
from promo.store.tables import Meta
from promo.times import utcnow
from tests.engine.enginekit import EngineProcess, add_post, engine_env, statuses, wait_for, write_config
from tests.fakes.webhook import SECRET, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
EXIT_WAIT_S = 30.0  # a warm stop, or a worker giving up on the broker (one retry, 2 s apart)


@pytest.fixture
def start(tmp_path: Path, database_url: str, receiver: Receiver, store: Engine) -> Iterator[Any]:
    write_config(tmp_path, receiver.url)
    started: list[EngineProcess] = []

    def launch(broker_url: str | None, *args: str, **overrides: Any) -> EngineProcess:
        process = EngineProcess(tmp_path, engine_env(tmp_path, database_url, broker_url, SECRET, **overrides), *args)
        started.append(process)
        return process

    yield launch
    for process in started:
        process.stop()


def ready(process: EngineProcess) -> bool:
    """The worker's consumer runs (``ready:`` is printed on Celery's worker_ready signal)."""
    return "ready:" in process.output()


def dispatcher_ticked(store: Engine) -> bool:
    with store.connect() as connection:
        return connection.execute(select(Meta.value).where(Meta.key == LAST_DISPATCH)).first() is not None


def exit_code(process: EngineProcess, timeout: float = EXIT_WAIT_S) -> int:
    wait_for(lambda: process.process.poll() is not None, timeout, what=f"the exit; log:\n{process.output()[-3000:]}")
    return int(process.process.returncode)


def once_each(receiver: Receiver) -> None:
    duplicates = {key: n for key, n in Counter(receiver.keys()).items() if n > 1}
    assert not duplicates, f"posted twice: {duplicates}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("command", ["worker", "run"])
def test_a_worker_that_gives_up_on_the_broker_exits_non_zero(start: Any, redis_server: Any, command: str) -> None:
    """Redis gone for good: after its retries Celery stops the worker, and the exit status says so."""
    worker = start(redis_server.url, command, "-c", "1", broker_connection_max_retries=1)
    wait_for(lambda: ready(worker), 30, what=f"{command} ready; log:\n{worker.output()[-3000:]}")
    redis_server.stop()
    assert exit_code(worker) == 1, worker.output()[-3000:]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sigterm_stops_worker_run_and_beat_with_status_0(start: Any, store: Engine, redis_server: Any) -> None:
    worker = start(redis_server.url, "worker", "-c", "1")
    runner = start(redis_server.url, "run", "-c", "1")
    beat = start(redis_server.url, "beat")
    wait_for(lambda: ready(worker) and ready(runner), 30, what="the workers ready")
    wait_for(lambda: dispatcher_ticked(store), 30, what="the beat's first tick")
    time.sleep(0.5)  # the first tick may come from `promo run`'s own beat
    for process in (beat, runner, worker):
        os.kill(process.pid, signal.SIGTERM)
    for process in (beat, runner, worker):
        assert exit_code(process) == 0, process.output()[-3000:]


def test_a_worker_rides_out_redis_restarts(start: Any, store: Engine, receiver: Receiver, redis_server: Any) -> None:
    """Redis restarts (same port, nothing kept) under a worker holding unacknowledged messages: the worker
    and the beat stay up, reconnect, and every post goes out exactly once, with no restart from outside."""
    receiver.mode, receiver.delay = "slow", 0.4  # publishes in flight, unacknowledged, at each restart
    worker = start(redis_server.url, "worker", "-c", "2")
    beat = start(redis_server.url, "beat")
    wait_for(lambda: dispatcher_ticked(store), 30, what="the dispatcher's first tick")
    now = utcnow()
    ids = [add_post(store, due=now + timedelta(seconds=1 + i * 0.25)) for i in range(16)]
    for restart in range(2):
        calls = 3 + 5 * restart
        wait_for(lambda: len(receiver.calls) >= calls, 30, what="publishes in flight")  # noqa: B023
        redis_server.restart()
        time.sleep(0.5)
        assert worker.process.poll() is None, f"exited after restart {restart + 1}:\n{worker.output()[-3000:]}"
    later = [add_post(store, due=utcnow() + timedelta(seconds=1 + i * 0.3)) for i in range(4)]
    wait_for(lambda: all(statuses(store)[i] == "published" for i in ids + later), 60, what="all published")
    assert worker.process.poll() is None and beat.process.poll() is None
    assert "Unrecoverable error" not in worker.output()
    once_each(receiver)
    assert len(set(receiver.keys())) == len(ids + later)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_pool_process_killed_during_start_up_is_replaced(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    worker = start(redis_server.url, "worker", "-c", "2")
    killed: set[int] = set()
    deadline = time.monotonic() + 20
    while not ready(worker) and time.monotonic() < deadline:  # kill each pool process as it appears
        for pid in set(worker.children()) - killed:
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.005)
    assert killed, "no pool process was seen before the worker was ready"
    start(redis_server.url, "beat")
    post_id = add_post(store, due=utcnow() + timedelta(seconds=1))
    wait_for(lambda: statuses(store)[post_id] == "published", 30, what=f"published; log:\n{worker.output()[-3000:]}")
    assert worker.process.poll() is None
    assert "Could not start worker processes" not in worker.output()
    once_each(receiver)
