"""The other platforms, table-driven: limits, counting units, media, threads."""

from __future__ import annotations

import pytest

from promo.errors import ConfigError
from promo.platforms.registry import PLATFORMS, rules_for
from promo.posts import Media, Part, Post
from promo.rules.linkedin import escape_little_text

MB = 1_000_000


def image(size: int = 1000, mime: str = "image/jpeg", alt: str = "poster") -> Media:
    return Media("/campaign/poster.jpg", alt, size, mime)


# Options a configured account of each platform carries (Threads needs a public media folder).
OPTIONS = {"threads": {"media_base_url": "https://media.example.com/jj"}}


def codes(platform: str, *parts: Part) -> list[tuple[str, int]]:
    report = rules_for(platform, OPTIONS.get(platform)).check(Post(platform, "acct", parts))
    return [(p.code, p.part) for p in report.problems]


# Platforms that never post text alone: the text's first line before the counted part, and the media.
VIDEO_ONLY = {"youtube": ("Jessica Jones\n\n", Media("/campaign/featurette.mp4", "", 5000, "video/mp4",
                                                      duration_s=4.0, width=256, height=144)),
              "instagram": ("", image()),  # Instagram: media with a caption, never text alone
              # TikTok: a video (or photos) with a caption; 360-4096 px a side, 23-60 fps, at least 3 s.
              "tiktok": ("", Media("/campaign/featurette-vertical.mp4", "", 5000, "video/mp4", duration_s=4.0,
                                   width=360, height=640, fps=30.0, codec="h264", container="mp4"))}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_platform_is_registered_and_accepts_a_short_post(platform: str) -> None:
    rules = rules_for(platform)
    assert rules.platform == platform
    title, *video = VIDEO_ONLY.get(platform, ("",))
    report = rules.check(Post.single(platform, "acct", title + "Jessica Jones season 3: June 14", *video))
    assert report.ok and report.length == 31 and report.limit == rules.limit


def test_unknown_platform() -> None:
    with pytest.raises(ConfigError, match="unknown platform 'myspace'"):
        rules_for("myspace")


LIMITS = [
    ("threads", 500), ("linkedin", 3000), ("facebook", 63206), ("telegram", 4096),
    ("discord", 2000), ("slack", 40000), ("webhook", 100_000), ("outbox", 100_000),
]


@pytest.mark.parametrize(("platform", "limit"), LIMITS)
def test_limits(platform: str, limit: int) -> None:
    assert codes(platform, Part("a" * limit)) == []
    assert codes(platform, Part("a" * (limit + 1))) == [("too_long", 0)]


UNIT_CASES = [
    ("telegram", "😷" * 3, 6),           # UTF-16 code units
    ("facebook", "😷", 2),
    ("linkedin", "(c) #promo", 10),      # unescaped, as the reader sees it
    ("threads", "✨", 3),                 # emoji as UTF-8 bytes, conservatively
    ("threads", "🇺🇸 café", 13),
    ("discord", "😷", 1),
    ("slack", "日本", 2),
]


@pytest.mark.parametrize(("platform", "text", "length"), UNIT_CASES)
def test_counting_units(platform: str, text: str, length: int) -> None:
    assert rules_for(platform).length(text) == length


def test_telegram_caption_limit_with_media() -> None:
    text = "a" * 1100
    post = Post("telegram", "acct", (Part(text, (image(),)),))
    report = rules_for("telegram").check(post)
    assert (report.length, report.limit) == (1100, 1024)
    assert [p.message for p in report.problems] == [
        "Telegram: caption 1100/1024 (a post with media has a 1,024 caption limit)"]
    assert codes("telegram", Part(text)) == []


def test_threads_link_limit() -> None:
    links = " ".join(f"https://example.com/{i}" for i in range(6))
    assert codes("threads", Part(links)) == [("too_many_links", 0)]
    assert codes("threads", Part(links.rsplit(" ", 1)[0])) == []


