"""The read commands' two paths give the same answers: SQLAlchemy (``posts``, ``status``) and sqlite3
(``reads``, over ``promo.store.sqlite_reads``), on one SQLite store with posts in every state that
matters, two campaigns in different zones, an ad hoc post, events, pauses, account states and the
engine's last-run facts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from promo.accounts import Account
from promo.errors import ConfigError, NotFound
from promo.manage.pauses import pause
from promo.manage.posts import EngineReads, campaign_zones, create_adhoc, get_post, list_posts
from promo.manage.reads import FileReads, broker_problem, file_status
from promo.manage.status import engine_status
from promo.planning.apply import apply_plan as apply
from promo.planning.plan import plan
from promo.settings import Settings
from promo.store import states
from promo.store.db import make_engine, transaction
from promo.store.heartbeats import BEAT, WORKER, Identity, beat
from promo.store.meta import LAST_DISPATCH, put_meta
from promo.store.migrate import upgrade
from promo.store.pauses import Scope
from promo.store.sqlite_reads import SqliteReads, open_current
from promo.store.tables import AccountState, Campaign
from promo.times import utcnow, zone
from tests.store.storekit import PREMIERE, campaign, walk

NOW = datetime(2027, 1, 5, 12, 0, 30, 123456, tzinfo=UTC)
OUT = Account("out", "outbox")


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """SQLite only: the sqlite3 path reads a SQLite file."""
    store = make_engine(sqlite_url)
    upgrade(store)
    yield store
    store.dispose()


@pytest.fixture
def store(engine: Engine) -> Engine:
    """A store with history: published, failed, unknown, held, cancelled, queued, paused, ad hoc posts."""
    apply(engine, plan(engine, *campaign({"premiere": (PREMIERE, "Tonight"),
                                          "countdown": (PREMIERE - timedelta(days=3), "3 days"),
                                          "recap": (PREMIERE + timedelta(days=1), "Recap https://x.y/z")})))
    ids = [view.id for view in list_posts(engine, limit=100)]
    walk(engine, ids[0], "queued", "publishing", "published", platform_id="9", url="https://x.test/9",
         published_at=NOW)
    walk(engine, ids[1], "queued", "publishing", "failed", reason="HTTP 500 from the API")
    walk(engine, ids[2], "queued", "publishing", "unknown", reason="timed out mid-publish")
    walk(engine, ids[3], "held", reason="too late: 7 h past its time")
    walk(engine, ids[4], "cancelled", reason="cancelled by test")
    walk(engine, ids[5], "queued", new_attempt_id="a1")
    create_adhoc(engine, OUT, "ad hoc, same due time", PREMIERE)
    with transaction(engine) as session:
        session.add(Campaign(id="other", name="Other", timezone="Europe/Paris", applied_at=NOW))
        session.add(Campaign(id="odd", name="Odd zone", timezone="Mars/Olympus", applied_at=NOW))
        session.add(AccountState(account="jj-x", blocked_until=NOW + timedelta(days=400), blocked_reason="rate limited",
                                 flagged_reason="credentials rejected", flagged_at=NOW))
        session.add(AccountState(account="jj-masto", blocked_until=NOW - timedelta(days=1), blocked_reason="over"))
        session.add(AccountState(account="flagged", flagged_reason="credentials rejected", flagged_at=NOW))
        put_meta(session, LAST_DISPATCH, NOW.isoformat())
    pause(engine, Scope.of(account="jj-masto"), reason="breaking news")
    pause(engine, Scope.of())
    started, ago = NOW - timedelta(hours=1), lambda seconds: NOW - timedelta(seconds=seconds)
    beat(engine, Identity(WORKER, "host-b", 12, "promo-12@host-b", 4, "1.0", started), 5.0, now=ago(2))
    beat(engine, Identity(WORKER, "host-a", 7, "promo-7@host-a", 2, "1.0", started), 5.0, now=ago(16))
    beat(engine, Identity(BEAT, "host-a", 9, "", None, "1.0", started), 1.5, now=ago(4.5))
    return engine


@pytest.fixture
def reads(store: Engine, sqlite_url: str) -> Iterator[SqliteReads]:
    opened = open_current(sqlite_url)
    assert opened is not None
    yield opened
    opened.close()


QUEUES = [{}, {"history": True}, {"history": True, "limit": 3}, {"limit": 2}, {"status": "failed"},
          {"status": ["held", "unknown", "scheduled"]}, {"campaign": "jessica-jones-s3", "history": True},
          {"account": "jj-x", "history": True}, {"account": "out"}, {"campaign": "none"}]


@pytest.mark.parametrize("query", QUEUES, ids=str)
def test_a_queue_page_is_the_same_either_way(store: Engine, reads: SqliteReads, query: dict) -> None:
    assert FileReads(reads).queue(**query) == EngineReads(store).queue(**query)


def test_every_post_in_full_is_the_same_either_way(store: Engine, reads: SqliteReads) -> None:
    ids = [view.id for view in list_posts(store, limit=100)]
    assert len(ids) >= 7
    for post_id in ids:
        detail = FileReads(reads).post(post_id)
        assert detail == get_post(store, post_id)
        assert detail.created_at.tzinfo is UTC and detail.events and detail.post.parts
    with pytest.raises(NotFound):
        FileReads(reads).post(max(ids) + 1)
    with pytest.raises(ConfigError, match="unknown status"):
        FileReads(reads).queue(status="sent")


def test_campaign_zones_are_the_same_either_way(store: Engine, reads: SqliteReads) -> None:
    asked = ["jessica-jones-s3", "other", "odd", "missing", None]
    zones = FileReads(reads).campaign_zones(asked)
    assert zones == campaign_zones(store, asked) == {"jessica-jones-s3": zone("America/Los_Angeles"),
                                                     "other": zone("Europe/Paris")}
    assert FileReads(reads).campaign_zones([None]) == {}


def test_the_status_report_is_the_same_either_way(store: Engine, reads: SqliteReads, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=str(store.url), timezone="America/Los_Angeles")
    full = engine_status(settings, store, now=NOW)
    quick = file_status(settings.broker, reads, zone("America/Los_Angeles"), now=NOW)
    assert quick == full
    assert full.healthy and full.last_dispatch and full.holds == ["account jj-masto", "everything"]
    assert {entry["status"] for entry in full.attention} == {states.FAILED, states.UNKNOWN, states.HELD}
    assert [entry["account"] for entry in full.accounts] == ["flagged", "jj-x"]  # jj-masto's block is over
    both = full.accounts[1]
    assert both["blocked_until"] and both["blocked_reason"] == "rate limited"
    assert both["flagged_reason"] == "credentials rejected" and both["flagged_at"]
    assert full.counts[states.PUBLISHED] == 1 and full.counts[states.PAUSED] > 0
    assert [(row["hostname"], row["alive"], row["concurrency"]) for row in full.workers] == [
        ("host-a", False, 2), ("host-b", True, 4)]  # 16 s is past three 5 s beats: killed, or hung
    assert [(row["pid"], row["alive"]) for row in full.beats] == [(9, True)]
    assert full.workers[1]["last_seen"] == "2027-01-05T04:00:28.123-08:00"  # iso(): milliseconds
    assert full.waiting == full.counts[states.SCHEDULED] + full.counts[states.QUEUED] and not full.no_worker


def test_a_store_that_fails_is_a_finding_either_way(reads: SqliteReads) -> None:
    reads.close()  # every read now fails
    report = file_status("sqla+sqlite:///nowhere/broker.db", reads, zone("UTC"), now=utcnow())
    assert not report.database_ok and report.database_error and "\n" not in report.database_error
    assert not report.healthy


def test_the_embedded_broker_is_probed_as_a_file(tmp_path: Path) -> None:
    broker = tmp_path / "broker.db"
    url = f"sqla+sqlite:///{broker}"
    assert broker_problem(url) is None  # not made yet: the worker makes it
    broker.write_bytes(b"not a database, not at all" * 100)
    assert "DatabaseError" in (broker_problem(url) or "")
    broker.unlink()
    import sqlite3

    sqlite3.connect(broker).execute("CREATE TABLE kombu_queue (id INTEGER)").connection.commit()
    assert broker_problem(url) is None
