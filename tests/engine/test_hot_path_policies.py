"""The hot path's start admits a post exactly when no policy in ``promo.engine.policies`` could object.

``promo.store.hot_path`` writes the policies out as SQL (no pause, due and past its embargo, its
account not blocked, within its allowed lateness, no lateness of its own, no rate limit); the
SQLAlchemy path asks ``promo.engine.policies`` in Python. Hypothesis builds posts around the
boundaries (a due time exactly at a cut-off, an embargo a microsecond away) and the two must agree:
a post the hot path does not move goes to the SQLAlchemy path, which decides as before.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from promo.engine.policies import lateness_reason, send_time
from promo.engine.publishing import _start_lean, start
from promo.engine.runtime import Runtime
from promo.store import states
from promo.store.db import transaction
from promo.store.tables import AccountState, Hold, PostRow
from tests.engine.enginekit import make_store, runtime_for, settings_for

NOW = datetime(2019, 6, 14, 7, 0, tzinfo=UTC)
ACCOUNTS = ("plain", "late", "limited", "unconfigured")
CONFIG = ('[accounts.plain]\nplatform = "outbox"\n\n[accounts.late]\nplatform = "outbox"\nmax_lateness = "30m"\n\n'
          '[accounts.limited]\nplatform = "outbox"\nrate_limit = "5/1h"\n')
DEFAULT_LATENESS = timedelta(hours=6)
# offsets from now, in microseconds, crowded around the cut-offs (0, the default and the 30-minute lateness)
EDGES = [0, -DEFAULT_LATENESS // timedelta(microseconds=1), -1800 * 10**6]
OFFSETS = st.one_of(st.sampled_from(EDGES), st.sampled_from(EDGES).map(lambda e: e + 1),
                    st.sampled_from(EDGES).map(lambda e: e - 1), st.integers(-30 * 3600 * 10**6, 60 * 10**6))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    folder: Path = tmp_path_factory.mktemp("hot")
    (folder / "promo.toml").write_text(CONFIG, encoding="utf-8")
    engine = make_store(f"sqlite:///{folder / 'promo.db'}")
    config = settings_for(folder, f"sqlite:///{folder / 'promo.db'}", max_lateness=DEFAULT_LATENESS)
    yield runtime_for(config, engine, "unused: no webhook account")
    engine.dispose()


def at(offset: int | None) -> datetime | None:
    return None if offset is None else NOW + timedelta(microseconds=offset)


def queued_post(engine: Engine, account: str, scheduled: int, due: int, not_before: int | None,
                max_lateness_s: int | None) -> PostRow:
    row = PostRow(idempotency_key=uuid.uuid4().hex, account=account, platform="outbox",
                  payload={"parts": [{"text": "Jessica Jones", "media": []}], "link": None}, digest="-",
                  status=states.QUEUED, attempt_id="a" * 32, scheduled_at=at(scheduled), due_at=at(due),
                  not_before=at(not_before), max_lateness_s=max_lateness_s, created_at=NOW, updated_at=NOW)
    with transaction(engine) as session:
        session.add(row)
        session.flush()
        session.expunge(row)
    return row


def set_scene(engine: Engine, held: bool, account: str, blocked: int | None) -> None:
    with transaction(engine) as session:
        session.execute(text("DELETE FROM holds"))
        session.execute(text("DELETE FROM account_state"))
        if held:
            session.add(Hold(scope="account", value="someone-else", created_at=NOW))
        if blocked is not None:
            session.add(AccountState(account=account, blocked_until=at(blocked), window_count=0))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(account=st.sampled_from(ACCOUNTS), scheduled=OFFSETS, due=OFFSETS,
       not_before=st.none() | OFFSETS, max_lateness_s=st.none() | st.integers(0, 7200),
       held=st.booleans(), blocked=st.none() | OFFSETS)
# exactly at each cut-off: a post due exactly its allowed lateness ago may still go, as in Python
@example(account="plain", scheduled=EDGES[1], due=0, not_before=None, max_lateness_s=None, held=False, blocked=None)
@example(account="late", scheduled=EDGES[2], due=0, not_before=None, max_lateness_s=None, held=False, blocked=0)
@example(account="unconfigured", scheduled=EDGES[1] - 1, due=-1, not_before=EDGES[1], max_lateness_s=None,
         held=False, blocked=None)
@example(account="plain", scheduled=-1, due=-1, not_before=0, max_lateness_s=None, held=False, blocked=1)
def test_the_hot_start_moves_a_post_exactly_when_no_policy_objects(
    runtime: Runtime, account: str, scheduled: int, due: int, not_before: int | None, max_lateness_s: int | None,
    held: bool, blocked: int | None,
) -> None:
    set_scene(runtime.db, held, account, blocked)
    row = queued_post(runtime.db, account, scheduled, due, not_before, max_lateness_s)
    configured = runtime.accounts.get(account)
    may_go = send_time(row, at(blocked))[0] <= NOW and lateness_reason(row, configured, runtime.settings, NOW) is None
    simple = max_lateness_s is None and (configured is None or configured.rate_limit is None)
    moved = _start_lean(runtime, row.id, "a" * 32, NOW)
    assert (moved is not None) == (may_go and simple and not held)  # any pause: the SQLAlchemy path looks closer
    if moved is None:  # the SQLAlchemy path decides, and never starts a post a policy objects to
        started = start(runtime, row.id, "a" * 32, NOW, early_ok=False)
        assert started.row is None or may_go
