"""The README's tour, run as real commands in a scratch copy of the repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def promo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    result = subprocess.run([sys.executable, "-m", "promo", *args], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_tour(tmp_path: Path) -> None:
    for name in ("promo.toml", "templates", "examples"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)

    preview = promo(tmp_path, "preview", "examples/jessica-jones-s3.yaml", "--json")
    assert preview.returncode == 0, preview.stderr
    entries = json.loads(preview.stdout)
    assert {e["platform"] for e in entries} >= {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook",
                                                "telegram", "discord", "slack"}
    assert all(e["ok"] for e in entries)

    too_long = promo(tmp_path, "check", "--platform", "x", "a" * 281)
    assert too_long.returncode == 1 and "281/280" in too_long.stdout + too_long.stderr

    assert promo(tmp_path, "init", "my-campaign").returncode == 0
    project = tmp_path / "my-campaign"
    assert promo(project, "preview", "campaign.yaml").returncode == 0
    first = json.loads(promo(project, "apply", "campaign.yaml", "--json").stdout)
    assert first["created"]
    again = json.loads(promo(project, "apply", "campaign.yaml", "--json").stdout)
    assert not again["created"] and not again["changed"] and not again["cancelled"]
    queue = json.loads(promo(project, "queue", "--json").stdout)
    assert len(queue) == len(first["created"])
