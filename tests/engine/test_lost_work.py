"""Work a dead process left behind, taken back at once instead of after its lease (issue 12, item 9).

In one process, on a real store (SQLite and PostgreSQL): ``lost_job`` (what the worker's main
process does when a pool process dies running a publish), ``reconcile_first`` (the first look-up of
such a post, every ``dispatch_interval``), and ``requeue_after_process_loss`` (a worker or beat whose
heartbeat went stale: its overdue claims dispatched again, once, however many beats see it). The
real processes are in ``test_engine_lost_work.py``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from promo.engine.dispatch import dispatch
from promo.engine.publishing import publish_claimed
from promo.engine.reconcile import reconcile_first
from promo.engine.sweeper import CUT_OFF, NEVER_STARTED, PROCESS_LOST, lost_job, requeue_after_process_loss
from promo.store.db import make_engine, transaction
from promo.store.heartbeats import BEAT, WORKER, Identity, beat
from promo.store.tables import Event, PostRow
from promo.times import utcnow
from tests.engine.enginekit import actions, add_post, post, runtime_for, settings_for, statuses
from tests.fakes.webhook import SECRET, Receiver

LOOKAHEAD = 2.0


def claimed(rt: Any, due: datetime | None = None) -> tuple[int, str]:
    post_id = add_post(rt.db, due=due or utcnow())
    claims = dispatch(rt.db, rt.settings, rt.accounts)
    return post_id, next(c.attempt_id for c in claims if c.post_id == post_id)


def test_a_pool_process_lost_before_the_fence_sends_its_post_again(make_runtime: Any, store: Engine) -> None:
    rt = make_runtime()
    post_id, attempt = claimed(rt)
    assert lost_job(store, post_id, "some-other-attempt", "WorkerLostError") is None  # fenced
    assert lost_job(store, post_id, attempt, "WorkerLostError: signal 9") == "scheduled"
    row = post(store, post_id)
    assert (row.status, row.reason, row.lease_until) == ("scheduled", NEVER_STARTED, None)
    assert actions(store, post_id)[-1] == "worker-lost"
    assert lost_job(store, post_id, attempt, "WorkerLostError") is None  # said twice: nothing more


def test_a_pool_process_lost_mid_call_leaves_its_post_unknown_then_looked_up_once(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    """The call went out: the first look-up, a settling time later, records it published; never re-sent."""
    rt = make_runtime()
    post_id, attempt = claimed(rt)
    with transaction(store) as session:  # as the fence leaves it: the child died after it, mid-call
        session.execute(update(PostRow).where(PostRow.id == post_id).values(status="publishing"))
    rt.adapter("hook", "webhook").publish(rt_post(rt, post_id), _Notes())  # the call that went out
    assert lost_job(store, post_id, attempt, "WorkerLostError: signal 9") == "unknown"
    assert post(store, post_id).reason == CUT_OFF
    now = utcnow()
    assert reconcile_first(rt, now=now).published == []  # not settled yet (http_timeout)
    settled = now + timedelta(seconds=rt.settings.http_timeout + 0.1)
    assert reconcile_first(rt, now=settled).published == [post_id]
    assert statuses(store)[post_id] == "published" and len(receiver.calls) == 1


def test_the_first_look_asks_once_and_only_about_lost_outcomes(
    tmp_path: Path, database_url: str, store: Engine
) -> None:
    """A post the platform cannot tell about gets a new reason: the first look does not ask again.
    An unknown of another kind (a timeout after sending) waits for the sweep-interval reconcile."""
    (tmp_path / "promo.toml").write_text(
        '[accounts.slow]\nplatform = "outbox"\nadapter = "tests.engine.sleepy:SleepingAdapter"\n', encoding="utf-8")
    rt = runtime_for(settings_for(tmp_path, database_url), store, SECRET)
    lost = add_post(store, account="slow", platform="outbox")
    attempt = {c.post_id: c.attempt_id for c in dispatch(rt.db, rt.settings, rt.accounts)}[lost]
    other = add_post(store, account="slow", platform="outbox", status="unknown")
    with transaction(store) as session:
        session.execute(update(PostRow).where(PostRow.id == lost).values(status="publishing"))
    assert lost_job(store, lost, attempt, "WorkerLostError") == "unknown"
    later = utcnow() + timedelta(seconds=rt.settings.http_timeout + 0.1)
    first = reconcile_first(rt, now=later)  # the sleeping adapter's look-up cannot tell
    assert (first.undecided, first.published, first.rescheduled) == ([lost], [], [])
    assert "cannot tell" in (post(store, lost).reason or "")
    assert reconcile_first(rt, now=later + timedelta(seconds=30)).undecided == []  # asked once
    assert statuses(store)[other] == "unknown" and post(store, other).reason is None


def test_a_post_lost_before_its_call_is_found_missing_and_sent_again(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    post_id, attempt = claimed(rt)
    with transaction(store) as session:
        session.execute(update(PostRow).where(PostRow.id == post_id).values(status="publishing"))
    lost_job(store, post_id, attempt, "WorkerLostError")
    later = utcnow() + timedelta(seconds=rt.settings.http_timeout + 0.1)
    done = reconcile_first(rt, now=later)
    assert done.rescheduled == [post_id] and statuses(store)[post_id] == "scheduled"
    again = {c.post_id: c.attempt_id for c in dispatch(rt.db, rt.settings, rt.accounts, now=later)}
    assert publish_claimed(rt, post_id, again[post_id], clock=lambda: later) == "published"
    assert len(receiver.calls) == 1


def rt_post(rt: Any, post_id: int) -> Any:
    from promo.posts import Post

    row = post(rt.db, post_id)
    return Post.from_payload(row.platform, row.account, row.payload, row.idempotency_key)


class _Notes:
    def get(self, key: str) -> str | None:
        return None

    def record(self, key: str, value: str) -> None:
        pass


def a_process(store: Engine, kind: str, pid: int, last_seen: datetime, interval: float = 1.0) -> None:
    beat(store, Identity(kind, "host-a", pid), interval, now=last_seen)


def queued_at(store: Engine, claimed_at: datetime, due: datetime) -> int:
    """A queued post claimed at ``claimed_at`` (its ``updated_at``), due at ``due``."""
    post_id = add_post(store, due=due, status="queued")
    with transaction(store) as session:
        session.execute(update(PostRow).where(PostRow.id == post_id)
                        .values(attempt_id=f"a-{post_id}", updated_at=claimed_at))
    return post_id


def test_a_vanished_worker_has_its_overdue_claims_taken_back_once(store: Engine) -> None:
    now = utcnow()
    died = now - timedelta(seconds=10)
    a_process(store, WORKER, 101, died)  # stale: silent for 10 s, interval 1 s
    a_process(store, WORKER, 102, now)  # alive
    held = queued_at(store, died - timedelta(seconds=1), died + timedelta(seconds=1))  # its eta message
    later = queued_at(store, now - timedelta(seconds=2), now - timedelta(seconds=2))  # claimed after it was gone
    ahead = queued_at(store, died - timedelta(seconds=1), now + timedelta(seconds=1))  # not yet due: not its
    lost, moved, mark = requeue_after_process_loss(store, LOOKAHEAD, now=now)
    assert [(p.kind, p.pid) for p in lost] == [(WORKER, 101)] and moved == [held]
    assert mark is not None and mark <= now
    assert statuses(store) == {held: "scheduled", later: "queued", ahead: "queued"}
    assert post(store, held).reason == PROCESS_LOST and actions(store, held)[-1] == "worker-lost"
    assert requeue_after_process_loss(store, LOOKAHEAD, now=now + timedelta(seconds=2))[:2] == ([], [])  # once


def test_a_silent_process_counts_as_lost_only_once_its_held_messages_are_overdue(store: Engine) -> None:
    """Three missed beats, and its last claim's look-ahead and ``OVERDUE_S`` passed, whichever is later."""
    now = utcnow()
    a_process(store, BEAT, 201, now - timedelta(seconds=3.5))  # 3 beats missed, but 1 + 2 + 1 = 4 s not yet
    assert requeue_after_process_loss(store, LOOKAHEAD, now=now)[0] == []
    assert [p.pid for p in requeue_after_process_loss(store, LOOKAHEAD, now=now + timedelta(seconds=0.6))[0]] == [201]


