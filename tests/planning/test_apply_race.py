"""Two ``promo apply`` runs of one file at the same moment, each with its own engine: never two rows.

Both plans are read before either writes (so both say "new"), then a barrier lets both applies go
at once. The ledger keeps one live post per campaign, announcement and account, so one apply
creates each post and the other reports it ``locked`` ("another apply created it first").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from promo.planning.apply import apply_plan
from promo.planning.plan import ApplyResult, Plan, plan
from promo.store.db import make_engine, transaction
from promo.store.tables import Announcement, Campaign, PostRow
from tests.store.storekit import PREMIERE, campaign

FILE = {"premiere": (PREMIERE, "Jessica Jones season 3 premieres tonight")}
MORE = {**FILE, "countdown": (PREMIERE - timedelta(days=3), "3 days to Jessica Jones season 3")}


def race(database_url: str, make_plan: Callable[[Engine], Plan]) -> list[ApplyResult]:
    """Plan on two engines, then apply both at once; each apply's result."""
    engines = [make_engine(database_url) for _ in range(2)]
    plans = [make_plan(e) for e in engines]
    barrier, results, errors = threading.Barrier(2, timeout=30), [], []

    def one(index: int) -> None:
        try:
            barrier.wait()
            results.append(apply_plan(engines[index], plans[index]))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for engine in engines:
        engine.dispose()
    assert not errors, errors
    assert len(results) == 2
    return results


def identities(engine: Engine) -> list[tuple[Any, ...]]:
    with transaction(engine) as session:
        return list(session.execute(select(PostRow.announcement, PostRow.account, func.count())
                                    .group_by(PostRow.announcement, PostRow.account)).tuples())


def created_once(engine: Engine, results: list[ApplyResult], posts: int) -> None:
    assert all(count == 1 for *_, count in identities(engine))  # never a second row
    created = [e for r in results for e in r.by_action("created")]
    raced = [e for r in results for e in r.by_action("locked")]
    assert len(created) == posts and len(raced) == posts  # each post: one apply made it, the other says so
    assert all(e.reason == "not written: another apply created it first" for e in raced)


def test_two_applies_of_a_new_campaign_create_each_post_once(engine: Engine, database_url: str) -> None:
    results = race(database_url, lambda e: plan(e, *campaign(FILE)))
    created_once(engine, results, posts=2)
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1
        assert session.scalar(select(func.count()).select_from(Announcement)) == 1


def test_two_applies_adding_an_announcement_create_its_posts_once(engine: Engine, database_url: str) -> None:
    apply_plan(engine, plan(engine, *campaign(FILE)))
    results = race(database_url, lambda e: plan(e, *campaign(MORE)))
    created_once(engine, results, posts=2)
    assert len(identities(engine)) == 4


def test_two_applies_adding_an_account_create_its_post_once(engine: Engine, database_url: str) -> None:
    apply_plan(engine, plan(engine, *campaign(FILE)))
    accounts = ("jj-x", "jj-masto", "jj-masto2")
    results = race(database_url, lambda e: plan(e, *campaign(FILE, accounts=accounts)))
    created_once(engine, results, posts=1)
    assert len(identities(engine)) == 3


def test_the_ledger_refuses_a_second_live_post_for_one_announcement_and_account(engine: Engine) -> None:
    """The guarantee lives in the schema, not in the order apply takes its locks."""
    apply_plan(engine, plan(engine, *campaign(FILE)))
    with transaction(engine) as session:
        first = session.scalars(select(PostRow).order_by(PostRow.id)).first()
        assert first is not None and first.generation == 0
        copy = {c.key: getattr(first, c.key) for c in PostRow.__table__.columns if c.key != "id"}
    with pytest.raises(IntegrityError), transaction(engine) as session:
        session.add(PostRow(**{**copy, "idempotency_key": "promo-another"}))
