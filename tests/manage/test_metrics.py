"""``promo.manage.metrics`` on SQLite and PostgreSQL: a ledger history read into counters and histograms,
incrementally and within a bound per scrape, gaps in the event ids waited for, and a real HTTP scrape."""

from __future__ import annotations

import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from promo.manage.metrics import StoreCollector, exposition, samples, serve
from promo.posts import Post
from promo.store.db import make_engine, transaction
from promo.store.heartbeats import BEAT, WORKER, Identity, beat
from promo.store.ledger import log, transition
from promo.store.meta import LAST_DISPATCH, put_meta
from promo.store.migrate import upgrade
from promo.store.tables import PostRow
from tests.conftest import free_port

T0 = datetime(2031, 6, 14, 7, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=200)


def _post(engine: Engine, platform: str, account: str, status: str = "scheduled") -> int:
    row = PostRow(idempotency_key=uuid.uuid4().hex, account=account, platform=platform, status=status,
                  payload=Post.single(platform, account, "Jessica Jones").to_payload(), digest="-",
                  scheduled_at=T0, due_at=T0, created_at=T0, updated_at=T0)
    with transaction(engine) as session:
        session.add(row)
        session.flush()
        return row.id


def _walk(engine: Engine, post_id: int, *steps: tuple[str, str, str, float, str]) -> None:
    """Each step ``(from, to, action, seconds after T0, attempt)``; a claim stamps its attempt."""
    for before, after, action, seconds, attempt in steps:
        fence = {"new_attempt_id": attempt} if action == "claimed" else {"attempt_id": attempt}
        with transaction(engine) as session:
            assert transition(session, post_id, [before], after, action=action, actor="test",
                              now=T0 + timedelta(seconds=seconds), **fence)


def _history(engine: Engine) -> None:
    """x: one on time, one re-sent after a broker loss then rate-limited; mastodon: one re-sent after its
    lease, unknown, reconciled as published; one past the time limit that the lookup cannot tell."""
    _walk(engine, _post(engine, "x", "jj-x"), ("scheduled", "queued", "claimed", -1, "a1"),
          ("queued", "publishing", "publishing", 0.2, "a1"), ("publishing", "published", "published", 0.5, "a1"))
    _walk(engine, _post(engine, "mastodon", "jj-masto"), ("scheduled", "queued", "claimed", 0, "b1"),
          ("queued", "scheduled", "lease-expired", 60, "b1"), ("scheduled", "queued", "claimed", 61, "b2"),
          ("queued", "publishing", "publishing", 61, "b2"), ("publishing", "unknown", "unknown", 71, "b2"),
          ("unknown", "published", "reconciled", 90, "b2"))
    _walk(engine, _post(engine, "x", "jj-x"), ("scheduled", "queued", "claimed", 0, "c1"),
          ("queued", "scheduled", "broker-lost", 1, "c1"), ("scheduled", "queued", "claimed", 1.5, "c2"),
          ("queued", "publishing", "publishing", 2, "c2"), ("publishing", "scheduled", "rate-limited", 3, "c2"))
    _walk(engine, _post(engine, "mastodon", "jj-masto"), ("scheduled", "queued", "claimed", 0, "d1"),
          ("queued", "publishing", "publishing", 0, "d1"), ("publishing", "unknown", "timed-out", 125, "d1"),
          ("unknown", "unknown", "lookup-failed", 150, "d1"))


def _scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _value(scraped: dict[Any, float], name: str, **labels: str) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_the_history_becomes_counters_and_histograms(engine: Engine) -> None:
    _history(engine)
    collector = StoreCollector(engine, clock=lambda: LATER)
    assert collector.catch_up() == 18
    got = _scrape(exposition(collector))
    assert _value(got, "promo_up") == 1.0
    assert _value(got, "promo_dispatches_total", platform="x") == 3
    assert _value(got, "promo_dispatches_total", platform="mastodon") == 3
    assert _value(got, "promo_resends_total", platform="mastodon", cause="lease-expired") == 1
    assert _value(got, "promo_resends_total", platform="x", cause="broker-lost") == 1
    assert _value(got, "promo_unknowns_total", platform="mastodon", cause="no-answer") == 1
    assert _value(got, "promo_unknowns_total", platform="mastodon", cause="time-limit") == 1
    assert _value(got, "promo_reconciliations_total", platform="mastodon", result="published") == 1
    assert _value(got, "promo_reconciliations_total", platform="mastodon", result="cannot-tell") == 1
    assert _value(got, "promo_rate_limit_waits_total", platform="x") == 1
    latency = "promo_publish_latency_seconds"
    assert _value(got, f"{latency}_count", platform="x", outcome="published") == 1
    assert _value(got, f"{latency}_sum", platform="x", outcome="published") == pytest.approx(0.3)
    assert _value(got, f"{latency}_bucket", platform="x", outcome="published", le="0.25") == 0
    assert _value(got, f"{latency}_bucket", platform="x", outcome="published", le="0.5") == 1
    assert _value(got, f"{latency}_count", platform="mastodon", outcome="unknown") == 2
    assert _value(got, f"{latency}_bucket", platform="mastodon", outcome="unknown", le="120.0") == 1  # 10 s; 125 s
    assert _value(got, f"{latency}_count", platform="x", outcome="scheduled") == 1
    assert _value(got, "promo_lateness_seconds_sum", platform="x") == pytest.approx(0.5)
    assert _value(got, "promo_lateness_seconds_bucket", platform="mastodon", le="60.0") == 0
    assert _value(got, "promo_lateness_seconds_bucket", platform="mastodon", le="120.0") == 1
    assert _value(got, "promo_posts", state="published", account="jj-x") == 1
    assert _value(got, "promo_posts", state="scheduled", account="jj-x") == 1
    assert _value(got, "promo_posts", state="unknown", account="jj-masto") == 1
    assert _value(got, "promo_overdue_seconds") == 200  # the rate-limited post, due at T0
    assert (_value(got, "promo_events_read_total"), _value(got, "promo_events_unread")) == (18, 0)


