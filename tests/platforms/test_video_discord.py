"""Discord video as a webhook file attachment, against the fake: streaming, the limit, a kill mid-upload."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited
from promo.platforms.registry import rules_for
from promo.posts import CannotTell, Media, MemoryJournal, NotPublished, Part, Post, Published
from promo.rules.discord import request_bytes
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.discord import WEBHOOK_PATH, FakeDiscord
from tests.media.mediakit import large_video, tiny_video
from tests.platforms.uploadkit import killed_mid_upload, publish_peak_memory


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord() as server:
        yield server  # type: ignore[misc]


def account(fake: FakeDiscord, **options: Any) -> Any:
    return make_account("discord", fake.url, {"webhook_url": fake.webhook_url}, **options)


def clip(path: Path) -> Media:
    return Media(str(path), "Krysten Ritter directing episode 2", path.stat().st_size, "video/mp4")


def test_a_video_is_a_file_attachment_with_its_alt_text(fake: FakeDiscord, tmp_path: Path) -> None:
    path, journal = tiny_video(tmp_path), MemoryJournal()
    published = adapter(account(fake)).publish(single("discord", "The featurette", "k", clip(path)), journal)
    [files] = fake.attachments.values()
    assert files == [{"id": "0", "filename": path.name, "size": path.stat().st_size, "content_type": "video/mp4",
                      "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data": path.read_bytes(),
                      "description": "Krysten Ritter directing episode 2"}]
    assert fake.messages[published.platform_id]["content"] == "The featurette"
    assert published.url == f"https://discord.com/channels/9/7/{published.platform_id}"
    assert journal.get("upload:0") == "complete" and fake.received[-1].query == {"wait": "true"}


def test_over_the_upload_limit_nothing_is_sent(fake: FakeDiscord, tmp_path: Path) -> None:
    path = large_video(tmp_path, 3 * 1024 * 1024)
    with pytest.raises(Permanent, match="over the webhook's 2 MiB upload limit"):
        adapter(account(fake, upload_limit_mib=2)).publish(single("discord", "Big", "k", clip(path)), MemoryJournal())
    assert fake.received == []
    fake.upload_limit = 1024 * 1024  # the server's limit is lower than the account says
    with pytest.raises(Permanent, match="Request entity too large"):
        adapter(account(fake)).publish(single("discord", "Big", "k", clip(path)), MemoryJournal())
    assert fake.messages == {}


def test_a_missing_file_is_never_sent_as_text(fake: FakeDiscord, tmp_path: Path) -> None:
    gone = Media(str(tmp_path / "gone.mp4"), "", 10, "video/mp4")
    with pytest.raises(Permanent, match=r"gone\.mp4"):
        adapter(account(fake)).publish(single("discord", "Text", "k", gone), MemoryJournal())
    assert fake.received == []


def test_a_429_waits_then_sends_once(fake: FakeDiscord, tmp_path: Path) -> None:
    post, journal = single("discord", "The featurette", "k", clip(tiny_video(tmp_path))), MemoryJournal()
    fake.fail_next(WEBHOOK_PATH, 429, {"message": "You are being rate limited.", "retry_after": 1.5, "global": False})
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake)).publish(post, journal)
    assert caught.value.retry_at is not None and fake.messages == {}
    adapter(account(fake)).publish(post, journal)
    adapter(account(fake)).publish(post, journal)  # the journal has it: not sent again
    assert len(fake.messages) == 1


def test_a_worker_killed_mid_upload_sends_it_once(fake: FakeDiscord, tmp_path: Path) -> None:
    path = large_video(tmp_path, 24 * 1024 * 1024)  # far more than the socket buffers: the child blocks mid-body
    post = single("discord", "The trailer", "k", clip(path))
    fake.streamed_paths, fake.hold = (WEBHOOK_PATH,), threading.Event()
    journal = killed_mid_upload(tmp_path, "discord", fake.url, {"webhook_url": fake.webhook_url}, {}, post,
                                when=lambda notes: notes.get("upload:0") == "started" and bool(fake.received))
    fake.hold.set()
    answer = adapter(account(fake)).lookup(post, journal)
    assert isinstance(answer, NotPublished) and "cut off" in answer.reason and fake.messages == {}
    fake.hold, fake.streamed_paths = None, ()
    published = adapter(account(fake), timeout=10.0).publish(post, journal)
    assert list(fake.messages) == [published.platform_id]
    assert fake.attachments[published.platform_id][0]["size"] == path.stat().st_size
    assert isinstance(adapter(account(fake)).lookup(post, journal), Published)


def test_a_whole_upload_without_an_answer_cannot_be_told(fake: FakeDiscord, tmp_path: Path) -> None:
    journal = MemoryJournal({"sending:0": "2026-01-01T00:00:00+00:00", "upload:0": "complete"})
    post = single("discord", "The featurette", "k", clip(tiny_video(tmp_path)))
    assert isinstance(adapter(account(fake)).lookup(post, journal), CannotTell)


def test_upload_streams_from_disk(fake: FakeDiscord, tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    post = single("discord", "The trailer", "k", clip(large_video(tmp_path, size)))
    peak = publish_peak_memory(tmp_path, "discord", fake.url, {"webhook_url": fake.webhook_url}, {}, post)
    [files] = fake.attachments.values()
    assert files[0]["size"] == size
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"


def test_preview_never_accepts_a_request_the_adapter_refuses(fake: FakeDiscord, tmp_path: Path) -> None:
    """Around the account's limit: what the rules accept, the adapter sends (the rules err low, by < 1 KiB)."""
    verdicts = []
    for gap in (0, 300, 600, 1200, 4096):
        post = single("discord", "The trailer", f"k{gap}", clip(large_video(tmp_path, 2 * 1024 * 1024 - gap)))
        accepted = rules_for("discord", {"upload_limit_mib": 2}).check(post).ok
        try:
            sent = bool(adapter(account(fake, upload_limit_mib=2)).publish(post, MemoryJournal()))
        except Permanent:
            sent = False
        assert sent or not accepted, f"{gap} bytes under the limit: preview accepts what the adapter refuses"
        verdicts.append((accepted, sent))
    assert verdicts[0] == (False, False) and verdicts[-2:] == [(True, True)] * 2


@pytest.mark.parametrize(("text", "alt", "name", "username"), [
    ("The trailer", "", "trailer.mp4", None),
    ("Jessica Jones 😷 \"S3\" é" * 80, "Krysten Ritter 🎬 \n directing" * 40, "trailer 🎬 é.mp4", "Jessica"),
])
def test_request_bytes_is_at_least_what_is_sent(fake: FakeDiscord, tmp_path: Path, text: str, alt: str,
                                                 name: str, username: str | None) -> None:
    path = tiny_video(tmp_path, name=name)
    media = (Media(str(path), alt, path.stat().st_size, "video/mp4"), Media(str(path), alt, path.stat().st_size))
    post = Post("discord", "test-discord", (Part(text, media),), "k")
    options = {"username": username} if username else {}
    adapter(account(fake, **options)).publish(post, MemoryJournal())
    sent = int(fake.received[-1].headers["content-length"])
    assert sent <= request_bytes(post.parts[0], username or "") <= sent + 2048