MEDIA_CASES = [
    ("threads", (image(),) * 10, []),
    ("threads", (image(),) * 11, ["too_many_media"]),
    ("threads", (image(8 * MB + 1),), ["media_too_large"]),
    ("threads", (image(mime="image/gif"),), ["media_type"]),
    ("linkedin", (image(),) * 9, []),
    ("linkedin", (image(),) * 10, ["too_many_media"]),
    ("linkedin", (image(mime="video/mp4"),) * 2, ["too_many_media"]),
    ("facebook", (image(4 * MB),) * 10, []),
    ("facebook", (image(4 * MB + 1),), ["media_too_large"]),
    ("facebook", (image(mime="video/mp4"), image()), ["media_type"]),
    ("telegram", (image(10 * MB),), []),
    ("telegram", (image(10 * MB + 1),), ["media_too_large"]),
    ("telegram", (image(50 * MB, "video/mp4"),), []),
    ("telegram", (image(50 * MB + 1, "video/mp4"),), ["media_too_large"]),
    ("telegram", (image(),) * 11, ["too_many_media"]),
    ("discord", (image(10 * 1024 * 1024, "application/pdf"),) * 2, []),
    ("discord", (image(10 * 1024 * 1024, "application/pdf"),) * 3, ["media_too_large"]),  # a 25 MiB request
    ("discord", (image(10 * 1024 * 1024 + 1),), ["media_too_large"]),
    ("discord", (image(),) * 11, ["too_many_media"]),
    ("slack", (image(),), ["too_many_media"]),
    ("webhook", (image(10**9, "application/zip"),) * 20, []),
    ("outbox", (image(alt=""),), []),
]


def test_threads_media_needs_a_public_url() -> None:
    report = rules_for("threads").check(Post("threads", "acct", (Part("poster", (image(),)),)))
    assert [p.code for p in report.problems] == ["media_url"]


@pytest.mark.parametrize(("platform", "media", "expected"), MEDIA_CASES)
def test_media(platform: str, media: tuple[Media, ...], expected: list[str]) -> None:
    assert [code for code, _ in codes(platform, Part("poster", media))] == expected


def test_media_messages_name_file_and_sizes() -> None:
    report = rules_for("facebook").check(Post("facebook", "a", (Part("p", (image(5 * MB),)),)))
    assert report.problems[0].message == "Facebook: poster.jpg is 5 MB, the image limit is 4 MB"
    report = rules_for("slack").check(Post("slack", "a", (Part("p", (image(),)),)))
    assert report.problems[0].message == (
        "Slack: Slack incoming webhooks cannot upload files: add a bot token (bot_token) and a channel option")


@pytest.mark.parametrize("platform", ["reddit", "tiktok"])
def test_no_threads(platform: str) -> None:
    rules = rules_for(platform)
    title, *video = VIDEO_ONLY.get(platform, ("",))
    report = rules.check(Post(platform, "a", (Part(title + "one", tuple(video)), Part("two"))))
    assert "no_threads" in [p.code for p in report.problems]
    assert "has no threads; remove the thread or skip this platform" in report.problems[0].message


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads", "telegram", "discord", "slack",
                                      "webhook", "outbox", "linkedin", "facebook"])
def test_threads_or_consecutive_messages_allowed(platform: str) -> None:
    assert codes(platform, Part("one"), Part("two")) == []


def test_every_part_is_checked_and_numbered() -> None:
    assert codes("discord", Part("ok"), Part("a" * 2001), Part("  ")) == [("too_long", 1), ("empty", 2)]


def test_media_only_part_is_not_empty() -> None:
    assert codes("x", Part("", (image(),))) == []
    assert codes("x", Part(" \n")) == [("empty", 0)]


def test_escape_little_text() -> None:
    assert escape_little_text("Hi @you (3) #tag_x ~a*b* [c]{d}|<e>\\") == (
        "Hi \\@you \\(3\\) \\#tag\\_x \\~a\\*b\\* \\[c\\]\\{d\\}\\|\\<e\\>\\\\")
