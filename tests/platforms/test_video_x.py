"""X video through the v2 chunked upload, against the fake: segments, STATUS polling, resuming, memory."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited
from promo.posts import Media, MemoryJournal, Post
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.x import CREDENTIALS, USER, FakeX
from tests.media.mediakit import large_video, long_video, tiny_video
from tests.platforms.uploadkit import killed_mid_upload
from tests.platforms.videokit import fake_in_child, peak_of

MB = 1024 * 1024


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(check_after_secs=0.2, processing_polls=2) as server:
        yield server  # type: ignore[misc]


def account(url: str, **options: Any) -> Any:
    return make_account("x", url, CREDENTIALS, handle="@JessicaJones", user_id=USER["id"], **options)


def video(path: Path, alt: str = "Krysten Ritter directing episode 2") -> Media:
    return Media(str(path), alt, path.stat().st_size, "video/mp4")


def post_of(media: Media, text: str = "The featurette: Krysten Ritter directs.") -> Post:
    return single("x", text, "k-video", media)


def commands(fake: FakeX) -> list[str]:
    return [c if c != "APPEND" else f"APPEND {f['segment_index']}" for c, f in fake.commands]


def test_a_video_goes_in_segments_is_polled_then_posted(fake: FakeX, tmp_path: Path) -> None:
    path = large_video(tmp_path, 9 * MB)  # three segments of at most 4 MiB
    journal = MemoryJournal()
    published = adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert commands(fake) == ["INIT", "APPEND 0", "APPEND 1", "APPEND 2", "FINALIZE", "STATUS", "STATUS"]
    [(media_id, upload)] = fake.uploads.items()
    assert upload.state == "succeeded" and upload.category == "tweet_video"
    assert upload.digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert fake.commands[0][1]["total_bytes"] == str(9 * MB) and fake.commands[0][1]["media_type"] == "video/mp4"
    assert fake.tweets[published.platform_id]["media"] == {"media_ids": [media_id]}
    assert media_id != published.platform_id and journal.get("media:0:0") == media_id
    assert "/2/media/metadata" in [r.path for r in fake.received]  # the alt text


def test_status_is_polled_no_sooner_than_check_after_secs(tmp_path: Path) -> None:
    with FakeX(check_after_secs=1, processing_polls=2) as fake:
        started = time.monotonic()
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), MemoryJournal())
        assert time.monotonic() - started >= 2.0  # FINALIZE said 1 s, then in_progress said 1 s more
        assert commands(fake).count("STATUS") == 2  # a poll too soon would have been a 429


def test_processing_failure_is_permanent_with_xs_reason(fake: FakeX, tmp_path: Path) -> None:
    journal = MemoryJournal()
    with pytest.raises(Permanent, match="X could not process the media: InvalidMedia: Video duration 200s"):
        adapter(account(fake.url)).publish(post_of(video(long_video(tmp_path))), journal)
    assert fake.tweets == {} and journal.get("media:0:0") is None


def test_a_video_x_refuses_is_never_posted_as_text_only(fake: FakeX, tmp_path: Path) -> None:
    too_big = large_video(tmp_path, 513 * MB)  # sparse: no disk used, never read
    with pytest.raises(Permanent, match="over the tweet_video limit"):
        adapter(account(fake.url)).publish(post_of(video(too_big)), MemoryJournal())
    assert fake.tweets == {} and commands(fake) == ["INIT"]


def test_a_429_during_append_is_rate_limited_and_the_retry_resumes(fake: FakeX, tmp_path: Path) -> None:
    path, journal = large_video(tmp_path, 9 * MB), MemoryJournal()
    reset = int(time.time()) + 60
    fake.fail_next("/2/media/upload", 429, {"title": "Too Many Requests", "detail": "Too Many Requests"},
                   {"x-rate-limit-reset": str(reset)}, skip=2)  # INIT, APPEND 0, then APPEND 1 is refused
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert caught.value.retry_at is not None and int(caught.value.retry_at.timestamp()) == reset
    [media_id] = fake.uploads
    assert journal.get("media:0:0:upload") == f"{media_id} {9 * MB} 1"
    adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert commands(fake)[2:] == ["APPEND 1", "APPEND 2", "FINALIZE", "STATUS", "STATUS"]
    assert len(fake.tweets) == 1 and fake.uploads[media_id].state == "succeeded"


def test_an_upload_x_forgot_starts_clean(fake: FakeX, tmp_path: Path) -> None:
    path = tiny_video(tmp_path)
    journal = MemoryJournal({"media:0:0:upload": f"999 {path.stat().st_size} 1"})  # expired at X
    adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert commands(fake) == ["FINALIZE", "INIT", "APPEND 0", "FINALIZE", "STATUS", "STATUS"]
    assert len(fake.tweets) == 1


def test_a_processed_media_id_is_reused(fake: FakeX, tmp_path: Path) -> None:
    path, journal = tiny_video(tmp_path), MemoryJournal()
    fake.fail_next("/2/tweets", 503, {"title": "Service Unavailable", "detail": "Service Unavailable"})
    with pytest.raises(Exception, match="server error"):
        adapter(account(fake.url)).publish(post_of(video(path)), journal)
    adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert commands(fake).count("INIT") == 1 and len(fake.tweets) == 1


def test_still_processing_past_the_wait_is_retryable_and_the_retry_polls_on(tmp_path: Path) -> None:
    with FakeX(check_after_secs=1, processing_polls=3) as fake:
        journal = MemoryJournal()
        with pytest.raises(Exception, match="still in_progress"):
            adapter(account(fake.url, media_wait=1.5)).publish(post_of(video(tiny_video(tmp_path))), journal)
        assert fake.tweets == {}
        time.sleep(1.0)  # the engine's backoff before the retry
        adapter(account(fake.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
        assert commands(fake).count("INIT") == 1 and len(fake.tweets) == 1


def test_the_upload_streams_from_disk(tmp_path: Path) -> None:
    path = large_video(tmp_path, 9 * MB)
    with fake_in_child(lambda: FakeX(check_after_secs=0.2, processing_polls=2)) as [url]:
        adapter(account(url)).publish(post_of(video(tiny_video(tmp_path)), "warm-up"), MemoryJournal())
        peak = peak_of(lambda: adapter(account(url)).publish(post_of(video(path)), MemoryJournal())).peak
    assert peak < 1 * MB, f"peak {peak / MB:.1f} MB for a 9 MB upload"


def test_a_worker_killed_mid_upload_resumes_and_posts_once(fake: FakeX, tmp_path: Path) -> None:
    path = large_video(tmp_path, 9 * MB)
    fake.fail_next("/2/media/upload", delay=5.0, skip=2)  # APPEND 1 is slow: the worker dies during it
    options = {"handle": "@JessicaJones", "user_id": USER["id"]}
    journal = killed_mid_upload(tmp_path, "x", fake.url, CREDENTIALS, options, post_of(video(path)),
                                lambda notes: ("APPEND", "1") in [(c, f.get("segment_index"))
                                                                  for c, f in fake.commands])
    assert fake.tweets == {} and journal.get("media:0:0") is None
    adapter(account(fake.url)).publish(post_of(video(path)), journal)
    assert commands(fake).count("INIT") == 1 and commands(fake).count("FINALIZE") == 1
    assert len(fake.tweets) == 1
