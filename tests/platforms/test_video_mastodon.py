"""Mastodon video through Mastodon.py against the fake: async media (202, 206, then a url), covers, memory."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited, Retryable
from promo.posts import Media, MemoryJournal, Post
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.mastodon import MASTODON_TOKEN, FakeMastodon
from tests.media.mediakit import large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload
from tests.platforms.videokit import fake_in_child, peak_of

MB = 1024 * 1024
POLL = 0.05


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


def account(url: str, **options: Any) -> Any:
    return make_account("mastodon", url, {"access_token": MASTODON_TOKEN}, media_poll=POLL, **options)


def video(path: Path, **probed: Any) -> Media:
    return Media(str(path), "Krysten Ritter directing episode 2", path.stat().st_size, "video/mp4", **probed)


def post_of(media: Media, text: str = "The featurette: Krysten Ritter directs.") -> Post:
    return single("mastodon", text, "k-video", media)


def media_gets(fake: FakeMastodon) -> int:
    return len(fake.requests_to("/api/v1/media/"))


def test_a_video_is_processed_then_attached(fake: FakeMastodon, tmp_path: Path) -> None:
    path, journal = tiny_video(tmp_path), MemoryJournal()
    published = adapter(account(fake.url)).publish(post_of(video(path)), journal)
    [(media_id, media)] = fake.media.items()
    assert media["type"] == "video" and media["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert media["description"] == "Krysten Ritter directing episode 2"
    assert media_gets(fake) == 3  # 206, 206, then 200 with the url
    assert fake.statuses[published.platform_id]["media_attachments"][0]["id"] == media_id != published.platform_id
    assert journal.get("media:0:0") == media_id


def test_the_cover_is_sent_as_the_thumbnail(fake: FakeMastodon, tmp_path: Path) -> None:
    cover = tiny_image(tmp_path, format="JPEG")
    adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path), cover=str(cover))), MemoryJournal())
    [media] = fake.media.values()
    assert media["thumbnail"] == cover.read_bytes() and media["preview_url"]


def test_a_cover_frame_time_becomes_a_jpeg_thumbnail(fake: FakeMastodon, tmp_path: Path) -> None:
    adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path), cover="00:00:00.5")), MemoryJournal())
    [media] = fake.media.values()
    assert media["thumbnail"][:3] == b"\xff\xd8\xff"  # a JPEG


def test_processing_failure_is_permanent_with_the_instances_reason(fake: FakeMastodon, tmp_path: Path) -> None:
    fake.fail_processing = "Validation failed: File content type is invalid, File is invalid"
    with pytest.raises(Permanent, match=r"could not process .*File content type is invalid"):
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), MemoryJournal())
    assert fake.statuses == {}


def test_over_the_instances_size_limit_is_refused_before_sending(tmp_path: Path) -> None:
    with FakeMastodon(video_size_limit=2 * MB) as fake:
        with pytest.raises(Permanent, match="this instance takes videos up to 2097152"):
            adapter(account(fake.url)).publish(post_of(video(large_video(tmp_path, 3 * MB))), MemoryJournal())
        assert fake.media == {} and fake.statuses == {}


def test_still_processing_is_retryable_and_the_retry_polls_the_same_media(tmp_path: Path) -> None:
    with FakeMastodon(processing_polls=50) as fake:
        journal = MemoryJournal()
        with pytest.raises(Retryable, match="still processing"):
            adapter(account(fake.url, media_wait=0.3)).publish(post_of(video(tiny_video(tmp_path))), journal)
        [media_id] = fake.media
        assert journal.get("media:0:0:processing") == media_id and fake.statuses == {}
        fake.polls[media_id] = 1
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
        assert len(fake.media) == 1 and len(fake.statuses) == 1


def test_a_429_on_the_upload_is_rate_limited(fake: FakeMastodon, tmp_path: Path) -> None:
    reset = int(time.time()) + 120
    fake.fail_next("/api/v2/media", 429, {"error": "Too many requests"}, {"X-RateLimit-Reset": str(reset),
                                                                           "X-RateLimit-Remaining": "0"})
    journal = MemoryJournal()
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
    assert caught.value.retry_at is not None and int(caught.value.retry_at.timestamp()) == reset
    adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
    assert len(fake.media) == 1 and len(fake.statuses) == 1


def test_the_upload_streams_from_disk(tmp_path: Path) -> None:
    path = large_video(tmp_path, 9 * MB)
    with fake_in_child(lambda: FakeMastodon(processing_polls=0)) as [url]:
        adapter(account(url)).publish(post_of(video(tiny_video(tmp_path)), "warm-up"), MemoryJournal())
        peak = peak_of(lambda: adapter(account(url)).publish(post_of(video(path)), MemoryJournal())).peak
    assert peak < 1 * MB, f"peak {peak / MB:.1f} MB for a 9 MB upload"


def test_a_worker_killed_while_the_video_is_processed_posts_once(tmp_path: Path) -> None:
    with FakeMastodon(processing_polls=1000) as fake:
        path = tiny_video(tmp_path)
        journal = killed_mid_upload(tmp_path, "mastodon", fake.url, {"access_token": MASTODON_TOKEN},
                                    {"media_poll": POLL}, post_of(video(path)),
                                    lambda notes: "media:0:0:processing" in notes)
        [media_id] = fake.media
        fake.polls[media_id] = 0  # processing finishes while no worker runs
        adapter(account(fake.url)).publish(post_of(video(path)), journal)
        assert len(fake.media) == 1 and len(fake.statuses) == 1
