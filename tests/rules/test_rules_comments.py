"""LinkedIn and Facebook: a thread is a post and comments on it, each later part checked as a comment."""

from __future__ import annotations

import pytest

from promo.platforms.registry import rules_for
from promo.posts import Media, Part, Post

POSTER = Media("/campaign/poster.jpg", "poster", 1000, "image/jpeg")
# platform, the limit of the post, the limit of a comment (both counted in UTF-16 code units)
CASES = [("linkedin", 3000, 1250), ("facebook", 63206, 8000)]


def check(platform: str, *parts: Part) -> list[tuple[str, int]]:
    report = rules_for(platform).check(Post(platform, "acct", parts))
    return [(p.code, p.part) for p in report.problems]


@pytest.mark.parametrize(("platform", "post_limit", "comment_limit"), CASES)
def test_each_later_part_has_a_comments_limit(platform: str, post_limit: int, comment_limit: int) -> None:
    assert check(platform, Part("a" * post_limit, (POSTER,)), Part("b" * comment_limit), Part("c")) == []
    assert check(platform, Part("a"), Part("b" * (comment_limit + 1)), Part("c" * (comment_limit + 1))) == [
        ("too_long", 1), ("too_long", 2)]
    assert check(platform, Part("a" * (post_limit + 1)), Part("b")) == [("too_long", 0)]


@pytest.mark.parametrize(("platform", "comment_limit"), [(p, c) for p, _, c in CASES])
def test_a_comment_counts_like_the_post_and_says_its_limit(platform: str, comment_limit: int) -> None:
    text = "😷" * (comment_limit // 2) + "x"  # UTF-16 code units: each emoji counts 2
    report = rules_for(platform).check(Post(platform, "acct", (Part("Jessica Jones"), Part(text))))
    title = {"linkedin": "LinkedIn", "facebook": "Facebook"}[platform]
    assert [p.message for p in report.problems] == [
        f"{title}: part 2: comment {comment_limit + 1}/{comment_limit} "
        f"(a comment's limit is {comment_limit:,}, unverified)"]


def test_linkedin_counts_a_comment_as_the_reader_sees_it() -> None:
    text = "(c) #promo " * 113 + "(c)"  # escaped on the wire, counted unescaped: 1,246
    assert rules_for("linkedin").length(text) == 1246
    assert check("linkedin", Part("Jessica Jones"), Part(text)) == []


@pytest.mark.parametrize("platform", ["linkedin", "facebook"])
def test_a_comment_is_text_only(platform: str) -> None:
    report = rules_for(platform).check(Post(platform, "acct", (Part("Poster"), Part("More", (POSTER,)))))
    assert [(p.code, p.part) for p in report.problems] == [("comment_media", 1)]
    assert "a comment carries text only: move the media to the first part" in report.problems[0].message
    assert check(platform, Part("Poster"), Part("  ")) == [("empty", 1)]


@pytest.mark.parametrize("platform", ["linkedin", "facebook"])
def test_a_thread_notes_that_its_later_parts_go_out_as_comments(platform: str) -> None:
    thread = rules_for(platform).check(Post(platform, "acct", (Part("one"), Part("two"), Part("three"))))
    assert thread.ok and len(thread.notes) == 1 and "later parts go out as comments on the post" in thread.notes[0]
    assert rules_for(platform).check(Post.single(platform, "acct", "one")).notes == ()
