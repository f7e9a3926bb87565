"""The engine's commands: compose file, status, pause/resume/retry/resolve, and the demo."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from promo.cli import COMMANDS
from tests.engine.enginekit import add_post, engine_env, make_store, statuses, write_config

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_only_real_commands() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"redis", "postgres", "migrate", "worker", "beat", "flower"} <= set(services)
    assert "noeviction" in services["redis"]["command"] and "--appendonly" in services["redis"]["command"]
    for name, service in services.items():
        command = service.get("command") or []
        if command[:1] == ["promo"]:
            assert command[1] in COMMANDS, f"{name}: promo {command[1]} is not a command"
        if command[:1] == ["celery"]:
            module = command[command.index("-A") + 1]
            assert hasattr(__import__(module, fromlist=["app"]), "__getattr__"), name


def promo(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from promo.cli import main; main()", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_pause_resume_retry_resolve_and_status(tmp_path: Path, redis_server: Any) -> None:
    url = f"sqlite:///{tmp_path / 'promo.db'}"
    store = make_store(url)
    write_config(tmp_path, "http://127.0.0.1:9/hook")
    env = engine_env(tmp_path, url, redis_server.url, "s3cret")
    first, second = add_post(store, campaign=None), add_post(store, account="box", platform="outbox")
    assert "1 post(s) held" in promo(tmp_path, env, "pause", "--account", "hook").stdout
    assert statuses(store) == {first: "paused", second: "scheduled"}
    shown = promo(tmp_path, env, "status", "--json")
    assert shown.returncode == 3, shown.stderr  # a post waits and no worker is alive
    assert '"broker_ok": true' in shown.stdout and '"account hook"' in shown.stdout
    assert "1 post(s) released" in promo(tmp_path, env, "resume").stdout
    refused = promo(tmp_path, env, "retry", str(first))
    assert refused.returncode == 1 and "cannot retry" in refused.stderr and "Traceback" not in refused.stderr
    missing = promo(tmp_path, env, "resolve", "999", "--not-published")
    assert missing.returncode == 1 and "no post with id 999" in missing.stderr
    down = dict(env, PROMO_BROKER_URL="redis://127.0.0.1:9/0")
    assert promo(tmp_path, down, "status").returncode == 4


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_demo_publishes_the_seed_campaign_without_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env["PROMO_HOME"] = str(tmp_path / "home")
    done = subprocess.run(
        [sys.executable, "-c", "from promo.cli import main; main()", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=80,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert " published to " in done.stdout
    outbox = (tmp_path / "home" / "demo" / "outbox.jsonl").read_text().splitlines()
    assert len(outbox) >= 10
