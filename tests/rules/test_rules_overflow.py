"""Overflow policies: reject (default) leaves the post alone; truncate and thread make it fit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from promo.errors import ConfigError, PostInvalid
from promo.platforms.registry import rules_for
from promo.posts import Media, Post
from promo.rules.counting import find_links
from promo.rules.overflow import fit
from tests.rules.rulekit import plain_texts

MEDIA_OPTIONS = {"media_base_url": "https://media.example.com"}  # Threads needs a public media folder

STORY = (
    "There will be no more supervillains telling Krysten Ritter to smile, now she's telling people what "
    "to do. The star of Jessica Jones makes her directorial debut in the third and final season of the "
    "Marvel-Netflix comic book series to direct an episode centering on Rachael Taylor's Trish. Netflix has "
    "released a new Jessica Jones season 3 featurette. Watch: https://example.com/jessica-jones/season-3"
)
POSTER = Media("poster.jpg", "Krysten Ritter in the director's chair", 1000, "image/jpeg")


def post(platform: str, text: str = STORY, *media: Media) -> Post:
    return Post.single(platform, "acct", text, *media)


def test_reject_is_the_default_and_changes_nothing() -> None:
    long_post = post("x")
    assert fit(long_post, rules_for("x")) is long_post
    assert not rules_for("x").check(fit(long_post, rules_for("x"), "reject")).ok


def test_unknown_policy() -> None:
    with pytest.raises(ConfigError, match="unknown overflow policy 'squeeze'"):
        fit(post("x"), rules_for("x"), "squeeze")


def test_a_post_that_fits_is_returned_as_is() -> None:
    short = post("x", "Jessica Jones season 3, June 14")
    assert fit(short, rules_for("x"), "truncate") is short
    assert fit(short, rules_for("x"), "thread") is short


@pytest.mark.parametrize("platform", ["x", "bluesky", "threads"])
def test_truncate_fits_and_ends_at_a_word_with_an_ellipsis(platform: str) -> None:
    rules = rules_for(platform, MEDIA_OPTIONS)
    cut = fit(post(platform, STORY * 2, POSTER), rules, "truncate")
    assert rules.check(cut).ok
    assert cut.text.endswith("…") and cut.media == (POSTER,)
    stem = cut.text[:-1]
    assert STORY.startswith(stem) or (STORY * 2).startswith(stem)
    assert (STORY * 2)[len(stem)] in " ,.\n"


def test_truncate_never_cuts_a_link() -> None:
    text = "a" * 240 + " https://example.com/jessica-jones/season-3 and more words here to overflow"
    cut = fit(post("x", text), rules_for("x"), "truncate")
    assert rules_for("x").check(cut).ok
    assert "https://example.com/jessica-jones/season-3" in cut.text


def test_truncate_a_single_long_word_at_a_grapheme() -> None:
    cut = fit(post("bluesky", "👍🏽" * 400), rules_for("bluesky"), "truncate")
    assert cut.text == "👍🏽" * 299 + "…"


def test_telegram_caption_truncates_to_1024() -> None:
    rules = rules_for("telegram")
    cut = fit(post("telegram", "word " * 300, POSTER), rules, "truncate")
    assert rules.length(cut.text) <= 1024 and rules.check(cut).ok


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads", "telegram", "discord"])
def test_thread_splits_into_fitting_parts_with_media_on_the_first(platform: str) -> None:
    rules = rules_for(platform, MEDIA_OPTIONS)
    text = " ".join([STORY] * 12)
    thread = fit(post(platform, text, POSTER), rules, "thread")
    assert len(thread.parts) > 1
    assert rules.check(thread).ok
    assert thread.parts[0].media == (POSTER,) and all(not p.media for p in thread.parts[1:])
    assert " ".join(p.text for p in thread.parts).split() == text.split()
    assert [link.url for p in thread.parts for link in find_links(p.text)] == [
        link.url for link in find_links(text)]


def test_thread_prefers_sentence_boundaries() -> None:
    first = ("Jessica Jones returns for a third and final season, and Krysten Ritter directs an episode "
             "of it herself, for the very first time in her career.")
    second = "Netflix has released a featurette that shows her behind the camera " * 3
    thread = fit(post("x", f"{first} {second}"), rules_for("x"), "thread")
    assert thread.parts[0].text == first


@pytest.mark.parametrize("platform", ["reddit", "youtube", "tiktok"])
def test_thread_on_a_platform_without_threads_is_refused(platform: str) -> None:
    with pytest.raises(PostInvalid, match="has no threads"):
        fit(post(platform, "a " * 40000), rules_for(platform, MEDIA_OPTIONS), "thread")


@pytest.mark.parametrize(("platform", "post_limit", "comment_limit"),
                         [("linkedin", 3000, 1250), ("facebook", 63206, 8000)])
def test_thread_into_comments_fits_each_comment(platform: str, post_limit: int, comment_limit: int) -> None:
    rules = rules_for(platform)
    thread = fit(post(platform, "Jessica Jones returns. " * (post_limit // 10), POSTER), rules, "thread")
    lengths = [rules.length(part.text) for part in thread.parts]
    assert rules.check(thread).ok and len(lengths) >= 3
    assert post_limit - 30 < lengths[0] <= post_limit  # the post takes its own limit, the comments theirs
    assert all(comment_limit - 30 < n <= comment_limit for n in lengths[1:-1])
    assert thread.parts[0].media == (POSTER,) and not any(part.media for part in thread.parts[1:])


def test_thread_refuses_a_link_longer_than_a_part() -> None:
    text = "see https://example.com/" + "a" * 400
    with pytest.raises(PostInvalid, match="too long to fit a part"):
        fit(post("bluesky", text), rules_for("bluesky"), "thread")


def test_seed_story_threads_on_x() -> None:
    thread = fit(post("x", STORY), rules_for("x"), "thread")
    assert rules_for("x").check(thread).ok and len(thread.parts) >= 2


@settings(max_examples=60, deadline=None)
@given(plain_texts(max_tokens=120))
def test_truncate_and_thread_always_fit_x(text: str) -> None:
    rules = rules_for("x")
    long_post = post("x", text + " " + "b" * 250) if text.strip() else post("x", "b " * 200)
    assert rules.check(fit(long_post, rules, "truncate")).ok
    assert rules.check(fit(long_post, rules, "thread")).ok