def test_each_scrape_reads_only_new_events_and_at_most_its_bound(engine: Engine) -> None:
    _history(engine)
    bounded = StoreCollector(engine, scrape_events=6, clock=lambda: LATER)
    first = _scrape(exposition(bounded))
    assert (_value(first, "promo_events_read_total"), _value(first, "promo_events_unread")) == (6, 12)
    for _ in range(3):
        exposition(bounded)
    whole = StoreCollector(engine, clock=lambda: LATER)
    whole.catch_up()
    assert _without_reads(_scrape(exposition(bounded))) == _without_reads(_scrape(exposition(whole)))
    _walk(engine, _post(engine, "x", "jj-x"), ("scheduled", "queued", "claimed", 5, "e1"))
    again = _scrape(exposition(whole))
    assert _value(again, "promo_dispatches_total", platform="x") == 4 and _value(again, "promo_events_read_total") == 19


def _without_reads(scraped: dict[Any, float]) -> dict[Any, float]:
    return {key: value for key, value in scraped.items() if not key[0].startswith("promo_events_read")}


def test_heartbeats_and_ticks_become_gauges(engine: Engine) -> None:
    beat(engine, Identity(WORKER, "a", 1, "promo-1@a", 4), 5.0, now=LATER - timedelta(seconds=3))
    beat(engine, Identity(WORKER, "b", 2, "promo-2@b", 2), 5.0, now=LATER - timedelta(seconds=60))  # killed
    beat(engine, Identity(BEAT, "a", 3), 5.0, now=LATER - timedelta(seconds=1))
    with transaction(engine) as session:
        put_meta(session, LAST_DISPATCH, (LATER - timedelta(seconds=2)).isoformat())
    got = _scrape(exposition(StoreCollector(engine, clock=lambda: LATER)))
    assert _value(got, "promo_processes_alive", kind="worker") == 1
    assert _value(got, "promo_processes_alive", kind="beat") == 1
    assert _value(got, "promo_worker_processes_alive") == 4
    assert _value(got, "promo_heartbeat_age_seconds", kind="worker") == 3
    assert _value(got, "promo_last_tick_age_seconds", tick="dispatch") == 2
    assert ("promo_last_tick_age_seconds", frozenset({("tick", "sweep")})) not in got  # never swept


def test_a_real_scrape_over_http(engine: Engine) -> None:
    _history(engine)
    collector = StoreCollector(engine)
    collector.catch_up()
    port = free_port()
    server, thread = serve(collector, "127.0.0.1", port)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
            got = _scrape(answer.read().decode())
    finally:
        server.shutdown()
        thread.join(5)
    assert _value(got, "promo_dispatches_total", platform="x") == 3
    assert {sample["name"] for sample in samples(collector)} >= {"promo_up", "promo_posts", "promo_overdue_seconds"}


def test_a_store_that_cannot_be_read_is_promo_up_0(tmp_path: Any) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    got = _scrape(exposition(StoreCollector(broken)))
    assert _value(got, "promo_up") == 0 and _value(got, "promo_store_error", error="OperationalError") == 1
    broken.dispose()


@pytest.fixture
def pg(postgres_url: str) -> Any:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_postgres_an_event_not_yet_committed_is_waited_for_and_a_rolled_back_one_skipped(pg: Engine) -> None:
    post_id = _post(pg, "x", "jj-x")
    collector = StoreCollector(pg, gap_wait=0.5)
    collector.catch_up()
    with pg.connect() as open_one:
        slow = open_one.begin()
        log(open_one, post_id, "rate-limited", actor="slow", now=datetime.now(UTC))  # an id, not committed
        with pg.begin() as quick:
            log(quick, post_id, "claimed", actor="quick", now=datetime.now(UTC))
        first = _scrape(exposition(collector))
        assert _value(first, "promo_dispatches_total", platform="x") == 0  # after the gap: held back
        slow.commit()
    second = _scrape(exposition(collector))
    assert _value(second, "promo_rate_limit_waits_total", platform="x") == 1
    assert _value(second, "promo_dispatches_total", platform="x") == 1
    with pg.connect() as lost, lost.begin() as rolled_back:
        log(lost, post_id, "rate-limited", actor="lost", now=datetime.now(UTC))
        rolled_back.rollback()
    with pg.begin() as quick:
        log(quick, post_id, "claimed", actor="quick", now=datetime.now(UTC))
    assert _value(_scrape(exposition(collector)), "promo_dispatches_total", platform="x") == 1
    time.sleep(0.6)  # the gap is older than gap_wait: taken as rolled back
    assert _value(_scrape(exposition(collector)), "promo_dispatches_total", platform="x") == 2
