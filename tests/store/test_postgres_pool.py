"""PostgreSQL's pool pings a connection only after it sat idle: a dead one is replaced, a fresh one is trusted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from promo.store import db
from promo.store.db import make_engine

pytestmark = pytest.mark.postgres


@pytest.fixture
def pool(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(text("SELECT pg_backend_pid()")))


def terminate(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        assert connection.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    pool: Engine, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    first = backend_pid(pool)
    terminate(postgres_url, first)
    assert backend_pid(pool) != first  # no error: the ping found it dead and the pool reconnected


def test_a_connection_used_moments_ago_is_not_pinged_and_a_failure_empties_the_pool(
    pool: Engine, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)  # nothing counts as idle
    first = backend_pid(pool)
    terminate(postgres_url, first)
    with pytest.raises(OperationalError), pool.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert backend_pid(pool) != first  # the failed statement invalidated the pool; the next one works
