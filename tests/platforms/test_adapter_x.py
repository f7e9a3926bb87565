"""X adapter: the real tweepy Client against a fake X API through the routed session."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Duplicate, Permanent, RateLimited, Retryable
from promo.posts import CannotTell, MemoryJournal, NotPublished, Published
from promo.times import iso, utcnow
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.harness import closed_port_url
from tests.fakes.x import CREDENTIALS, USER, FakeX


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX() as server:
        yield server  # type: ignore[misc]


def account(url: str, **changes: str) -> Any:
    return make_account("x", url, {**CREDENTIALS, **changes}, handle="@JessicaJones", user_id=USER["id"])


def test_posts_with_oauth1_and_a_timeout(fake: FakeX) -> None:
    published = adapter(account(fake.url)).publish(single("x"), MemoryJournal())
    [request] = fake.received
    assert request.path == "/2/tweets" and request.json == {"text": single("x").text}
    assert published.url == f"https://x.com/JessicaJones/status/{published.platform_id}"


def test_rate_limit_reset_header(fake: FakeX) -> None:
    reset = int(time.time()) + 900
    fake.fail_next(
        "/2/tweets",
        429,
        {"title": "Too Many Requests", "detail": "Too Many Requests"},
        {"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
    )
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake.url)).publish(single("x"), MemoryJournal())
    assert caught.value.retry_at == datetime.fromtimestamp(reset, UTC)


@pytest.mark.parametrize(
    ("status", "detail", "error"),
    [
        (503, "Service Unavailable", Retryable),
        (400, "One or more parameters to your request was invalid.", Permanent),
        (403, "You are not permitted to perform this action.", Permanent),
    ],
)
def test_errors(fake: FakeX, status: int, detail: str, error: type) -> None:
    fake.fail_next("/2/tweets", status, {"title": "x", "detail": detail, "status": status})
    with pytest.raises(error, match=detail.split(" ")[0]):
        adapter(account(fake.url)).publish(single("x"), MemoryJournal())


def test_bad_credentials_and_too_long(fake: FakeX) -> None:
    with pytest.raises(AuthError):
        adapter(account(fake.url, access_token="revoked")).publish(single("x"), MemoryJournal())
    with pytest.raises(Permanent, match="too long"):
        adapter(account(fake.url)).publish(single("x", "a" * 281), MemoryJournal())


def test_duplicate_finds_the_earlier_post_or_says_duplicate(fake: FakeX) -> None:
    first = adapter(account(fake.url)).publish(single("x"), MemoryJournal())
    journal = MemoryJournal()
    journal.record("sending:0", "1")  # an earlier attempt timed out
    again = adapter(account(fake.url)).publish(single("x"), journal)
    assert again.platform_id == first.platform_id
    fake.fail_next("/users/", 200, {"data": []})  # the timeline no longer shows it
    with pytest.raises(Duplicate):
        adapter(account(fake.url)).publish(single("x"), MemoryJournal())


def test_timeouts_and_lookup(fake: FakeX) -> None:
    with pytest.raises(Retryable):
        adapter(account(closed_port_url())).publish(single("x"), MemoryJournal())
    post = single("x", "Stream it https://example.com/jj & more")
    journal = MemoryJournal()
    fake.fail_next("/2/tweets", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(account(fake.url)).publish(post, journal)
    found = adapter(account(fake.url)).lookup(post, journal)
    assert isinstance(found, Published) and found.platform_id in fake.tweets
    assert isinstance(adapter(account(fake.url)).lookup(single("x", "never"), MemoryJournal()), NotPublished)


def test_lookup_not_found_since_the_attempt(fake: FakeX) -> None:
    """All posts since the attempt read and none matches: not published; a full page: cannot tell."""
    sent = MemoryJournal({"sending:0": iso(utcnow())})
    assert isinstance(adapter(account(fake.url)).lookup(single("x", "lost"), sent), NotPublished)
    for n in range(101):
        adapter(account(fake.url)).publish(single("x", f"post {n}", key=f"k{n}"), MemoryJournal())
    found = adapter(account(fake.url)).lookup(single("x", "lost"), sent)
    assert isinstance(found, CannotTell) and "may not reach back" in found.reason
    before = MemoryJournal({"sending:0": "1"})  # an older journal: no time, so no complete read
    assert isinstance(adapter(account(fake.url)).lookup(single("x", "lost"), before), CannotTell)


def test_thread_resumes_without_reposting(fake: FakeX) -> None:
    post, journal = thread("x"), MemoryJournal()
    fake.fail_next("/2/tweets", 500, {"title": "Internal", "detail": "Internal"}, skip=1)
    with pytest.raises(Retryable):
        adapter(account(fake.url)).publish(post, journal)
    published = adapter(account(fake.url)).publish(post, journal)
    bodies = list(fake.tweets.values())
    assert [b["text"] for b in bodies] == [p.text for p in post.parts]
    assert bodies[1]["reply"]["in_reply_to_tweet_id"] == published.platform_id
    assert bodies[2]["reply"]["in_reply_to_tweet_id"] == published.thread_ids[0]


def test_media_v2_then_v1_fallback(fake: FakeX, tmp_path: Any) -> None:
    adapter(account(fake.url)).publish(single("x", "Poster", "k", image(tmp_path)), MemoryJournal())
    assert [r.path for r in fake.received] == ["/2/media/upload", "/2/media/metadata", "/2/tweets"]
    [media_id] = fake.media
    assert fake.received[-1].json["media"] == {"media_ids": [media_id]}
    fake.fail_next("/2/media/upload", 404, {"title": "Not Found Error", "detail": "no v2 here"})
    adapter(account(fake.url)).publish(single("x", "Poster 2", "k2", image(tmp_path)), MemoryJournal())
    assert "/1.1/media/upload.json" in [r.path for r in fake.received]


def test_verify(fake: FakeX) -> None:
    assert adapter(account(fake.url)).verify() == "@JessicaJones"
    assert fake.tweets == {}
