"""TikTok's Content Posting API, against the fake: creator_info honoured, chunked FILE_UPLOAD, PULL_FROM_URL
from a media host, photo posts, status polling, faults, look-ups, resuming and memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Ambiguous, AuthError, Permanent, RateLimited, Retryable
from promo.platforms.registry import rules_for
from promo.platforms.tiktok import MB, chunks
from promo.posts import CannotTell, Media, MemoryJournal, NotPublished, Post, Published
from promo.times import iso, utcnow
from tests.fakes.accounts import HANG, adapter, make_account, single
from tests.fakes.harness import MediaHost
from tests.fakes.tiktok import TIKTOK_TOKEN, FakeTikTok
from tests.media.mediakit import large_video, tiny_image, tiny_video
from tests.platforms.uploadkit import killed_mid_upload, publish_peak_memory

POLL = 0.02
CAPTION = "Jessica Jones season 3: the featurette #JessicaJones"


@pytest.fixture
def fake() -> Iterator[FakeTikTok]:
    with FakeTikTok() as server:
        yield server  # type: ignore[misc]


def options(**extra: Any) -> dict[str, Any]:
    return {"status_poll_s": POLL, "status_wait_s": 5, "username": "jessicajones", **extra}


def account(fake: FakeTikTok, token: str = TIKTOK_TOKEN, **extra: Any) -> Any:
    return make_account("tiktok", fake.url, {"access_token": token}, **options(**extra))


def clip(tmp_path: Path, **probed: Any) -> Media:
    path = tiny_video(tmp_path, seconds=4)
    return Media(str(path), "", path.stat().st_size, "video/mp4", **probed)


def big(tmp_path: Path, size: int = 11 * MB) -> Media:
    return Media(str(large_video(tmp_path, size)), "", size, "video/mp4")


def post_of(media: Media, text: str = CAPTION) -> Post:
    return single("tiktok", text, "k-tiktok", media)


def published_for(fake: FakeTikTok, tmp_path: Path, **extra: Any) -> tuple[Published, MemoryJournal]:
    journal = MemoryJournal()
    return adapter(account(fake, **extra)).publish(post_of(clip(tmp_path)), journal), journal


@pytest.mark.parametrize(("size", "wanted", "expected"), [
    (1 * MB, 10 * MB, (1 * MB, 1)),                # under 5 MB: one chunk of the whole file
    (5 * MB, 10 * MB, (5 * MB, 1)),
    (11 * MB, 5 * MB, (5 * MB, 2)),                # the last chunk takes the remainder (6 MB)
    (200 * MB, 10 * MB, (10 * MB, 20)),
    (100 * MB, 64 * MB, (64 * MB, 1)),             # one 100 MB chunk: a last chunk may be up to 128 MB
    (300 * MB, 1 * MB, (5 * MB, 60)),              # never under 5 MB a chunk
    (900 * MB, 100 * MB, (64 * MB, 14)),           # never over 64 MB
])
def test_chunking_follows_tiktoks_rules(size: int, wanted: int, expected: tuple[int, int]) -> None:
    assert chunks(size, wanted) == expected
    chunk, count = expected
    assert size - (count - 1) * chunk <= 128 * MB


def test_an_unaudited_app_posts_privately_after_reading_creator_info(fake: FakeTikTok, tmp_path: Path) -> None:
    published, journal = published_for(fake, tmp_path)
    [item] = fake.posts
    assert fake.creator_queries == 1 and fake.received[0].path.endswith("/creator_info/query/")
    assert item.privacy == "SELF_ONLY" and item.title == CAPTION
    assert item.content() == Path(journal.get("upload") and tiny_video(tmp_path, seconds=4)).read_bytes()
    assert published == Published(item.publish_id)  # a private post has no public id: known by its publish id
    assert {k: item.post_info[k] for k in ("disable_comment", "disable_duet", "disable_stitch")} == {
        "disable_comment": False, "disable_duet": False, "disable_stitch": False}


def test_an_audited_public_post_records_the_post_id_not_the_publish_id(fake: FakeTikTok, tmp_path: Path) -> None:
    fake.audited = True
    published, journal = published_for(fake, tmp_path, audited=True, privacy_level="PUBLIC_TO_EVERYONE")
    [item] = fake.posts
    assert published.platform_id == item.post_id != item.publish_id and journal.get("publish_id") == item.publish_id
    assert published.url == f"https://www.tiktok.com/@jessicajones/video/{item.post_id}"


def test_a_large_video_goes_in_chunks_with_their_ranges(fake: FakeTikTok, tmp_path: Path) -> None:
    media = big(tmp_path)
    adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), MemoryJournal())
    [item] = fake.posts
    ranges = [r.headers["content-range"] for r in fake.requests_to("/upload/")]
    assert ranges == [f"bytes 0-{5 * MB - 1}/{11 * MB}", f"bytes {5 * MB}-{11 * MB - 1}/{11 * MB}"]
    assert item.content() == Path(media.path).read_bytes()
    init = fake.requests_to("/video/init/")[0].json["source_info"]
    assert init == {"source": "FILE_UPLOAD", "video_size": 11 * MB, "chunk_size": 5 * MB, "total_chunk_count": 2}


def test_the_creators_switches_are_honoured(fake: FakeTikTok, tmp_path: Path) -> None:
    fake.creator.update(comment_disabled=True, stitch_disabled=True)
    adapter(account(fake, allow_duets=False)).publish(post_of(clip(tmp_path)), MemoryJournal())
    info = fake.posts[0].post_info
    assert (info["disable_comment"], info["disable_duet"], info["disable_stitch"]) == (True, True, True)


@pytest.mark.parametrize(("creator", "extra", "probed", "message"), [
    ({"privacy_level_options": ["PUBLIC_TO_EVERYONE"]}, {}, {}, "privacy level SELF_ONLY is not allowed"),
    ({"max_video_post_duration_sec": 3}, {}, {"duration_s": 4.0}, "over this creator's 0:03 limit"),
    ({"comment_disabled": True}, {"allow_comments": True}, {}, "turned comments off"),
])
def test_what_the_creator_refuses_is_never_sent(fake: FakeTikTok, tmp_path: Path, creator: dict[str, Any],
                                                extra: dict[str, Any], probed: dict[str, Any], message: str) -> None:
    fake.creator.update(creator)
    journal = MemoryJournal()
    with pytest.raises(Permanent, match=message):
        adapter(account(fake, **extra)).publish(post_of(clip(tmp_path, **probed)), journal)
    assert not fake.requests_to("/init/") and journal.get("sending:0") is None


def test_tiktok_itself_refuses_a_privacy_level_the_creator_does_not_allow(fake: FakeTikTok, tmp_path: Path) -> None:
    fake.audited = True  # promo's own check is bypassed by a creator_info read a moment earlier
    fake.fail_next("/video/init/", 400, {"data": {}, "error": {"code": "privacy_level_option_mismatch",
                                                               "message": "privacy_level is not allowed"}})
    with pytest.raises(Permanent, match="privacy_level_option_mismatch"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), MemoryJournal())


def test_a_failed_publish_is_permanent_with_tiktoks_reason_and_a_retry_starts_clean(
        fake: FakeTikTok, tmp_path: Path) -> None:
    fake.fail_next_publish = "file_format_check_failed"
    journal = MemoryJournal()
    with pytest.raises(Permanent, match="file_format_check_failed"):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert fake.posts == [] and not journal.get("publish_id")
    adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert len(fake.requests_to("/video/init/")) == 2 and len(fake.posts) == 1


@pytest.mark.parametrize(("code", "at_least"), [("rate_limit_exceeded", timedelta(seconds=50)),
                                                 ("spam_risk_too_many_posts", timedelta(hours=23))])
def test_rate_limits_say_when(fake: FakeTikTok, tmp_path: Path, code: str, at_least: timedelta) -> None:
    status = 429 if code == "rate_limit_exceeded" else 403
    fake.fail_next("/video/init/", status, {"data": {}, "error": {"code": code, "message": "slow down"}})
    with pytest.raises(RateLimited) as caught:
        adapter(account(fake)).publish(post_of(clip(tmp_path)), MemoryJournal())
    assert caught.value.retry_at is not None and caught.value.retry_at - utcnow() >= at_least


def test_a_refused_token_is_an_auth_error(fake: FakeTikTok, tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="access_token_invalid"):
        adapter(account(fake, token="expired")).publish(post_of(clip(tmp_path)), MemoryJournal())


def test_a_5xx_is_retryable(fake: FakeTikTok, tmp_path: Path) -> None:
    fake.fail_next("/video/init/", 503, {"data": {}, "error": {"code": "internal_error", "message": "busy"}})
    with pytest.raises(Retryable):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), MemoryJournal())


def test_an_init_answered_too_late_posted_nothing(fake: FakeTikTok, tmp_path: Path) -> None:
    fake.fail_next("/video/init/", delay=HANG)
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert isinstance(adapter(account(fake)).lookup(post_of(clip(tmp_path)), journal), NotPublished)
    adapter(account(fake)).publish(post_of(clip(tmp_path)), journal)
    assert len(fake.posts) == 1


def test_a_last_chunk_answered_too_late_resumes_the_same_publish(fake: FakeTikTok, tmp_path: Path) -> None:
    media = big(tmp_path)
    fake.fail_next("/upload/", delay=HANG, skip=1)
    journal = MemoryJournal()
    with pytest.raises(Ambiguous):
        adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    published = adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    assert len(fake.requests_to("/video/init/")) == 1 and [p.publish_id for p in fake.posts] == [published.platform_id]


def test_processing_past_the_wait_is_retryable_and_the_next_attempt_polls_again(
        fake: FakeTikTok, tmp_path: Path) -> None:
    fake.processing_polls = 1000
    journal, media = MemoryJournal(), clip(tmp_path)
    with pytest.raises(Retryable, match="still processing"):
        adapter(account(fake, status_wait_s=0.1)).publish(post_of(media), journal)
    assert isinstance(adapter(account(fake)).lookup(post_of(media), journal), CannotTell)
    fake.processing_polls = 0
    next(iter(fake.publishes.values())).polls_left = 0
    published = adapter(account(fake)).publish(post_of(media), journal)
    assert len(fake.requests_to("/video/init/")) == 1 and published.platform_id == fake.posts[0].publish_id
    assert adapter(account(fake)).lookup(post_of(media), journal) == published


def test_an_expired_upload_url_starts_a_fresh_upload(fake: FakeTikTok, tmp_path: Path) -> None:
    media = big(tmp_path)
    fake.fail_next("/upload/", 500, skip=1)
    journal = MemoryJournal()
    with pytest.raises(Retryable, match="500"):
        adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    fake.expire_uploads()
    with pytest.raises(Retryable, match="expired"):
        adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    assert len(fake.requests_to("/video/init/")) == 2 and len(fake.posts) == 1
    assert fake.posts[0].content() == Path(media.path).read_bytes()


def test_a_worker_killed_mid_upload_resumes_at_the_next_chunk(fake: FakeTikTok, tmp_path: Path) -> None:
    media = big(tmp_path)
    fake.fail_next("/upload/", delay=5.0, skip=1)  # chunk 2 hangs: the kill comes while it is sent
    journal = killed_mid_upload(tmp_path, "tiktok", fake.url, {"access_token": TIKTOK_TOKEN},
                                options(chunk_size=5 * MB), post_of(media),
                                when=lambda notes: any(k.startswith("chunk:") and k.endswith(":0") for k in notes)
                                and len(fake.requests_to("/upload/")) > 1)
    assert fake.posts == [] and isinstance(adapter(account(fake)).lookup(post_of(media), journal), NotPublished)
    published = adapter(account(fake, chunk_size=5 * MB)).publish(post_of(media), journal)
    assert len(fake.requests_to("/video/init/")) == 1 and [p.publish_id for p in fake.posts] == [published.platform_id]
    assert fake.posts[0].content() == Path(media.path).read_bytes()


def test_pull_from_url_through_the_media_host(fake: FakeTikTok, tmp_path: Path) -> None:
    media = clip(tmp_path)
    with MediaHost(tmp_path) as host:
        fake.verified_prefixes = [host.url]
        published = adapter(account(fake, source="pull", media_base_url=host.url)).publish(post_of(media),
                                                                                          MemoryJournal())
        [item] = fake.posts
        assert item.pulled == [Path(media.path).read_bytes()] and published.platform_id == item.publish_id
        source = fake.requests_to("/video/init/")[0].json["source_info"]
        assert source == {"source": "PULL_FROM_URL", "video_url": f"{host.url}/{Path(media.path).name}"}
        fake.verified_prefixes = ["https://media.example.com/"]
        with pytest.raises(Permanent, match="url_ownership_unverified"):
            adapter(account(fake, source="pull", media_base_url=host.url)).publish(post_of(media), MemoryJournal())


def test_photos_go_by_pull_from_url(fake: FakeTikTok, tmp_path: Path) -> None:
    first, second = tiny_image(tmp_path, format="JPEG"), tiny_image(tmp_path, width=32, format="JPEG")
    photos = [Media(str(p), "", p.stat().st_size, "image/jpeg") for p in (first, second)]
    with MediaHost(tmp_path) as host:
        fake.verified_prefixes = [host.url]
        post = single("tiktok", CAPTION, "k-photos", *photos)
        adapter(account(fake, media_base_url=host.url)).publish(post, MemoryJournal())
    [item] = fake.posts
    body = fake.requests_to("/content/init/")[0].json
    assert (body["media_type"], body["post_mode"], item.kind, item.title) == ("PHOTO", "DIRECT_POST", "photo", CAPTION)
    assert item.pulled == [first.read_bytes(), second.read_bytes()]


def test_look_ups(fake: FakeTikTok, tmp_path: Path) -> None:
    tiktok = adapter(account(fake))
    assert isinstance(tiktok.lookup(post_of(clip(tmp_path)), MemoryJournal()), NotPublished)
    pulling = adapter(account(fake, source="pull"))
    assert isinstance(pulling.lookup(post_of(clip(tmp_path)), MemoryJournal({"sending:0": iso(utcnow())})), CannotTell)
    published, journal = published_for(fake, tmp_path)
    assert tiktok.lookup(post_of(clip(tmp_path)), journal) == published


def test_never_posts_without_the_media_it_was_given(fake: FakeTikTok, tmp_path: Path) -> None:
    gone = Media(str(tmp_path / "missing.mp4"), "", 10, "video/mp4")
    with pytest.raises(Permanent, match=r"missing\.mp4"):
        adapter(account(fake)).publish(post_of(gone), MemoryJournal())
    with pytest.raises(Permanent, match="needs one video"):
        adapter(account(fake)).publish(single("tiktok", CAPTION), MemoryJournal())
    assert not fake.requests_to("/init/")


def test_upload_streams_from_disk(fake: FakeTikTok, tmp_path: Path) -> None:
    size = 12 * MB
    media = big(tmp_path, size)
    peak = publish_peak_memory(tmp_path, "tiktok", fake.url, {"access_token": TIKTOK_TOKEN},
                               options(chunk_size=6 * MB), post_of(media))
    assert len(fake.posts) == 1 and len(fake.posts[0].received) == 2
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte upload"


@pytest.mark.parametrize(("text", "media", "options_", "fragment"), [
    ("😀" * 1101, True, {}, "2202/2200"),
    (CAPTION, False, {}, "needs a video or photos"),
    (CAPTION, True, {"privacy_level": "PUBLIC_TO_EVERYONE"}, "unaudited TikTok app posts only SELF_ONLY"),
    (CAPTION, True, {"privacy_level": "EVERYONE"}, "is not one of"),
])
def test_preview_checks_tiktoks_rules(tmp_path: Path, text: str, media: bool, options_: dict[str, Any],
                                      fragment: str) -> None:
    items = (clip(tmp_path),) if media else ()
    report = rules_for("tiktok", options_).check(Post.single("tiktok", "t", text, *items))
    assert any(fragment in p.message for p in report.problems), report.problems


def test_preview_refuses_a_video_over_ten_minutes(tmp_path: Path) -> None:
    report = rules_for("tiktok", {}).check(Post.single("tiktok", "t", CAPTION, clip(tmp_path, duration_s=601.0)))
    assert [p.code for p in report.problems] == ["video_too_long"]
    assert rules_for("tiktok", {"audited": True, "privacy_level": "PUBLIC_TO_EVERYONE"}).check(
        Post.single("tiktok", "t", CAPTION, clip(tmp_path, duration_s=4.0, fps=24.0, width=640, height=640))).ok
