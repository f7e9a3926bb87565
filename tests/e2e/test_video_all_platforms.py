"""End to end (issue 13): a video announcement, every video-capable fake, the CLI and the real engine.

A campaign with a featurette (a real 3-second H.264 clip made with PyAV, with alt text, and a cover
where the platform takes one) is previewed, planned and applied with the ``promo`` command as a
user would; a real Celery worker and beat on a throwaway Redis publish it. Each of the ten fakes
must then hold exactly one post carrying the video (by the fake's own record of what it received
and processed: the same bytes and size as the file), with the alt text where the platform takes
one, and the ledger must say ``published`` with the platform's post id (never a media, container,
upload or file id).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import utcnow
from tests.e2e.videokit_e2e import (
    COVERED,
    FPS,
    HEIGHT,
    SECONDS,
    TELEGRAM_CHAT,
    VIDEO_ALT,
    VIDEO_PLATFORMS,
    WIDTH,
    VideoFakes,
    running_video_fakes,
    write_video_campaign,
    write_video_config,
    write_video_media,
)
from tests.engine.enginekit import EngineProcess, engine_env, make_store, wait_for
from tests.fakes.bluesky import DID
from tests.fakes.linkedin import AUTHOR
from tests.fakes.webhook import SECRET

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
NOT_PUBLISHED = {"failed", "unknown", "held", "cancelled", "paused"}
# Generous limits: the test is about every platform once, not about timeouts on a busy 2-core box.
ENGINE = {"publish_time_limit": 20.0, "http_timeout": 5.0, "visibility_timeout": 60}


@dataclass(frozen=True)
class Clip:
    """The video file as it is on disk, and its cover."""

    data: bytes
    cover: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@pytest.fixture
def clip(tmp_path: Path) -> Clip:
    video, cover = write_video_media(tmp_path / "media")
    return Clip(video.read_bytes(), cover.read_bytes())


@pytest.fixture
def video_fakes(tmp_path: Path, clip: Clip) -> Iterator[VideoFakes]:
    with running_video_fakes(tmp_path / "media") as started:
        yield started


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


def promo(folder: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``promo ARGS`` in ``folder``, as a user runs it (a real process, no terminal)."""
    return subprocess.run([sys.executable, "-m", "promo", *args], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)


def cli_env(folder: Path, fakes: VideoFakes, database_url: str, broker_url: str) -> dict[str, str]:
    env = engine_env(folder, database_url, broker_url, SECRET, **ENGINE) | fakes.credentials()
    return env | {"PROMO_TEMPLATES_DIR": str(REPO / "templates"), "PYTHONPATH": str(REPO)}


