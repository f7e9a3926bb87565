"""Video on Threads and Facebook Pages against fake Graph APIs (issue 13): containers polled until
FINISHED, the resumable upload, processing failures, rate limits mid-upload, resumes from the
journal, covers, memory, and a worker killed mid-upload."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Ambiguous, Permanent, RateLimited, Retryable
from promo.posts import Media, MemoryJournal, NotPublished, Part, Post, Published
from tests.fakes.accounts import HANG, adapter, make_account, single
from tests.fakes.facebook import PAGE_ID, PAGE_TOKEN, FakeFacebook
from tests.fakes.harness import MediaHost
from tests.fakes.threads import THREADS_TOKEN, USER_ID, FakeThreads
from tests.media.mediakit import animated_gif, corrupt_video, large_video, tiny_image, tiny_video

REPO = Path(__file__).resolve().parents[2]
TEXT = "Krysten Ritter directs episode 2. Jessica Jones season 3, June 14."


@pytest.fixture
def threads() -> Iterator[FakeThreads]:
    with FakeThreads() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def facebook() -> Iterator[FakeFacebook]:
    with FakeFacebook() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def host(tmp_path: Path) -> Iterator[MediaHost]:
    with MediaHost(tmp_path) as server:
        yield server  # type: ignore[misc]


def th_adapter(threads: FakeThreads, host: MediaHost | None = None, **options: Any) -> Any:
    if host is not None:
        options.setdefault("media_base_url", host.url)
    account = make_account("threads", threads.url, {"access_token": THREADS_TOKEN}, user_id=USER_ID, **options)
    made = adapter(account)
    made.poll_seconds, made.wait_seconds = 0.05, 2.0
    return made


def fb_adapter(facebook: FakeFacebook) -> Any:
    made = adapter(make_account("facebook", facebook.url, {"page_token": PAGE_TOKEN}, page_id=PAGE_ID))
    made.poll_seconds, made.wait_seconds = 0.05, 2.0
    return made


def video_media(path: Path, mime: str = "video/mp4", alt: str = "", **fields: Any) -> Media:
    """A Media for ``path`` (absolute, so no campaign folder is needed), as the campaign loader makes one."""
    return Media(str(path), alt, path.stat().st_size if path.exists() else None, mime, **fields)


def video_post(platform: str, *media: Any, text: str = TEXT) -> Post:
    return Post(platform, f"test-{platform}", (Part(text, tuple(media)),), "k-video")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- Threads --------------------------------------------------------------------------------------
def test_threads_video_container_is_polled_until_finished(threads: FakeThreads, host: MediaHost,
                                                          tmp_path: Path) -> None:
    clip = tiny_video(tmp_path, fps=24, name="featurette.mp4")
    threads.processing_polls = 2
    journal = MemoryJournal()
    published = th_adapter(threads, host).publish(video_post("threads", video_media(clip, alt="A featurette")),
                                                  journal)
    create = threads.requests_to(f"/{USER_ID}/threads")[0].form
    assert create["media_type"] == "VIDEO" and create["video_url"] == f"{host.url}/featurette.mp4"
    assert create["alt_text"] == "A featurette" and create["text"] == TEXT
    assert threads.fetched == [(create["video_url"], clip.stat().st_size, sha(clip))]  # the fake fetched it
    container = journal.get("container:0")
    looks = [at for node, at in threads.status_looks if node == container]
    assert len(looks) == 3 and all(b - a >= 0.045 for a, b in itertools.pairwise(looks))
    assert published.platform_id in threads.published and published.platform_id != container
    assert journal.get("part:0") == published.platform_id


@pytest.mark.parametrize(
    ("make", "setup", "reason"),
    [
        (lambda d: tiny_video(d, seconds=3, fps=24, name="v.mp4"), {"max_duration_s": 2.0}, "INVALID_DURATION"),
        (lambda d: tiny_video(d, fps=10, name="v.mp4"), {}, "INVALID_FRAME_RATE"),
        (lambda d: corrupt_video(d, name="v.mp4"), {}, "FAILED_PROCESSING_VIDEO"),
        (lambda d: tiny_video(d / "elsewhere", fps=24, name="v.mp4"), {}, "FAILED_DOWNLOADING_VIDEO"),
    ],
)
def test_threads_processing_error_fails_with_threads_reason(
    threads: FakeThreads, host: MediaHost, tmp_path: Path, make: Any, setup: dict[str, Any], reason: str
) -> None:
    for name, value in setup.items():
        setattr(threads, name, value)
    clip = make(tmp_path)
    with pytest.raises(Permanent, match=reason) as caught:
        th_adapter(threads, host).publish(video_post("threads", video_media(clip)), MemoryJournal())
    assert "Threads could not use the media" in str(caught.value)
    assert threads.published == {}  # never published, and never published without its video


def test_threads_still_processing_is_retried_on_the_same_container(threads: FakeThreads, host: MediaHost,
                                                                   tmp_path: Path) -> None:
    post = video_post("threads", video_media(tiny_video(tmp_path, fps=24, name="v.mp4")))
    threads.processing_polls = 1000
    journal = MemoryJournal()
    slow = th_adapter(threads, host)
    slow.wait_seconds = 0.2
    with pytest.raises(Retryable, match="still processing"):
        slow.publish(post, journal)
    found = th_adapter(threads, host).lookup(post, journal)
    assert isinstance(found, NotPublished) and "IN_PROGRESS" in found.reason
    threads.containers[journal.get("container:0") or ""]["polls"] = 0
    published = th_adapter(threads, host).publish(post, journal)
    assert len(threads.containers) == 1 and list(threads.published) == [published.platform_id]


def test_threads_expired_container_is_made_again(threads: FakeThreads, host: MediaHost, tmp_path: Path) -> None:
    post = video_post("threads", video_media(tiny_video(tmp_path, fps=24, name="v.mp4")))
    journal = MemoryJournal()
    threads.fail_next("/threads_publish", 500, {"error": {"message": "temporary", "code": 2}})
    with pytest.raises(Retryable):
        th_adapter(threads, host).publish(post, journal)
    first = journal.get("container:0") or ""
    threads.expire(first)
    published = th_adapter(threads, host).publish(post, journal)
    assert journal.get("container:0") != first and len(threads.containers) == 2
    assert list(threads.published) == [published.platform_id]


def test_threads_timeout_while_polling_then_lookup_and_retry_reuse_the_container(
    threads: FakeThreads, host: MediaHost, tmp_path: Path
) -> None:
    post = video_post("threads", video_media(tiny_video(tmp_path, fps=24, name="v.mp4")))
    journal = MemoryJournal()
    threads.fail_next("/v1.0/1", delay=HANG)  # the first status look (container ids start at 1001)
    with pytest.raises(Retryable, match="no answer to a look at container"):  # a look publishes nothing
        th_adapter(threads, host).publish(post, journal)
    assert isinstance(th_adapter(threads, host).lookup(post, journal), NotPublished)
    th_adapter(threads, host).publish(post, journal)
    assert len(threads.containers) == 1 and len(threads.published) == 1 and len(threads.fetched) == 1


def test_threads_carousel_mixes_images_and_videos(threads: FakeThreads, host: MediaHost, tmp_path: Path) -> None:
    still = tiny_image(tmp_path, name="key-art.png")
    clip = tiny_video(tmp_path, fps=24, name="teaser.mp4")
    journal = MemoryJournal()
    threads.processing_polls = 1
    image_media = video_media(still, mime="image/png", alt="Key art")
    published = th_adapter(threads, host).publish(video_post("threads", image_media, video_media(clip)), journal)
    forms = [r.form for r in threads.requests_to(f"/{USER_ID}/threads") if r.method == "POST"]
    first, second, carousel = forms[:3]
    assert (first["media_type"], first["is_carousel_item"], first["alt_text"]) == ("IMAGE", "true", "Key art")
    assert (second["media_type"], second["is_carousel_item"]) == ("VIDEO", "true") and "text" not in second
    assert carousel["media_type"] == "CAROUSEL" and carousel["text"] == TEXT
    assert carousel["children"] == journal.get("items:0") and len(carousel["children"].split(",")) == 2
    assert len(threads.fetched) == 2 and list(threads.published) == [published.platform_id]


def test_threads_carousel_resumes_its_items_after_a_failure(threads: FakeThreads, host: MediaHost,
                                                            tmp_path: Path) -> None:
    media = [video_media(tiny_video(tmp_path, fps=24, name=f"v{n}.mp4")) for n in range(3)]
    journal = MemoryJournal()
    threads.fail_next(f"/{USER_ID}/threads", 500, {"error": {"message": "temporary", "code": 2}}, skip=1)
    with pytest.raises(Retryable):
        th_adapter(threads, host).publish(video_post("threads", *media), journal)
    assert len((journal.get("items:0") or "").split(",")) == 1
    th_adapter(threads, host).publish(video_post("threads", *media), journal)
    assert len(threads.containers) == 4 and len(threads.published) == 1  # 3 items + 1 carousel, once each


def test_threads_never_posts_without_its_media(threads: FakeThreads, host: MediaHost, tmp_path: Path) -> None:
    gif = video_media(animated_gif(tmp_path), mime="image/gif")
    with pytest.raises(Permanent, match="not image/gif"):
        th_adapter(threads, host).publish(video_post("threads", gif), MemoryJournal())
    clip = video_media(tiny_video(tmp_path, fps=24, name="v.mp4"))
    with pytest.raises(Permanent, match="media_base_url"):
        th_adapter(threads).publish(video_post("threads", clip), MemoryJournal())
    assert threads.containers == {} and threads.published == {}


# -- Facebook -------------------------------------------------------------------------------------
def fb_video(tmp_path: Path, size: int = 250_000, **fields: Any) -> Any:
    return video_media(large_video(tmp_path, size, name="featurette.mp4"), **fields)


def test_facebook_resumable_upload_then_ready(facebook: FakeFacebook, tmp_path: Path) -> None:
    facebook.chunk_size, facebook.processing_polls = 100_000, 2
    media = fb_video(tmp_path)
    journal = MemoryJournal()
    published = fb_adapter(facebook).publish(video_post("facebook", media), journal)
    assert facebook.chunks == [(0, 100_000), (100_000, 100_000), (200_000, 50_000)]
    phases = [r.form.get("upload_phase") for r in facebook.requests_to("/videos") if r.method == "POST"]
    assert phases == ["start", "transfer", "transfer", "transfer", "finish"]
    [upload] = facebook.videos.values()
    assert bytes(upload["data"]) == Path(tmp_path / "featurette.mp4").read_bytes()
    assert upload["description"] == TEXT and upload["title"] == TEXT
    assert facebook.status_looks == [upload["video"]] * 3
    assert published.platform_id == upload["post"] == facebook.video_posts()[0]
    assert published.platform_id not in (upload["video"], upload["session"])
    assert published.url == f"https://www.facebook.com/{published.platform_id}"
    assert json.loads(journal.get("video:0") or "")["phase"] == "done"


@pytest.mark.parametrize(
    ("make", "setup", "reason"),
    [
        (lambda d: tiny_video(d, seconds=2, name="v.mp4"), {"max_duration_s": 1}, "limit is 1 seconds"),
        (lambda d: corrupt_video(d, name="v.mp4"), {}, "format that we don't support"),
        (lambda d: tiny_video(d, name="v.mp4"), {"max_bytes": 100}, "the limit is 100"),
    ],
)
def test_facebook_refusals_fail_with_facebook_reason(
    facebook: FakeFacebook, tmp_path: Path, make: Any, setup: dict[str, Any], reason: str
) -> None:
    for name, value in setup.items():
        setattr(facebook, name, value)
    with pytest.raises(Permanent, match=reason):
        fb_adapter(facebook).publish(video_post("facebook", video_media(make(tmp_path))), MemoryJournal())
    assert facebook.posts == {}


@pytest.mark.parametrize(
    ("status", "body", "headers"),
    [
        (429, {"error": {"message": "Too many calls", "code": 4}}, {"Retry-After": "30"}),
        (400, {"error": {"message": "Page request limit reached", "code": 32}}, {}),
        (400, {"error": {"message": "User request limit reached", "code": 17}}, {}),
        (400, {"error": {"message": "Calls to this api have exceeded the rate limit", "code": 613}}, {}),
    ],
)
def test_facebook_rate_limit_mid_transfer_resumes_at_the_same_chunk(
    facebook: FakeFacebook, tmp_path: Path, status: int, body: dict[str, Any], headers: dict[str, str]
) -> None:
    facebook.chunk_size = 100_000
    post = video_post("facebook", fb_video(tmp_path))
    journal = MemoryJournal()
    facebook.fail_next("/videos", status, body, headers, skip=2)  # start, chunk 1, then the limit on chunk 2
    with pytest.raises(RateLimited) as caught:
        fb_adapter(facebook).publish(post, journal)
    assert (caught.value.retry_at is not None) == bool(headers)
    assert json.loads(journal.get("video:0") or "")["start"] == 100_000
    fb_adapter(facebook).publish(post, journal)
    assert facebook.chunks == [(0, 100_000), (100_000, 100_000), (200_000, 50_000)]
    assert len(facebook.sessions) == 1 and len(facebook.video_posts()) == 1


def test_facebook_follows_the_offsets_the_server_names(facebook: FakeFacebook, tmp_path: Path) -> None:
    """A chunk accepted but unanswered (a crash): the retry sends it again and is told where the server is."""
    facebook.chunk_size = 100_000
    post = video_post("facebook", fb_video(tmp_path))
    journal = MemoryJournal()
    facebook.fail_next("/videos", delay=HANG, skip=2)
    with pytest.raises(Retryable, match="no answer to the chunk at 100000"):  # no chunk publishes anything
        fb_adapter(facebook).publish(post, journal)
    assert json.loads(journal.get("video:0") or "")["start"] == 100_000  # the server already has 200,000
    assert isinstance(fb_adapter(facebook).lookup(post, journal), NotPublished)
    fb_adapter(facebook).publish(post, journal)
    assert facebook.chunks == [(0, 100_000), (100_000, 100_000), (200_000, 50_000)]
    refused = [r for r in facebook.requests_to("/videos") if r.form.get("start_offset") == "100000"]
    assert len(refused) == 2 and len(facebook.video_posts()) == 1


def test_facebook_expired_session_starts_clean(facebook: FakeFacebook, tmp_path: Path) -> None:
    facebook.chunk_size = 100_000
    post = video_post("facebook", fb_video(tmp_path))
    journal = MemoryJournal()
    facebook.fail_next("/videos", 500, {"error": {"message": "temporary", "code": 2}}, skip=2)
    with pytest.raises(Retryable):
        fb_adapter(facebook).publish(post, journal)
    facebook.expire_sessions()
    published = fb_adapter(facebook).publish(post, journal)
    assert len(facebook.sessions) == 2 and facebook.video_posts() == [published.platform_id]


def test_facebook_finish_is_never_sent_twice(facebook: FakeFacebook, tmp_path: Path) -> None:
    """Finish answered late: the look-up finds the post. Finish refused: the retry finishes it, once."""
    late = video_post("facebook", fb_video(tmp_path), text="Late finish")
    journal = MemoryJournal()
    facebook.fail_next("/videos", delay=HANG, skip=2)  # start, one chunk, then finish
    with pytest.raises(Ambiguous):
        fb_adapter(facebook).publish(late, journal)
    found = fb_adapter(facebook).lookup(late, journal)
    assert isinstance(found, Published) and found.platform_id == facebook.video_posts()[0]
    refused = video_post("facebook", fb_video(tmp_path / "2"), text="Refused finish")
    journal = MemoryJournal()
    facebook.fail_next("/videos", 500, {"error": {"message": "temporary", "code": 2}}, skip=2)
    with pytest.raises(Retryable):
        fb_adapter(facebook).publish(refused, journal)
    found = fb_adapter(facebook).lookup(refused, journal)
    assert isinstance(found, NotPublished) and "never finished" in found.reason
    fb_adapter(facebook).publish(refused, journal)
    finishes = [r for r in facebook.requests_to("/videos") if r.form.get("upload_phase") == "finish"]
    assert len(finishes) == 3 and len(facebook.video_posts()) == 2


def test_facebook_processing_error_and_slow_processing(facebook: FakeFacebook, tmp_path: Path) -> None:
    facebook.processing_polls = 1000
    post = video_post("facebook", fb_video(tmp_path))
    journal = MemoryJournal()
    slow = fb_adapter(facebook)
    slow.wait_seconds = 0.2
    with pytest.raises(Retryable, match="still processing"):
        slow.publish(post, journal)
    found = fb_adapter(facebook).lookup(post, journal)
    assert isinstance(found, NotPublished) and "still processing" in found.reason
    [upload] = facebook.videos.values()
    upload.update(polls=0, error="Video duration exceeds the limit")
    with pytest.raises(Permanent, match="Facebook could not process the video: Video duration exceeds"):
        fb_adapter(facebook).publish(post, journal)
    assert len(facebook.sessions) == 1 and facebook.posts == {}


def test_facebook_cover_image_or_frame_becomes_the_thumb(facebook: FakeFacebook, tmp_path: Path) -> None:
    cover = tiny_image(tmp_path, format="JPEG", name="cover.jpg")
    fb_adapter(facebook).publish(video_post("facebook", fb_video(tmp_path, cover=str(cover))), MemoryJournal())
    clip = tiny_video(tmp_path / "frame", seconds=2, name="v.mp4")
    fb_adapter(facebook).publish(video_post("facebook", video_media(clip, cover="0:01.5"), text="Frame cover"),
                                 MemoryJournal())
    first, second = facebook.videos.values()
    assert first["thumb"] == cover.read_bytes()
    assert second["thumb"][:2] == b"\xff\xd8"  # a JPEG made from the frame at 1.5 s


def test_facebook_never_posts_without_its_media(facebook: FakeFacebook, tmp_path: Path) -> None:
    clip = video_media(tiny_video(tmp_path, name="v.mp4"))
    still = video_media(tiny_image(tmp_path), mime="image/png")
    with pytest.raises(Permanent, match="a video goes alone"):
        fb_adapter(facebook).publish(video_post("facebook", clip, still), MemoryJournal())
    thread = Post("facebook", "test-facebook", (Part(TEXT), Part("Part 2", (clip,))), "k")
    with pytest.raises(Permanent, match="move the media to the first part"):
        fb_adapter(facebook).publish(thread, MemoryJournal())
    missing = video_media(tmp_path / "gone.mp4")
    with pytest.raises(Permanent, match=r"gone\.mp4"):
        fb_adapter(facebook).publish(video_post("facebook", missing), MemoryJournal())
    assert facebook.received == []  # each refused before anything was sent
    assert facebook.posts == {} and facebook.sessions == {}


def test_text_post_unchanged(facebook: FakeFacebook) -> None:
    published = fb_adapter(facebook).publish(single("facebook"), MemoryJournal())
    assert published.platform_id in facebook.posts


# -- memory ---------------------------------------------------------------------------------------
CHILD = """
import json, sys, tracemalloc
from pathlib import Path
from promo.posts import Media, MemoryJournal, Part, Post
from tests.fakes.accounts import adapter, make_account
fb_url, th_url, host_url, clip = sys.argv[1:5]
media = Media(clip, "", Path(clip).stat().st_size, "video/mp4")
peaks = {}
for platform, account in (
    ("facebook", make_account("facebook", fb_url, {"page_token": "fb-page-token-abcdef"}, page_id="1234")),
    ("threads", make_account("threads", th_url, {"access_token": "threads-token-abcdef"}, user_id="5555",
                             media_base_url=host_url)),
):
    made = adapter(account, timeout=10.0)
    made.poll_seconds = 0.05
    post = Post(platform, account.name, (Part("Memory", (media,)),), "k-memory")
    made.verify()  # load httpx and open the connection first: imports are not the upload's memory
    tracemalloc.start()
    made.publish(post, MemoryJournal())
    peaks[platform] = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
