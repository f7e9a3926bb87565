"""Media probing at campaign load (issue 13): real files made by tests/media/mediakit, read by PyAV and Pillow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PIL import Image

from promo.campaigns import load_campaign
from promo.campaigns.media import captions_problem
from promo.campaigns.probe import Unreadable, probe
from promo.errors import CampaignError
from tests.media import mediakit

HEAD = """\
campaign: demo
timezone: America/Los_Angeles
fields: {show: Jessica Jones, season: 3, network: Netflix, link: https://example.com/jj, hashtags: [JJ]}
accounts: [x, masto, sky, box]
announcements:
  - key: premiere
    kind: premiere
    at: 2019-06-14 00:01
    media:
"""


def test_a_video_is_probed(tmp_path: Path) -> None:
    fields = probe(mediakit.tiny_video(tmp_path, audio=True), "video/mp4")
    assert fields["width"] == 64 and fields["height"] == 36 and fields["fps"] == 10
    assert fields["codec"] == "h264" and fields["container"] == "mp4" and fields["rotation"] == 0
    assert 0.9 <= fields["duration_s"] <= 1.1 and fields["bitrate"] > 0


def test_width_and_height_are_as_displayed_after_rotation(tmp_path: Path) -> None:
    fields = probe(mediakit.tiny_video(tmp_path, rotation=90), "video/mp4")
    assert (fields["width"], fields["height"], fields["rotation"]) == (36, 64, 90)


def test_other_containers_and_a_long_video(tmp_path: Path) -> None:
    assert probe(mediakit.tiny_video(tmp_path, container="matroska"), "video/x-matroska")["container"] == "mkv"
    assert probe(mediakit.long_video(tmp_path), "video/mp4")["duration_s"] == pytest.approx(200, abs=1)


def test_a_probe_reads_headers_not_the_whole_file(tmp_path: Path) -> None:
    big = mediakit.large_video(tmp_path, 2 * 1024**3)      # sparse: 2 GB that take no disk
    started = time.monotonic()
    fields = probe(big, "video/mp4")
    assert fields["width"] == 64 and time.monotonic() - started < 5


@pytest.mark.parametrize("make", [mediakit.corrupt_video, mediakit.not_a_video])
def test_a_damaged_or_false_video_is_unreadable(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Unreadable, match="cannot be read as a video"):
        probe(make(tmp_path), "video/mp4")


def test_images_and_animation(tmp_path: Path) -> None:
    assert probe(mediakit.tiny_image(tmp_path, format="JPEG"), "image/jpeg") == {
        "width": 64, "height": 36, "codec": "jpeg", "animated": False}
    assert probe(mediakit.animated_gif(tmp_path), "image/gif")["animated"] is True
    with pytest.raises(Unreadable, match="not an image"):
        probe(mediakit.not_a_video(tmp_path, name="poster.png"), "image/png")


def test_a_decompression_bomb_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (10_000, 10_000)).save(bomb)    # 100 megapixels in a few kilobytes
    with pytest.raises(Unreadable, match="too large to decode safely"):
        probe(bomb, "image/png")


def test_loading_keeps_probed_fields_and_relative_paths(tmp_path: Path, write_campaign, accounts,
                                                        templates) -> None:
    mediakit.tiny_video(tmp_path / "media", name="clip.mp4")
    mediakit.tiny_image(tmp_path / "media", name="cover.png")
    mediakit.captions_file(tmp_path / "media", format="vtt")
    path = write_campaign(HEAD + "      - {path: media/clip.mp4, alt: A clip, cover: media/cover.png, "
                                "captions: media/captions.vtt}\n")
    (media,) = load_campaign(path, accounts, templates).announcements[0].media
    assert (media.path, media.cover, media.captions) == ("media/clip.mp4", "media/cover.png", "media/captions.vtt")
    assert (media.kind, media.width, media.height, media.codec) == ("video", 64, 36, "h264")
    assert media.root == str(tmp_path)
    stored = media.to_dict()
    assert stored["duration_s"] == 1.0 and "root" not in stored


def test_a_cover_may_be_a_frame_time_within_the_video(tmp_path: Path, write_campaign, accounts,
                                                      templates) -> None:
    mediakit.tiny_video(tmp_path / "media", name="clip.mp4")
    good = write_campaign(HEAD + "      - {path: media/clip.mp4, alt: A clip, cover: '00:00:00.5'}\n")
    (media,) = load_campaign(good, accounts, templates).announcements[0].media
    assert (media.cover, media.cover_time) == ("0.5", 0.5)
    late = write_campaign(HEAD + "      - {path: media/clip.mp4, alt: A clip, cover: 3}\n")
    with pytest.raises(CampaignError, match=r":10: announcements.premiere.media.cover: cover time 3 s is outside"):
        load_campaign(late, accounts, templates)


@pytest.mark.parametrize(("extra", "message"), [
    ("captions: media/missing.srt", "captions file not found: media/missing.srt"),
    ("captions: media/notes.srt", "no caption cue found"),
    ("cover: media/notes.srt", "a cover is an image file or a frame time"),
])
def test_cover_and_captions_are_checked(tmp_path: Path, write_campaign, accounts, templates, extra: str,
                                        message: str) -> None:
    mediakit.tiny_video(tmp_path / "media", name="clip.mp4")
    (tmp_path / "media" / "notes.srt").write_text("not captions at all\n")
    path = write_campaign(HEAD + f"      - {{path: media/clip.mp4, alt: A clip, {extra}}}\n")
    with pytest.raises(CampaignError, match=message) as caught:
        load_campaign(path, accounts, templates)
    assert caught.value.file == str(path) and caught.value.line == 10


def test_captions_files_parse_as_srt_or_vtt(tmp_path: Path) -> None:
    assert captions_problem(mediakit.captions_file(tmp_path, format="srt")) is None
    assert captions_problem(mediakit.captions_file(tmp_path, format="vtt")) is None
    backwards = tmp_path / "backwards.srt"
    backwards.write_text("1\n00:00:02,000 --> 00:00:01,000\nHello\n")
    assert "ends before it starts" in str(captions_problem(backwards))


def test_an_unreadable_file_is_one_problem_naming_file_announcement_and_path(
        tmp_path: Path, write_campaign, accounts, templates) -> None:
    mediakit.corrupt_video(tmp_path / "media", name="trailer.mp4")
    path = write_campaign(HEAD + "      - {path: media/trailer.mp4, alt: The trailer}\n")
    (media,) = load_campaign(path, accounts, templates).announcements[0].media
    assert media.error == (f"{path}:10: announcements.premiere.media.path: media/trailer.mp4 cannot be read "
                           "as a video (invalid data found when processing input): export it again or replace it")
