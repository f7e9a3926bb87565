"""The hot path stores exactly what the SQLAlchemy path stores, on both stores, and is fenced like it.

Two identical posts are moved, one by ``promo.store.hot_path`` on the driver's connection and one by
``promo.store.ledger.transition`` through SQLAlchemy; their rows and events must match column for
column, as the database holds them (SQLite's text included). The codec's times and JSON are held
to SQLAlchemy's own types by hypothesis.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from promo.store import states
from promo.store.codec import RowCodec
from promo.store.db import make_engine
from promo.store.hot_path import HotPath
from promo.store.ledger import transition
from promo.store.migrate import upgrade
from promo.store.tables import Event
from tests.engine.enginekit import add_post

NOW = datetime(2019, 6, 14, 7, 0, 0, 123456, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=121)
ACTOR = "worker@test:1"
SKIP = {"id", "idempotency_key", "post_id", "created_at"}  # created_at: when each was added


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def queued(engine: Engine, attempt_id: str, **columns: Any) -> int:
    post_id = add_post(engine, due=NOW - timedelta(seconds=1), **columns)
    with engine.begin() as connection:
        connection.execute(text("UPDATE posts SET status = 'queued', attempt_id = :a WHERE id = :id"),
                           {"a": attempt_id, "id": post_id})
    return post_id


def stored(engine: Engine, post_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The post's row and its events as the driver returns them (SQLite: the stored text), ids left out."""
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM posts WHERE id = :id"), {"id": post_id}).mappings().one()
        events = connection.execute(text("SELECT * FROM events WHERE post_id = :id ORDER BY id"),
                                    {"id": post_id}).mappings().all()
    return ({k: v for k, v in row.items() if k not in SKIP},
            [{k: v for k, v in event.items() if k not in SKIP} for event in events])


def test_start_and_published_store_what_the_sqlalchemy_path_stores(store: Engine) -> None:
    lean, orm = queued(store, "a" * 32), queued(store, "a" * 32)
    hot = HotPath(store)
    started = hot.start(lean, "a" * 32, now=NOW, lease_until=LEASE, actor=ACTOR,
                        default_cutoff=NOW - timedelta(hours=1), cutoffs={})
    assert started is not None and started.id == lean and started.attempts == 1
    assert started.scheduled_at.tzinfo is UTC and started.payload["parts"]
    with store.begin() as connection:
        assert transition(connection, orm, [states.QUEUED], states.PUBLISHING, action="publishing", actor=ACTOR,
                          attempt_id="a" * 32, now=NOW, attempts=1, lease_until=LEASE)
    assert stored(store, lean) == stored(store, orm)

    later = NOW + timedelta(seconds=2)
    assert hot.published(lean, "a" * 32, platform_id="1136", url="https://x.com/i/1136", now=later, actor=ACTOR)
    with store.begin() as connection:
        transition(connection, orm, (states.PUBLISHING, states.UNKNOWN), states.PUBLISHED, action="published",
                   actor=ACTOR, attempt_id="a" * 32, now=later,
                   detail={"platform_id": "1136", "url": "https://x.com/i/1136"}, platform_id="1136",
                   url="https://x.com/i/1136", published_at=later, lease_until=None, reason=None)
    assert stored(store, lean) == stored(store, orm)


def test_each_move_is_fenced_and_writes_nothing_when_it_finds_nothing(store: Engine) -> None:
    post_id = queued(store, "b" * 32)
    hot = HotPath(store)
    kwargs: dict[str, Any] = {"now": NOW, "lease_until": LEASE, "actor": ACTOR,
                              "default_cutoff": NOW - timedelta(hours=1), "cutoffs": {}}
    assert hot.start(post_id, "c" * 32, **kwargs) is None  # another attempt's message
    assert not hot.published(post_id, "b" * 32, platform_id="1", url=None, now=NOW, actor=ACTOR)  # not started
    assert hot.start(post_id, "b" * 32, **kwargs) is not None
    assert hot.start(post_id, "b" * 32, **kwargs) is None  # a duplicate delivery
    assert not hot.published(post_id, "c" * 32, platform_id="1", url=None, now=NOW, actor=ACTOR)
    assert hot.published(post_id, "b" * 32, platform_id="1", url=None, now=NOW, actor=ACTOR)
    assert not hot.published(post_id, "b" * 32, platform_id="1", url=None, now=NOW, actor=ACTOR)
    row, events = stored(store, post_id)
    assert row["status"] == states.PUBLISHED and [e["action"] for e in events] == ["publishing", "published"]


