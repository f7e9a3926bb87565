"""Grouped outcome commits with real processes: a message is acknowledged only once its outcome is on disk.

``outcome_commit = "grouped"`` (PostgreSQL): a pool process commits a success without waiting for the
WAL flush, and the worker's main process holds the message's acknowledgement until one flush shared
by the outcomes of the moment (``workers/grouped_acks.py``). Real ``promo worker`` and ``promo beat``
processes, a throwaway redis-server, the fake webhook receiver, and PostgreSQL:

- on the shared server: the acknowledgement waits for the flush (the message stays in Redis's
  unacknowledged set for the gathering window), then goes;
- on a server of the test's own, crashed between the success and its flush: the success is lost with
  the server's WAL buffers, the flush fails, the message goes back to the broker, and the post, back
  to ``publishing``, is looked up on the platform and recorded: published once, never sent twice.
  With ``outcome_commit = "each"`` the same crash loses nothing.

Every wait is bounded; each test kills only the processes it started.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine

from promo.accounts import load_accounts
from promo.engine.dispatch import dispatch
from promo.settings import Settings
from promo.times import utcnow
from tests.engine.enginekit import (
    SECRET_ENV,
    EngineProcess,
    actions,
    add_post,
    engine_env,
    make_store,
    settings_for,
    statuses,
    wait_for,
    write_config,
)
from tests.fakes.webhook import SECRET, Receiver
from tests.pg_server import running_postgres
from workers.app import create_app
from workers.tasks import send

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]
ROOT = Path(__file__).resolve().parents[2]
# No beat while a success waits for its flush: the beat's own commits would flush it. The worker's
# heartbeat writes once at its start, then not for a minute.
SETTINGS = {"heartbeat_interval": 60, "publish_time_limit": 3, "queued_lease": 30, "visibility_timeout": 200}
UNACKED = "unacked"  # kombu's Redis transport: the messages delivered and not yet acknowledged


@pytest.fixture
def launch(tmp_path: Path, receiver: Receiver, started: Any) -> Callable[..., EngineProcess]:
    write_config(tmp_path, receiver.url)

    def start(database_url: str, broker_url: str | None, *args: str, **settings: Any) -> EngineProcess:
        env = engine_env(tmp_path, database_url, broker_url, SECRET, **{**SETTINGS, **settings})
        env["PYTHONPATH"] = str(ROOT)
        return started(env, *args)

    return start


def send_due(tmp_path: Path, store: Engine, database_url: str, broker_url: str, **settings: Any) -> int:
    """One post due now, claimed and handed to the broker from this process (no beat running)."""
    post_id = add_post(store, due=utcnow())
    chosen: Settings = settings_for(tmp_path, database_url, broker_url=broker_url, **{**SETTINGS, **settings})
    accounts = load_accounts(chosen.config_file, environ={SECRET_ENV: SECRET})
    app = create_app(chosen)
    assert [claim.post_id for claim in dispatch(store, chosen, accounts, lambda claim: send(app, [claim]))] == [post_id]
    return post_id


def ready(worker: EngineProcess) -> None:
    wait_for(lambda: "ready:" in worker.output(), 45, what=f"the worker up; log:\n{worker.output()[-2000:]}")


def held(redis_url: str) -> int:
    return int(redis.Redis.from_url(redis_url).hlen(UNACKED))


def test_the_acknowledgement_waits_for_the_flush(
    tmp_path: Path, launch: Any, postgres_url: str, redis_server: Any, receiver: Receiver
) -> None:
    store = make_store(postgres_url)
    worker = launch(postgres_url, redis_server.url, "worker", "-c", "1", outcome_group_ms=2000)
    ready(worker)
    post_id = send_due(tmp_path, store, postgres_url, redis_server.url, outcome_group_ms=2000)
    wait_for(lambda: statuses(store)[post_id] == "published", 20, every=0.02, what="published")
    published_at = time.monotonic()
    assert held(redis_server.url) == 1, "acknowledged before the flush"
    wait_for(lambda: held(redis_server.url) == 0, 10, every=0.05, what="the acknowledgement after the flush")
    assert time.monotonic() - published_at > 1.0
    assert len(receiver.calls) == 1
    store.dispose()


@pytest.mark.parametrize(("outcome_commit", "after_the_crash"), [("grouped", "publishing"), ("each", "published")])
def test_a_server_crash_before_the_flush_never_sends_a_post_twice(
    tmp_path: Path, launch: Any, redis_server: Any, receiver: Receiver, outcome_commit: str, after_the_crash: str
) -> None:
    chosen = {"outcome_commit": outcome_commit, "outcome_group_ms": 4000}
    with running_postgres(tmp_path, wal_writer_delay="10s") as server:
        store = make_store(server.url)
        worker = launch(server.url, redis_server.url, "worker", "-c", "1", **chosen)
        ready(worker)
        post_id = send_due(tmp_path, store, server.url, redis_server.url, **chosen)
        wait_for(lambda: statuses(store)[post_id] == "published", 20, every=0.02, what="published")
        store.dispose()
        server.crash()
        server.restart()
        assert statuses(store)[post_id] == after_the_crash

        launch(server.url, redis_server.url, "beat", **chosen)  # its sweeper and reconciler settle the post
        wait_for(lambda: statuses(store)[post_id] == "published", 40, what=f"published; log:\n{worker.output()}")
        wait_for(lambda: held(redis_server.url) == 0, 20, what="every message acknowledged")
        assert len(receiver.calls) == 1, "sent twice"
        history = actions(store, post_id)
        if outcome_commit == "grouped":
            assert "go back to the broker" in worker.output()
            assert history[-2:] == ["timed-out", "reconciled"], history  # the sweeper, then the look-up
        else:
            assert history[-1] == "published", history
        store.dispose()


def test_a_worker_without_an_event_loop_flushes_each_acknowledgement_itself(
    launch: Any, postgres_url: str, receiver: Receiver
) -> None:
    """The embedded broker is polled, with no event loop to hand acknowledgements back to: each one
    flushes on the worker's main thread before it goes (``InlineAcks``), still after its outcome."""
    store = make_store(postgres_url)
    engine = launch(postgres_url, None, "run", "-c", "1", heartbeat_interval=1)
    ready(engine)
    post_ids = [add_post(store, due=utcnow()) for _ in range(3)]
    wait_for(lambda: all(statuses(store)[p] == "published" for p in post_ids), 40,
             what=f"published; log:\n{engine.output()[-2000:]}")
    assert sorted(Counter(receiver.keys()).values()) == [1, 1, 1]
    assert "grouped outcomes:" not in engine.output()
    store.dispose()
