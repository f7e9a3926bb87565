"""Telegram adapter against a fake Bot API: real httpx requests, table of failures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.posts import CannotTell, MemoryJournal, NotPublished
from promo.times import utcnow
from tests.fakes.accounts import HANG, adapter, image, make_account, single, thread
from tests.fakes.harness import closed_port_url
from tests.fakes.telegram import TOKEN, FakeTelegram


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server  # type: ignore[misc]


def account(url: str, token: str = TOKEN):  # type: ignore[no-untyped-def]
    return make_account("telegram", url, {"bot_token": token}, chat_id="@jessicajones")


def test_publishes_a_message(fake: FakeTelegram) -> None:
    published = adapter(account(fake.url)).publish(single("telegram"), MemoryJournal())
    [request] = fake.received
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.json["chat_id"] == "@jessicajones"
    assert request.json["text"] == "Season 3 is coming. Stream it June 14."
    assert published.url == f"https://t.me/jessicajones/{published.platform_id}"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
            RateLimited,
        ),
        (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, Retryable),
        (400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}, Permanent),
        (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot is not a member"}, Permanent),
    ],
)
def test_errors_are_classified(fake: FakeTelegram, status: int, body: dict, error: type) -> None:
    fake.fail_next("sendMessage", status, body)
    with pytest.raises(error) as caught:
        adapter(account(fake.url)).publish(single("telegram"), MemoryJournal())
    assert body["description"] in str(caught.value)
    if status == 429:
        assert caught.value.retry_at - utcnow() == pytest.approx(
            timedelta(seconds=7), abs=timedelta(seconds=2)
        )


def test_wrong_token_is_an_auth_error(fake: FakeTelegram) -> None:
    with pytest.raises(AuthError, match="Unauthorized"):
        adapter(account(fake.url, token="999:wrong")).publish(single("telegram"), MemoryJournal())


def test_timeout_before_sending_is_retryable() -> None:
    with pytest.raises(Retryable):
        adapter(account(closed_port_url())).publish(single("telegram"), MemoryJournal())


def test_timeout_after_sending_is_ambiguous_and_stays_unconfirmed(fake: FakeTelegram) -> None:
    fake.fail_next("sendMessage", delay=HANG)
    journal = MemoryJournal()
    telegram = adapter(account(fake.url))
    with pytest.raises(Ambiguous):
        telegram.publish(single("telegram"), journal)
    assert len(fake.messages) == 1  # it did arrive
    found = telegram.lookup(single("telegram"), journal)
    assert isinstance(found, CannotTell) and "cannot read a channel's history" in found.reason


def test_photo_goes_with_its_caption(fake: FakeTelegram, tmp_path) -> None:  # type: ignore[no-untyped-def]
    adapter(account(fake.url)).publish(single("telegram", "Poster", "k", image(tmp_path)), MemoryJournal())
    [request] = fake.received
    assert request.path.endswith("/sendPhoto")
    assert request.form["caption"] == "Poster"
    assert request.files["photo"].startswith(b"\x89PNG")


def test_caption_over_1024_is_refused(fake: FakeTelegram, tmp_path) -> None:  # type: ignore[no-untyped-def]
    post = single("telegram", "x" * 1025, "k", image(tmp_path))
    with pytest.raises(Permanent, match="caption is too long"):
        adapter(account(fake.url)).publish(post, MemoryJournal())


def test_thread_replies_to_the_previous_message_and_resumes(fake: FakeTelegram) -> None:
    post, journal = thread("telegram"), MemoryJournal()
    telegram = adapter(account(fake.url))
    fake.fail_next("sendMessage", 500, {"ok": False, "error_code": 500, "description": "Internal"}, skip=1)
    with pytest.raises(Retryable):
        telegram.publish(post, journal)  # part 0 posted, part 1 refused
    published = telegram.publish(post, journal)  # resumes at part 1
    texts = [r.json["text"] for r in fake.received]
    assert texts == [post.parts[0].text, post.parts[1].text, post.parts[1].text, post.parts[2].text]
    assert len(fake.messages) == 3
    replies = [r.json.get("reply_parameters") for r in fake.received]
    assert replies[0] is None
    assert replies[3] == {"message_id": int(published.thread_ids[0])}
    assert replies[2] == {"message_id": int(published.platform_id)}


def test_lookup_reads_the_journal(fake: FakeTelegram) -> None:
    telegram, journal = adapter(account(fake.url)), MemoryJournal()
    assert isinstance(telegram.lookup(single("telegram"), journal), NotPublished)  # never attempted
    published = telegram.publish(single("telegram"), journal)
    assert telegram.lookup(single("telegram"), journal) == published


def test_verify_is_read_only(fake: FakeTelegram) -> None:
    assert adapter(account(fake.url)).verify() == "@promo_bot in @jessicajones"
    assert [r.path.rsplit("/", 1)[-1] for r in fake.received] == ["getMe"]
