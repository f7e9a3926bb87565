"""Telegram video through sendVideo against the fake Bot API: fields, thumbnail, limits, memory, a killed worker."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from promo.errors import Permanent, RateLimited
from promo.posts import Media, MemoryJournal, NotPublished, Post
from promo.times import utcnow
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.media.mediakit import large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload
from tests.platforms.videokit import fake_in_child, peak_of

MB = 1024 * 1024


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as server:
        yield server  # type: ignore[misc]


def account(url: str, **options: Any) -> Any:
    return make_account("telegram", url, {"bot_token": TOKEN}, chat_id="@jessicajones", **options)


def video(path: Path, **probed: Any) -> Media:
    return Media(str(path), "Krysten Ritter directing", path.stat().st_size, "video/mp4", **probed)


def post_of(media: Media, text: str = "The featurette: Krysten Ritter directs.") -> Post:
    return single("telegram", text, "k-video", media)


def test_send_video_carries_dimensions_duration_streaming_and_the_cover(fake: FakeTelegram, tmp_path: Path) -> None:
    path, cover = tiny_video(tmp_path), tiny_image(tmp_path, width=640, height=360, format="PNG")
    media = video(path, width=64, height=36, duration_s=1.02, cover=str(cover))
    published = adapter(account(fake.url)).publish(post_of(media), MemoryJournal())
    message = fake.messages[published.platform_id]
    assert message["video"] == {"size": path.stat().st_size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert (message["width"], message["height"], message["duration"]) == ("64", "36", "2")
    assert message["supports_streaming"] == "true" and message["caption"] == post_of(media).text
    thumbnail = tmp_path / "got.jpg"
    thumbnail.write_bytes(message["thumbnail"])
    with Image.open(thumbnail) as image:
        assert image.format == "JPEG" and max(image.size) <= 320  # scaled from 640x360


def test_a_cover_frame_time_becomes_the_thumbnail(fake: FakeTelegram, tmp_path: Path) -> None:
    published = adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path), cover="0:00.5")),
                                                   MemoryJournal())
    assert fake.messages[published.platform_id]["thumbnail"][:3] == b"\xff\xd8\xff"


def test_over_50_mb_is_refused_before_sending(fake: FakeTelegram, tmp_path: Path) -> None:
    with pytest.raises(Permanent, match="the Bot API takes files up to 50 MB"):
        adapter(account(fake.url)).publish(post_of(video(large_video(tmp_path, 51 * MB))), MemoryJournal())
    assert fake.received == []


def test_the_bot_apis_413_is_permanent(tmp_path: Path) -> None:
    with FakeTelegram(upload_limit=1 * MB) as fake:
        with pytest.raises(Permanent, match="Request Entity Too Large"):
            adapter(account(fake.url, max_upload_mb=2000)).publish(post_of(video(large_video(tmp_path, 2 * MB))),
                                                                   MemoryJournal())
        assert fake.messages == {}


def test_a_429_waits_for_retry_after(fake: FakeTelegram, tmp_path: Path) -> None:
    fake.fail_next("sendVideo", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                                      "parameters": {"retry_after": 7}})
    journal = MemoryJournal()
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
    assert caught.value.retry_at is not None and caught.value.retry_at - utcnow() > timedelta(seconds=5)
    adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
    assert len(fake.messages) == 1


def test_the_upload_streams_from_disk(tmp_path: Path) -> None:
    path = large_video(tmp_path, 9 * MB)
    with fake_in_child(FakeTelegram) as [url]:
        adapter(account(url)).publish(post_of(video(tiny_video(tmp_path)), "warm-up"), MemoryJournal())
        peak = peak_of(lambda: adapter(account(url)).publish(post_of(video(path)), MemoryJournal())).peak
    assert peak < 1 * MB, f"peak {peak / MB:.1f} MB for a 9 MB upload"


def test_a_worker_killed_mid_upload_is_not_published_and_is_sent_once_again(fake: FakeTelegram,
                                                                            tmp_path: Path) -> None:
    path = large_video(tmp_path, 30 * MB)  # more than the socket buffers hold
    fake.fail_next("sendVideo", 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}, delay=5.0)
    journal = killed_mid_upload(tmp_path, "telegram", fake.url, {"bot_token": TOKEN}, {"chat_id": "@jessicajones"},
                                post_of(video(path)),
                                lambda notes: notes.get("upload:0") == "started"
                                and bool(fake.requests_to("sendVideo")))
    telegram = adapter(account(fake.url))
    found = telegram.lookup(post_of(video(path)), journal)
    assert isinstance(found, NotPublished) and "cut off before its last byte" in found.reason
    telegram.publish(post_of(video(path)), journal)
    assert len(fake.messages) == 1 and journal.get("upload:0") == "sent"
