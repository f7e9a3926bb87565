"""promo.manage.demo with a stand-in engine: the seed campaign is queued in a fresh demo home, the
caller's starter runs the engine around the watch, progress comes through the callback, and a
timeout is a result, not an error. (tests/engine/test_engine_commands.py runs the real one.)"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from promo.errors import ConfigError
from promo.manage.demo import Arrived, DemoEvent, Queued, run_demo
from promo.settings import Settings, load_settings
from promo.store import states

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("PROMO_BROKER_URL", "redis://127.0.0.1:9/0")  # the demo's engine must not see it
    return load_settings(home=tmp_path / "home", config_file=ROOT / "promo.toml",
                         templates_dir=ROOT / "templates")


def test_demo_queues_runs_the_engine_around_the_watch_and_reports(settings: Settings) -> None:
    started: list[Any] = []

    @contextmanager
    def engine(env: Mapping[str, str], log: Path) -> Iterator[None]:
        started.append((dict(env), log))
        line = {"published_at": "2030-01-01T09:00:00+00:00", "account": "jj-x", "parts": [{"text": "hi\nmore"}]}
        (Path(env["PROMO_HOME"]) / "outbox.jsonl").write_text(json.dumps(line) + "\n")
        yield
        started.append("stopped")

    events: list[DemoEvent] = []
    result = run_demo(settings, engine, timeout=0.5, report=events.append)
    queued, arrived = events[0], events[1:]
    assert isinstance(queued, Queued) and queued.posts == len(result.outcomes) > 10
    assert arrived == [Arrived("2030-01-01T09:00:00+00:00", "jj-x", "hi", 1, queued.posts)]
    env, log = started[0]
    assert env["PROMO_PUBLISH_MODE"] == "outbox" and "PROMO_BROKER_URL" not in env
    assert env["PROMO_HOME"] == str(result.home.resolve()) and log == result.engine_log
    assert started[1] == "stopped"
    assert result.timed_out and not result.ok and result.published == 0
    assert {o.status for o in result.outcomes} == {states.SCHEDULED}


def test_a_missing_campaign_file_is_refused_before_anything_starts(settings: Settings) -> None:
    def engine(env: Mapping[str, str], log: Path) -> Any:
        raise AssertionError("the engine must not start")

    with pytest.raises(ConfigError, match="campaign file not found"):
        run_demo(settings, engine, campaign_file=Path("no/such.yaml"))
    assert not (settings.home / "demo").exists()
