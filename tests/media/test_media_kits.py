"""The media test kit and the seed's featurette clip are real, small and deterministic (issue 13)."""

from __future__ import annotations

import os
from pathlib import Path

from promo.campaigns.probe import probe
from promo.manage.seed import featurette_clip
from tests.media import mediakit

SEED_CLIP = Path(__file__).resolve().parents[2] / "promo" / "manage" / "seed" / "media" / "featurette.mp4"


def test_the_kit_makes_real_videos_and_images(tmp_path: Path) -> None:
    assert probe(mediakit.tiny_video(tmp_path), "video/mp4")["width"] == 64
    assert probe(mediakit.vertical_video(tmp_path), "video/mp4")["height"] == 64
    long = mediakit.long_video(tmp_path)
    assert probe(long, "video/mp4")["duration_s"] >= 199 and long.stat().st_size < 50_000
    assert probe(mediakit.tiny_image(tmp_path, format="WEBP"), "image/webp")["codec"] == "webp"


def test_a_large_video_is_sparse_and_still_a_video(tmp_path: Path) -> None:
    big = mediakit.large_video(tmp_path, 500 * 1024 * 1024)
    assert big.stat().st_size == 500 * 1024 * 1024
    assert os.stat(big).st_blocks * 512 < 1024 * 1024            # no disk used
    assert probe(big, "video/mp4")["duration_s"] == 1.0


def test_each_copy_is_fresh(tmp_path: Path) -> None:
    first = mediakit.tiny_video(tmp_path, name="a.mp4")
    first.write_bytes(b"changed by a test")
    assert mediakit.tiny_video(tmp_path, name="b.mp4").read_bytes() != b"changed by a test"


def test_the_seed_featurette_is_a_small_deterministic_video() -> None:
    data = featurette_clip()
    assert data == featurette_clip() and len(data) < 200_000
    fields = probe(SEED_CLIP, "video/mp4")
    assert (fields["duration_s"], fields["width"], fields["height"], fields["codec"]) == (4.0, 256, 144, "h264")
