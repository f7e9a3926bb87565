"""A database blip at the publish fence is ridden out in the publish itself (``_start_through_blips``).

On a PostgreSQL database of this test's own (so its connections can be ended, and refused, without
touching any other test's): the runtime's pool is warm, every connection to the database is ended
with ``pg_terminate_backend``, and the publish that comes next, within the second in which promo's
pool does not ping a connection, meets a dead one at its fence. It tries again and publishes at
once, instead of leaving its post ``queued`` for the sweeper. A database that stays away longer than
the retries: the error reaches the task, and the post stays ``queued`` under its attempt (nothing
was sent), for the sweeper to take back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import OperationalError

from promo.engine.dispatch import dispatch
from promo.engine.publishing import START_RETRY_WAITS_S, publish_claimed
from promo.store.db import make_engine
from tests.conftest import POSTGRES_URL
from tests.e2e.chaoskit import fresh_database, postgres_available
from tests.engine.enginekit import add_post, make_store, post, runtime_for, settings_for, write_config
from tests.fakes.webhook import SECRET, Receiver

pytestmark = [pytest.mark.postgres]


@pytest.fixture
def own_database() -> Iterator[tuple[str, str]]:
    if not postgres_available(POSTGRES_URL):
        pytest.fail(f"PostgreSQL is not reachable at {make_url(POSTGRES_URL).host}:{make_url(POSTGRES_URL).port}")
    with fresh_database(POSTGRES_URL) as (url, name):
        make_store(url).dispose()
        yield url, name


@pytest.fixture
def admin() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def end_connections(admin: Engine, database: str) -> int:
    with admin.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db "
            "AND pid <> pg_backend_pid()"), {"db": database}).scalar_one())


def claim_one(tmp_path: Path, url: str, receiver: Receiver) -> tuple[Any, int, str]:
    write_config(tmp_path, receiver.url)
    rt = runtime_for(settings_for(tmp_path, url), make_engine(url), SECRET)
    post_id = add_post(rt.db)
    claims = dispatch(rt.db, rt.settings, rt.accounts)  # also warms the runtime's pool
    return rt, post_id, next(c.attempt_id for c in claims if c.post_id == post_id)


def test_a_connection_ended_at_the_fence_is_tried_again_and_the_post_goes_out_at_once(
    tmp_path: Path, own_database: tuple[str, str], admin: Engine, receiver: Receiver
) -> None:
    url, database = own_database
    rt, post_id, attempt = claim_one(tmp_path, url, receiver)
    waits: list[float] = []
    try:
        assert end_connections(admin, database) >= 1  # the runtime's pooled connection among them
        assert publish_claimed(rt, post_id, attempt, sleep=waits.append) == "published"
    finally:
        rt.db.dispose()
    assert waits == [START_RETRY_WAITS_S[0]]  # the dead connection once, then a fresh one
    assert len(receiver.calls) == 1
    checker = make_engine(url)
    assert post(checker, post_id).status == "published"
    checker.dispose()


def test_a_database_away_longer_than_the_retries_leaves_the_post_queued(
    tmp_path: Path, own_database: tuple[str, str], admin: Engine, receiver: Receiver
) -> None:
    url, database = own_database
    rt, post_id, attempt = claim_one(tmp_path, url, receiver)
    waits: list[float] = []
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
    try:
        end_connections(admin, database)
        with pytest.raises(OperationalError):
            publish_claimed(rt, post_id, attempt, sleep=waits.append)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        rt.db.dispose()
    assert waits == list(START_RETRY_WAITS_S)  # every retry, then the error for the task
    assert receiver.calls == []  # nothing sent
    checker = make_engine(url)
    row = post(checker, post_id)
    checker.dispose()
    assert (row.status, row.attempt_id) == ("queued", attempt)  # the sweeper takes it back at its lease
