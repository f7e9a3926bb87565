"""Dispatch is never starved by publishes (issue 12, item 6; docs/reliability.md gap 6).

A real worker's pool is filled with slow publishes (``tests/engine/sleepy.py``: each holds its pool
process for seconds) while other posts come due. The beat claims them on its own threads, so they
are ``queued`` on time, however busy the pool is. When the dispatch ticks were Celery messages on
the same queue, they waited behind the publishes and expired, and the posts stayed ``scheduled``.
Every wait is bounded; each test kills only the processes it started.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from promo.store.meta import LAST_DISPATCH
from promo.store.tables import Event, Meta
from promo.times import utcnow
from tests.engine import sleepy
from tests.engine.enginekit import EngineProcess, add_post, engine_env, post, statuses, wait_for
from tests.fakes.webhook import SECRET, Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
SLOW_POSTS = 6  # three rounds of two pool processes, SLEEP_S each
ON_TIME_S = 0.75  # a claim comes at most this long after its post's time (it is due lookahead before)
PUNCTUAL = {"dispatch_interval": 0.2, "dispatch_lookahead": 0.5, "queued_lease": 60, "publish_time_limit": 10,
            "visibility_timeout": 60}


@pytest.fixture
def start(tmp_path: Path, database_url: str, receiver: Receiver, store: Engine) -> Iterator[Any]:
    (tmp_path / "promo.toml").write_text(
        f'[accounts.hook]\nplatform = "webhook"\nurl = "{receiver.url}"\n\n'
        '[accounts.slow]\nplatform = "outbox"\nadapter = "tests.engine.sleepy:SleepingAdapter"\n',
        encoding="utf-8")
    started: list[EngineProcess] = []

    def launch(broker_url: str | None, *args: str) -> EngineProcess:
        env = engine_env(tmp_path, database_url, broker_url, SECRET, **PUNCTUAL)
        env["PYTHONPATH"] = str(ROOT)  # the worker imports the sleeping adapter from tests/
        process = EngineProcess(tmp_path, env, *args)
        started.append(process)
        return process

    yield launch
    for process in started:
        process.stop()


def claimed_at(store: Engine, post_id: int) -> datetime | None:
    with store.connect() as connection:
        at = connection.execute(select(Event.at).where(Event.post_id == post_id, Event.action == "claimed")
                                .order_by(Event.id)).scalar()
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


def dispatcher_ticked(store: Engine) -> bool:
    with store.connect() as connection:
        return connection.execute(select(Meta.value).where(Meta.key == LAST_DISPATCH)).first() is not None


def flood_then_come_due(store: Engine, receiver: Receiver, worker: EngineProcess) -> None:
    """Fill the pool with slow publishes, then add posts due in the next seconds: each claimed on time."""
    wait_for(lambda: dispatcher_ticked(store) and "ready:" in worker.output(), 45,
             what=f"the engine started; log:\n{worker.output()[-2000:]}")
    slow = [add_post(store, account="slow", platform="outbox") for _ in range(SLOW_POSTS)]
    wait_for(lambda: list(statuses(store).values()).count("publishing") >= 2, 20, what="the pool full")
    now = utcnow()
    due = [add_post(store, due=now + timedelta(seconds=1.5 + i * 0.5)) for i in range(5)]
    wait_for(lambda: all(claimed_at(store, i) for i in due), 4 + 5 * 0.5 + 3, what="every due post claimed")
    still_busy = [i for i in slow if statuses(store)[i] != "published"]
    assert len(still_busy) >= 2, "the pool emptied before the posts came due: the test proved nothing"
    for post_id in due:
        late = (claimed_at(store, post_id) - post(store, post_id).due_at).total_seconds()  # type: ignore[operator]
        assert late < ON_TIME_S, f"post {post_id} claimed {late:.2f} s after its time, behind the slow publishes"
    wait_for(lambda: all(statuses(store)[i] == "published" for i in slow + due), SLOW_POSTS * sleepy.SLEEP_S + 20,
             what="all published")
    duplicates = {key: n for key, n in Counter(receiver.keys()).items() if n > 1}
    assert not duplicates and len(receiver.calls) == len(due)


def test_due_posts_are_claimed_on_time_while_slow_publishes_fill_the_pool(
    start: Any, store: Engine, receiver: Receiver, redis_server: Any
) -> None:
    worker = start(redis_server.url, "worker", "-c", "2")
    start(redis_server.url, "beat")
    flood_then_come_due(store, receiver, worker)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_promo_run_claims_on_time_while_slow_publishes_fill_its_pool(
    start: Any, store: Engine, receiver: Receiver
) -> None:
    runner = start(None, "run", "-c", "2")
    flood_then_come_due(store, receiver, runner)
