"""Media paths are stored relative to the campaign file (issue 13): moving a checkout changes no digest,
and a real worker in the new place still finds the file."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from promo.engine.publishing import media_root
from promo.platforms.media import local_path
from promo.posts import Post
from promo.store.db import make_engine
from promo.times import iso, utcnow
from tests.media import mediakit

REPO = Path(__file__).resolve().parents[2]
CONFIG = '[accounts.out]\nplatform = "outbox"\npath = "outbox.jsonl"\n'
CAMPAIGN = """\
campaign: moving
timezone: UTC
accounts: [out]
announcements:
  - key: featurette
    kind: generic
    at: {at}
    max_lateness: 1h
    text: "The featurette"
    media:
      - {{path: media/featurette.mp4, alt: "Krysten Ritter directing"}}
"""


def promo(cwd: Path, *args: str, wait: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    return subprocess.run([sys.executable, "-m", "promo", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def digests(folder: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(folder / ".promo" / "promo.db") as db:
        return db.execute("SELECT digest, payload FROM posts ORDER BY id").fetchall()


def checkout(folder: Path) -> Path:
    (folder / "promo.toml").parent.mkdir(parents=True)
    (folder / "promo.toml").write_text(CONFIG)
    shutil.copytree(REPO / "templates", folder / "templates")
    mediakit.tiny_video(folder / "media", name="featurette.mp4")
    at = iso((utcnow() + timedelta(seconds=2)).replace(microsecond=0))
    (folder / "campaign.yaml").write_text(CAMPAIGN.format(at=at))
    return folder


@pytest.mark.slow
def test_moving_the_checkout_changes_no_digest_and_the_worker_finds_the_file(tmp_path: Path) -> None:
    first = checkout(tmp_path / "first")
    applied = promo(first, "apply", str(first / "campaign.yaml"), "--yes", "--json")
    assert applied.returncode == 0, applied.stderr
    before = digests(first)
    stored = json.loads(before[0][1])["parts"][0]["media"][0]
    assert stored["path"] == "media/featurette.mp4"           # relative to the campaign file
    assert (stored["duration_s"], stored["width"], stored["height"], stored["codec"]) == (1.0, 64, 36, "h264")

    moved = tmp_path / "elsewhere" / "second"
    moved.parent.mkdir()
    shutil.move(first, moved)
    again = json.loads(promo(moved, "apply", str(moved / "campaign.yaml"), "--yes", "--json").stdout)
    assert not again["created"] and not again["changed"] and not again["cancelled"]
    assert digests(moved) == before

    engine = make_engine(f"sqlite:///{moved / '.promo' / 'promo.db'}")
    payload = json.loads(before[0][1])
    post = Post.from_payload("outbox", "out", payload, media_root=media_root(engine, "moving", payload))
    assert local_path("outbox", post.media[0]) == moved / "media" / "featurette.mp4"
    engine.dispose()

    runner = subprocess.Popen([sys.executable, "-m", "promo", "run"], cwd=moved, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env={k: v for k, v in os.environ.items() if not k.startswith("PROMO_")})
    try:
        outbox = moved / ".promo" / "outbox.jsonl"  # a relative outbox path is in promo's home
        deadline = time.monotonic() + 60
        while not outbox.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        (line,) = outbox.read_text().splitlines()
        # the outbox is written during the call, the outcome just after it: wait for it before the kill
        while statuses(moved) != ["published"] and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(runner.pid, 9)
        runner.wait(10)
    assert json.loads(line)["parts"][0]["media"][0]["path"] == "media/featurette.mp4"
    assert statuses(moved) == ["published"]


def statuses(project: Path) -> list[str]:
    return [p["status"] for p in json.loads(promo(project, "queue", "--all", "--json").stdout)]
