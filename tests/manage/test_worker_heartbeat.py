"""Heartbeats from real processes: a worker and a beat built by ``workers.app.create_app`` with
``workers.heartbeat.install``, on a throwaway Redis. A clean stop deletes the row; a SIGKILL leaves it
to go stale, and ``promo status`` then says the worker is lost and exits 3 while a post waits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from promo.posts import Post
from promo.store.db import make_engine, transaction
from promo.store.heartbeats import BEAT, WORKER, processes
from promo.store.migrate import upgrade
from promo.store.tables import PostRow
from promo.times import utcnow

INTERVAL = 0.3
START = ("from promo.settings import load_settings\nfrom workers.app import create_app\n"
         "from workers.heartbeat import install\napp = create_app(load_settings())\ninstall(app)\n")
WORKER_MAIN = START + ("import os\nfrom workers.app import QUEUE\napp.worker_main(['worker', '-Q', QUEUE, '-c', '2', "
                       "'-n', 'probe-%d@%%h' % os.getpid(), '--loglevel', 'WARNING', '--without-gossip', "
                       "'--without-mingle'])\n")
BEAT_MAIN = START + "app.start(['beat', '--loglevel', 'WARNING'])\n"
RUN_MAIN = WORKER_MAIN.replace("['worker', ", "['worker', '-B', ")  # promo run: a worker with its beat
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def env(tmp_path: Path, redis_server: Any) -> dict[str, str]:
    (tmp_path / "promo.toml").write_text("", encoding="utf-8")
    values = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    values.update({"PROMO_HOME": str(tmp_path / "home"), "PROMO_CONFIG_FILE": str(tmp_path / "promo.toml"),
                   "PROMO_DATABASE_URL": f"sqlite:///{tmp_path / 'promo.db'}", "PROMO_BROKER_URL": redis_server.url,
                   "PROMO_HEARTBEAT_INTERVAL": str(INTERVAL)})
    return values


@pytest.fixture
def store(env: dict[str, str]) -> Iterator[Engine]:
    engine = make_engine(env["PROMO_DATABASE_URL"])
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def spawn(tmp_path: Path, env: dict[str, str]) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(code: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"process-{len(started)}.log").open("wb")
        started.append(subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True))
        return started[-1]

    yield start
    for process in started:  # only what this test started, each by its own group
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _rows(store: Engine, kind: str) -> list[Any]:
    with Session(store) as session:
        return [row for row in processes(session) if row.kind == kind]


def _wait(predicate: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _status(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from promo.cli import main; main()", "status", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def _waiting_post(store: Engine) -> None:
    now = utcnow()
    with transaction(store) as session:
        session.add(PostRow(idempotency_key=uuid.uuid4().hex, account="box", platform="outbox", digest="-",
                            payload=Post.single("outbox", "box", "tomorrow").to_payload(), scheduled_at=now,
                            due_at=now.replace(year=now.year + 1), created_at=now, updated_at=now))


def test_a_worker_beats_answers_ping_and_deletes_its_row_on_a_clean_stop(
        tmp_path: Path, env: dict[str, str], store: Engine, spawn: Callable[[str], subprocess.Popen[bytes]]) -> None:
    worker = spawn(WORKER_MAIN)
    row = _wait(lambda: _rows(store, WORKER), "the worker's heartbeat")[0]
    assert (row.pid, row.concurrency, row.name) == (worker.pid, 2, f"probe-{worker.pid}@{row.hostname}")
    seen = row.last_seen
    _wait(lambda: _rows(store, WORKER)[0].last_seen > seen, "a second beat", timeout=10)
    _waiting_post(store)
    shown = _status(tmp_path, env, "--json", "--ping")
    report = json.loads(shown.stdout)
    assert report["workers_alive"] == 1 and not report["no_worker"], shown.stderr
    assert shown.returncode == 3 and report["no_beat"]  # a post waits and no beat is up yet
    assert report["ping"] == [row.name]
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0
    assert _rows(store, WORKER) == []


def test_a_killed_worker_goes_stale_and_status_says_so(
        tmp_path: Path, env: dict[str, str], store: Engine, spawn: Callable[[str], subprocess.Popen[bytes]]) -> None:
    _waiting_post(store)
    worker, beat = spawn(WORKER_MAIN), spawn(BEAT_MAIN)
    _wait(lambda: _rows(store, WORKER) and _rows(store, BEAT), "a worker's and a beat's heartbeats")
    assert _status(tmp_path, env).returncode == 0
    os.kill(worker.pid, signal.SIGKILL)  # the main process only, as in a crash
    worker.wait(10)
    time.sleep(3 * INTERVAL + 0.5)
    shown = _status(tmp_path, env)
    assert shown.returncode == 3, shown.stdout
    assert f"lost: worker probe-{worker.pid}@" in shown.stdout and "start one: promo worker" in shown.stdout
    assert "beats     1 alive" in shown.stdout
    beat.send_signal(signal.SIGTERM)
    beat.wait(60)
    assert _rows(store, BEAT) == []


def test_a_worker_with_its_embedded_beat_beats_twice_and_cleans_both_up(
        store: Engine, spawn: Callable[[str], subprocess.Popen[bytes]]) -> None:
    run = spawn(RUN_MAIN)
    _wait(lambda: _rows(store, WORKER) and _rows(store, BEAT), "the worker's and its beat's heartbeats")
    assert _rows(store, BEAT)[0].pid != run.pid  # the embedded beat is its own process
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) == 0
    assert (_rows(store, WORKER), _rows(store, BEAT)) == ([], [])
