"""``overflow: transcode`` (issue 13): a video a platform would refuse, re-encoded to fit, only where asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.campaigns.preview import render_file
from promo.campaigns.probe import probe
from promo.campaigns.transcode import encode, target_for, transcode_post
from promo.posts import Media, Post
from promo.rules.video import VideoRules
from tests.media import mediakit

HEAD = """\
campaign: demo
timezone: America/Los_Angeles
fields: {show: Jessica Jones, season: 3, network: Netflix, link: https://example.com/jj, hashtags: [JJ]}
accounts: [x, box]
announcements:
  - key: premiere
    kind: premiere
    at: 2019-06-14 00:01
    media:
      - {path: media/clip.mkv, alt: A clip}
"""


def probed(path: Path, root: Path) -> Media:
    relative = path.relative_to(root).as_posix()
    return Media(relative, "A clip", path.stat().st_size, "video/mp4", root=str(root), **probe(path, "video/mp4"))


def test_refused_by_default_and_transcoded_where_asked(tmp_path: Path, write_campaign, accounts,
                                                       templates) -> None:
    mediakit.tiny_video(tmp_path / "media", container="matroska", fps=30, name="clip.mkv")
    plain = write_campaign(HEAD)
    _, rendered = render_file(plain, accounts, templates)
    x = next(r for r in rendered if r.scheduled.post.platform == "x")
    assert [p.message for p in x.report.problems] == [
        "X: video container mkv is not accepted (accepted: m4v, mov, mp4)"]
    assert not (tmp_path / "media" / ".transcoded").exists()

    asked = write_campaign(HEAD.replace("accounts: [x, box]\n", "accounts: [x, box]\ndefaults:\n"
                                        "  platforms: {x: {overflow: transcode}}\n"))
    _, rendered = render_file(asked, accounts, templates)
    by_platform = {r.scheduled.post.platform: r for r in rendered}
    assert by_platform["x"].ok, by_platform["x"].report.problems
    (media,) = by_platform["x"].scheduled.post.media
    assert media.path.startswith("media/.transcoded/clip-") and media.path.endswith(".mp4")
    assert (media.container, media.codec, media.width, media.height) == ("mp4", "h264", 64, 36)
    assert by_platform["outbox"].scheduled.post.media[0].path == "media/clip.mkv"   # only where asked
    _, again = render_file(asked, accounts, templates)     # the same file again: the same digest
    assert [r.scheduled.digest for r in again] == [r.scheduled.digest for r in rendered]


def test_too_large_a_picture_and_frame_rate_are_scaled_down(tmp_path: Path) -> None:
    source = mediakit.tiny_video(tmp_path, width=128, height=72, fps=30, audio=True, name="big.mp4")
    rules = VideoRules(max_width=64, max_height=64, max_fps=10)
    (media,) = transcode_post(Post.single("x", "a", "t", probed(source, tmp_path)), rules).media
    assert (media.width, media.height, media.fps) == (64, 36, 10.0)


def test_a_rotated_video_keeps_its_orientation(tmp_path: Path) -> None:
    source = mediakit.tiny_video(tmp_path, width=128, height=72, rotation=90, name="upright.mp4")
    rules = VideoRules(max_width=36, max_height=64)
    (media,) = transcode_post(Post.single("x", "a", "t", probed(source, tmp_path)), rules).media
    assert (media.width, media.height, media.rotation) == (36, 64, 90)


def test_what_a_transcode_cannot_fix_is_left_to_the_editor(tmp_path: Path) -> None:
    source = mediakit.long_video(tmp_path, seconds=20)
    media = probed(source, tmp_path)
    assert target_for(media, VideoRules(max_duration_s=10)) is None
    assert target_for(media, VideoRules(min_aspect=1.0, max_aspect=1.0)) is None
    assert target_for(media, VideoRules(max_bytes=100)) is None          # no bitrate fits


def test_a_transcode_is_bounded_in_time(tmp_path: Path) -> None:
    source = mediakit.long_video(tmp_path, seconds=50)
    media = probed(source, tmp_path)
    target = target_for(media, VideoRules(max_fps=0.5))
    assert target is not None
    with pytest.raises(TimeoutError):
        encode(source, tmp_path / "out.mp4", target, time_limit=0.0)
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.part").exists()