print(json.dumps(peaks))
"""


def test_uploads_stream_from_disk(facebook: FakeFacebook, threads: FakeThreads, host: MediaHost,
                                  tmp_path: Path) -> None:
    """A 6 MB video in 3 MB chunks: the publishing process never holds more than a small part of it."""
    size = 6 * 1024 * 1024
    clip = large_video(tmp_path, size, name="big.mp4")
    facebook.chunk_size = 3 * 1024 * 1024
    threads.fps_range = (1.0, 60.0)  # the padded clip is 10 fps
    out = subprocess.run([sys.executable, "-c", CHILD, facebook.url, threads.url, host.url, str(clip)],
                         cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    assert peaks["facebook"] < size / 8, peaks  # one 3 MB chunk is sent; well under 1 MB is held
    assert peaks["threads"] < size / 8, peaks
    assert bytes(next(iter(facebook.videos.values()))["data"]) == clip.read_bytes()
    assert threads.fetched[0][1] == size and len(threads.published) == 1


# -- a worker killed mid-upload -------------------------------------------------------------------
def video_row(store: Any, media: Media) -> int:
    from promo.store.db import transaction
    from promo.store.tables import PostRow
    from promo.times import utcnow

    now = utcnow()
    payload = video_post("facebook", media).to_payload()
    row = PostRow(idempotency_key="k-killed", campaign_id=None, account="fb", platform="facebook",
                  payload=payload, digest="-", status="scheduled", scheduled_at=now, due_at=now,
                  created_at=now, updated_at=now)
    with transaction(store) as session:
        session.add(row)
        session.flush()
        return int(row.id)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_worker_killed_mid_upload_resumes_and_posts_once(
    facebook: FakeFacebook, tmp_path: Path, sqlite_url: str, redis_server: Any
) -> None:
    """SIGKILL the worker while a chunk is in flight: the sweeper calls the post unknown, the look-up
    says the upload never finished, and the next worker resumes it from the journal: one video, one post."""
    from tests.engine.enginekit import EngineProcess, actions, engine_env, make_store, post, wait_for

    store = make_store(sqlite_url)
    facebook.chunk_size = 100_000
    facebook.fail_next("/videos", delay=30.0, skip=3)  # start, chunks 1-2; chunk 3 is kept, its answer held
    (tmp_path / "promo.toml").write_text(
        f'[accounts.fb]\nplatform = "facebook"\npage_id = "{PAGE_ID}"\nbase_url = "{facebook.url}"\n',
        encoding="utf-8",
    )
    env = engine_env(tmp_path, sqlite_url, redis_server.url, "unused", publish_time_limit=8.0, http_timeout=3.0)
    env["PROMO_ACCOUNT_FB_PAGE_TOKEN"] = PAGE_TOKEN
    worker = EngineProcess(tmp_path, env, "worker", "-c", "1")
    beat = EngineProcess(tmp_path, env, "beat")
    try:
        post_id = video_row(store, fb_video(tmp_path))
        wait_for(lambda: len(facebook.chunks) == 3, 40, what="the third chunk to arrive")
        assert worker.kill_children(), "no pool process to kill"
        wait_for(lambda: post(store, post_id).status == "published", 60, what="published after the kill")
    finally:
        worker.stop()
        beat.stop()
    assert facebook.chunks == [(0, 100_000), (100_000, 100_000), (200_000, 50_000)]
    assert len(facebook.sessions) == 1 and facebook.video_posts() == [post(store, post_id).platform_id]
    assert "reconciled" in actions(store, post_id)  # unknown after the kill, then "never finished": resumed
    store.dispose()


def test_facebook_uploads_go_to_meta_video_host_unless_told() -> None:
    def endpoint(base_url: str | None, **options: Any) -> str:
        account = make_account("facebook", base_url, {"page_token": PAGE_TOKEN}, page_id=PAGE_ID, **options)
        return str(adapter(account).video_endpoint())

    assert endpoint(None) == "https://graph-video.facebook.com/v21.0"
    assert endpoint("http://127.0.0.1:9") == "http://127.0.0.1:9/v21.0"  # a fake or a proxy takes both
    assert endpoint(None, video_base_url="https://upload.example.com") == "https://upload.example.com/v21.0"
