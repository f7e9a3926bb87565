"""Each Celery task has its own time limits: a publish its ``publish_time_limit``, the rest their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.errors import ConfigError
from promo.times import utcnow
from tests.engine.enginekit import settings_for
from workers.app import DISPATCH, HARD_AFTER_SOFT_S, LEDGER_TASK_SOFT_LIMIT_S, PUBLISH, RECONCILE, SWEEP, create_app
from workers.tasks import publish, send_publish


def limits(tmp_path: Path, **overrides: float) -> dict[str, tuple[float | None, float | None]]:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", **overrides))
    return {name: (app.tasks[name].soft_time_limit, app.tasks[name].time_limit)
            for name in (PUBLISH, DISPATCH, SWEEP, RECONCILE)}


def test_short_ledger_tasks_outlive_a_short_publish_limit(tmp_path: Path) -> None:
    """The flaky engine test's settings: dispatch and sweep were killed at the 3 s publish limit."""
    found = limits(tmp_path, publish_time_limit=3.0, http_timeout=0.8)
    assert found[PUBLISH] == (None, 3.0)
    ledger_work = (LEDGER_TASK_SOFT_LIMIT_S, LEDGER_TASK_SOFT_LIMIT_S + HARD_AFTER_SOFT_S)
    assert found[DISPATCH] == found[SWEEP] == ledger_work
    assert LEDGER_TASK_SOFT_LIMIT_S >= 30  # longer than the SQLite store's busy timeout


def test_reconcile_has_time_for_every_lookup(tmp_path: Path) -> None:
    soft, hard = limits(tmp_path, publish_time_limit=120.0, http_timeout=10.0)[RECONCILE]
    assert soft == LEDGER_TASK_SOFT_LIMIT_S + 50 * 10.0 and hard == soft + HARD_AFTER_SOFT_S
    assert soft > 120.0  # no longer capped at the publish limit


def test_a_publish_message_carries_the_publish_limit(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", publish_time_limit=7.0))
    sent: list[dict[str, object]] = []

    class Producer:
        def publish(self, body: object, **options: object) -> None:
            sent.append(dict(options))
    send_publish(app, Producer(), 1, "attempt", utcnow())
    assert app.tasks[publish.name].time_limit == 7.0
    assert sent[0]["headers"]["timelimit"] == [7.0, None]  # type: ignore[index]  # (hard, soft)


def test_the_app_refuses_timings_that_would_deliver_twice_or_cut_a_call_short(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'promo.db'}"
    with pytest.raises(ConfigError, match=r"dispatch_lookahead .* must be well under visibility_timeout"):
        create_app(settings_for(tmp_path, url, dispatch_lookahead=15.0, visibility_timeout=30))
    with pytest.raises(ConfigError, match=r"http_timeout .* must be shorter than publish_time_limit"):
        create_app(settings_for(tmp_path, url, http_timeout=3.0, publish_time_limit=3.0))
