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


def test_the_packaged_seed_is_the_repositorys_example() -> None:
    """One seed: examples/ (the repository tour) and promo/manage/seed/ (what ships) are the same files."""
    from promo.manage.demo import SEED_CAMPAIGN, SEED_CONFIG, SEED_DIR

    pairs = [(ROOT / "examples" / "jessica-jones-s3.yaml", SEED_CAMPAIGN), (ROOT / "promo.toml", SEED_CONFIG)]
    pairs += [(path, SEED_DIR / "media" / path.name) for path in (ROOT / "examples" / "media").iterdir()]
    assert sorted(p.name for p in (SEED_DIR / "media").iterdir()) == sorted(
        p.name for p in (ROOT / "examples" / "media").iterdir())
    for repo_copy, shipped in pairs:
        assert repo_copy.read_bytes() == shipped.read_bytes(), f"copy {repo_copy} to {shipped}"


def test_the_seed_and_the_starter_are_package_data() -> None:
    """Every file ``promo demo`` and ``promo init`` read is matched by pyproject's package-data."""
    import tomllib

    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["promo"]
    package = ROOT / "promo"
    shipped = {path for pattern in patterns for path in package.glob(pattern) if path.is_file()}
    for folder in ("manage/seed", "manage/scaffold/project"):
        needed = {p for p in (package / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts}
        assert needed and needed <= shipped, sorted(map(str, needed - shipped))


def test_the_demo_reads_the_packaged_seed_whatever_the_folder(settings: Settings, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no examples/, promo.toml or templates/ here
    seen: list[Mapping[str, str]] = []

    @contextmanager
    def engine(env: Mapping[str, str], log: Path) -> Iterator[None]:
        seen.append(dict(env))
        yield

    result = run_demo(load_settings(home=tmp_path / "home"), engine, timeout=0.2)
    assert len(result.outcomes) == 64 and {o.status for o in result.outcomes} == {states.SCHEDULED}
    assert Path(seen[0]["PROMO_CONFIG_FILE"]).read_bytes() == (ROOT / "promo.toml").read_bytes()
