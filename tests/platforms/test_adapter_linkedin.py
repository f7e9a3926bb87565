"""LinkedIn adapter against a fake Posts API."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.platforms.registry import rules_for
from promo.posts import CannotTell, MemoryJournal, NotPublished, Part, Post, Published
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.harness import closed_port_url
from tests.fakes.linkedin import AUTHOR, LINKEDIN_TOKEN, FakeLinkedIn


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        yield server  # type: ignore[misc]


def account(url: str, token: str = LINKEDIN_TOKEN) -> Any:
    return make_account("linkedin", url, {"access_token": token}, author=AUTHOR)


READER = "Jessica Jones (S3) #JessicaJones, https://jj.example/?utm_source=li #2024 *new*"
LITTLE = (r"Jessica Jones \(S3\) {hashtag|\#|JessicaJones}, https://jj.example/?utm\_source=li \#2024 \*new\*")


def test_preview_shows_the_little_text_that_is_sent(fake: FakeLinkedIn) -> None:
    previewed = rules_for("linkedin", {}).wire(single("linkedin", READER))  # what preview shows and apply stores
    assert previewed.text == LITTLE
    published = adapter(account(fake.url)).publish(previewed, MemoryJournal())
    [request] = fake.received
    assert request.headers["x-restli-protocol-version"] == "2.0.0" and request.headers["linkedin-version"]
    assert request.json["commentary"] == previewed.text  # the exact payload
    assert fake.shown[published.platform_id] == READER  # nothing cut: every reserved character escaped
    assert fake.hashtags[published.platform_id] == ["JessicaJones"]  # and the hashtag stays a hashtag
    assert request.json["author"] == AUTHOR and request.json["lifecycleState"] == "PUBLISHED"
    assert published.url == f"https://www.linkedin.com/feed/update/{published.platform_id}"
    assert rules_for("linkedin", {}).check(previewed).length == len(READER)  # counted as the reader sees it


def test_text_stored_before_preview_escaped_is_still_sent_as_little_text(fake: FakeLinkedIn) -> None:
    published = adapter(account(fake.url)).publish(single("linkedin", READER), MemoryJournal())
    assert fake.received[0].json["commentary"] == LITTLE and fake.shown[published.platform_id] == READER


def test_duplicate_is_already_published(fake: FakeLinkedIn) -> None:
    first = adapter(account(fake.url)).publish(single("linkedin"), MemoryJournal())
    again = adapter(account(fake.url)).publish(single("linkedin"), MemoryJournal())
    assert again.platform_id == first.platform_id and len(fake.posts) == 1


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (
            429,
            {"status": 429, "message": "Resource level throttle limit"},
            {"Retry-After": "120"},
            RateLimited,
        ),
        (500, {"status": 500, "message": "Internal Server Error"}, {}, Retryable),
        (
            403,
            {"status": 403, "message": "Not enough permissions to access: partnerApiPostsExternal.CREATE"},
            {},
            Permanent,
        ),
        (422, {"status": 422, "message": "/commentary :: length exceeds 3000"}, {}, Permanent),
    ],
)
def test_errors(fake: FakeLinkedIn, status: int, body: dict, headers: dict, error: type) -> None:
    fake.fail_next("/rest/posts", status, body, headers)
    with pytest.raises(error, match=body["message"].split(":")[0]) as caught:
        adapter(account(fake.url)).publish(single("linkedin"), MemoryJournal())
    if status == 429:
        assert caught.value.retry_at > datetime.now(UTC)


def test_bad_token_and_timeouts(fake: FakeLinkedIn) -> None:
    with pytest.raises(AuthError, match="Invalid access token"):
        adapter(account(fake.url, "wrong")).publish(single("linkedin"), MemoryJournal())
    with pytest.raises(Retryable):
        adapter(account(closed_port_url())).publish(single("linkedin"), MemoryJournal())
    journal = MemoryJournal()
    fake.fail_next("/rest/posts", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(account(fake.url)).publish(single("linkedin"), journal)
    found = adapter(account(fake.url)).lookup(single("linkedin"), journal)
    assert isinstance(found, Published) and found.platform_id in fake.posts
    sent = MemoryJournal({"sending:0": "1"})
    assert isinstance(adapter(account(fake.url)).lookup(single("linkedin", "lost"), sent), NotPublished)


def test_a_timed_out_comment_is_found_or_cannot_tell_never_sent_twice(fake: FakeLinkedIn) -> None:
    journal = MemoryJournal()
    fake.fail_next("/comments", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(account(fake.url)).publish(thread("linkedin", 2), journal)
    found = adapter(account(fake.url)).lookup(thread("linkedin", 2), journal)
    assert isinstance(found, Published) and found.thread_ids == (fake.comments[0]["commentUrn"],)
    lost, other = MemoryJournal(), Post("linkedin", "test-linkedin", (Part("Another post"), Part("Its comment")), "k2")
    fake.fail_next("/comments", 500, {"status": 500, "message": "Internal Server Error"})
    with pytest.raises(Retryable):
        adapter(account(fake.url)).publish(other, lost)
    answer = adapter(account(fake.url)).lookup(other, lost)  # a 500 after sending may hide an accepted comment
    assert isinstance(answer, CannotTell) and "would take it twice" in answer.reason
    assert len(fake.comments) == 1


def test_image_upload_and_thread_comments(fake: FakeLinkedIn, tmp_path: Any) -> None:
    adapter(account(fake.url)).publish(single("linkedin", "Poster", "k", image(tmp_path)), MemoryJournal())
    [post] = fake.posts.values()
    assert post["content"]["media"]["altText"] == "Jessica Jones poster"
    assert fake.images[post["content"]["media"]["id"]].startswith(b"\x89PNG")
    published = adapter(account(fake.url)).publish(thread("linkedin", 2), MemoryJournal())
    [comment] = fake.comments
    assert comment["object"] == published.platform_id


def test_verify(fake: FakeLinkedIn) -> None:
    assert adapter(account(fake.url)).verify() == "Jessica Jones"


def test_every_later_part_is_a_comment_on_the_post(fake: FakeLinkedIn) -> None:
    published = adapter(account(fake.url)).publish(thread("linkedin", 3), MemoryJournal())
    assert [c["object"] for c in fake.comments] == [published.platform_id] * 2  # never a comment on a comment
    assert [c["message"]["text"] for c in fake.comments] == [p.text for p in thread("linkedin", 3).thread]
    assert published.thread_ids == tuple(c["commentUrn"] for c in fake.comments)


def test_a_crash_between_the_post_and_its_comments_sends_each_once(fake: FakeLinkedIn) -> None:
    post, journal = thread("linkedin", 3), MemoryJournal()
    adapter(account(fake.url)).publish(replace(post, parts=post.parts[:1]), journal)
    answer = adapter(account(fake.url)).lookup(post, journal)  # the worker died before the first comment
    assert isinstance(answer, NotPublished) and answer.reason == "never sent"
    published = adapter(account(fake.url)).publish(post, journal)
    assert len(fake.posts) == 1 and [c["object"] for c in fake.comments] == [published.platform_id] * 2


def test_a_lost_answer_mid_thread_is_found_and_the_rest_sent_once(fake: FakeLinkedIn) -> None:
    post, journal = thread("linkedin", 3), MemoryJournal()
    fake.fail_next("/comments", delay=HANG)  # the first comment is accepted, its answer lost
    with pytest.raises(Ambiguous):
        adapter(account(fake.url)).publish(post, journal)
    answer = adapter(account(fake.url)).lookup(post, journal)
    assert isinstance(answer, NotPublished) and journal.get("part:1") == fake.comments[0]["commentUrn"]
    published = adapter(account(fake.url)).publish(post, journal)
    assert len(fake.posts) == 1 and len(fake.comments) == 2
    assert published.thread_ids == tuple(c["commentUrn"] for c in fake.comments)


def test_media_on_a_comment_fails_the_post_before_anything_is_sent(fake: FakeLinkedIn, tmp_path: Any) -> None:
    post = Post("linkedin", "test-linkedin", (Part("Poster"), Part("More", (image(tmp_path),))), "k")
    with pytest.raises(Permanent, match="move the media to the first part"):
        adapter(account(fake.url)).publish(post, MemoryJournal())
    assert fake.received == []
