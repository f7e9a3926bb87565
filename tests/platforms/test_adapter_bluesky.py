"""Bluesky adapter: the real atproto client against a fake PDS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.platforms.base import MemoryLoginCache
from promo.platforms.tids import tid_for
from promo.posts import MemoryJournal, NotPublished, Published
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky
from tests.fakes.harness import closed_port_url


@pytest.fixture
def fake() -> Iterator[FakeBluesky]:
    with FakeBluesky() as server:
        yield server  # type: ignore[misc]


def account(url: str, password: str = APP_PASSWORD) -> Any:
    return make_account("bluesky", url, {"app_password": password}, handle=HANDLE)


def created(fake: FakeBluesky) -> list[Any]:
    return fake.requests_to("createRecord")


def test_posts_with_byte_offset_facets_and_a_deterministic_rkey(fake: FakeBluesky) -> None:
    text = "Sale \u2728 now: https://netflix.com/jj #JessicaJones with @netflix.com"
    published = adapter(account(fake.url)).publish(single("bluesky", text), MemoryJournal())
    [request] = created(fake)
    body = request.json
    assert body["rkey"] == tid_for("k-1", 0) and body["repo"] == DID
    link, tag, mention = body["record"]["facets"]
    assert (link["index"]["byteStart"], link["index"]["byteEnd"]) == (14, 14 + len("https://netflix.com/jj"))
    assert link["features"][0]["uri"] == "https://netflix.com/jj"
    assert tag["features"][0] == {"$type": "app.bsky.richtext.facet#tag", "tag": "JessicaJones"}
    assert mention["features"][0]["did"] == "did:plc:netflix456"
    assert published.platform_id == f"at://{DID}/app.bsky.feed.post/{tid_for('k-1', 0)}"
    assert published.url == f"https://bsky.app/profile/{HANDLE}/post/{tid_for('k-1', 0)}"


def test_publishing_twice_creates_one_record(fake: FakeBluesky) -> None:
    first = adapter(account(fake.url)).publish(single("bluesky"), MemoryJournal())
    second = adapter(account(fake.url)).publish(single("bluesky"), MemoryJournal())  # PDS answers 500
    assert first == second and len(fake.records) == 1


def test_sessions_are_reused_across_adapters(fake: FakeBluesky) -> None:
    cache = MemoryLoginCache()
    for key in ("a", "b", "c"):
        adapter(account(fake.url), login_cache=cache).publish(single("bluesky", key, key), MemoryJournal())
    assert fake.logins == 1
    fake.tokens.clear()  # the PDS revoked the session: one fresh login, then it works
    adapter(account(fake.url), login_cache=cache).publish(single("bluesky", "d", "d"), MemoryJournal())
    assert fake.logins == 2


def test_rate_limit(fake: FakeBluesky) -> None:
    reset = int(time.time()) + 600
    fake.fail_next(
        "createRecord",
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        {"ratelimit-reset": str(reset), "ratelimit-remaining": "0", "ratelimit-limit": "5000"},
    )
    with pytest.raises(RateLimited, match="Rate Limit Exceeded") as caught:
        adapter(account(fake.url)).publish(single("bluesky"), MemoryJournal())
    assert caught.value.retry_at == datetime.fromtimestamp(reset, UTC)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (502, {"error": "BadGateway", "message": "upstream"}, Retryable),
        (503, {"error": "Unavailable", "message": "down"}, Retryable),
        (
            400,
            {"error": "InvalidRecord", "message": "Record/text must not be longer than 300 graphemes"},
            Permanent,
        ),
    ],
)
def test_errors(fake: FakeBluesky, status: int, body: dict, error: type) -> None:
    fake.fail_next("createRecord", status, body)
    fake.fail_next("getRecord", 400, {"error": "RecordNotFound", "message": "Could not locate record"})
    with pytest.raises(error, match=body["message"]):
        adapter(account(fake.url)).publish(single("bluesky"), MemoryJournal())


def test_bad_password_and_timeouts(fake: FakeBluesky) -> None:
    with pytest.raises(AuthError, match="Invalid identifier or password"):
        adapter(account(fake.url, "wrong")).publish(single("bluesky"), MemoryJournal())
    with pytest.raises(Retryable):
        adapter(account(closed_port_url())).publish(single("bluesky"), MemoryJournal())
    cache, journal = MemoryLoginCache(), MemoryJournal()
    adapter(account(fake.url), login_cache=cache).verify()  # logged in before the hang
    fake.fail_next("createRecord", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(account(fake.url), login_cache=cache).publish(single("bluesky"), journal)
    found = adapter(account(fake.url), login_cache=cache).lookup(single("bluesky"), MemoryJournal())
    assert isinstance(found, Published) and found.platform_id.endswith(tid_for("k-1", 0))
    never = adapter(account(fake.url), login_cache=cache).lookup(single("bluesky", "no", "never"), MemoryJournal())
    assert isinstance(never, NotPublished) and tid_for("never", 0) in never.reason


def test_thread_root_parent_and_resume(fake: FakeBluesky) -> None:
    post, journal = thread("bluesky"), MemoryJournal()
    fake.fail_next("createRecord", 503, {"error": "Unavailable", "message": "down"}, skip=1)
    fake.fail_next("getRecord", 400, {"error": "RecordNotFound", "message": "Could not locate record"})
    with pytest.raises(Retryable):
        adapter(account(fake.url)).publish(post, journal)
    published = adapter(account(fake.url)).publish(post, journal)
    assert len(fake.records) == 3
    second, third = (fake.records[tid_for("k-thread", i)] for i in (1, 2))
    assert second["reply"]["root"]["uri"] == second["reply"]["parent"]["uri"] == published.platform_id
    assert third["reply"]["root"]["uri"] == published.platform_id
    assert third["reply"]["parent"]["uri"] == published.thread_ids[0]


def test_images_with_alt_text(fake: FakeBluesky, tmp_path: Any) -> None:
    adapter(account(fake.url)).publish(single("bluesky", "Poster", "k", image(tmp_path)), MemoryJournal())
    [record] = fake.records.values()
    [picture] = record["embed"]["images"]
    assert picture["alt"] == "Jessica Jones poster"
    assert fake.blobs[picture["image"]["ref"]["$link"]].startswith(b"\x89PNG")


def test_verify(fake: FakeBluesky) -> None:
    assert adapter(account(fake.url)).verify() == f"@{HANDLE}"
