"""The beat's ticks in one process: run on threads, one per kind at a time; the requeue after a broker loss.

No worker here: the scheduler is Celery's own, driven by hand; the store is real (SQLite and
PostgreSQL); the broker loss is a new epoch handed to the library function.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from promo.engine.dispatch import dispatch
from promo.engine.publishing import DUPLICATE, publish_claimed
from promo.engine.sweeper import BROKER_LOST, requeue_after_broker_loss, sweep
from promo.store.db import transaction
from promo.store.meta import BROKER_EPOCH, get_meta
from promo.times import utcnow
from tests.engine.enginekit import actions, add_post, post, settings_for, statuses, wait_for
from tests.fakes.webhook import Receiver
from workers.app import BEAT_SCHEDULER, beat_schedule, create_app
from workers.beat import Scheduler
from workers.ticks import TICKS, Tick


def test_the_schedule_is_the_list_of_ticks(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", dispatch_interval=0.5,
                            sweep_interval=7.0)
    schedule = beat_schedule(settings)
    assert [name for name in schedule] == [tick.name for tick in TICKS] == [
        "dispatch", "sweep", "reconcile", "first-look", "refresh", "recurrence", "notify", "stage-media"]
    assert schedule["first-look"]["schedule"].total_seconds() == 0.5  # a lost publish is looked up within seconds
    assert schedule["dispatch"]["schedule"].total_seconds() == 0.5
    assert schedule["sweep"]["schedule"].total_seconds() == schedule["reconcile"]["schedule"].total_seconds() == 7
    assert create_app(settings).conf.beat_scheduler == BEAT_SCHEDULER


def test_a_tick_runs_on_a_thread_and_a_tick_still_running_is_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}"))
    release, runs = threading.Event(), []

    def slow(beat: Any) -> None:
        runs.append(threading.current_thread().name)
        assert release.wait(10)

    scheduler = Scheduler(app)
    tick = Tick("slow", lambda s: 1.0, lambda s: 0.0, slow)  # stuck as soon as it runs
    scheduler.ticks = {tick.task: tick}
    entry = scheduler.Entry(name="slow", task=tick.task, schedule=1.0, app=app)
    try:
        assert scheduler.apply_async(entry) is None  # nothing sent: the scheduler runs it
        wait_for(lambda: runs, 5, what="the first run")
        for _ in range(3):  # its next turns come while it runs: skipped, not queued
            scheduler.apply_async(entry)
        stuck = [r for r in caplog.records if "the slow tick has run for" in r.getMessage()]
        assert len(stuck) == 1 and stuck[0].levelname == "ERROR"  # said once, not at every turn
        release.set()
        wait_for(lambda: not scheduler.runner.busy("slow"), 5, what="the first run to end")
        assert runs == ["promo-slow"]
        scheduler.apply_async(entry)
        wait_for(lambda: len(runs) == 2, 5, what="the next run")
    finally:
        release.set()
        scheduler.close()


def test_a_failing_tick_runs_again_at_its_next_turn(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}"))
    calls: list[int] = []

    def failing(beat: Any) -> None:
        calls.append(1)
        raise ConnectionError("the broker is away")

    scheduler = Scheduler(app)
    tick = Tick("failing", lambda s: 1.0, lambda s: 60.0, failing)
    try:
        for expected in (1, 2):
            assert scheduler.runner.start(tick)
            wait_for(lambda: len(calls) == expected and not scheduler.runner.busy("failing"), 5,  # noqa: B023
                     what="the run")
    finally:
        scheduler.close()


def test_a_new_broker_epoch_requeues_every_queued_post_fenced(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    ids = [add_post(store) for _ in range(3)]
    started = add_post(store)
    first = {c.post_id: c.attempt_id for c in dispatch(rt.db, rt.settings, rt.accounts)}
    assert requeue_after_broker_loss(store, "epoch-1") == [*ids, started]  # the store saw no epoch before
    first = {c.post_id: c.attempt_id for c in dispatch(rt.db, rt.settings, rt.accounts)}
    assert publish_claimed(rt, started, first[started]) == "published"

    assert requeue_after_broker_loss(store, "epoch-1") is None  # the same epoch: nothing lost
    assert set(statuses(store).values()) == {"queued", "published"}
    moved = requeue_after_broker_loss(store, "epoch-2", now=utcnow())
    assert moved == ids
    assert statuses(store) == {**dict.fromkeys(ids, "scheduled"), started: "published"}
    assert actions(store, ids[0])[-1] == "broker-lost" and post(store, ids[0]).reason == BROKER_LOST
    assert requeue_after_broker_loss(store, "epoch-2") is None  # a second dispatcher seeing it too
    with transaction(store) as session:
        assert get_meta(session, BROKER_EPOCH) == "epoch-2"

    again = {c.post_id: c.attempt_id for c in dispatch(rt.db, rt.settings, rt.accounts)}
    assert set(again) == set(ids)
    assert publish_claimed(rt, ids[0], first[ids[0]]) == DUPLICATE  # a stale message still arriving
    assert publish_claimed(rt, ids[0], again[ids[0]]) == "published"
    assert len(receiver.calls) == 2


def test_a_post_claimed_late_gets_a_whole_lease(make_runtime: Any, store: Engine) -> None:
    """A backlog's lease runs from the claim: counted from its past time, the sweeper would take it back at once."""
    rt = make_runtime(queued_lease=60.0)
    now = utcnow()
    overdue, ahead = add_post(store, due=now - timedelta(minutes=5)), add_post(store, due=now + timedelta(seconds=0.4))
    dispatch(rt.db, rt.settings, rt.accounts, now=now)
    assert post(store, overdue).lease_until == now + timedelta(seconds=60)
    assert post(store, ahead).lease_until == now + timedelta(seconds=60.4)
    assert sweep(store, now=now + timedelta(seconds=30)).requeued == []
