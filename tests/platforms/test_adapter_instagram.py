"""Instagram against a fake Graph API that fetches media by URL from a local S3 server (moto) through the media
host: Reels with covers, images, carousels, Stories, processing states, the publishing limit, faults, look-ups."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from promo.errors import Ambiguous, ConfigError, Permanent, RateLimited, Retryable
from promo.platforms.mediahost.s3 import S3Config, S3Host
from promo.posts import CannotTell, Media, MemoryJournal, NotPublished, Part, Post, Published
from promo.rules.instagram import InstagramRules, publishing_limit_problems
from tests.fakes.accounts import HANG, adapter, make_account
from tests.fakes.instagram import IG_TOKEN, IG_USER_ID, FakeInstagram
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY, FakeS3
from tests.media.mediakit import tiny_image, tiny_video

CAPTION = "Krysten Ritter steps into the director's chair. Jessica Jones season 3, June 14. #JessicaJones"
BUCKET = "promo-instagram-test"


@pytest.fixture(scope="module")
def s3() -> Iterator[FakeS3]:
    server = FakeS3().start()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def ig() -> Iterator[FakeInstagram]:
    with FakeInstagram() as server:
        yield server  # type: ignore[misc]


def ig_adapter(ig: FakeInstagram, s3: FakeS3 | None, **options: Any) -> Any:
    host = None if s3 is None else S3Host(S3Config(BUCKET, endpoint_url=s3.url, access_key_id=ACCESS_KEY,
                                                   secret_access_key=SECRET_KEY, timeout=5.0))
    account = make_account("instagram", ig.url, {"access_token": IG_TOKEN}, user_id=IG_USER_ID, **options)
    made = adapter(account, media_host=host)
    made.poll_seconds, made.wait_seconds = 0.05, 2.0
    return made


def media(path: Path, mime: str, **fields: Any) -> Media:
    return Media(str(path), "alt", path.stat().st_size, mime, **fields)


def reel(tmp_path: Path, seconds: float = 4, **fields: Any) -> Media:
    return media(tiny_video(tmp_path, seconds=seconds, width=256, height=144, fps=24, name=f"reel-{seconds}.mp4"),
                 "video/mp4", **fields)


def jpeg(tmp_path: Path, name: str = "still.jpg") -> Media:
    return media(tiny_image(tmp_path, width=400, height=400, format="JPEG", name=name), "image/jpeg")


def post(*items: Media, text: str = CAPTION) -> Post:
    return Post("instagram", "test-instagram", (Part(text, tuple(items)),), "k-ig")


def sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_reel_with_its_cover_is_fetched_from_the_host_and_published(ig: FakeInstagram, s3: FakeS3,
                                                                      tmp_path: Path) -> None:
    cover = tiny_image(tmp_path, width=144, height=256, format="JPEG", name="cover.jpg")
    clip = reel(tmp_path, cover=str(cover))
    ig.processing_polls = 2
    published = ig_adapter(ig, s3).publish(post(clip), MemoryJournal())
    [(container, fields)] = ig.containers.items()
    assert fields["media_type"] == "REELS" and fields["share_to_feed"] == "true" and fields["caption"] == CAPTION
    assert published.platform_id != container and published.platform_id in ig.published  # the media's own id
    assert published.url == f"https://www.instagram.com/p/C{published.platform_id}/"
    assert [digest for _, _, digest in ig.fetched] == [sha(clip.path), sha(str(cover))]
    assert "X-Amz-Signature" in fields["video_url"] and "X-Amz-Signature" in fields["cover_url"]


def test_a_frame_time_cover_and_share_to_feed_off(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    ig_adapter(ig, s3, share_to_feed=False).publish(post(reel(tmp_path, cover="0:01.5")), MemoryJournal())
    [fields] = ig.containers.values()
    assert fields["thumb_offset"] == "1500" and fields["share_to_feed"] == "false"


def test_an_image_a_carousel_and_a_story(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), MemoryJournal())
    carousel = post(jpeg(tmp_path, "a.jpg"), reel(tmp_path), jpeg(tmp_path, "b.jpg"))
    journal = MemoryJournal()
    ig_adapter(ig, s3).publish(carousel, journal)
    items = journal.get("items").split(",")
    assert [ig.containers[i].get("media_type") for i in items] == [None, "VIDEO", None]
    assert ig.containers[journal.get("container")]["children"] == ",".join(items)
    ig_adapter(ig, s3, stories=True).publish(post(reel(tmp_path), text=""), MemoryJournal())
    story = list(ig.published.values())[-1]
    assert story["media_type"] == "STORIES" and "caption" not in story
    assert len(ig.published) == 3


def test_the_same_file_is_uploaded_once_for_many_posts(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    clip = reel(tmp_path, seconds=5)
    before = len(s3.writes)
    ig_adapter(ig, s3).publish(post(clip), MemoryJournal())
    ig_adapter(ig, s3, stories=True).publish(post(clip, text=""), MemoryJournal())
    assert len(s3.writes) - before == 1 and len(ig.fetched) == 2


def test_processing_errors_and_expiry(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    with pytest.raises(Permanent, match=r"2\.0s; 3-900s"):
        ig_adapter(ig, s3).publish(post(reel(tmp_path, seconds=2)), MemoryJournal())
    assert ig.published == {}
    journal = MemoryJournal()
    ig.processing_polls = 1000
    with pytest.raises(Retryable, match="still processing"):
        ig_adapter(ig, s3).publish(post(reel(tmp_path)), journal)
    stale = journal.get("container")
    ig.expire(stale)
    ig.processing_polls = 0
    published = ig_adapter(ig, s3).publish(post(reel(tmp_path)), journal)
    assert journal.get("container") not in ("", stale) and list(ig.published) == [published.platform_id]


def test_the_publishing_limit_is_read_before_anything_is_made(ig: FakeInstagram, s3: FakeS3,
                                                              tmp_path: Path) -> None:
    ig.earlier_posts = 100
    with pytest.raises(RateLimited, match="100/100") as refused:
        ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), MemoryJournal())
    assert refused.value.retry_at is not None and refused.value.retry_at > datetime.now(UTC) + timedelta(minutes=50)
    assert ig.containers == {} and ig.fetched == []
    ig.earlier_posts = 99
    assert ig_adapter(ig, s3).verify() == "@jessicajones (99/100 posts published in 24 hours)"
    made, journal = ig_adapter(ig, s3), MemoryJournal()
    journal.record("container", made._create_container(journal, post(jpeg(tmp_path)).parts[0]))
    ig.earlier_posts = 100  # another app filled the limit between the container and media_publish
    with pytest.raises(RateLimited, match="publishing limit"):
        made.publish(post(jpeg(tmp_path)), journal)
    assert ig.published == {}


def test_faults_429_500_and_a_hang_after_publish(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    ig.fail_next(f"/{IG_USER_ID}/media", status=429, body={"error": {"code": 4, "message": "throttled"}})
    with pytest.raises(RateLimited):
        ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), MemoryJournal())
    ig.fail_next(f"/{IG_USER_ID}/media", status=500, body={"error": {"message": "oops"}})
    with pytest.raises(Retryable):
        ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), MemoryJournal())
    journal = MemoryJournal()
    ig.fail_next("/media_publish", delay=HANG)  # published, but the answer comes too late
    with pytest.raises(Ambiguous):
        ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), journal)
    found = ig_adapter(ig, s3).lookup(post(jpeg(tmp_path)), journal)
    assert isinstance(found, Published) and found.platform_id in ig.published
    again = ig_adapter(ig, s3).publish(post(jpeg(tmp_path)), journal)
    assert again.platform_id == found.platform_id and len(ig.published) == 1


def test_lookups(ig: FakeInstagram, s3: FakeS3, tmp_path: Path) -> None:
    made, journal = ig_adapter(ig, s3), MemoryJournal()
    assert isinstance(made.lookup(post(jpeg(tmp_path)), journal), NotPublished)
    journal.record("sending:0", datetime.now(UTC).isoformat())
    journal.record("container", made._create_container(journal, post(jpeg(tmp_path)).parts[0]))
    assert "FINISHED" in made.lookup(post(jpeg(tmp_path)), journal).reason
    made.publish(post(jpeg(tmp_path)), journal)
    twin = MemoryJournal()  # a container published by someone else with another caption: no match
    twin.record("sending:0", datetime.now(UTC).isoformat())
    twin.record("container", journal.get("container"))
    assert isinstance(made.lookup(post(jpeg(tmp_path), text="other"), twin), CannotTell)


def test_never_publishes_without_its_media(ig: FakeInstagram, tmp_path: Path) -> None:
    with pytest.raises(Permanent, match="media_host_bucket"):
        ig_adapter(ig, None).publish(post(jpeg(tmp_path)), MemoryJournal())
    with pytest.raises(Permanent, match="needs an image or a video"):
        ig_adapter(ig, None).publish(post(), MemoryJournal())
    assert ig.containers == {}
    with pytest.raises(ConfigError, match="user_id"):
        _ = adapter(make_account("instagram", ig.url, {"access_token": IG_TOKEN})).user_id


def test_rules() -> None:
    rules = InstagramRules({})
    video = Media("reel.mp4", "", 1000, "video/mp4", duration_s=4, width=1080, height=1920, fps=30,
                  codec="h264", container="mp4")
    ok = post(video, text="x" * 2200)
    assert rules.check(ok).ok
    assert [p.code for p in rules.check(post(video, text="x" * 2201)).problems] == ["too_long"]
    tags = " ".join(f"#t{n}" for n in range(31))
    mentions = " ".join(f"@user{n}" for n in range(21)) + " mail@example.com"
    codes = [p.code for p in rules.check(post(video, text=f"{tags} {mentions}")).problems]
    assert codes == ["too_many_hashtags", "too_many_mentions"]
    assert [p.code for p in rules.check(post()).problems] == ["media_required"]
    png = Media("key.png", "", 100, "image/png")
    assert "JPEG images only" in rules.check(post(png)).problems[0].message
    long_story = Media("s.mp4", "", 100, "video/mp4", duration_s=61, codec="h264", container="mp4")
    story = InstagramRules({"stories": True})
    assert story.wire(post(video)).text == "" and story.check(post(long_story)).problems[0].code == "video_too_long"
    assert story.check(post(video, video)).problems[0].code == "too_many_media"
    start = datetime(2019, 6, 1, tzinfo=UTC)
    spread = [("jj-instagram", start + timedelta(minutes=15 * n)) for n in range(101)]
    assert publishing_limit_problems(spread) == {}  # 101 posts over 25 hours
    packed = [("jj-instagram", start + timedelta(minutes=10 * n)) for n in range(101)]
    packed.insert(0, ("jj-other", start))
    [(position, problem)] = publishing_limit_problems(packed).items()
    assert position == 101 and "101 posts in the 24 hours" in problem.message and "allows 100" in problem.message


def test_preview_refuses_a_campaign_over_the_publishing_limit(tmp_path: Path) -> None:
    from promo.accounts import load_accounts
    from promo.campaigns.preview import preview_file

    (tmp_path / "promo.toml").write_text('[accounts.jj-ig]\nplatform = "instagram"\nuser_id = "1"\n')
    still = tiny_image(tmp_path, width=400, height=400, format="JPEG", name="still.jpg")
    announcements = "\n".join(
        f"  - key: p{n}\n    kind: generic\n    at: 2019-06-01 {n // 10:02d}:{n % 10 * 5:02d}\n"
        f"    text: \"Post {n}\"\n    media: [{{path: {still.name}, alt: still}}]" for n in range(101))
    campaign = tmp_path / "c.yaml"
    campaign.write_text(f"campaign: busy\ntimezone: UTC\naccounts: [jj-ig]\nannouncements:\n{announcements}\n")
    rendered = preview_file(campaign, load_accounts(tmp_path / "promo.toml"), tmp_path / "templates")
    over = [r for r in rendered if not r.ok]
    assert len(over) == 1 and "publishing_limit" in [p.code for p in over[0].report.problems]
