"""promo.manage.pauses: a pause names something that exists, or nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from promo.errors import ConfigError
from promo.manage.pauses import Scope, pause, resume
from promo.planning.apply import apply_plan
from promo.planning.plan import plan
from tests.store.storekit import PREMIERE, campaign, event_count


@pytest.fixture
def queued(engine: Engine) -> Engine:
    apply_plan(engine, plan(engine, *campaign({"premiere": (PREMIERE, "Tonight"),
                                               "countdown": (PREMIERE - timedelta(days=3), "3 days")})))
    return engine


def test_a_scope_must_name_something_known(queued: Engine) -> None:
    before = event_count(queued)
    with pytest.raises(ConfigError, match=r"unknown campaign 'nosuch' \(known: jessica-jones-s3;"):
        pause(queued, Scope("campaign", "nosuch"))
    with pytest.raises(ConfigError, match=r"unknown account 'nosuch' \(known: jj-masto, jj-x, jj-y;"):
        pause(queued, Scope("account", "nosuch"), accounts={"jj-y"})
    with pytest.raises(ConfigError, match="needs a name"):
        pause(queued, Scope("campaign", " "))
    with pytest.raises(ConfigError, match="no pause on campaign jessica-jones-s3"):
        resume(queued, Scope("campaign", "jessica-jones-s3"))
    assert event_count(queued) == before
    assert pause(queued, Scope("account", "jj-y"), accounts={"jj-y"}) == 0  # configured, no posts yet
    assert pause(queued, Scope("campaign", "jessica-jones-s3")) == 4
    assert resume(queued, Scope("campaign", "jessica-jones-s3")) == 4
