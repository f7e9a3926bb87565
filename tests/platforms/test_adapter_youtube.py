"""YouTube through google-api-python-client, against the fake: the resumable upload and its restarts,
processing, release (publishAt), thumbnails, captions, playlists, quota, errors, look-ups, memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from promo.errors import AuthError, Permanent, RateLimited, Retryable
from promo.posts import CannotTell, Media, MemoryJournal, NotPublished, Post, Published
from promo.rules.youtube import next_reset, rfc3339
from tests.fakes.accounts import adapter, make_account, single
from tests.fakes.youtube import KIB256, TOKEN, FakeYouTube
from tests.media.mediakit import captions_file, large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload
from tests.platforms.videokit import fake_in_child, peak_of

POLL = 0.02
UPLOADS = "/upload/youtube/v3/videos"  # the session's start, then each chunk (the fault path has no query)
TEXT = ("Krysten Ritter directs Jessica Jones\n\nThe featurette: Krysten Ritter behind the camera for season 3.\n"
        "Tags: Jessica Jones, Krysten Ritter, Netflix")


@pytest.fixture
def fake() -> Iterator[FakeYouTube]:
    with FakeYouTube() as server:
        yield server  # type: ignore[misc]


def account(fake: FakeYouTube, **options: Any) -> Any:
    return make_account("youtube", fake.url, {"access_token": TOKEN}, video_poll_s=POLL, chunk_bytes=KIB256,
                        **options)


def clip(tmp_path: Path, **probed: Any) -> Media:
    path = tiny_video(tmp_path, seconds=2)
    return Media(str(path), "Krysten Ritter directing", path.stat().st_size, "video/mp4", **probed)


def big(tmp_path: Path, size: int = 4 * KIB256 + 1000) -> Media:
    path = large_video(tmp_path, size)
    return Media(str(path), "Trailer", size, "video/mp4")


def post_of(media: Media, text: str = TEXT, key: str = "k-yt") -> Post:
    return single("youtube", text, key, media)


def only_video(fake: FakeYouTube) -> Any:
    [video] = fake.videos.values()
    return video


def test_uploads_in_chunks_then_releases_it_public(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = big(tmp_path), MemoryJournal()
    youtube = adapter(account(fake))
    published = youtube.publish(post_of(media), journal)
    video = only_video(fake)
    assert published == Published(video.id, f"https://www.youtube.com/watch?v={video.id}")
    assert video.data == Path(media.path).read_bytes()
    [session] = fake.sessions.values()
    assert [last - first + 1 for first, last in session.chunks] == [KIB256] * 4 + [1000]
    snippet = video.metadata["snippet"]
    assert snippet["title"] == "Krysten Ritter directs Jessica Jones" and snippet["categoryId"] == "1"
    assert snippet["description"] == "The featurette: Krysten Ritter behind the camera for season 3."
    assert snippet["tags"] == ["Jessica Jones", "Krysten Ritter", "Netflix"]
    [insert] = [r for r in fake.received if r.method == "POST"]
    assert insert.query["uploadType"] == "resumable" and insert.headers["x-upload-content-length"] == str(media.size)
    assert video.metadata["status"]["privacyStatus"] == "public"  # released by videos.update, after processing
    assert json.loads(journal.get("youtube:session") or "{}")["uri"] == session.uri
    assert youtube.meter.spent() == fake.spent == 1600 + 2 + 50  # insert, two processing reads, update


def test_publish_at_releases_it_private_and_scheduled(fake: FakeYouTube, tmp_path: Path) -> None:
    at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    adapter(account(fake)).publish(post_of(clip(tmp_path), f"{TEXT}\nPublish at: {rfc3339(at)}"), MemoryJournal())
    status = only_video(fake).metadata["status"]
    assert status["privacyStatus"] == "private" and status["publishAt"] == rfc3339(at)
    assert only_video(fake).metadata["snippet"]["tags"] == ["Jessica Jones", "Krysten Ritter", "Netflix"]


def test_a_publish_time_already_past_is_released_at_once(fake: FakeYouTube, tmp_path: Path) -> None:
    past = datetime.now(UTC) - timedelta(minutes=5)
    text = f"{TEXT}\nPublish at: {rfc3339(past)}"
    adapter(account(fake, privacy="unlisted")).publish(post_of(clip(tmp_path), text), MemoryJournal())
    assert only_video(fake).metadata["status"] == {"privacyStatus": "unlisted", "embeddable": True,
                                                   "selfDeclaredMadeForKids": False}


def test_thumbnail_captions_and_playlist(fake: FakeYouTube, tmp_path: Path) -> None:
    cover, captions = tiny_image(tmp_path, format="JPEG"), captions_file(tmp_path, format="vtt")
    media = clip(tmp_path, cover=str(cover), captions=str(captions))
    youtube = adapter(account(fake, verified=True, playlist_id="PLjj3", captions_language="en"))
    published = youtube.publish(post_of(media), MemoryJournal())
    video = only_video(fake)
    assert video.thumbnail == cover.read_bytes()
    [track] = video.captions
    assert track["body"] == captions.read_bytes() and track["snippet"]["language"] == "en"
    [item] = fake.playlist_items
    assert item["snippet"] == {"playlistId": "PLjj3", "resourceId": {"kind": "youtube#video",
                                                                     "videoId": published.platform_id}}
    assert fake.spent == 1600 + 2 + 50 + 400 + 50 + 50


def test_a_cover_frame_becomes_the_thumbnail(fake: FakeYouTube, tmp_path: Path) -> None:
    adapter(account(fake, verified=True)).publish(post_of(clip(tmp_path, cover="00:00:01")), MemoryJournal())
    assert (only_video(fake).thumbnail or b"")[:3] == b"\xff\xd8\xff"  # a JPEG


def test_an_unverified_channel_keeps_the_video_private_and_a_retry_sets_only_the_thumbnail(
        tmp_path: Path) -> None:
    with FakeYouTube(verified=False) as fake:
        journal, media = MemoryJournal(), clip(tmp_path, cover=str(tiny_image(tmp_path, format="PNG")))
        with pytest.raises(Permanent, match="custom video thumbnails"):
            adapter(account(fake, verified=True)).publish(post_of(media), journal)
        assert only_video(fake).metadata["status"]["privacyStatus"] == "private"  # nothing public
        assert isinstance(adapter(account(fake)).lookup(post_of(media), journal), NotPublished)
        fake.verified = True  # the person verified the channel and retried
        adapter(account(fake, verified=True)).publish(post_of(media), journal)
        assert fake.initiated == 1 and only_video(fake).thumbnail is not None
        assert only_video(fake).metadata["status"]["privacyStatus"] == "public"


def test_processing_rejected_is_permanent_with_youtubes_reason(fake: FakeYouTube, tmp_path: Path) -> None:
    fake.reject_with = "duplicate"
    journal = MemoryJournal()
    with pytest.raises(Permanent, match=r"rejected \(duplicate\)"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert not journal.get("youtube:video") and not journal.get("youtube:session")  # a person's retry starts clean
    fake.reject_with = None  # a person replaced the file and retried
    published = adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert fake.initiated == 2 and fake.videos[published.platform_id].metadata["status"]["privacyStatus"] == "public"
    assert journal.get("youtube:final")  # this upload's own last chunk


def test_quota_exceeded_blocks_until_the_pacific_midnight_reset(tmp_path: Path) -> None:
    with FakeYouTube(budget=1000) as fake:
        with pytest.raises(RateLimited, match="quota") as caught:
            adapter(account(fake, daily_quota=100_000)).publish(post_of(clip(tmp_path)), MemoryJournal())
        assert caught.value.retry_at == next_reset(datetime.now(UTC)) and not fake.videos


def test_the_store_count_refuses_an_upload_before_it_starts(fake: FakeYouTube, tmp_path: Path) -> None:
    youtube = adapter(account(fake, daily_quota=3300, project="jj-promo"))
    youtube.publish(post_of(clip(tmp_path)), MemoryJournal())
    with pytest.raises(RateLimited, match=r"has 1,648 of 3,300 units left and this upload needs 1,655") as caught:
        youtube.publish(post_of(clip(tmp_path), key="k-2"), MemoryJournal())
    assert caught.value.retry_at == next_reset(datetime.now(UTC)) and fake.initiated == 1


def test_a_refused_token_is_an_auth_error(fake: FakeYouTube, tmp_path: Path) -> None:
    fake.token = "another"
    with pytest.raises(AuthError, match="refused the token"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), MemoryJournal())


def test_a_5xx_mid_upload_resumes_where_the_session_is(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = big(tmp_path), MemoryJournal()
    fake.fail_next(UPLOADS, 503, {"error": {"code": 503, "message": "Backend Error"}}, skip=3)
    with pytest.raises(Retryable, match="503"):
        adapter(account(fake)).publish(post_of(media), journal)
    adapter(account(fake)).publish(post_of(media), journal)
    [session] = fake.sessions.values()
    assert [first for first, _ in session.chunks] == [0, KIB256, 2 * KIB256, 3 * KIB256, 4 * KIB256]
    queries = [r for r in fake.requests_to("/upload/youtube/v3/videos") if r.headers.get("content-range", "")
               .startswith("bytes */")]
    assert len(queries) == 1 and only_video(fake).data == Path(media.path).read_bytes()


def test_no_answer_to_the_last_chunk_is_retried_without_a_second_video(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = clip(tmp_path), MemoryJournal()
    fake.fail_next(UPLOADS, delay=2.5, skip=1)  # the one chunk is taken, the answer comes too late
    with pytest.raises(Retryable, match="no answer"):
        adapter(account(fake)).publish(post_of(media), journal)
    assert len(fake.videos) == 1
    published = adapter(account(fake)).publish(post_of(media), journal)
    assert fake.initiated == 1 and list(fake.videos) == [published.platform_id]


def test_a_worker_killed_mid_upload_resumes_and_makes_one_video(fake: FakeYouTube, tmp_path: Path) -> None:
    media = big(tmp_path)
    fake.fail_next(UPLOADS, delay=5.0, skip=3)  # chunk 3 hangs: the kill comes while it is sent
    journal = killed_mid_upload(
        tmp_path, "youtube", fake.url, {"access_token": TOKEN}, {"video_poll_s": POLL, "chunk_bytes": KIB256},
        post_of(media), when=lambda notes: "youtube:session" in notes and len(fake.requests_to("/upload/")) >= 4)
    assert not fake.videos
    answer = adapter(account(fake)).lookup(post_of(media), journal)
    assert isinstance(answer, NotPublished) and "resumes" in answer.reason
    published = adapter(account(fake)).publish(post_of(media), journal)
    assert fake.initiated == 1 and list(fake.videos) == [published.platform_id]
    assert only_video(fake).data == Path(media.path).read_bytes()
    again = adapter(account(fake)).lookup(post_of(media), journal)
    assert again == published


def test_an_expired_session_before_the_last_chunk_starts_clean(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = big(tmp_path), MemoryJournal()
    fake.fail_next(UPLOADS, 500, {"error": {"code": 500, "message": "Backend Error"}}, skip=2)
    with pytest.raises(Retryable):
        adapter(account(fake)).publish(post_of(media), journal)
    fake.expire_sessions()
    adapter(account(fake)).publish(post_of(media), journal)
    assert fake.initiated == 2 and len(fake.videos) == 1
    assert only_video(fake).data == Path(media.path).read_bytes()


def test_a_session_gone_after_the_last_chunk_finds_the_video_by_title(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = clip(tmp_path), MemoryJournal()
    fake.fail_next(UPLOADS, delay=2.5, skip=1)
    with pytest.raises(Retryable):
        adapter(account(fake)).publish(post_of(media), journal)
    fake.expire_sessions()
    answer = adapter(account(fake)).lookup(post_of(media), journal)
    assert isinstance(answer, NotPublished) and journal.get("youtube:video") == only_video(fake).id
    published = adapter(account(fake)).publish(post_of(media), journal)
    assert fake.initiated == 1 and list(fake.videos) == [published.platform_id]


def test_lookups(fake: FakeYouTube, tmp_path: Path) -> None:
    media, journal = clip(tmp_path), MemoryJournal()
    youtube = adapter(account(fake))
    assert youtube.lookup(post_of(media), journal) == NotPublished("its upload never started")
    published = youtube.publish(post_of(media), journal)
    assert youtube.lookup(post_of(media), journal) == published
    del fake.videos[published.platform_id]  # someone deleted it in YouTube Studio
    assert isinstance(youtube.lookup(post_of(media), journal), CannotTell)


def test_never_publishes_without_its_video(fake: FakeYouTube, tmp_path: Path) -> None:
    gone = Media(str(tmp_path / "missing.mp4"), "", 10, "video/mp4")
    with pytest.raises(Permanent, match=r"missing\.mp4"):
        adapter(account(fake)).publish(post_of(gone), MemoryJournal())
    with pytest.raises(Permanent, match="one video"):
        adapter(account(fake)).publish(single("youtube", TEXT, "k-none"), MemoryJournal())
    assert fake.sessions == {} and fake.spent == 0


def test_verify_names_the_channel(fake: FakeYouTube) -> None:
    assert adapter(account(fake)).verify() == "@jessicajones"


def test_upload_streams_from_disk(tmp_path: Path) -> None:
    size = 12 * 1024 * 1024
    with fake_in_child(FakeYouTube) as [url]:
        youtube = adapter(make_account("youtube", url, {"access_token": TOKEN}, video_poll_s=POLL), timeout=10)
        youtube.publish(post_of(clip(tmp_path), key="k-warm"), MemoryJournal())  # the client built, warm
        upload = peak_of(lambda: youtube.publish(post_of(big(tmp_path, size)), MemoryJournal()))
    assert upload.result.platform_id.startswith("v")
    assert upload.peak < size / 10, f"peak {upload.peak} bytes for a {size}-byte upload in 1 MiB chunks"


@pytest.mark.parametrize(("status", "reason", "error", "words"), [
    (403, "quotaExceeded", RateLimited, "blocked until midnight Pacific Time"),
    (400, "uploadLimitExceeded", RateLimited, "trying again in 24 hours"),
    (403, "insufficientPermissions", AuthError, "connect the account again, allowing youtube and youtube.upload"),
    (429, "rateLimitExceeded", RateLimited, "rate limited"),
    (503, "backendError", Retryable, "server error 503"),
    (400, "invalidCategoryId", Permanent, r"refused \(400\): Bad category \(invalidCategoryId\)"),
    (403, "forbidden", Permanent, r"refused \(403\)"),
])
def test_youtube_errors_mean_what_the_docs_say(fake: FakeYouTube, tmp_path: Path, status: int, reason: str,
                                               error: type[Exception], words: str) -> None:
    message = "Bad category" if reason == "invalidCategoryId" else f"{reason} happened"
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}}
    fake.fail_next(UPLOADS, status, body, {"Retry-After": "30"})
    journal = MemoryJournal()
    with pytest.raises(error, match=words) as caught:
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    if reason == "quotaExceeded":
        assert getattr(caught.value, "retry_at", None) == next_reset(datetime.now(UTC))
    if status == 429:
        retry = getattr(caught.value, "retry_at", None)
        assert retry is not None and 25 < (retry - datetime.now(UTC)).total_seconds() <= 30
    assert not fake.videos and journal.get("youtube:session") is None  # nothing started: a retry starts clean


def test_a_hang_on_the_sessions_start_is_retryable(fake: FakeYouTube, tmp_path: Path) -> None:
    fake.fail_next(UPLOADS, delay=2.5)  # the session is made, its answer comes too late
    journal = MemoryJournal()
    with pytest.raises(Retryable, match="the upload's start"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert fake.initiated == 2 and len(fake.videos) == 1  # the lost session made no video


def test_a_short_is_a_vertical_cut_with_shorts_in_its_title(fake: FakeYouTube, tmp_path: Path) -> None:
    from tests.media.mediakit import vertical_video

    path = vertical_video(tmp_path, seconds=2)
    cut = Media(str(path), "Krysten Ritter, vertical", path.stat().st_size, "video/mp4", duration_s=2.0, width=36,
                height=64)
    post = post_of(cut, "Krysten Ritter directs #Shorts\n\nThe featurette, vertical.")
    youtube = adapter(account(fake))
    assert youtube.check(post).ok
    published = youtube.publish(post, MemoryJournal())
    assert published.url == f"https://www.youtube.com/shorts/{published.platform_id}"
    assert only_video(fake).metadata["snippet"]["title"] == "Krysten Ritter directs #Shorts"
    assert not youtube.check(post_of(clip(tmp_path, width=64, height=36, duration_s=2.0),
                                     "Not vertical #Shorts\n\nx")).ok
