"""X: weighted length against twitter-text 3.0.0, media rules, messages."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from twitter_text import parse_tweet

from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post
from promo.rules.x import weighted_length
from tests.rules.rulekit import plain_texts, post_texts

CASES = [
    ("a" * 280, 280),
    ("a" * 281, 281),
    ("日" * 141, 282),
    ("https://example.com/a/very/long/path/that/goes/on/and/on/for/a/while", 23),
    ("example.com", 23),
    ("see example.com.", 28),
    ("http://x.y", 10),
    ("😷", 2),
    ("👨\u200d👩\u200d👧\u200d👦", 2),
    ("🇺🇸", 2),
    ("👍🏽", 2),
    ("1️⃣", 2),
    ("©", 2),
    ("…", 2),
    ("—", 1),
    ("a\u0301", 1),
    ("line\r\nbreak", 10),
    ("english text 日本語 😷 https://example.com", 46),
    ("", 0),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_weighted_length_table(text: str, expected: int) -> None:
    assert weighted_length(text) == expected
    assert parse_tweet(text).weightedLength == expected


def test_280_fits_281_does_not() -> None:
    rules = rules_for("x")
    assert rules.check(Post.single("x", "a", "a" * 280)).ok
    report = rules.check(Post.single("x", "a", "a" * 281))
    assert [p.code for p in report.problems] == ["too_long"]
    assert (report.length, report.limit) == (281, 280)


def test_141_cjk_do_not_fit() -> None:
    report = rules_for("x").check(Post.single("x", "a", "日" * 141))
    assert report.length == 282 and not report.ok


def test_message_names_the_link_weight() -> None:
    text = "a" * 268 + " https://example.com/promo"
    report = rules_for("x").check(Post.single("x", "a", text))
    assert report.problems[0].message == "X: 292/280, the link counts as 23"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(post_texts())
def test_matches_twitter_text_on_any_text(text: str) -> None:
    assert weighted_length(text) == parse_tweet(text).weightedLength


@settings(max_examples=200, deadline=None)
@given(plain_texts())
def test_matches_twitter_text_on_words_links_emoji(text: str) -> None:
    assert weighted_length(text) == parse_tweet(text).weightedLength


def image(size: int = 1000, mime: str = "image/png") -> Media:
    return Media("poster.png", "Krysten Ritter", size, mime)


MEDIA_CASES = [
    ((image(),) * 4, []),
    ((image(),) * 5, ["too_many_media"]),
    ((image(mime="image/gif"),), []),
    ((image(mime="image/gif"),) * 2, ["too_many_media"]),
    ((image(mime="video/mp4"), image()), ["media_type"]),
    ((image(5_000_001),), ["media_too_large"]),
    ((image(15_000_000, "image/gif"),), []),
    ((image(512_000_001, "video/mp4"),), ["media_too_large"]),
    ((image(mime="application/pdf"),), ["media_type"]),
]


@pytest.mark.parametrize(("media", "codes"), MEDIA_CASES)
def test_media(media: tuple[Media, ...], codes: list[str]) -> None:
    report = rules_for("x").check(Post("x", "a", (Part("poster", media),)))
    assert [p.code for p in report.problems] == codes


def test_every_thread_part_is_checked() -> None:
    post = Post("x", "a", (Part("first"), Part("b" * 300), Part("c")))
    report = rules_for("x").check(post)
    assert [(p.code, p.part) for p in report.problems] == [("too_long", 1)]
    assert report.problems[0].message == "X: part 2: 300/280"
    assert report.length == 5
