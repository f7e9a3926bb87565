"""YouTube's rules: the title, description and tags as the API counts them, Shorts, covers, timing, quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from promo.posts import Media, Part, Post, ScheduledPost
from promo.rules.youtube import (
    YouTubeRules,
    next_reset,
    post_units,
    quota_problems,
    tags_length,
    video_text,
)

LANDSCAPE = Media("/c/featurette.mp4", "", 5000, "video/mp4", duration_s=4.0, width=256, height=144)
VERTICAL = Media("/c/short.mp4", "", 5000, "video/mp4", duration_s=20.0, width=144, height=256)


def check(text: str, media: Media | None = LANDSCAPE, **options: Any) -> list[str]:
    post = Post("youtube", "jj-youtube", (Part(text, (media,) if media else ()),))
    return [p.message for p in YouTubeRules(options).check(post).problems]


def test_reads_title_description_tags_and_publish_time() -> None:
    text = video_text("Title here\n\nLine one.\nLine two.\nTags: Jessica Jones, Marvel, \n"
                      "Publish at: 2019-06-14T07:01:00Z")
    assert text.title == "Title here" and text.description == "Line one.\nLine two."
    assert text.tags == ("Jessica Jones", "Marvel") and text.publish_at == "2019-06-14T07:01:00Z"
    assert video_text("Only a title").description == "" and video_text("").title == ""


def test_tags_count_commas_and_the_quotes_of_a_tag_with_a_space() -> None:
    assert tags_length(["Foo-Baz"]) == 7 and tags_length(["Foo Baz"]) == 9
    assert tags_length(["a", "b c"]) == 1 + 1 + 5


@pytest.mark.parametrize(("text", "problem"), [
    ("T" * 101 + "\n\nok", "YouTube: title 101/100 characters"),
    ("", "YouTube: the first line is the video's title, and it is empty"),
    ("Season <3>\n\nok", "YouTube: the title cannot contain < or >"),
    ("Title\n\n" + "é" * 2501, "YouTube: description 5,002/5,000 bytes"),
    ("Title\n\nok\nTags: " + ", ".join(["Jessica Jones"] * 34),
     "YouTube: tags 543/500 characters (as YouTube counts them: the commas, and quotes around a tag with a space)"),
    ("Title\n\nok\nPublish at: tomorrow", "YouTube: Publish at: tomorrow is not a time with a UTC offset"),
])
def test_text_limits(text: str, problem: str) -> None:
    assert problem in check(text)


def test_a_youtube_post_needs_a_video() -> None:
    assert check("Title\n\nNo video", None) == [
        "YouTube: a YouTube post needs a video: add one under media:, or skip YouTube for this announcement"]
    assert check("Title\n\nok") == []


def test_a_short_must_be_vertical_or_square_and_at_most_three_minutes() -> None:
    assert check("Jessica Jones #Shorts\n\nThe cut.", VERTICAL) == []
    assert check("Jessica Jones\n\nThe cut. #shorts", LANDSCAPE) == [
        "YouTube: a Short (#Shorts) must be vertical or square and at most 3:00; this video is 256x144, 0:04: "
        "use a vertical cut, or remove #Shorts"]
    long = Media("/c/long.mp4", "", 5000, "video/mp4", duration_s=181.0, width=144, height=256)
    assert "3:01" in check("Cut #Shorts\n\nok", long)[0]


def test_a_custom_thumbnail_and_a_long_video_need_a_verified_channel() -> None:
    covered = Media("/c/f.mp4", "", 5000, "video/mp4", duration_s=16 * 60.0, width=256, height=144, cover="c.jpg")
    found = check("Title\n\nok", covered)
    assert any("custom thumbnail needs a verified channel" in p for p in found)
    assert any("16:00 is over the 15:00 an unverified channel may upload" in p for p in found)
    assert check("Title\n\nok", covered, verified=True) == []


def test_options_are_checked() -> None:
    assert check("Title\n\nok", privacy="secret") == [
        "YouTube: privacy 'secret' is not one of public, unlisted, private"]
    assert check("Title\n\nok", upload_ahead="soon") == ["YouTube: upload_ahead 'soon' should look like 2h or 90m"]


def test_upload_ahead_moves_the_post_earlier_and_writes_its_publish_time() -> None:
    post = Post.single("youtube", "jj-youtube", "Title\n\nDescription", LANDSCAPE)
    at, embargo = datetime(2019, 6, 14, 7, 1, tzinfo=UTC), datetime(2019, 6, 14, 7, 0, tzinfo=UTC)
    moved, when, not_before = YouTubeRules({"upload_ahead": "2h"}).timed(post, at, embargo)
    assert (when, not_before) == (at - timedelta(hours=2), embargo - timedelta(hours=2))
    assert video_text(moved.text).publish_at == "2019-06-14T07:01:00Z"
    assert YouTubeRules({}).timed(post, at, embargo) == (post, at, embargo)


def test_quota_units_per_post() -> None:
    covered = Media("/c/f.mp4", "", 5000, "video/mp4", cover="c.jpg", captions="c.srt")
    post = Post.single("youtube", "jj-youtube", "Title\n\nok", covered)
    assert post_units(post, {}) == 1600 + 5 + 50 + 50 + 400
    assert post_units(post, {"privacy": "private", "playlist_id": "PL1"}) == 1600 + 5 + 50 + 400 + 50


def test_a_campaign_over_the_daily_budget_is_refused_in_plain_words() -> None:
    rules = YouTubeRules({"project": "jj-promo"})
    day = datetime(2019, 6, 14, 16, 0, tzinfo=UTC)  # 09:00 Pacific, June 14
    posts = [(ScheduledPost("jj", f"a{n}", "generic", Post.single("youtube", "jj-youtube", "T\n\nok", LANDSCAPE),
                            day + timedelta(hours=n)), rules) for n in range(2)]
    assert quota_problems(posts) == {}
    found = quota_problems(posts, {("jj-promo", day.date()): 8000})
    assert found[0].message == ("YouTube: this campaign needs 3,310 quota units on 2019-06-14, the project's daily "
                                "budget is 10,000 and 8,000 are already planned")
    tight = YouTubeRules({"project": "jj-promo", "daily_quota": 3000})
    assert "spread the uploads over more days" in quota_problems([(s, tight) for s, _ in posts])[1].message


def test_the_quota_day_ends_at_midnight_pacific() -> None:
    assert next_reset(datetime(2019, 6, 14, 6, 59, tzinfo=UTC)) == datetime(2019, 6, 14, 7, 0, tzinfo=UTC)
    assert next_reset(datetime(2019, 12, 14, 9, 0, tzinfo=UTC)) == datetime(2019, 12, 15, 8, 0, tzinfo=UTC)
