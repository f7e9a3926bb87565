"""``promo preview`` on video announcements, through the CLI (issue 13): one clear problem per bad file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.media import mediakit

REPO = Path(__file__).resolve().parents[2]
CONFIG = '[accounts.x]\nplatform = "x"\nhandle = "promo"\n'
CAMPAIGN = """\
campaign: videos
timezone: America/Los_Angeles
accounts: [x]
announcements:
"""
ITEM = """\
  - key: {key}
    kind: generic
    at: 2019-06-14 00:0{n}
    text: "Jessica Jones season 3"
    media:
      - {{path: media/{file}, alt: "Krysten Ritter on set"}}
"""


def promo(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(COLUMNS="200", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "promo", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "promo.toml").write_text(CONFIG)
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    body = "".join(ITEM.format(key=key, n=n, file=file) for n, (key, file) in enumerate(files.items()))
    (tmp_path / "campaign.yaml").write_text(CAMPAIGN + body)
    return tmp_path


def test_a_long_a_vertical_and_a_corrupt_video_are_one_problem_each(tmp_path: Path) -> None:
    media = tmp_path / "media"
    mediakit.long_video(media, seconds=192, name="trailer.mp4")
    mediakit.tiny_video(media, width=36, height=144, name="vertical.mp4")
    mediakit.corrupt_video(media, name="teaser.mp4")
    mediakit.tiny_video(media, name="fine.mp4")
    project(tmp_path, {"trailer": "trailer.mp4", "vertical": "vertical.mp4", "teaser": "teaser.mp4",
                       "fine": "fine.mp4"})
    shown = promo(tmp_path, "preview", "campaign.yaml")
    assert shown.returncode == 1, shown.stderr
    assert "Traceback" not in shown.stderr
    problems = [line.strip() for line in shown.stdout.splitlines() if line.startswith("    X: ")]
    assert problems == [
        "X: video 3:12 is over the 2:20 limit",
        "X: vertical video 36x144 (aspect 1:4) is outside the accepted 1:3 to 3:1",
        "X: campaign.yaml:22: announcements.teaser.media.path: media/teaser.mp4 cannot be read as a video "
        "(invalid data found when processing input): export it again or replace it",
    ]
    assert "[fine.mp4: video 0:01, 64x36, h264, 10 fps," in shown.stdout
    assert "3 of 4 posts break a platform rule" in shown.stdout


def test_preview_json_lists_each_media_file_with_what_probing_read(tmp_path: Path) -> None:
    mediakit.tiny_video(tmp_path / "media", name="fine.mp4")
    project(tmp_path, {"fine": "fine.mp4"})
    shown = promo(tmp_path, "preview", "campaign.yaml", "--json")
    assert shown.returncode == 0, shown.stderr
    (entry,) = json.loads(shown.stdout)
    (media,) = entry["media"]
    assert {k: media[k] for k in ("kind", "duration_s", "width", "height", "codec", "path")} == {
        "kind": "video", "duration_s": 1.0, "width": 64, "height": 36, "codec": "h264", "path": "media/fine.mp4"}
    assert media["size"] == (tmp_path / "media" / "fine.mp4").stat().st_size
