"""The dispatcher and its policies as plain functions with a fake clock (no Celery)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from promo.engine.dispatch import dispatch
from promo.engine.ratelimits import block
from promo.errors import PromoError
from promo.manage.pauses import Scope, pause, resume
from promo.store.db import make_engine, transaction
from promo.store.ledger import transition_locked
from promo.times import localize, zone
from tests.engine.enginekit import actions, add_post, post, settings_for, statuses

T0 = datetime(2030, 6, 14, 7, 1, tzinfo=UTC)


def run(engine: Engine, settings: Any, now: datetime) -> list[Any]:
    return dispatch(engine, settings, {}, now=now)


def test_claims_within_the_lookahead_only(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url, dispatch_lookahead=2.0)
    soon = add_post(store, due=T0 + timedelta(seconds=1.5))
    later = add_post(store, due=T0 + timedelta(seconds=10))
    enqueued: list[Any] = []
    claims = dispatch(store, settings, {}, enqueued.append, now=T0)
    assert [c.post_id for c in claims] == [soon] and enqueued == claims
    assert claims[0].countdown(T0) == 1.5
    assert statuses(store) == {soon: "queued", later: "scheduled"}
    row = post(store, soon)
    assert row.attempt_id == claims[0].attempt_id and actions(store, soon) == ["claimed"]


def test_a_second_run_claims_nothing_twice(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    add_post(store, due=T0)
    assert len(run(store, settings, T0)) == 1
    assert run(store, settings, T0) == []


def test_two_dispatchers_at_once_claim_each_post_once(
    store: Engine, tmp_path: Any, database_url: str
) -> None:
    settings = settings_for(tmp_path, database_url, dispatch_batch=7)
    ids = {add_post(store, due=T0) for _ in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def dispatcher() -> None:
        engine = make_engine(database_url)
        for _ in range(10):
            got = run(engine, settings, T0)
            with lock:
                claimed.extend(c.post_id for c in got)
        engine.dispose()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(ids)


def test_embargo_is_never_broken(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url, dispatch_lookahead=1.0)
    embargo = T0 + timedelta(minutes=10)
    post_id = add_post(store, due=T0, not_before=embargo)
    assert run(store, settings, T0) == []
    assert post(store, post_id).due_at.replace(tzinfo=UTC) == embargo
    assert run(store, settings, embargo - timedelta(seconds=5)) == []
    claims = run(store, settings, embargo - timedelta(seconds=0.5))
    assert claims[0].due_at == embargo and claims[0].countdown(embargo - timedelta(seconds=0.5)) == 0.5


def test_a_stale_post_is_held_not_sent(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    post_id = add_post(store, text="premieres tonight!", due=T0, max_lateness_s=3600)
    assert run(store, settings, T0 + timedelta(days=2)) == []
    row = post(store, post_id)
    assert row.status == "held" and "2.0 days late" in (row.reason or "")


def test_pause_holds_and_resume_releases(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    ours = add_post(store, due=T0, campaign=None, account="hook")
    other = add_post(store, due=T0, account="box", platform="outbox")
    assert pause(store, Scope.of(account="hook"), now=T0) == 1
    late_arrival = add_post(store, due=T0, account="hook")
    claims = run(store, settings, T0)
    assert [c.post_id for c in claims] == [other]
    assert statuses(store)[ours] == "paused" and statuses(store)[late_arrival] == "paused"
    assert resume(store, None, now=T0) == 2
    assert {c.post_id for c in run(store, settings, T0)} == {ours, late_arrival}


def test_a_blocked_account_waits_for_its_reset(store: Engine, tmp_path: Any, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    post_id = add_post(store, due=T0)
    with transaction(store) as session:
        block(session, "hook", T0 + timedelta(minutes=5), "429")
    assert run(store, settings, T0) == []
    assert post(store, post_id).due_at.replace(tzinfo=UTC) == T0 + timedelta(minutes=5)
    assert len(run(store, settings, T0 + timedelta(minutes=5))) == 1


def test_dst_day_post_goes_out_at_nine_local(store: Engine, tmp_path: Any, database_url: str) -> None:
    """2030-03-10: New York springs forward at 02:00; 09:00 EDT that day is 13:00 UTC, not 14:00."""
    settings = settings_for(tmp_path, database_url, dispatch_lookahead=2.0)
    new_york = zone("America/New_York")
    nine = localize(datetime(2030, 3, 10, 9, 0), new_york)
    post_id = add_post(store, due=nine.astimezone(UTC))
    assert run(store, settings, datetime(2030, 3, 10, 12, 59, 57, tzinfo=UTC)) == []
    at = datetime(2030, 3, 10, 12, 59, 59, tzinfo=UTC)
    claims = run(store, settings, at)
    assert [c.post_id for c in claims] == [post_id]
    sent_at = at + timedelta(seconds=claims[0].countdown(at))
    assert sent_at.astimezone(new_york).strftime("%H:%M:%S %Z") == "09:00:00 EDT"


def test_a_batch_claim_moves_every_row_or_none(store: Engine) -> None:
    ready, gone = add_post(store, due=T0), add_post(store, due=T0, status="cancelled")
    moves = [(ready, {"attempt_id": "1" * 32}, None), (gone, {"attempt_id": "2" * 32}, None)]
    with pytest.raises(PromoError, match="1 of 2 locked posts moved"), transaction(store) as session:
        transition_locked(session, moves, "scheduled", "queued", action="claimed", actor="test", now=T0)
    assert statuses(store) == {ready: "scheduled", gone: "cancelled"}
    assert actions(store, ready) == [] and post(store, ready).attempt_id is None


def test_a_full_batch_is_claimed_in_one_run_with_an_event_each(
    store: Engine, tmp_path: Any, database_url: str
) -> None:
    settings = settings_for(tmp_path, database_url, dispatch_batch=50)
    ids = [add_post(store, due=T0) for _ in range(60)]
    claims = run(store, settings, T0)
    assert [c.post_id for c in claims] == ids[:50] and len({c.attempt_id for c in claims}) == 50
    for claim in claims[:3]:
        row = post(store, claim.post_id)
        assert (row.status, row.attempt_id, actions(store, claim.post_id)) == ("queued", claim.attempt_id, ["claimed"])
    assert statuses(store)[ids[-1]] == "scheduled"