@pytest.mark.parametrize("database_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_two_beats_seeing_one_loss_take_its_claims_back_once(store: Engine, database_url: str) -> None:
    now = utcnow()
    a_process(store, WORKER, 301, now - timedelta(seconds=20))
    held = [queued_at(store, now - timedelta(seconds=22), now - timedelta(seconds=19)) for _ in range(5)]
    engines = [make_engine(database_url) for _ in range(2)]
    gate, results = threading.Barrier(2), []

    def one_beat(engine: Engine) -> None:
        gate.wait(5)
        results.append(requeue_after_process_loss(engine, LOOKAHEAD, now=now))

    threads = [threading.Thread(target=one_beat, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for engine in engines:
        engine.dispose()
    assert sorted(len(lost) for lost, _, _ in results) == [0, 1]
    assert sorted(post_id for _, moved, _ in results for post_id in moved) == held
    with transaction(store) as session:
        logged = session.scalars(select(Event.post_id).where(Event.action == "worker-lost")).all()
    assert sorted(logged) == held  # one move each


def test_a_clean_stop_is_no_loss(store: Engine, tmp_path: Path) -> None:
    from promo.store.heartbeats import forget

    now = utcnow()
    me = Identity(WORKER, "host-a", 401)
    beat(store, me, 1.0, now=now - timedelta(seconds=30))
    forget(store, me)  # what a warm or cold stop does
    queued_at(store, now - timedelta(seconds=40), now - timedelta(seconds=35))
    assert requeue_after_process_loss(store, LOOKAHEAD, now=now)[:2] == ([], [])
