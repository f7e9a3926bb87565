"""Video rules as data (issue 13): each limit, in plain words, per platform; checked without I/O."""

from __future__ import annotations

import pytest

from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post
from promo.rules.video import VideoRules, duration_text, post_problems, video_problems

OPTIONS = {"threads": {"media_base_url": "https://cdn.example.com/"}}


def video(**fields) -> Media:  # type: ignore[no-untyped-def]
    base = {"path": "media/trailer.mp4", "alt": "The trailer", "size": 1_000_000, "mime": "video/mp4",
            "duration_s": 30.0, "width": 1280, "height": 720, "fps": 30.0, "codec": "h264", "container": "mp4"}
    return Media(**{**base, **fields})


def messages(platform: str, *media: Media) -> list[str]:
    report = rules_for(platform, OPTIONS.get(platform)).check(Post(platform, "a", (Part("hello", media),)))
    return [p.message for p in report.problems]


@pytest.mark.parametrize(("seconds", "shown"), [(192, "3:12"), (140, "2:20"), (0.5, "0:00.5"), (3723, "1:02:03")])
def test_durations_are_written_as_people_write_them(seconds: float, shown: str) -> None:
    assert duration_text(seconds) == shown


@pytest.mark.parametrize(("platform", "fields", "message"), [
    ("x", {"duration_s": 192}, "X: video 3:12 is over the 2:20 limit"),
    ("x", {"duration_s": 0.3}, "X: video 0:00.3 is under the 0:00.5 minimum"),
    ("x", {"width": 36, "height": 144}, "X: vertical video 36x144 (aspect 1:4) is outside the accepted 1:3 to 3:1"),
    ("x", {"container": "webm"}, "X: video container webm is not accepted (accepted: m4v, mov, mp4)"),
    ("x", {"fps": 120}, "X: video at 120 fps is over the 60 fps limit"),
    ("x", {"codec": "vp9"}, "X: video codec vp9 is not accepted (accepted: h264)"),
    ("x", {"size": 600_000_000}, "X: video is 600.0 MB, the limit is 512.0 MB"),
    ("x", {"cover": "1.5"}, "X: a custom video cover cannot be sent here; remove cover: for this platform"),
    ("linkedin", {"duration_s": 2}, "LinkedIn: video 0:02 is under the 0:03 minimum"),
    ("linkedin", {"width": 200, "height": 112}, "LinkedIn: video 200x112 must be at least 256x144"),
    ("bluesky", {"captions": "media/captions.srt"}, "Bluesky: captions must be VTT here"),
    ("facebook", {"width": 720, "height": 1600}, "Facebook: vertical video 720x1600 (aspect 1:2.22) is outside the "
                                                 "accepted 9:16 to 16:9"),
    ("mastodon", {"captions": "media/captions.vtt"},
     "Mastodon: caption files cannot be sent here; remove captions: or burn them in"),
    ("telegram", {"size": 51_000_000}, "Telegram: video is 51.0 MB, the limit is 50.0 MB"),
    ("threads", {"duration_s": 301}, "Threads: video 5:01 is over the 5:00 limit"),
])
def test_each_limit_is_one_problem_in_plain_words(platform: str, fields: dict, message: str) -> None:
    assert messages(platform, video(**fields)) == [message]


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram",
                                      "discord", "webhook", "outbox"])
def test_an_ordinary_video_fits_every_platform_that_takes_video(platform: str) -> None:
    assert messages(platform, video(size=5_000_000)) == []


def test_slack_incoming_webhooks_refuse_files() -> None:
    assert messages("slack", video()) == [
        "Slack: Slack incoming webhooks cannot upload files: add a bot token (bot_token) and a channel option"]


def test_covers_and_captions_where_the_platform_takes_them() -> None:
    assert messages("mastodon", video(cover="media/cover.png")) == []
    assert messages("telegram", video(cover="2")) == []
    assert messages("bluesky", video(captions="media/captions.vtt")) == []


def test_videos_and_images_mixed_or_not() -> None:
    image = Media("media/poster.png", "Poster", 1000, "image/png", width=64, height=36)
    assert messages("mastodon", video(), image) == ["Mastodon: a video cannot share a post with images"]
    assert messages("telegram", video(), image) == []
    assert messages("x", video(), image) == ["X: cannot mix image and video in one post"]   # said once


def test_an_unreadable_file_is_one_problem_and_nothing_else() -> None:
    broken = video(duration_s=None, width=None, height=None, error="campaign.yaml:9: media/t.mp4 cannot be read")
    assert messages("x", broken) == ["X: campaign.yaml:9: media/t.mp4 cannot be read"]


def test_alt_text_length_per_platform() -> None:
    assert messages("x", video(alt="a" * 1001)) == ["X: video alt text is 1001 characters, at most 1000"]


def test_a_cover_on_an_image_is_refused() -> None:
    image = Media("media/poster.png", "Poster", 1000, "image/png", cover="1")
    assert messages("outbox", image) == ["Outbox: only a video carries a cover or captions"]


def test_the_rules_are_data() -> None:
    rules = VideoRules(max_duration_s=10, max_count=1)
    assert [p.code for p in video_problems("T: ", video(), rules)] == ["video_too_long"]
    assert [p.message for p in post_problems("T: ", (video(), video()), rules)] == ["T: 2 videos, at most 1"]


def test_linkedin_takes_an_image_cover_and_srt_captions() -> None:
    assert messages("linkedin", video(cover="media/cover.jpg", captions="media/captions.srt")) == []
    assert messages("linkedin", video(cover="2.5")) == [
        "LinkedIn: a cover here must be an image file, not a frame time"]
    assert messages("linkedin", video(captions="media/captions.vtt")) == ["LinkedIn: captions must be SRT here"]