def test_an_unknown_post_may_still_be_published_by_its_attempt(store: Engine) -> None:
    """The sweeper called it unknown; the worker finishing late still records the truth."""
    post_id = queued(store, "d" * 32)
    hot = HotPath(store)
    assert hot.start(post_id, "d" * 32, now=NOW, lease_until=LEASE, actor=ACTOR,
                     default_cutoff=NOW - timedelta(hours=1), cutoffs={}) is not None
    with store.begin() as connection:
        connection.execute(text("UPDATE posts SET status = 'unknown' WHERE id = :id"), {"id": post_id})
    assert hot.published(post_id, "d" * 32, platform_id="9", url=None, now=NOW, actor=ACTOR)


def test_a_driver_error_comes_out_as_sqlalchemys(store: Engine) -> None:
    hot = HotPath(store)
    with store.begin() as connection:
        connection.execute(text("DROP TABLE holds"))
    with pytest.raises(DBAPIError):
        hot.start(1, "e" * 32, now=NOW, lease_until=LEASE, actor=ACTOR, default_cutoff=NOW, cutoffs={})
    # the pool's connection is usable afterwards, and the SQLite writer lock was let go
    with store.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM posts")).scalar() == 0


def test_a_naive_time_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ValueError, match="naive"):
        RowCodec("sqlite").stamp(datetime(2019, 6, 14, 7, 0))


# -- the codec against SQLAlchemy's own column types -----------------------------------------------

ZONES = st.sampled_from([UTC, ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/London"),
                         timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))])
TIMES = st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2999, 12, 30), timezones=ZONES)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('codec') / 'promo.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(at=TIMES, detail=st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4))
def test_the_codec_stores_what_sqlalchemy_stores(sqlite_store: Engine, at: datetime, detail: dict[str, Any]) -> None:
    codec = RowCodec("sqlite")
    with sqlite_store.begin() as connection:
        orm_id = connection.execute(
            Event.__table__.insert().values(at=at, action="x", actor="", detail=detail)).inserted_primary_key[0]
        raw = connection.connection.driver_connection
        lean_id = raw.execute("INSERT INTO events (at, action, actor, detail) VALUES (?, 'x', '', ?)",
                              (codec.stamp(at), codec.json(detail))).lastrowid
        rows = connection.execute(text("SELECT at, detail FROM events WHERE id IN (:a, :b) ORDER BY id"),
                                  {"a": orm_id, "b": lean_id}).all()
        assert rows[0] == rows[1]
        assert codec.read_stamp(rows[1][0]) == at.astimezone(UTC)
        assert codec.read_json(rows[1][1]) == json.loads(json.dumps(detail))
        read = connection.execute(Event.__table__.select().where(Event.id == lean_id)).mappings().one()
        assert read["at"] == at.astimezone(UTC) and read["at"].tzinfo is not None


def test_postgres_times_read_back_in_utc_whatever_the_session_zone(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    post_id = queued(engine, "f" * 32, scheduled=NOW.astimezone(ZoneInfo("America/Los_Angeles")))
    with engine.begin() as connection:
        connection.execute(text("SET TIME ZONE 'Asia/Kolkata'"))
    started = HotPath(engine).start(post_id, "f" * 32, now=NOW, lease_until=LEASE, actor=ACTOR,
                                    default_cutoff=NOW - timedelta(hours=1), cutoffs={})
    engine.dispose()
    assert started is not None and started.scheduled_at == NOW and started.scheduled_at.tzinfo is UTC
