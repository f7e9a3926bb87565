"""Media staging (promo.engine.staging) against moto's S3 (tests/fakes/s3.py) and the Instagram fake: a due post's
video goes up once ahead of its publish, and the publish then finds it by HEAD and PUTs nothing."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from promo.accounts import Account
from promo.engine.staging import MISSING, PRESENT, UPLOADED, stage_due_media
from promo.platforms.mediahost.s3 import S3Config, S3Host
from promo.posts import Media, MemoryJournal, Part, Post
from promo.store.db import transaction
from promo.store.tables import Campaign, PostRow
from promo.times import utcnow
from tests.engine.enginekit import make_store
from tests.fakes.accounts import adapter, make_account
from tests.fakes.instagram import IG_TOKEN, IG_USER_ID, FakeInstagram
from tests.fakes.s3 import ACCESS_KEY, SECRET_KEY, FakeS3
from tests.media.mediakit import tiny_image, tiny_video

BUCKET = "promo-staging-test"
AHEAD = timedelta(hours=6)


@pytest.fixture(scope="module")
def s3() -> Iterator[FakeS3]:
    server = FakeS3().start()
    server.make_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Engine]:
    engine = make_store(sqlite_url)
    yield engine
    engine.dispose()


def host(s3: FakeS3) -> S3Host:
    return S3Host(S3Config(BUCKET, endpoint_url=s3.url, access_key_id=ACCESS_KEY, secret_access_key=SECRET_KEY,
                           timeout=5.0))


ACCOUNTS = {
    "ig": Account("ig", "instagram", options={"user_id": IG_USER_ID}),
    "ig-own": Account("ig-own", "instagram", options={"user_id": IG_USER_ID, "media_base_url": "https://cdn.test"}),
    "tt": Account("tt", "tiktok"),  # FILE_UPLOAD: TikTok gets the video from promo itself
    "hook": Account("hook", "webhook", options={"media_host": True}),
}


def video(folder: Path, name: str = "reel.mp4", seconds: float = 4) -> Media:
    path = tiny_video(folder, seconds=seconds, width=256, height=144, fps=24, name=name)
    return Media(str(path), "alt", path.stat().st_size, "video/mp4")


def add(store: Engine, account: str, due_in: timedelta, *media: Media, text: str = "Jessica Jones, June 14",
        campaign: str | None = None) -> int:
    now = utcnow()
    platform = ACCOUNTS[account].platform
    row = PostRow(idempotency_key=uuid.uuid4().hex, account=account, platform=platform, campaign_id=campaign,
                  payload=Post.single(platform, account, text, *media).to_payload(), digest="-",
                  scheduled_at=now + due_in, due_at=now + due_in, created_at=now, updated_at=now)
    with transaction(store) as session:
        session.add(row)
        session.flush()
        return row.id


def puts(s3: FakeS3) -> list[str]:
    return [line for line in s3.received if line.startswith("PUT ") and line.count("/") >= 2]


def stage(store: Engine, s3: FakeS3, now: datetime | None = None) -> list[tuple[str, str]]:
    return [(s.path.name, s.outcome) for s in stage_due_media(store, ACCOUNTS, host(s3), ahead=AHEAD, now=now)]


def test_a_due_video_is_staged_once_and_the_publish_puts_nothing(store: Engine, s3: FakeS3, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    clip = video(tmp_path)
    add(store, "ig", timedelta(hours=2), clip)
    before = len(puts(s3))
    with caplog.at_level(logging.INFO, logger="promo.engine.staging"):
        assert stage(store, s3) == [("reel.mp4", UPLOADED)]
    assert len(puts(s3)) == before + 1
    assert [r.getMessage() for r in caplog.records if "reel.mp4" in r.getMessage()] == [
        f"media staging: post 1 (ig): reel.mp4: uploaded ({host(s3).key_for(Path(clip.path))})"]
    assert stage(store, s3) == [("reel.mp4", PRESENT)]  # a HEAD finds it: nothing uploaded
    assert len(puts(s3)) == before + 1
    with FakeInstagram() as ig:
        account = make_account("instagram", ig.url, {"access_token": IG_TOKEN}, user_id=IG_USER_ID)
        made = adapter(account, media_host=host(s3))
        made.poll_seconds, made.wait_seconds = 0.05, 2.0
        made.publish(Post("instagram", account.name, (Part("Jessica Jones, June 14", (clip,)),), "k"),
                     MemoryJournal())
        assert len(ig.published) == 1 and len(ig.fetched) == 1
    assert len(puts(s3)) == before + 1  # the publish found the staged object and presigned it


def test_only_due_posts_fetched_by_url_are_staged(store: Engine, s3: FakeS3, tmp_path: Path) -> None:
    add(store, "ig", timedelta(hours=7), video(tmp_path, "later.mp4", 6))     # beyond the horizon
    add(store, "ig", -timedelta(minutes=1), video(tmp_path, "overdue.mp4"))  # the dispatcher's already
    add(store, "ig", timedelta(hours=1))                                     # text only
    add(store, "tt", timedelta(hours=1), video(tmp_path, "tiktok.mp4"))      # uploads directly
    add(store, "hook", timedelta(hours=1), video(tmp_path, "hook.mp4"))      # a platform that uploads itself
    add(store, "ig-own", timedelta(hours=1), video(tmp_path, "own.mp4"))     # served from its own folder
    before = len(puts(s3))
    assert stage(store, s3) == []
    assert len(puts(s3)) == before
    assert stage(store, s3, now=utcnow() + timedelta(hours=2)) == [("later.mp4", UPLOADED)]


def test_a_cover_and_a_shared_file_and_a_missing_one(store: Engine, s3: FakeS3, tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    cover = tiny_image(tmp_path, width=144, height=256, format="JPEG", name="cover.jpg")
    clip = video(tmp_path, "with-cover.mp4", 5)
    gone = Media(str(tmp_path / "gone.mp4"), "alt", 10, "video/mp4")
    add(store, "ig", timedelta(hours=1), gone)
    shared = Media(clip.path, "alt", clip.size, clip.mime, cover=str(cover))
    add(store, "ig", timedelta(hours=2), shared)
    add(store, "ig", timedelta(hours=3), shared)
    with caplog.at_level(logging.WARNING, logger="promo.engine.staging"):
        assert stage(store, s3) == [("gone.mp4", MISSING), ("with-cover.mp4", UPLOADED), ("cover.jpg", UPLOADED)]
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("media staging: post 1 (ig): gone.mp4: missing (not found")


def test_a_host_error_is_logged_and_left_to_the_publish(store: Engine, s3: FakeS3, tmp_path: Path) -> None:
    add(store, "ig", timedelta(hours=1), video(tmp_path, "refused.mp4"))
    wrong = S3Host(S3Config("no-such-bucket", endpoint_url=s3.url, access_key_id=ACCESS_KEY,
                            secret_access_key=SECRET_KEY, timeout=5.0))
    [staged] = stage_due_media(store, ACCOUNTS, wrong, ahead=AHEAD)
    assert staged.outcome == "failed" and "left to the publish" in staged.detail
    assert stage_due_media(store, ACCOUNTS, None, ahead=AHEAD) == []
    assert stage_due_media(store, ACCOUNTS, host(s3), ahead=timedelta(0)) == []


def test_a_campaign_media_path_is_read_from_the_campaign_folder(store: Engine, s3: FakeS3, tmp_path: Path) -> None:
    folder = tmp_path / "jj-s3"
    folder.mkdir()
    clip = video(folder, "teaser.mp4", 7)
    with transaction(store) as session:
        session.add(Campaign(id="jj-s3", name="Jessica Jones S3", timezone="UTC", source=str(folder / "jj.yaml"),
                             applied_at=utcnow()))
    add(store, "ig", timedelta(hours=1), Media("teaser.mp4", "alt", clip.size, clip.mime), campaign="jj-s3")
    [staged] = stage_due_media(store, ACCOUNTS, host(s3), ahead=AHEAD)
    assert (staged.path, staged.outcome) == (folder / "teaser.mp4", UPLOADED)
