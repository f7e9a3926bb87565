"""docker-compose.yml can't run here (no Docker engine): check what can be checked without one."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from promo.cli import COMMANDS
from promo.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_built_service_has_a_dockerfile_whose_sources_exist() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    contexts = {s["build"] for s in compose["services"].values() if "build" in s}
    assert contexts == {"."}
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), f"Dockerfile copies missing {source}"
    command = re.search(r'^CMD \["promo", "(\w+)"', dockerfile, re.MULTILINE)
    assert command and command.group(1) in COMMANDS


def test_compose_mounts_existing_files() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), source


def test_env_example_names_real_settings_with_valid_values(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("PROMO_") and "=" in line and not line.startswith("PROMO_ACCOUNT_"):
            name, value = line.split("=", 1)
            assert name[len("PROMO_"):].lower() in Settings.model_fields, name
            monkeypatch.setenv(name, value)
    Settings(_env_file=None)  # type: ignore[call-arg]


def test_celery_app_is_importable_by_name() -> None:
    from celery import Celery

    from workers.app import app

    assert isinstance(app, Celery)


def test_every_worker_and_beat_shares_one_home_volume() -> None:
    """A relative outbox path is in PROMO_HOME: scaled workers must share it (docs/platforms/outbox.md)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    home = re.search(r"^ENV PROMO_HOME=(\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert home is not None
    for name in ("worker", "beat", "metrics"):
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in compose["services"][name]["volumes"]}
        assert mounts.get(home.group(1)) == "promo-home", name
    assert "promo-home" in compose["volumes"]