def preview_facts(folder: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """``promo preview --json``: every post ok, and the probed video of each."""
    done = promo(folder, env, "preview", "campaign.yaml", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    posts = json.loads(done.stdout)
    assert sorted(p["platform"] for p in posts) == sorted(VIDEO_PLATFORMS)
    assert all(p["ok"] for p in posts), [(p["platform"], p["problems"]) for p in posts if not p["ok"]]
    return [m for p in posts for m in p["media"]]


def preview_shows_the_video(folder: Path, env: dict[str, str]) -> None:
    """``promo preview``, as a person reads it: each post's video with its duration and dimensions."""
    done = promo(folder, env, "preview", "campaign.yaml")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shown = [line.strip() for line in done.stdout.splitlines() if "featurette.mp4" in line]
    facts = f"featurette.mp4: video 0:0{SECONDS:g}, {WIDTH}x{HEIGHT}"
    assert len(shown) == len(VIDEO_PLATFORMS) and all(facts in line for line in shown), shown


def plan_and_apply(folder: Path, env: dict[str, str]) -> None:
    """``promo apply --dry-run`` shows ten new posts and writes nothing; ``promo apply --yes`` writes them."""
    planned = promo(folder, env, "apply", "campaign.yaml", "--dry-run", "--json")
    assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
    plan = json.loads(planned.stdout)
    assert plan["applied"] is False and plan["summary"].startswith(f"{len(VIDEO_PLATFORMS)} new, 0 changed"), \
        plan["summary"]
    applied = promo(folder, env, "apply", "campaign.yaml", "--yes", "--json")
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    result = json.loads(applied.stdout)
    assert result["applied"] is True and len(result["created"]) == len(VIDEO_PLATFORMS), result["summary"]
    # Only "already past" may be warned about (a loaded machine is slow to get here): no credential is missing.
    assert all("is already past" in line for line in result["warnings"]), result["warnings"]


def ledger(engine: Engine) -> dict[str, PostRow]:
    with transaction(engine) as session:
        return {row.platform: row for row in session.scalars(select(PostRow))}


def all_published(engine: Engine) -> bool:
    rows = ledger(engine)
    stuck = {platform: (row.status, row.reason) for platform, row in rows.items() if row.status in NOT_PUBLISHED}
    assert not stuck, f"posts that will not go out by themselves: {stuck}"
    return len(rows) == len(VIDEO_PLATFORMS) and all(row.status == "published" for row in rows.values())


@contextlib.contextmanager
def engine_running(folder: Path, env: dict[str, str]) -> Iterator[list[EngineProcess]]:
    """A real worker and beat for the duration; their logs are in each process's ``output()``."""
    processes = [EngineProcess(folder, env, "worker", "-c", "2"), EngineProcess(folder, env, "beat")]
    try:
        yield processes
    finally:
        for process in processes:
            process.stop()


def wait_until_published(engine: Engine, processes: list[EngineProcess]) -> None:
    def done() -> bool:
        ended = [p.log.stem for p in processes if p.process.poll() is not None]
        assert not ended, f"the engine stopped: {ended}"
        return all_published(engine)

    try:
        wait_for(done, 40, what="every video post published")
    except AssertionError as exc:
        logs = "\n".join(p.output()[-4000:] for p in processes)
        raise AssertionError(f"{exc}\n--- engine logs ---\n{logs}") from None


# -- what each fake holds: one post, with the video it received and processed ----------------------
# Each checks the fake's own record of the media and returns the post's text as the platform has it.

def sent_to_x(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.x
    [(media_id, upload)] = fake.uploads.items()
    assert (upload.state, upload.category, upload.total, upload.digest) == ("succeeded", "tweet_video", clip.size,
                                                                            clip.sha256)
    [(tweet_id, tweet)] = fake.tweets.items()
    assert row.platform_id == tweet_id != media_id and tweet["media"] == {"media_ids": [media_id]}
    [alt] = [r.json for r in fake.requests_to("/2/media/metadata")]
    assert alt == {"id": media_id, "metadata": {"alt_text": {"text": VIDEO_ALT}}}
    return str(tweet["text"])


def sent_to_mastodon(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.mastodon
    [(media_id, media)] = fake.media.items()
    assert (media["type"], media["bytes"], media["sha256"]) == ("video", clip.size, clip.sha256)
    assert media["url"] and media["error"] is None  # processed
    assert media["description"] == VIDEO_ALT and media["thumbnail"] == clip.cover
    [(status_id, status)] = fake.statuses.items()
    assert row.platform_id == status_id != media_id and row.url == status["url"]
    assert [m["id"] for m in status["media_attachments"]] == [media_id]
    [create] = fake.requests_to("/api/v1/statuses")
    return create.form["status"]


def sent_to_bluesky(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    pds, service = fakes.bluesky, fakes.video_service
    [(job_id, digest)] = service.digests.items()
    [upload] = service.requests_to("uploadVideo")
    assert digest == clip.sha256 and int(upload.headers["content-length"]) == clip.size
    assert service.jobs[job_id]["state"] == "JOB_STATE_COMPLETED"
    [(rkey, record)] = pds.records.items()
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.video" and embed["alt"] == VIDEO_ALT
    assert embed["video"]["ref"]["$link"] == service.jobs[job_id]["link"] in pds.blobs
    assert (embed["aspectRatio"]["width"], embed["aspectRatio"]["height"]) == (WIDTH, HEIGHT)
    assert row.platform_id == f"at://{DID}/app.bsky.feed.post/{rkey}"
    return str(record["text"])


def sent_to_threads(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.threads
    [(url, size, digest)] = fake.fetched
    assert url == f"{fakes.media_host.url}/featurette.mp4" and (size, digest) == (clip.size, clip.sha256)
    [(container_id, container)] = fake.containers.items()
    [(post_id, post)] = fake.published.items()
    assert post is container and container["status"] == "PUBLISHED" and container["error_message"] is None
    assert (post["media_type"], post["video_url"], post["alt_text"]) == ("VIDEO", url, VIDEO_ALT)
    assert row.platform_id == post_id != container_id and row.url and row.url.endswith(f"/P{post_id}")
    return str(post["text"])


def sent_to_linkedin(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.linkedin
    [(video_urn, video)] = fake.videos.videos.items()
    assert video.status == "AVAILABLE" and video.size == clip.size and video.content() == clip.data
    assert video.thumbnail == clip.cover
    [(post_urn, post)] = fake.posts.items()
    assert row.platform_id == post_urn != video_urn and post["author"] == AUTHOR and not fake.comments
    assert post["content"]["media"]["id"] == video_urn and post["content"]["media"]["title"] == VIDEO_ALT
    return str(post["commentary"])


def sent_to_facebook(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.facebook
    [(video_id, video)] = fake.videos.items()
    assert bytes(video["data"]) == clip.data and video["size"] == clip.size and video["error"] is None
    assert video["phase"] == "published" and video["thumb"] == clip.cover
    [(post_id, post)] = fake.posts.items()
    assert row.platform_id == post_id == video["post"] != video_id and post["video"] == video_id
    assert not fake.photos  # the video, not a photo post
    return str(post["message"])


def sent_to_telegram(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.telegram
    assert [r.path.rsplit("/", 1)[-1] for r in fake.received] == ["sendVideo"]
    [(message_id, message)] = fake.messages.items()
    assert message["video"] == {"size": clip.size, "sha256": clip.sha256} and message["chat_id"] == TELEGRAM_CHAT
    assert (int(message["width"]), int(message["height"]), int(message["duration"])) == (WIDTH, HEIGHT, SECONDS)
    assert message["thumbnail"][:3] == b"\xff\xd8\xff"  # the cover, as the JPEG thumbnail the Bot API takes
    assert row.platform_id == message_id
    return str(message["text"])  # Telegram's Bot API takes no alt text for a video


def sent_to_discord(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.discord
    [(message_id, payload)] = fake.messages.items()
    [attachment] = fake.attachments[message_id]
    assert (attachment["filename"], attachment["size"], attachment["sha256"]) == ("featurette.mp4", clip.size,
                                                                                  clip.sha256)
    assert attachment["description"] == VIDEO_ALT and attachment["content_type"] == "video/mp4"
    assert row.platform_id == message_id
    return str(payload["content"])


def sent_to_slack(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.slack
    assert fake.messages == []  # the bot, not the incoming webhook
    [message] = fake.channel_messages
    [file_id] = message["files"]
    upload = fake.uploads[file_id]
    assert (upload["received"], upload["sha256"], upload["data"]) == (clip.size, clip.sha256, clip.data)
    assert upload["completed"] and upload["shared"] == message["ts"] and upload["title"] == VIDEO_ALT
    assert row.platform_id == message["ts"] != file_id
    return str(message["text"])


def sent_to_webhook(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    [call] = fakes.hook.calls
    assert call.signed and call.key == row.idempotency_key
    [part] = call.body["parts"]
    [media] = part["media"]
    assert media["alt"] == VIDEO_ALT and (media["size"], media["sha256"]) == (clip.size, clip.sha256)
    [got] = [f for f in call.files.values() if f["sha256"] == clip.sha256]
    assert got["matches"] and got["size"] == clip.size
    assert row.platform_id == fakes.hook.stored[row.idempotency_key]
    return str(part["text"])


def sent_to_instagram(fakes: VideoFakes, row: PostRow, clip: Clip) -> str:
    fake = fakes.instagram
    [(container_id, container)] = fake.containers.items()
    [(media_id, post)] = fake.published.items()
    assert post["container"] == container_id and container["status_code"] == "PUBLISHED"
    assert (post["media_type"], post["share_to_feed"]) == ("REELS", "true")
    fetched = {digest: size for _, size, digest in fake.fetched}  # from the media host, by presigned URL
    assert fetched == {clip.sha256: clip.size, hashlib.sha256(clip.cover).hexdigest(): len(clip.cover)}
    assert "X-Amz-Signature=" in post["video_url"] and "X-Amz-Signature=" in post["cover_url"]
    assert row.platform_id == media_id != container_id and row.url and row.url.endswith(f"/C{media_id}/")
    return str(post["caption"])


SENT: dict[str, Callable[[VideoFakes, PostRow, Clip], str]] = {
    "x": sent_to_x,
    "mastodon": sent_to_mastodon,
    "bluesky": sent_to_bluesky,
    "threads": sent_to_threads,
    "linkedin": sent_to_linkedin,
    "facebook": sent_to_facebook,
    "telegram": sent_to_telegram,
    "discord": sent_to_discord,
    "slack": sent_to_slack,
    "webhook": sent_to_webhook,
    "instagram": sent_to_instagram,
}


@pytest.mark.slow
def test_a_video_announcement_reaches_every_video_platform_once(
    tmp_path: Path, clip: Clip, video_fakes: VideoFakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    write_video_config(tmp_path, video_fakes)
    write_video_campaign(tmp_path, utcnow() + timedelta(seconds=5))
    env = cli_env(tmp_path, video_fakes, database_url, redis_server.url)
    with engine_running(tmp_path, env) as processes:  # starting up while the user previews and applies
        media = preview_facts(tmp_path, env)
        facts = {(m["kind"], m["duration_s"], m["width"], m["height"], m["fps"], m["codec"], m["size"]) for m in media}
        assert facts == {("video", SECONDS, WIDTH, HEIGHT, FPS, "h264", clip.size)}
        preview_shows_the_video(tmp_path, env)
        plan_and_apply(tmp_path, env)
        wait_until_published(store, processes)
    logs = "\n".join(p.output() for p in processes)
    leaked = [name for name, secret in video_fakes.credentials().items() if secret.rsplit("/", 1)[-1] in logs]
    assert not leaked, f"the engine logged secrets: {leaked}"
    rows = ledger(store)
    assert set(rows) == set(SENT) == set(VIDEO_PLATFORMS)
    for platform, row in rows.items():
        assert row.status == "published" and row.platform_id and row.published_at, platform
        [stored] = row.payload["parts"][0]["media"]
        assert stored["path"] == "media/featurette.mp4", platform  # relative to the campaign file
        assert stored.get("cover") == ("media/cover.jpg" if platform in COVERED else None), platform
        assert SENT[platform](video_fakes, row, clip) == row.payload["parts"][0]["text"], platform
