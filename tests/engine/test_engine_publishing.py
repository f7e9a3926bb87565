"""Publishing one claimed post, the sweeper and reconciliation, as plain functions (no Celery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from promo.engine.dispatch import dispatch
from promo.engine.publishing import DUPLICATE, publish_claimed, start
from promo.engine.ratelimits import block
from promo.engine.reconcile import reconcile
from promo.engine.sweeper import sweep
from promo.manage.attention import resolve, retry
from promo.manage.status import engine_status
from promo.store.db import transaction
from promo.store.tables import Hold
from promo.times import utcnow
from tests.engine.enginekit import actions, add_post, post
from tests.fakes.webhook import Receiver


def claim_one(rt: Any, post_id: int) -> str:
    claims = dispatch(rt.db, rt.settings, rt.accounts)
    assert [c.post_id for c in claims] == [post_id]
    return claims[0].attempt_id


def test_publishes_once_and_records_the_platform_id(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    post_id = add_post(store)
    attempt = claim_one(rt, post_id)
    assert publish_claimed(rt, post_id, attempt) == "published"
    assert publish_claimed(rt, post_id, attempt) == DUPLICATE  # a redelivered message
    row = post(store, post_id)
    assert (row.status, row.platform_id, row.url) == ("published", "wh-1", "https://example.test/p/wh-1")
    assert len(receiver.calls) == 1 and receiver.calls[0].signed
    assert receiver.calls[0].key == row.idempotency_key
    assert actions(store, post_id) == ["claimed", "publishing", "published"]


def claimed_early(make_runtime: Any, store: Engine) -> tuple[Any, int, str, datetime]:
    """A post due in 1.5 s, claimed now (inside a 2 s look-ahead)."""
    rt = make_runtime(dispatch_lookahead=2.0)
    due = utcnow() + timedelta(seconds=1.5)
    post_id = add_post(store, due=due)
    return rt, post_id, claim_one(rt, post_id), due


def test_a_message_a_little_early_waits_for_its_second(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt, post_id, attempt, due = claimed_early(make_runtime, store)
    clock, waited = [due - timedelta(seconds=1.5)], []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    assert publish_claimed(rt, post_id, attempt, clock=lambda: clock[0], sleep=sleep) == "published"
    assert waited == [1.5] and len(receiver.calls) == 1
    assert actions(store, post_id) == ["claimed", "publishing", "published"]


def test_a_message_still_early_after_its_wait_goes_back_to_scheduled(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt, post_id, attempt, due = claimed_early(make_runtime, store)
    early = due - timedelta(seconds=1.5)
    assert publish_claimed(rt, post_id, attempt, clock=lambda: early, sleep=lambda _s: None) == "scheduled"
    row = post(store, post_id)
    assert row.status == "scheduled" and row.due_at == due and receiver.calls == []
    assert actions(store, post_id) == ["claimed", "deferred"]


def objection(store: Engine, case: str) -> None:
    """What changed between the claim and the message: a pause, a block, or nothing (for 'late')."""
    with transaction(store) as session:
        if case in ("paused", "another account paused"):
            account = "hook" if case == "paused" else "elsewhere"
            session.add(Hold(scope="account", value=account, created_at=utcnow(), reason="test"))
        if case == "blocked":
            block(session, "hook", utcnow() + timedelta(hours=1), "test")


@pytest.mark.parametrize(("case", "outcome", "logged"), [
    ("paused", "paused", ["claimed", "paused"]),
    ("blocked", "scheduled", ["claimed", "deferred"]),
    ("late", "held", ["claimed", "held"]),
    ("another account paused", "published", ["claimed", "publishing", "published"]),
])
def test_a_policy_that_objects_at_publish_time_leaves_no_attempt_behind(
    make_runtime: Any, store: Engine, receiver: Receiver, case: str, outcome: str, logged: list[str]
) -> None:
    rt = make_runtime()
    post_id = add_post(store, max_lateness_s=60)
    attempt = claim_one(rt, post_id)
    objection(store, case)
    clock = (lambda: utcnow() + timedelta(hours=2)) if case == "late" else utcnow
    assert publish_claimed(rt, post_id, attempt, clock=clock) == outcome
    assert actions(store, post_id) == logged
    assert post(store, post_id).attempts == (1 if outcome == "published" else 0)
    assert len(receiver.calls) == (1 if outcome == "published" else 0)


def test_a_stale_attempt_id_is_fenced_off(make_runtime: Any, store: Engine, receiver: Receiver) -> None:
    rt = make_runtime()
    post_id = add_post(store)
    claim_one(rt, post_id)
    assert publish_claimed(rt, post_id, "0" * 32) == DUPLICATE
    assert receiver.calls == []


def test_a_server_error_retries_with_backoff_then_fails(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime(max_attempts=2)
    receiver.mode, receiver.times = "error", 5
    post_id = add_post(store)
    before = utcnow()
    assert publish_claimed(rt, post_id, claim_one(rt, post_id)) == "scheduled"
    row = post(store, post_id)
    delay = (row.due_at.replace(tzinfo=UTC) - before).total_seconds()
    assert 0.2 <= delay <= 1.0 and "HTTP 500" in (row.reason or "")
    assert publish_claimed(rt, post_id, claim_one_at(rt, post_id, row.due_at)) == "failed"
    assert "gave up after 2 attempts" in (post(store, post_id).reason or "")


def claim_one_at(rt: Any, post_id: int, due: datetime) -> str:
    claims = dispatch(rt.db, rt.settings, rt.accounts, now=due.replace(tzinfo=UTC))
    assert [c.post_id for c in claims] == [post_id]
    return claims[0].attempt_id


def test_a_429_blocks_the_account_until_its_reset(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    receiver.mode, receiver.times, receiver.retry_after = "ratelimit", 1, 30
    first, second = add_post(store), add_post(store)
    claims = dispatch(rt.db, rt.settings, rt.accounts)
    assert publish_claimed(rt, first, claims[0].attempt_id) == "scheduled"
    assert publish_claimed(rt, second, claims[1].attempt_id) == "scheduled"  # blocked: no call made
    assert len(receiver.calls) == 1
    due = post(store, first).due_at.replace(tzinfo=UTC)
    assert 25 < (due - utcnow()).total_seconds() <= 30
    assert post(store, second).due_at.replace(tzinfo=UTC) == due
    report = engine_status(rt.settings, store)
    assert report.accounts[0]["account"] == "hook" and report.accounts[0]["blocked_until"]


def test_the_account_rate_limit_is_a_shared_window(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime(rate_limit="2/1h")
    ids = [add_post(store) for _ in range(3)]
    claims = dispatch(rt.db, rt.settings, rt.accounts)
    outcomes = [publish_claimed(rt, c.post_id, c.attempt_id) for c in claims]
    assert outcomes == ["published", "published", "scheduled"]
    assert post(store, ids[2]).due_at.replace(tzinfo=UTC) > utcnow() + timedelta(minutes=59)


def test_permanent_and_auth_errors_fail_with_a_reason(make_runtime: Any, store: Engine) -> None:
    rt = make_runtime()
    rt.accounts["hook"] = type(rt.accounts["hook"])(
        "hook", "webhook", None, {"url": "http://127.0.0.1:9/x"}, {}
    )
    post_id = add_post(store)
    assert publish_claimed(rt, post_id, claim_one(rt, post_id)) == "failed"
    assert "signing_secret is not set" in (post(store, post_id).reason or "")


def test_accept_then_hang_is_unknown_then_reconciled(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime(http_timeout=0.3)
    receiver.mode, receiver.delay = "hang", 2.0
    post_id = add_post(store)
    assert publish_claimed(rt, post_id, claim_one(rt, post_id)) == "unknown"
    assert "no answer" in (post(store, post_id).reason or "")
    receiver.release.set()
    done = reconcile(rt, now=utcnow() + timedelta(seconds=1))
    assert done.published == [post_id] and post(store, post_id).platform_id == "wh-1"
    assert len(receiver.calls) == 1


def test_unknown_not_found_on_the_platform_is_sent_again(
    make_runtime: Any, store: Engine, receiver: Receiver
) -> None:
    rt = make_runtime()
    post_id = add_post(store)
    attempt = claim_one(rt, post_id)
    assert start(rt, post_id, attempt, utcnow()).row is not None  # publishing, then the worker dies
    swept = sweep(store, now=utcnow() + timedelta(seconds=10))
    assert swept.unknown == [post_id]
    done = reconcile(rt, now=utcnow() + timedelta(seconds=20))
    assert done.rescheduled == [post_id] and post(store, post_id).status == "scheduled"


def test_sweeper_requeues_a_lost_message(make_runtime: Any, store: Engine) -> None:
    rt = make_runtime()
    post_id = add_post(store)
    claim_one(rt, post_id)
    assert sweep(store).requeued == []
    assert sweep(store, now=utcnow() + timedelta(seconds=5)).requeued == [post_id]
    assert post(store, post_id).status == "scheduled"


def test_person_resolves_and_retries(make_runtime: Any, store: Engine) -> None:
    rt = make_runtime()
    post_id = add_post(store)
    attempt = claim_one(rt, post_id)
    start(rt, post_id, attempt, utcnow())
    sweep(store, now=utcnow() + timedelta(seconds=10))
    report = engine_status(rt.settings, store)
    assert [p["id"] for p in report.attention] == [post_id] and "resolve" in report.attention[0]["next_step"]
    assert resolve(store, post_id, published_url="https://example.test/p/77") == "published"
    assert post(store, post_id).platform_id == "77"
    held = add_post(store, due=utcnow() - timedelta(days=2), max_lateness_s=60)
    dispatch(rt.db, rt.settings, rt.accounts)
    assert post(store, held).status == "held"
    retry(store, held)
    assert [c.post_id for c in dispatch(rt.db, rt.settings, rt.accounts)] == [held]


@pytest.mark.parametrize("mode", ["dry-run", "outbox"])
def test_rehearsal_modes_send_nothing(
    make_runtime: Any, store: Engine, receiver: Receiver, mode: str
) -> None:
    rt = make_runtime(publish_mode=mode)
    post_id = add_post(store)
    assert publish_claimed(rt, post_id, claim_one(rt, post_id)) == "published"
    assert receiver.calls == []
    logged = (rt.settings.home / "rehearsal.jsonl").read_text()
    assert '"platform": "webhook"' in logged and "Jessica Jones" in logged
    assert (rt.settings.home / "outbox.jsonl").exists() == (mode == "outbox")
