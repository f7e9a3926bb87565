"""Mastodon adapter: the real Mastodon.py client against our fake, then against mastodon-mock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.posts import MemoryJournal
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.harness import closed_port_url
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


def account(url: str, token: str = MASTODON_TOKEN) -> Any:
    return make_account("mastodon", url, {"access_token": token})


def test_posts_with_a_deterministic_idempotency_key(fake: FakeMastodon) -> None:
    published = adapter(account(fake.url)).publish(single("mastodon"), MemoryJournal())
    request = fake.requests_to("/api/v1/statuses")[0]
    assert request.auth == f"Bearer {MASTODON_TOKEN}"
    assert request.headers["idempotency-key"] == "promo-k-1-0"
    assert published.url == f"https://fake.social/@jessicajones/{published.platform_id}"
    again = adapter(account(fake.url)).publish(single("mastodon"), MemoryJournal())
    assert again.platform_id == published.platform_id and len(fake.statuses) == 1


def test_limit_comes_from_the_instance() -> None:
    with FakeMastodon(max_characters=5000) as big:
        adapter(account(big.url)).publish(single("mastodon", "a" * 1000), MemoryJournal())
    with FakeMastodon(max_characters=100) as small, pytest.raises(Permanent, match="allows 100"):
        adapter(account(small.url)).publish(single("mastodon", "a" * 101), MemoryJournal())
    assert small.requests_to("/statuses") == []


def test_rate_limit_reset(fake: FakeMastodon) -> None:
    reset = int(time.time()) + 300
    fake.fail_next(
        "/api/v1/statuses",
        429,
        {"error": "Too many requests"},
        {
            "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).isoformat(),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Limit": "300",
        },
    )
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake.url)).publish(single("mastodon"), MemoryJournal())
    assert caught.value.retry_at is not None
    assert abs((caught.value.retry_at - datetime.fromtimestamp(reset, UTC)).total_seconds()) < 3


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (503, {"error": "Service Unavailable"}, Retryable),
        (422, {"error": "Validation failed: Text character limit of 500 exceeded"}, Permanent),
        (403, {"error": "This action is not allowed"}, Permanent),
    ],
)
def test_errors(fake: FakeMastodon, status: int, body: dict, error: type) -> None:
    fake.fail_next("/api/v1/statuses", status, body)
    with pytest.raises(error, match=body["error"].split(":")[0]):
        adapter(account(fake.url)).publish(single("mastodon"), MemoryJournal())


def test_bad_token_and_timeouts(fake: FakeMastodon) -> None:
    with pytest.raises(AuthError, match="invalid"):
        adapter(account(fake.url, "revoked")).publish(single("mastodon"), MemoryJournal())
    with pytest.raises(Retryable):
        adapter(account(closed_port_url())).publish(single("mastodon"), MemoryJournal())
    journal = MemoryJournal()
    mastodon = adapter(account(fake.url))
    mastodon.instance_limit  # noqa: B018  (fetched before the hang)
    fake.fail_next("/api/v1/statuses", delay=HANG)
    with pytest.raises(Ambiguous):
        mastodon.publish(single("mastodon"), journal)
    found = adapter(account(fake.url)).lookup(single("mastodon"), journal)
    assert found is not None and found.platform_id in fake.statuses
    assert adapter(account(fake.url)).publish(single("mastodon"), journal) == found


def test_thread_and_media(fake: FakeMastodon, tmp_path: Any) -> None:
    post, journal = thread("mastodon"), MemoryJournal()
    fake.fail_next("/api/v1/statuses", 502, {"error": "Bad Gateway"}, skip=1)
    with pytest.raises(Retryable):
        adapter(account(fake.url)).publish(post, journal)
    published = adapter(account(fake.url)).publish(post, journal)
    statuses = list(fake.statuses.values())
    assert len(statuses) == 3
    assert statuses[1]["in_reply_to_id"] == published.platform_id
    assert statuses[2]["in_reply_to_id"] == published.thread_ids[0]
    adapter(account(fake.url)).publish(single("mastodon", "Poster", "k2", image(tmp_path)), MemoryJournal())
    [media] = fake.media.values()
    assert media["description"] == "Jessica Jones poster" and media["bytes"] > 0
    assert list(fake.statuses.values())[-1]["media_attachments"][0]["id"] == media["id"]


def test_verify(fake: FakeMastodon) -> None:
    assert adapter(account(fake.url)).verify() == "@jessicajones (limit 500)"


def test_cross_check_against_mastodon_mock(tmp_path: Any) -> None:
    """The same adapter against an independent fake (mastodon-mock, seeded alice_token)."""
    import httpx
    from mastodon_mock.testing.server import MockServer

    with MockServer() as server:
        mock = make_account("mastodon", server.base_url, {"access_token": "alice_token"})
        post, journal = thread("mastodon", 2), MemoryJournal()
        published = adapter(mock, timeout=5).publish(post, journal)
        again = adapter(mock, timeout=5).publish(post, MemoryJournal())  # same Idempotency-Keys
        assert again.platform_id == published.platform_id
        replies = server.client().status_context(published.platform_id)["descendants"]
        assert [r["id"] for r in replies] == list(published.thread_ids)
        with_image = single("mastodon", "Poster", "k-media", image(tmp_path))
        assert adapter(mock, timeout=5).publish(with_image, MemoryJournal()).platform_id
        assert adapter(mock, timeout=5).verify().startswith("@alice")
        # MockServer.fault() imports a missing "httpx2" in 0.6.1: post the rule to its API directly
        rule = {
            "match": {"methods": ["POST"], "path": "/api/v1/statuses"},
            "count": 1,
            "effect": {"type": "status", "status": 429, "body": {"error": "Too many requests"}},
        }
        httpx.post(f"{server.base_url}/api/v1/_mock/faults", json=rule).raise_for_status()
        with pytest.raises(RateLimited):
            adapter(mock, timeout=5).publish(single("mastodon", "later", "k-429"), MemoryJournal())
        with pytest.raises(AuthError):
            adapter(make_account("mastodon", server.base_url, {"access_token": "nope"}), timeout=5).publish(
                single("mastodon", "x", "k-auth"), MemoryJournal()
            )
