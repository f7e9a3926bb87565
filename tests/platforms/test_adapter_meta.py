"""Facebook Page and Threads adapters against fake Graph APIs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Duplicate, Permanent, RateLimited, Retryable
from promo.posts import CannotTell, MemoryJournal, NotPublished, Published
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, FakeFacebook
from tests.fakes.harness import closed_port_url
from tests.fakes.threads import THREADS_TOKEN, USER_ID, FakeThreads


@pytest.fixture
def facebook() -> Iterator[FakeFacebook]:
    with FakeFacebook() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def threads() -> Iterator[FakeThreads]:
    with FakeThreads() as server:
        yield server  # type: ignore[misc]


def fb_account(url: str, token: str = PAGE_TOKEN) -> Any:
    return make_account("facebook", url, {"page_token": token}, page_id=PAGE_ID)


def th_account(url: str, token: str = THREADS_TOKEN, **options: Any) -> Any:
    return make_account("threads", url, {"access_token": token}, user_id=USER_ID, **options)


def graph(code: int, message: str) -> dict:
    return {"error": {"message": message, "type": "OAuthException", "code": code}}


def test_facebook_feed_post(facebook: FakeFacebook) -> None:
    published = adapter(fb_account(facebook.url)).publish(single("facebook"), MemoryJournal())
    [request] = facebook.received
    assert request.path == f"/v21.0/{PAGE_ID}/feed"
    assert request.form["message"] == single("facebook").text
    assert published.url == f"https://www.facebook.com/{published.platform_id}"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, graph(2, "Service temporarily unavailable"), Retryable),
        (400, graph(1, "An unknown error occurred"), Retryable),
        (400, graph(32, "Page request limit reached"), RateLimited),
        (403, graph(200, "Permissions error"), Permanent),
        (400, graph(506, "Duplicate status message"), Duplicate),
        (400, graph(190, "Error validating access token: Session has expired"), AuthError),
        (503, {"error": "upstream"}, Retryable),
    ],
)
def test_facebook_graph_codes(facebook: FakeFacebook, status: int, body: dict, error: type) -> None:
    facebook.fail_next("/feed", status, body)
    with pytest.raises(error) as caught:
        adapter(fb_account(facebook.url)).publish(single("facebook"), MemoryJournal())
    assert "object Object" not in str(caught.value) and str(caught.value).count(":") >= 1


def test_facebook_real_duplicate_and_bad_token(facebook: FakeFacebook) -> None:
    adapter(fb_account(facebook.url)).publish(single("facebook"), MemoryJournal())
    with pytest.raises(Duplicate):
        adapter(fb_account(facebook.url)).publish(single("facebook", key="k-2"), MemoryJournal())
    with pytest.raises(AuthError, match="Invalid OAuth access token"):
        adapter(fb_account(facebook.url, "wrong-token")).publish(single("facebook"), MemoryJournal())


def test_facebook_timeouts_and_lookup(facebook: FakeFacebook) -> None:
    with pytest.raises(Retryable):
        adapter(fb_account(closed_port_url())).publish(single("facebook"), MemoryJournal())
    facebook.fail_next("/feed", delay=HANG)
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(fb_account(facebook.url)).publish(single("facebook"), journal)
    found = adapter(fb_account(facebook.url)).lookup(single("facebook"), journal)
    assert isinstance(found, Published) and found.platform_id in facebook.posts
    never = adapter(fb_account(facebook.url)).lookup(single("facebook", "never sent"), MemoryJournal())
    assert isinstance(never, NotPublished)
    sent_not_found = MemoryJournal({"sending:0": "1"})
    assert isinstance(adapter(fb_account(facebook.url)).lookup(single("facebook", "other"), sent_not_found),
                      NotPublished)  # a text post: a re-send is refused as a duplicate (506)


def test_facebook_comment_not_found_cannot_tell(facebook: FakeFacebook) -> None:
    journal = MemoryJournal()
    facebook.fail_next("/comments", 500, graph(2, "temporary"))
    with pytest.raises(Retryable):
        adapter(fb_account(facebook.url)).publish(thread("facebook", 2), journal)
    assert isinstance(adapter(fb_account(facebook.url)).lookup(thread("facebook", 2), journal), CannotTell)


def test_facebook_photo_and_thread_as_comments(facebook: FakeFacebook, tmp_path: Any) -> None:
    post = single("facebook", "Poster", "k", image(tmp_path))
    published = adapter(fb_account(facebook.url)).publish(post, MemoryJournal())
    assert facebook.received[-1].files["source"].startswith(b"\x89PNG")
    assert facebook.posts[published.platform_id]["message"] == "Poster"
    journal = MemoryJournal()
    facebook.fail_next("/comments", 500, graph(2, "temporary"), skip=1)
    with pytest.raises(Retryable):
        adapter(fb_account(facebook.url)).publish(thread("facebook"), journal)
    published = adapter(fb_account(facebook.url)).publish(thread("facebook"), journal)
    comments = [p for p in facebook.posts.values() if p["parent"] == published.platform_id]
    assert [c["message"] for c in comments] == [p.text for p in thread("facebook").parts[1:]]


def test_facebook_crash_between_the_post_and_its_comments_sends_each_once(facebook: FakeFacebook) -> None:
    post, journal = thread("facebook"), MemoryJournal()
    adapter(fb_account(facebook.url)).publish(replace(post, parts=post.parts[:1]), journal)
    answer = adapter(fb_account(facebook.url)).lookup(post, journal)  # the worker died before the first comment
    assert isinstance(answer, NotPublished) and answer.reason == "never sent"
    facebook.fail_next("/comments", delay=HANG)  # then the first comment's answer is lost
    with pytest.raises(Ambiguous):
        adapter(fb_account(facebook.url)).publish(post, journal)
    assert isinstance(adapter(fb_account(facebook.url)).lookup(post, journal), NotPublished)  # found; 3 not sent
    published = adapter(fb_account(facebook.url)).publish(post, journal)
    comments = [k for k, p in facebook.posts.items() if p["parent"] == published.platform_id]
    assert len(facebook.posts) == 3 and list(published.thread_ids) == comments


def test_facebook_verify(facebook: FakeFacebook) -> None:
    assert adapter(fb_account(facebook.url)).verify() == "page Jessica Jones"


def test_threads_container_then_publish(threads: FakeThreads) -> None:
    journal = MemoryJournal()
    published = adapter(th_account(threads.url)).publish(single("threads"), journal)
    create, publish, permalink = threads.received
    assert create.path == f"/v1.0/{USER_ID}/threads" and create.form["media_type"] == "TEXT"
    assert publish.form["creation_id"] == journal.get("container:0") != published.platform_id
    assert published.platform_id in threads.published  # the post's own id, not its container's
    assert permalink.method == "GET" and permalink.path == f"/v1.0/{published.platform_id}"
    assert published.url == f"https://www.threads.net/@jessicajones/post/P{published.platform_id}"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, graph(4, "Application request limit reached"), RateLimited),
        (500, graph(2, "Service temporarily unavailable"), Retryable),
        (400, graph(100, "Param text must be at most 500 characters long."), Permanent),
        (400, graph(190, "Invalid OAuth access token"), AuthError),
    ],
)
def test_threads_errors(threads: FakeThreads, status: int, body: dict, error: type) -> None:
    threads.fail_next("/threads_publish", status, body)
    with pytest.raises(error, match=body["error"]["message"]):
        adapter(th_account(threads.url)).publish(single("threads"), MemoryJournal())


def test_threads_timeout_after_publish_is_settled_by_container_status(threads: FakeThreads) -> None:
    journal = MemoryJournal()
    threads.fail_next("/threads_publish", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(th_account(threads.url)).publish(single("threads"), journal)
    found = adapter(th_account(threads.url)).lookup(single("threads"), journal)
    assert isinstance(found, Published) and found.platform_id != journal.get("container:0")
    assert list(threads.published) == [found.platform_id] == [journal.get("part:0")]
    assert found.url == f"https://www.threads.net/@jessicajones/post/P{found.platform_id}"


def test_threads_reconciled_thread_replies_to_the_published_post(threads: FakeThreads) -> None:
    """After a timed-out first part is looked up, the next part replies to the post, not its container."""
    journal = MemoryJournal()
    threads.fail_next("/threads_publish", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(th_account(threads.url)).publish(thread("threads", 2), journal)
    found = adapter(th_account(threads.url)).lookup(thread("threads", 2), journal)
    assert isinstance(found, NotPublished)  # the first part is out, the reply never started
    published = adapter(th_account(threads.url)).publish(thread("threads", 2), journal)
    first = journal.get("part:0")
    assert published.platform_id == first and first in threads.published and first != journal.get("container:0")
    assert threads.published[published.thread_ids[0]]["reply_to_id"] == first


def test_threads_published_container_without_its_post_cannot_tell(threads: FakeThreads) -> None:
    journal = MemoryJournal()
    threads.fail_next("/threads_publish", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(th_account(threads.url)).publish(single("threads"), journal)
    threads.published.clear()  # published, but not (yet) listed among the user's threads
    assert isinstance(adapter(th_account(threads.url)).lookup(single("threads"), journal), CannotTell)


def test_threads_retry_reuses_the_recorded_container(threads: FakeThreads) -> None:
    journal = MemoryJournal()
    threads.fail_next("/threads_publish", 500, graph(2, "temporary"))
    with pytest.raises(Retryable):
        adapter(th_account(threads.url)).publish(single("threads"), journal)
    found = adapter(th_account(threads.url)).lookup(single("threads"), journal)
    assert isinstance(found, NotPublished) and "FINISHED" in found.reason
    adapter(th_account(threads.url)).publish(single("threads"), journal)
    assert len(threads.containers) == 1 and len(threads.published) == 1


def test_threads_thread_and_media(threads: FakeThreads, tmp_path: Any) -> None:
    published = adapter(th_account(threads.url)).publish(thread("threads"), MemoryJournal())
    containers = [r.form for r in threads.requests_to(f"/{USER_ID}/threads") if r.path.endswith("/threads")]
    assert containers[1]["reply_to_id"] == published.platform_id
    assert containers[2]["reply_to_id"] == published.thread_ids[0]
    post = single("threads", "Poster", "k", image(tmp_path))
    with pytest.raises(Permanent, match="public URL"):
        adapter(th_account(threads.url)).publish(post, MemoryJournal())
    adapter(th_account(threads.url, media_base_url="https://cdn.example.com/jj")).publish(
        post, MemoryJournal()
    )
    create, status, publish, _ = threads.received[-4:]
    assert create.form["image_url"] == "https://cdn.example.com/jj/poster.png"
    assert create.form["alt_text"] == "Jessica Jones poster"
    assert status.query["fields"] == "id,status,error_message"  # polled until FINISHED before publishing
    assert publish.path.endswith("/threads_publish")


def test_threads_bad_token_and_connect_failure(threads: FakeThreads) -> None:
    with pytest.raises(AuthError):
        adapter(th_account(threads.url, "wrong")).publish(single("threads"), MemoryJournal())
    with pytest.raises(Retryable):
        adapter(th_account(closed_port_url())).publish(single("threads"), MemoryJournal())
    assert adapter(th_account(threads.url)).verify() == "@jessicajones"
