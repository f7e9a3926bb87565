"""LinkedIn video through the Videos API, against the fake: parts, ETags, processing, resuming, memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited
from promo.posts import Media, MemoryJournal, NotPublished, Post, Published
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.linkedin import AUTHOR, LINKEDIN_TOKEN, FakeLinkedIn
from tests.media.mediakit import captions_file, large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload, publish_peak_memory

POLL = 0.05


@pytest.fixture
def fake() -> Iterator[FakeLinkedIn]:
    with FakeLinkedIn() as server:
        server.videos.part_size = 1024  # a tiny clip in several parts
        yield server  # type: ignore[misc]


def account(fake: FakeLinkedIn, **options: Any) -> Any:
    return make_account("linkedin", fake.url, {"access_token": LINKEDIN_TOKEN}, author=AUTHOR,
                        video_poll_s=POLL, **options)


def clip(tmp_path: Path, **probed: Any) -> Media:
    path = tiny_video(tmp_path)
    return Media(str(path), "Krysten Ritter directing episode 2", path.stat().st_size, "video/mp4", **probed)


def post_of(media: Media, text: str = "The featurette: Krysten Ritter directs.") -> Post:
    return single("linkedin", text, "k-video", media)


def test_a_video_is_uploaded_in_parts_finalized_polled_then_posted(fake: FakeLinkedIn, tmp_path: Path) -> None:
    media = clip(tmp_path)
    journal = MemoryJournal()
    published = adapter(account(fake)).publish(post_of(media), journal)
    [video] = fake.videos.videos.values()
    assert len(video.parts) > 1 and video.content() == Path(media.path).read_bytes()
    assert video.status == "AVAILABLE" and video.urn != published.platform_id
    assert published.platform_id.startswith("urn:li:share:")
    post = fake.posts[published.platform_id]
    assert post["content"] == {"media": {"id": video.urn, "title": "Krysten Ritter directing episode 2"}}
    assert journal.get("media:0:0") == video.urn  # a retry reuses the video
    gaps = [b - a for a, b in zip(fake.videos.poll_times, fake.videos.poll_times[1:], strict=False)]
    assert len(fake.videos.poll_times) == 3 and min(gaps) >= POLL * 0.9  # the polling interval is kept
    puts = fake.requests_to("/dms-uploads/")
    assert all(r.headers["content-type"] == "application/octet-stream" for r in puts)
    assert {r.headers["x-restli-protocol-version"] for r in fake.requests_to("/rest/videos")} == {"2.0.0"}


def test_cover_and_captions_are_uploaded(fake: FakeLinkedIn, tmp_path: Path) -> None:
    cover, captions = tiny_image(tmp_path, format="JPEG"), captions_file(tmp_path)
    adapter(account(fake)).publish(post_of(clip(tmp_path, cover=str(cover), captions=str(captions))), MemoryJournal())
    [video] = fake.videos.videos.values()
    assert video.wants == (True, True)
    assert video.thumbnail == cover.read_bytes() and video.captions == captions.read_bytes()


def test_a_cover_given_as_a_frame_time_is_left_to_linkedin(fake: FakeLinkedIn, tmp_path: Path) -> None:
    adapter(account(fake)).publish(post_of(clip(tmp_path, cover="00:00:00.5")), MemoryJournal())
    [video] = fake.videos.videos.values()
    assert video.wants == (False, False) and video.thumbnail is None


def test_processing_failure_is_permanent_with_linkedins_reason(fake: FakeLinkedIn, tmp_path: Path) -> None:
    fake.videos.fail_processing = "INVALID_VIDEO_FORMAT"
    journal = MemoryJournal()
    with pytest.raises(Permanent, match="could not process the video: INVALID_VIDEO_FORMAT"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert fake.posts == {} and journal.get("media:0:0") is None
    fake.videos.fail_processing = None  # a person fixed the file and retried: a clean upload
    published = adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert fake.videos.initialized == 2 and len(fake.posts) == 1 and published.platform_id in fake.posts


def test_a_429_mid_upload_waits_then_resumes_at_the_next_part(fake: FakeLinkedIn, tmp_path: Path) -> None:
    journal, media = MemoryJournal(), clip(tmp_path)
    fake.fail_next("/dms-uploads/", 429, {"status": 429, "message": "Too many requests"}, {"Retry-After": "2"},
                   skip=1)
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake)).publish(post_of(media), journal)
    assert caught.value.retry_at is not None and fake.posts == {}
    parts = len(next(iter(fake.videos.videos.values())).parts)
    adapter(account(fake)).publish(post_of(media), journal)
    assert fake.videos.initialized == 1 and len(fake.posts) == 1
    assert len(fake.requests_to("/dms-uploads/")) == parts + 1  # part 1 twice (the 429), no other again


def test_expired_upload_urls_start_clean(fake: FakeLinkedIn, tmp_path: Path) -> None:
    journal, media = MemoryJournal(), clip(tmp_path)
    fake.videos.url_lifetime_s = 30  # under a minute left: not worth resuming
    fake.fail_next("/dms-uploads/", 500, {"status": 500, "message": "Internal Server Error"}, skip=1)
    with pytest.raises(Exception, match="500"):
        adapter(account(fake)).publish(post_of(media), journal)
    adapter(account(fake)).publish(post_of(media), journal)
    assert fake.videos.initialized == 2 and len(fake.posts) == 1
    used = fake.posts[next(iter(fake.posts))]["content"]["media"]["id"]
    assert fake.videos.videos[used].content() == Path(media.path).read_bytes()


def test_a_worker_killed_mid_upload_resumes_and_posts_once(fake: FakeLinkedIn, tmp_path: Path) -> None:
    media = clip(tmp_path)
    fake.fail_next("/dms-uploads/", delay=5.0, skip=1)  # part 2 hangs: the kill comes while it is sent
    journal = killed_mid_upload(
        tmp_path, "linkedin", fake.url, {"access_token": LINKEDIN_TOKEN},
        {"author": AUTHOR, "video_poll_s": POLL}, post_of(media),
        when=lambda notes: any(":etag:0" in key for key in notes) and bool(fake.requests_to("/part/1")),
    )
    assert fake.posts == {} and journal.get("sending:0") is None
    answer = adapter(account(fake)).lookup(post_of(media), journal)
    assert isinstance(answer, NotPublished)  # the post was never attempted: the reconciler may send it
    published = adapter(account(fake)).publish(post_of(media), journal)
    assert fake.videos.initialized == 1 and list(fake.posts) == [published.platform_id]
    [video] = fake.videos.videos.values()
    assert video.content() == Path(media.path).read_bytes()
    again = adapter(account(fake)).lookup(post_of(media), journal)
    assert isinstance(again, Published) and again.platform_id == published.platform_id


def test_a_crash_after_the_video_is_available_reuses_it(fake: FakeLinkedIn, tmp_path: Path) -> None:
    journal, media = MemoryJournal(), clip(tmp_path)
    fake.fail_next("/rest/posts", 503, {"status": 503, "message": "Service Unavailable"})
    with pytest.raises(Exception, match="503"):
        adapter(account(fake)).publish(post_of(media), journal)
    adapter(account(fake)).publish(post_of(media), journal)
    assert fake.videos.initialized == 1 and len(fake.requests_to("/rest/videos/")) == 3 and len(fake.posts) == 1


def test_never_posts_without_the_media_it_was_given(fake: FakeLinkedIn, tmp_path: Path) -> None:
    gone = replace(clip(tmp_path), path=str(tmp_path / "missing.mp4"))
    with pytest.raises(Permanent, match=r"missing\.mp4"):
        adapter(account(fake)).publish(post_of(gone), MemoryJournal())
    two = single("linkedin", "Two", "k2", clip(tmp_path), clip(tmp_path))
    with pytest.raises(Permanent, match="one video per post"):
        adapter(account(fake)).publish(two, MemoryJournal())
    fake.fail_next("/rest/videos", 422, {"status": 422, "message": "/fileSizeBytes :: too large"})
    with pytest.raises(Permanent, match="too large"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), MemoryJournal())
    assert fake.posts == {}


def test_upload_streams_from_disk(fake: FakeLinkedIn, tmp_path: Path) -> None:
    size = 6 * 1024 * 1024
    path = large_video(tmp_path, size)
    fake.videos.part_size = 4 * 1024 * 1024  # LinkedIn's own part size: two parts
    media = Media(str(path), "Trailer", size, "video/mp4")
    peak = publish_peak_memory(tmp_path, "linkedin", fake.url, {"access_token": LINKEDIN_TOKEN},
                               {"author": AUTHOR, "video_poll_s": POLL}, post_of(media))
    [video] = fake.videos.videos.values()
    assert len(video.digests) == 2 and len(fake.posts) == 1
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"
