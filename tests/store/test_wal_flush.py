"""Grouped outcome commits at the store: an unflushed success is lost in a crash unless a flush follows it.

A PostgreSQL server of the test's own (``tests/pg_server.py``), with the WAL writer slowed to 10 s so
that only a flush makes a relaxed commit durable, is crashed (``pg_ctl stop -m immediate``) and
restarted. This is what ``workers/grouped_acks.py`` relies on: ``HotPath.published`` with
``grouped_outcomes`` commits without waiting, and one ``WalFlush.flush`` begun after it returned
makes it durable, for every such commit before it at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from promo.store.db import make_engine
from promo.store.hot_path import HotPath
from promo.store.migrate import upgrade
from promo.store.tables import Event, PostRow
from promo.store.wal import FlushFailed, WalFlush
from promo.times import utcnow
from tests.engine.enginekit import add_post
from tests.pg_server import PostgresServer, running_postgres

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PostgresServer]:
    with running_postgres(tmp_path, wal_writer_delay="10s") as server:
        yield server


@pytest.fixture
def store(server: PostgresServer) -> Iterator[Engine]:
    engine = make_engine(server.url)
    upgrade(engine)
    yield engine
    engine.dispose()


def published_posts(store: Engine, server: PostgresServer, count: int, *, grouped: bool) -> list[int]:
    """``count`` posts moved ``queued -> publishing`` (durably), then all ``-> published`` by the hot path.

    The successes come last, one after another: any durable commit after one would flush it too.
    """
    hot = HotPath(store, grouped_outcomes=grouped)
    ids = [add_post(store, due=utcnow() - timedelta(seconds=1), status="queued") for _ in range(count)]
    for post_id in ids:
        now = utcnow()
        with store.begin() as connection:  # claimed, as the dispatcher leaves it
            connection.execute(PostRow.__table__.update().where(PostRow.id == post_id).values(attempt_id=f"a{post_id}"))
        assert hot.start(post_id, f"a{post_id}", now=now, lease_until=now + timedelta(minutes=1), actor="test",
                         default_cutoff=now - timedelta(hours=1), cutoffs={}) is not None
    for post_id in ids:
        assert hot.published(post_id, f"a{post_id}", platform_id=f"p{post_id}", url=None, now=utcnow(), actor="test")
    return ids


def after_crash(store: Engine, server: PostgresServer, ids: list[int]) -> dict[int, tuple[str, list[str]]]:
    """Crash the server, start it again (crash recovery), and read each post's status and events."""
    store.dispose()
    server.crash()
    server.restart()
    with store.connect() as connection:
        rows = dict(connection.execute(select(PostRow.id, PostRow.status).where(PostRow.id.in_(ids))).all())
        events = connection.execute(select(Event.post_id, Event.action).where(Event.post_id.in_(ids))
                                    .order_by(Event.id)).all()
    return {post_id: (rows[post_id], [action for pid, action in events if pid == post_id]) for post_id in ids}


def test_an_unflushed_success_is_lost_in_a_crash_with_its_event(store: Engine, server: PostgresServer) -> None:
    """Without the flush the success (and its event) is forgotten; the durable start is not."""
    ids = published_posts(store, server, 3, grouped=True)
    for status, events in after_crash(store, server, ids).values():
        assert (status, events) == ("publishing", ["publishing"])


def test_one_flush_after_the_successes_makes_them_all_durable(store: Engine, server: PostgresServer) -> None:
    ids = published_posts(store, server, 3, grouped=True)
    flush = WalFlush(server.url)
    flush.connect()
    flush.flush()
    flush.dispose()
    for status, events in after_crash(store, server, ids).values():
        assert (status, events) == ("published", ["publishing", "published"])


def test_each_success_is_durable_on_its_own_when_outcomes_are_not_grouped(
    store: Engine, server: PostgresServer
) -> None:
    ids = published_posts(store, server, 2, grouped=False)
    assert {status for status, _ in after_crash(store, server, ids).values()} == {"published"}


def test_a_flush_vouches_only_for_commits_made_after_its_connection(server: PostgresServer) -> None:
    """A connection made after a crash cannot tell what the server forgot: it covers later commits only."""
    flush = WalFlush(server.url)
    before = time.monotonic()
    flush.connect()
    after = time.monotonic()
    assert not flush.covers(before) and flush.covers(after)
    flush.flush()

    server.crash()
    with pytest.raises(FlushFailed, match="the flush failed"):
        flush.flush()
    assert not flush.covers(after), "a broken connection vouches for nothing"
    with pytest.raises(FlushFailed, match="cannot connect to the store"):
        flush.connect()

    server.restart()
    flush.connect()
    assert not flush.covers(after) and flush.covers(time.monotonic())
    flush.flush()
    flush.dispose()
