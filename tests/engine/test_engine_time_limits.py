"""The publish task's time limit, the ticks' stuck limits, and the timings the app refuses at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.errors import ConfigError
from promo.times import utcnow
from tests.engine.enginekit import settings_for
from workers.app import PUBLISH, create_app
from workers.tasks import publish, send_publish
from workers.ticks import LEDGER_TICK_STUCK_S, TICKS


def test_only_publish_is_a_task_and_it_carries_the_publish_limit(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", publish_time_limit=3.0))
    task = app.tasks[PUBLISH]
    assert (task.soft_time_limit, task.time_limit) == (None, 3.0)
    assert not {"promo.dispatch", "promo.sweep", "promo.reconcile"} & set(app.tasks), "ticks run in the beat"


def test_a_tick_is_stuck_only_after_its_work_could_have_ended(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", publish_time_limit=120.0,
                            http_timeout=10.0)
    stuck = {tick.name: tick.stuck_after(settings) for tick in TICKS}
    assert stuck["dispatch"] == stuck["sweep"] == LEDGER_TICK_STUCK_S >= 30  # the SQLite busy timeout, twice
    assert stuck["reconcile"] == LEDGER_TICK_STUCK_S + 50 * 10.0  # one http_timeout per lookup of a batch


def test_a_publish_message_carries_the_publish_limit(tmp_path: Path) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", publish_time_limit=7.0))
    sent: list[dict[str, object]] = []

    class Producer:
        def publish(self, body: object, **options: object) -> None:
            sent.append(dict(options))
    send_publish(app, Producer(), 1, "attempt", utcnow())
    assert app.tasks[publish.name].time_limit == 7.0
    assert sent[0]["headers"]["timelimit"] == [7.0, None]  # type: ignore[index]  # (hard, soft)


@pytest.mark.parametrize(("lookahead", "time_limit", "visibility", "ok"), [
    (2.0, 120.0, 3600, True),  # the defaults
    (2.0, 120.0, 244, True),  # exactly twice the 122 s a message may be held
    (2.0, 120.0, 243, False),
    (15.0, 3.0, 30, False),  # the old check (lookahead under half the timeout) let a long publish through
    (0.5, 3.0, 7, True),
])
def test_the_visibility_timeout_is_twice_the_longest_a_message_is_held(
    tmp_path: Path, lookahead: float, time_limit: float, visibility: int, ok: bool
) -> None:
    settings = settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", dispatch_lookahead=lookahead,
                            publish_time_limit=time_limit, visibility_timeout=visibility, http_timeout=0.8)
    if ok:
        create_app(settings)
        return
    with pytest.raises(ConfigError, match=r"visibility_timeout .* must be at least 2x dispatch_lookahead "
                                          r"\+ publish_time_limit .*PROMO_VISIBILITY_TIMEOUT"):
        create_app(settings)


def test_the_app_refuses_a_call_longer_than_its_publish(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"http_timeout .* must be shorter than publish_time_limit"):
        create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}", http_timeout=3.0,
                                publish_time_limit=3.0))
