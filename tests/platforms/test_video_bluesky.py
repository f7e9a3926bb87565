"""Bluesky video through the video service against the fakes: service auth, job status, the video embed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Permanent, RateLimited, Retryable
from promo.posts import Media, MemoryJournal, Post
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE, FakeBluesky, FakeVideoService, claims_of
from tests.media.mediakit import captions_file, large_video, long_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload
from tests.platforms.videokit import fake_in_child, peak_of

MB = 1024 * 1024
POLL = 0.05


@pytest.fixture
def fakes() -> Iterator[tuple[FakeBluesky, FakeVideoService]]:
    with FakeBluesky() as pds, FakeVideoService(pds) as video:  # type: ignore[attr-defined]
        yield pds, video


def options(video_url: str, **more: Any) -> dict[str, Any]:
    return {"handle": HANDLE, "video_base_url": video_url, "media_poll": POLL, **more}


def account(pds_url: str, video_url: str, **more: Any) -> Any:
    return make_account("bluesky", pds_url, {"app_password": APP_PASSWORD}, **options(video_url, **more))


def video(path: Path, **probed: Any) -> Media:
    return Media(str(path), "Krysten Ritter directing episode 2", path.stat().st_size, "video/mp4", **probed)


def post_of(media: Media, text: str = "The featurette: Krysten Ritter directs.") -> Post:
    return single("bluesky", text, "k-video", media)


def embed_of(pds: FakeBluesky) -> dict[str, Any]:
    [record] = pds.records.values()
    return dict(record["embed"])


def test_a_video_goes_through_the_video_service_into_a_video_embed(
        fakes: tuple[FakeBluesky, FakeVideoService], tmp_path: Path) -> None:
    pds, service = fakes
    path, journal = tiny_video(tmp_path), MemoryJournal()
    media = video(path, width=64, height=36)
    adapter(account(pds.url, service.url)).publish(post_of(media), journal)
    [upload] = service.requests_to("uploadVideo")
    assert upload.query == {"did": DID, "name": path.name} and upload.headers["content-type"] == "video/mp4"
    claims = claims_of(upload.auth.removeprefix("Bearer "))
    assert claims["aud"] == "did:web:127.0.0.1" and claims["lxm"] == "com.atproto.repo.uploadBlob"
    [(job, digest)] = service.digests.items()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(service.requests_to("getJobStatus")) == 3  # encoding, encoding, completed
    embed = embed_of(pds)
    assert embed["$type"] == "app.bsky.embed.video" and embed["alt"] == media.alt
    assert (embed["aspectRatio"]["width"], embed["aspectRatio"]["height"]) == (64, 36)
    assert embed["video"]["ref"]["$link"] == service.jobs[job]["link"]
    assert journal.get("media:0:0") and journal.get("media:0:0:job") == job


def test_vtt_captions_are_embedded_and_srt_refused(fakes: tuple[FakeBluesky, FakeVideoService],
                                                   tmp_path: Path) -> None:
    pds, service = fakes
    vtt = captions_file(tmp_path, format="vtt", name="featurette.es.vtt")
    adapter(account(pds.url, service.url)).publish(post_of(video(tiny_video(tmp_path), captions=str(vtt))),
                                                    MemoryJournal())
    [caption] = embed_of(pds)["captions"]
    assert caption["lang"] == "es" and pds.blobs[caption["file"]["ref"]["$link"]] == vtt.read_bytes()
    srt = captions_file(tmp_path, format="srt")
    with pytest.raises(Permanent, match="WebVTT"):
        adapter(account(pds.url, service.url)).publish(
            post_of(video(tiny_video(tmp_path), captions=str(srt)), "again"), MemoryJournal())


def test_processing_failure_is_permanent_with_the_services_reason(
        fakes: tuple[FakeBluesky, FakeVideoService], tmp_path: Path) -> None:
    pds, service = fakes
    with pytest.raises(Permanent, match=r"could not process .*Video is too long: 200 seconds"):
        adapter(account(pds.url, service.url)).publish(post_of(video(long_video(tmp_path))), MemoryJournal())
    assert pds.records == {}


def test_a_video_with_images_is_refused_not_half_posted(fakes: tuple[FakeBluesky, FakeVideoService],
                                                         tmp_path: Path) -> None:
    pds, service = fakes
    poster = Media(str(tiny_image(tmp_path)), "poster", None, "image/png")
    post = single("bluesky", "Both", "k-both", video(tiny_video(tmp_path)), poster)
    with pytest.raises(Permanent, match="one video"):
        adapter(account(pds.url, service.url)).publish(post, MemoryJournal())
    assert pds.records == {} and service.jobs == {}


def test_still_processing_is_retryable_and_the_retry_polls_the_same_job(tmp_path: Path) -> None:
    with FakeBluesky() as pds, FakeVideoService(pds, polls=100) as service:  # type: ignore[attr-defined]
        journal = MemoryJournal()
        with pytest.raises(Retryable, match="still JOB_STATE_ENCODING"):
            adapter(account(pds.url, service.url, media_wait=0.3)).publish(post_of(video(tiny_video(tmp_path))),
                                                                             journal)
        [job] = service.jobs
        service.jobs[job]["polls"] = 0
        adapter(account(pds.url, service.url)).publish(post_of(video(tiny_video(tmp_path))), journal)
        assert len(service.jobs) == 1 and len(pds.records) == 1


def test_a_429_from_the_video_service_is_rate_limited(fakes: tuple[FakeBluesky, FakeVideoService],
                                                      tmp_path: Path) -> None:
    pds, service = fakes
    service.fail_next("uploadVideo", 429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                      {"ratelimit-reset": "1900000000"})
    with pytest.raises(RateLimited) as caught:
        adapter(account(pds.url, service.url)).publish(post_of(video(tiny_video(tmp_path))), MemoryJournal())
    assert caught.value.retry_at is not None and int(caught.value.retry_at.timestamp()) == 1900000000


def test_the_upload_streams_from_disk(tmp_path: Path) -> None:
    def pair() -> tuple[FakeBluesky, FakeVideoService]:
        pds = FakeBluesky()
        return pds, FakeVideoService(pds, polls=0)

    path = large_video(tmp_path, 9 * MB)
    with fake_in_child(pair) as [pds_url, video_url]:
        adapter(account(pds_url, video_url)).publish(post_of(video(tiny_video(tmp_path)), "warm-up"),
                                                     MemoryJournal())
        peak = peak_of(lambda: adapter(account(pds_url, video_url)).publish(post_of(video(path)),
                                                                            MemoryJournal())).peak
    assert peak < 1 * MB, f"peak {peak / MB:.1f} MB for a 9 MB upload"


def test_a_worker_killed_while_the_video_is_processed_posts_once(tmp_path: Path) -> None:
    with FakeBluesky() as pds, FakeVideoService(pds, polls=1000) as service:  # type: ignore[attr-defined]
        path = tiny_video(tmp_path)
        journal = killed_mid_upload(tmp_path, "bluesky", pds.url, {"app_password": APP_PASSWORD},
                                    options(service.url), post_of(video(path)), lambda notes: "media:0:0:job" in notes)
        [job] = service.jobs
        service.jobs[job]["polls"] = 0  # processing finishes while no worker runs
        adapter(account(pds.url, service.url)).publish(post_of(video(path)), journal)
        assert len(service.jobs) == 1 and len(pds.records) == 1
