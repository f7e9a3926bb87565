"""The hot path finds its post by id whatever plan PostgreSQL caches, with stale statistics and a burst queued.

psycopg prepares a statement run five times and PostgreSQL may then keep a generic plan. The
statistics of a real ledger say ``queued`` is rare (most rows are history); during a burst thousands
are queued. A generic plan that took the ``(status, due_at)`` index for the start's ``status =
'queued'`` scanned every queued post for each start: 0.9 ms of server CPU per start with 10,000 queued
(docs/benchmarks.md, issue 17). Here the generic plan is forced and the index's scan counter read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.pool import StaticPool

from promo.store.db import make_engine
from promo.store.hot_path import HotPath
from promo.store.migrate import upgrade
from promo.times import utcnow

STATUS_INDEX = "ix_posts_status_due_at"
POSTS, QUEUED = 3000, 1000


@pytest.fixture
def burst(postgres_url: str) -> Iterator[Engine]:
    """A store analysed while every post was scheduled, then a thousand of them queued (one connection)."""
    engine = make_engine(postgres_url, poolclass=StaticPool)
    upgrade(engine)
    now = utcnow()
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO posts (idempotency_key, kind, account, platform, payload, digest, status, scheduled_at, "
            "due_at, attempts, journal, created_at, updated_at) SELECT 'k' || g, 'generic', 'hook', 'webhook', '{}', "
            "'-', 'scheduled', :now, :now, 0, '{}', :now, :now FROM generate_series(1, :n) g"),
            {"now": now - timedelta(seconds=1), "n": POSTS})
        connection.execute(text("ANALYZE posts"))
        connection.execute(text("UPDATE posts SET status = 'queued', attempt_id = 'a' || id WHERE id <= :n"),
                           {"n": QUEUED})
    yield engine
    engine.dispose()


def index_scans(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
        connection.commit()
        connection.execute(text("SELECT pg_stat_clear_snapshot()"))
        rows = connection.execute(text(
            "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE relname = 'posts' "
            "AND schemaname = current_schema()")).all()
    return {name: scans for name, scans in rows}


@pytest.mark.parametrize("grouped", [False, True])
def test_start_and_published_never_scan_the_status_index(burst: Engine, grouped: bool) -> None:
    with burst.connect() as connection:
        connection.execute(text("SET plan_cache_mode = force_generic_plan"))
        connection.commit()
    hot = HotPath(burst, grouped_outcomes=grouped)
    before = index_scans(burst)
    for post_id in range(1, 51):  # well past psycopg's prepare threshold
        now = utcnow()
        assert hot.start(post_id, f"a{post_id}", now=now, lease_until=now + timedelta(minutes=1), actor="test",
                         default_cutoff=now - timedelta(hours=1), cutoffs={}) is not None
        assert hot.published(post_id, f"a{post_id}", platform_id="p", url=None, now=utcnow(), actor="test")
    after = index_scans(burst)
    assert after[STATUS_INDEX] == before[STATUS_INDEX], "a start or success scanned the (status, due_at) index"
    assert after["pk_posts"] - before["pk_posts"] >= 100, "each move finds its post by its primary key"
