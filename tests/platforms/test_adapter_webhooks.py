"""Discord and Slack webhook adapters against fake webhook servers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.posts import CannotTell, MemoryJournal, NotPublished
from promo.times import utcnow
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.discord import FakeDiscord
from tests.fakes.harness import closed_port_url
from tests.fakes.slack import FakeSlack


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server  # type: ignore[misc]


def discord_account(fake: FakeDiscord, url: str | None = None, hook: str | None = None) -> Any:
    return make_account("discord", url or fake.url, {"webhook_url": hook or fake.webhook_url})


def slack_account(fake: FakeSlack, url: str | None = None, hook: str | None = None) -> Any:
    return make_account("slack", url or fake.url, {"webhook_url": hook or fake.webhook_url})


def test_discord_posts_with_wait_and_no_pings(discord: FakeDiscord) -> None:
    published = adapter(discord_account(discord)).publish(single("discord"), MemoryJournal())
    [request] = discord.received
    assert request.query == {"wait": "true"}
    assert request.json["allowed_mentions"] == {"parse": []}
    assert published.url == f"https://discord.com/channels/9/7/{published.platform_id}"


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (
            429,
            {"message": "You are being rate limited.", "retry_after": 2.5, "global": False},
            {"Retry-After": "3"},
            RateLimited,
        ),
        (500, {"message": "Internal Server Error"}, {}, Retryable),
        (404, {"message": "Unknown Webhook", "code": 10015}, {}, Permanent),
    ],
)
def test_discord_errors(discord: FakeDiscord, status: int, body: dict, headers: dict, error: type) -> None:
    discord.fail_next("/api/webhooks", status, body, headers)
    with pytest.raises(error, match=body["message"]) as caught:
        adapter(discord_account(discord)).publish(single("discord"), MemoryJournal())
    if status == 429:
        assert caught.value.retry_at - utcnow() == pytest.approx(
            timedelta(seconds=2.5), abs=timedelta(seconds=1)
        )


def test_discord_wrong_token_and_too_long(discord: FakeDiscord) -> None:
    with pytest.raises(AuthError, match="Invalid Webhook Token"):
        adapter(discord_account(discord, hook="https://discord.com/api/webhooks/42/nope")).publish(
            single("discord"), MemoryJournal()
        )
    with pytest.raises(Permanent, match="2000 or fewer"):
        adapter(discord_account(discord)).publish(single("discord", "x" * 2001), MemoryJournal())


def test_discord_timeouts(discord: FakeDiscord) -> None:
    with pytest.raises(Retryable):
        adapter(discord_account(discord, url=closed_port_url())).publish(single("discord"), MemoryJournal())
    discord.fail_next("/api/webhooks", delay=HANG)
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(discord_account(discord)).publish(single("discord"), journal)
    assert isinstance(adapter(discord_account(discord)).lookup(single("discord"), journal), CannotTell)
    assert isinstance(adapter(discord_account(discord)).lookup(single("discord"), MemoryJournal()), NotPublished)


def test_discord_files_and_thread_resume(discord: FakeDiscord, tmp_path: Any) -> None:
    post, journal = thread("discord"), MemoryJournal()
    hook = adapter(discord_account(discord))
    discord.fail_next("/api/webhooks", 503, {"message": "upstream"}, skip=1)
    with pytest.raises(Retryable):
        hook.publish(post, journal)
    published = hook.publish(post, journal)
    assert [m["content"] for m in discord.messages.values()] == [p.text for p in post.parts]
    assert len(published.thread_ids) == 2
    adapter(discord_account(discord)).publish(
        single("discord", "Poster", "k2", image(tmp_path)), MemoryJournal()
    )
    request = discord.received[-1]
    assert request.files["files[0]"].startswith(b"\x89PNG")
    assert "Poster" in request.form["payload_json"]


def test_slack_posts_text(slack: FakeSlack) -> None:
    journal = MemoryJournal()
    published = adapter(slack_account(slack)).publish(thread("slack", 2), journal)
    assert slack.messages == ["Part 1 of the Jessica Jones thread.", "Part 2 of the Jessica Jones thread."]
    assert published.platform_id.startswith("slack-") and published.url is None
    assert adapter(slack_account(slack)).lookup(thread("slack", 2), journal) == published


@pytest.mark.parametrize(
    ("status", "body", "headers", "error"),
    [
        (429, "rate_limited", {"Retry-After": "30"}, RateLimited),
        (500, "internal_error", {}, Retryable),
        (400, "invalid_blocks", {}, Permanent),
        (404, "no_service", {}, AuthError),
    ],
)
def test_slack_errors(slack: FakeSlack, status: int, body: str, headers: dict, error: type) -> None:
    from werkzeug.wrappers import Response

    slack.handle = lambda request: Response(body, status=status, headers=headers)  # type: ignore[method-assign]
    with pytest.raises(error, match=body) as caught:
        adapter(slack_account(slack)).publish(single("slack"), MemoryJournal())
    if status == 429:
        assert caught.value.retry_at - utcnow() == pytest.approx(
            timedelta(seconds=30), abs=timedelta(seconds=2)
        )


def test_slack_revoked_webhook_and_timeouts(slack: FakeSlack) -> None:
    with pytest.raises(AuthError, match="invalid_token"):
        adapter(slack_account(slack, hook="https://hooks.slack.com/services/T/B/old")).publish(
            single("slack"), MemoryJournal()
        )
    with pytest.raises(Retryable):
        adapter(slack_account(slack, url=closed_port_url())).publish(single("slack"), MemoryJournal())
    slack.fail_next("/services", delay=HANG)
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(slack_account(slack)).publish(single("slack"), journal)
    assert len(slack.messages) == 1
    found = adapter(slack_account(slack)).lookup(single("slack"), journal)
    assert isinstance(found, CannotTell) and "cannot read the channel" in found.reason


def test_verify(discord: FakeDiscord, slack: FakeSlack) -> None:
    assert adapter(discord_account(discord)).verify() == "webhook promo in channel 7"
    assert adapter(slack_account(slack)).verify() == "webhook accepted the credentials"
    assert discord.messages == {} and slack.messages == []
