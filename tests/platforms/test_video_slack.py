"""Slack video through the bot token's external upload flow, against the fake; webhook-only accounts refuse it."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited
from promo.platforms.registry import rules_for
from promo.posts import Media, MemoryJournal, NotPublished, Part, Post, Published
from tests.fakes.accounts import HANG, adapter, make_account, single
from tests.fakes.slack import BOT_TOKEN, CHANNEL, FakeSlack
from tests.media.mediakit import large_video, tiny_video
from tests.platforms.uploadkit import killed_mid_upload, publish_peak_memory

BOT_OPTIONS = {"channel": CHANNEL, "share_poll_s": 0.02}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server  # type: ignore[misc]


def credentials(fake: FakeSlack, token: str = BOT_TOKEN) -> dict[str, str]:
    return {"webhook_url": fake.webhook_url, "bot_token": token}


def bot(fake: FakeSlack, token: str = BOT_TOKEN, **options: Any) -> Any:
    return make_account("slack", fake.url, credentials(fake, token), **{**BOT_OPTIONS, **options})


def clip(path: Path) -> Media:
    return Media(str(path), "Krysten Ritter directing", path.stat().st_size, "video/mp4")


def video_thread(media: Media) -> Post:
    return Post("slack", "test-slack", (Part("The featurette", (media,)), Part("Season 3, June 14")), "k-video")


def test_a_video_is_uploaded_shared_with_the_text_and_threaded(fake: FakeSlack, tmp_path: Path) -> None:
    path, journal = tiny_video(tmp_path), MemoryJournal()
    published = adapter(bot(fake)).publish(video_thread(clip(path)), journal)
    first, reply = fake.channel_messages
    [file_id] = first["files"]
    assert published.platform_id == first["ts"] and published.thread_ids == (reply["ts"],)
    assert first["text"] == "The featurette" and reply == {**reply, "thread_ts": first["ts"], "files": []}
    assert fake.uploads[file_id]["data"] == path.read_bytes()
    assert fake.uploads[file_id]["title"] == "Krysten Ritter directing"
    assert journal.get("media:0:0") == file_id and journal.get("complete:0") == "done"
    upload = fake.requests_to("/api/files.getUploadURLExternal")[0]
    assert upload.form == {"filename": path.name, "length": str(path.stat().st_size)}
    assert len(fake.requests_to("/api/files.info")) == 2  # read until Slack shared it
    assert all(r.auth == f"Bearer {BOT_TOKEN}" for r in fake.requests_to("/api/"))
    again = adapter(bot(fake)).lookup(video_thread(clip(path)), journal)
    assert again == published and fake.messages == []


def test_a_webhook_only_account_refuses_video_in_preview_and_at_publish(fake: FakeSlack, tmp_path: Path) -> None:
    post = single("slack", "The featurette", "k", clip(tiny_video(tmp_path)))
    [problem] = rules_for("slack", {}).check(post).problems
    assert "add a bot token" in problem.message
    assert rules_for("slack", {"channel": CHANNEL}).check(post).ok
    hook = make_account("slack", fake.url, {"webhook_url": fake.webhook_url})
    with pytest.raises(Permanent, match="add a bot token"):
        adapter(hook).publish(post, MemoryJournal())
    assert fake.messages == [] and adapter(hook).publish(single("slack"), MemoryJournal())  # text still works


@pytest.mark.parametrize(
    ("options", "token", "error", "message"),
    [
        ({"channel": "C0ELSEWHERE"}, BOT_TOKEN, Permanent, "channel_not_found"),
        ({}, "xoxb-revoked", AuthError, "invalid_auth"),
    ],
)
def test_web_api_errors(fake: FakeSlack, tmp_path: Path, options: dict, token: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        adapter(bot(fake, token, **options)).publish(single("slack", "x", "k", clip(tiny_video(tmp_path))),
                                                     MemoryJournal())
    assert fake.channel_messages == []


def test_too_large_for_slack_is_refused_before_any_byte(fake: FakeSlack, tmp_path: Path) -> None:
    fake.max_file_bytes = 1000
    with pytest.raises(Permanent, match="file_too_large"):
        adapter(bot(fake)).publish(single("slack", "x", "k", clip(tiny_video(tmp_path))), MemoryJournal())
    assert fake.requests_to("/upload/v1/") == []


def test_a_429_on_the_upload_waits_then_starts_that_file_clean(fake: FakeSlack, tmp_path: Path) -> None:
    post, journal = video_thread(clip(tiny_video(tmp_path))), MemoryJournal()
    fake.fail_next("/upload/v1/", 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "3"})
    with pytest.raises(RateLimited) as caught:
        adapter(bot(fake)).publish(post, journal)
    assert caught.value.retry_at is not None and journal.get("sending:0") is None
    adapter(bot(fake)).publish(post, journal)
    assert len(fake.requests_to("/api/files.getUploadURLExternal")) == 2 and len(fake.channel_messages) == 2


def test_a_timed_out_complete_is_found_by_lookup_never_shared_twice(fake: FakeSlack, tmp_path: Path) -> None:
    post, journal = single("slack", "The featurette", "k", clip(tiny_video(tmp_path))), MemoryJournal()
    fake.share_after = 0  # a look-up comes after the settling time: Slack has shared it by then
    fake.fail_next("/api/files.completeUploadExternal", delay=HANG)
    with pytest.raises(Ambiguous):
        adapter(bot(fake)).publish(post, journal)
    assert journal.get("complete:0") == "sending"
    found = adapter(bot(fake)).lookup(post, journal)
    assert isinstance(found, Published) and found.platform_id == fake.channel_messages[0]["ts"]
    again = adapter(bot(fake)).publish(post, MemoryJournal({k: v for k, v in journal.notes.items() if k != "part:0"}))
    assert again.platform_id == found.platform_id and len(fake.channel_messages) == 1
    assert len(fake.requests_to("/api/files.completeUploadExternal")) == 1


def test_a_worker_killed_mid_upload_posts_once(fake: FakeSlack, tmp_path: Path) -> None:
    path = large_video(tmp_path, 24 * 1024 * 1024)  # more than the socket buffers: the child blocks mid-body
    post = single("slack", "The trailer", "k", clip(path))
    fake.hold = threading.Event()
    journal = killed_mid_upload(tmp_path, "slack", fake.url, credentials(fake), BOT_OPTIONS, post,
                                when=lambda notes: bool(fake.requests_to("/upload/v1/")))
    fake.hold.set()
    fake.hold = None
    assert journal.get("media:0:0") is None and journal.get("sending:0") is None
    answer = adapter(bot(fake)).lookup(post, journal)
    assert isinstance(answer, NotPublished)
    published = adapter(bot(fake), timeout=10.0).publish(post, journal)
    [message] = fake.channel_messages
    assert published.platform_id == message["ts"]
    assert fake.uploads[message["files"][0]]["received"] == path.stat().st_size


def test_upload_streams_from_disk(fake: FakeSlack, tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    path = large_video(tmp_path, size)
    peak = publish_peak_memory(tmp_path, "slack", fake.url, credentials(fake), BOT_OPTIONS,
                               single("slack", "The trailer", "k", clip(path)))
    [message] = fake.channel_messages
    upload = fake.uploads[message["files"][0]]
    assert upload["received"] == size
    assert upload["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"
