"""End to end: one announcement, every platform's fake, the real engine (Celery worker + beat on Redis).

The premiere of the seed story is loaded from a campaign file, rendered with the repository's
templates, checked, planned and applied into the store; a real worker and beat publish it; then
each fake must hold exactly one well-formed post (its thread replies chained under it), sent with
the right credentials and the text the ledger holds. The seed campaign itself must preview clean
against the same accounts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from promo.rules.linkedin import reader_text
from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import utcnow
from tests.e2e.e2ekit import (
    IMAGE,
    IMAGE_ALT,
    MEDIA_BASE_URL,
    MEDIA_BUCKET,
    PLATFORMS,
    SEED,
    TELEGRAM_CHAT,
    Fakes,
    render,
    write_campaign,
    write_config,
)
from tests.engine.enginekit import EngineProcess, engine_env, make_store, wait_for
from tests.fakes.bluesky import APP_PASSWORD, DID, HANDLE
from tests.fakes.discord import WEBHOOK_PATH as DISCORD_PATH
from tests.fakes.facebook import PAGE_TOKEN
from tests.fakes.linkedin import AUTHOR, LINKEDIN_TOKEN
from tests.fakes.mastodon import MASTODON_TOKEN
from tests.fakes.slack import WEBHOOK_PATH as SLACK_PATH
from tests.fakes.telegram import TOKEN as TELEGRAM_TOKEN
from tests.fakes.threads import THREADS_TOKEN, USER_ID
from tests.fakes.webhook import SECRET
from tests.fakes.x import CREDENTIALS as X_CREDENTIALS

pytestmark = pytest.mark.timeout(90)

PNG = IMAGE.read_bytes()
# Thread replies go out natively on these; LinkedIn, Facebook, Discord and Slack post the first part only.
THREADED = {"x", "mastodon", "bluesky", "threads", "telegram", "webhook", "outbox"}
NOT_PUBLISHED = {"failed", "unknown", "held", "cancelled", "paused"}
# Generous limits: the test is about every platform once, not about timeouts on a busy 2-core box.
ENGINE = {"publish_time_limit": 20.0, "http_timeout": 5.0, "visibility_timeout": 60}


@pytest.fixture
def store(database_url: str) -> Any:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


def apply_campaign(engine: Engine, path: Path, accounts: dict[str, Any]) -> None:
    from promo.planning.apply import apply_plan as apply
    from promo.planning.plan import plan

    campaign, rendered = render(path, accounts)
    assert sorted(r.scheduled.post.platform for r in rendered) == sorted(PLATFORMS)
    result = apply(engine, plan(engine, campaign, [r.scheduled for r in rendered]), actor="test")
    assert len(result.by_action("created")) == len(PLATFORMS), result.summary()


def ledger(engine: Engine) -> dict[str, PostRow]:
    with transaction(engine) as session:
        return {row.platform: row for row in session.scalars(select(PostRow))}


def all_published(engine: Engine) -> bool:
    rows = ledger(engine)
    stuck = {platform: (row.status, row.reason) for platform, row in rows.items() if row.status in NOT_PUBLISHED}
    assert not stuck, f"posts that will not go out by themselves: {stuck}"
    return all(row.status == "published" for row in rows.values())


def publish_with_the_engine(folder: Path, fakes: Fakes, database_url: str, broker_url: str, engine: Engine) -> str:
    """Run a real worker and beat until every post is published; their logs."""
    env = engine_env(folder, database_url, broker_url, SECRET, **ENGINE) | fakes.credentials()
    processes = [EngineProcess(folder, env, "worker", "-c", "2"), EngineProcess(folder, env, "beat")]
    try:
        wait_for(lambda: all_published(engine), 30, what="every post published")
    except AssertionError as exc:
        logs = "\n".join(p.output()[-3000:] for p in processes)
        raise AssertionError(f"{exc}\n--- engine logs ---\n{logs}") from None
    finally:
        for process in processes:
            process.stop()
    return "\n".join(p.output() for p in processes)


# -- what each fake holds: exactly one post (and its replies), with the right auth -------------------
# Each returns the texts the platform stored, in order; the test compares them with the ledger.

def sent_to_x(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.x
    for request in fake.received:
        assert f'oauth_consumer_key="{X_CREDENTIALS["api_key"]}"' in request.auth
        assert f'oauth_token="{X_CREDENTIALS["access_token"]}"' in request.auth
    assert len(fake.requests_to("/media/upload")) == 1 and list(fake.media.values()) == [PNG]
    [alt] = [r.json for r in fake.requests_to("/2/media/metadata")]
    assert alt["metadata"]["alt_text"]["text"] == IMAGE_ALT
    assert len(fake.requests_to("/2/tweets")) == len(fake.tweets)
    ids, bodies = list(fake.tweets), list(fake.tweets.values())
    assert row.platform_id == ids[0] and bodies[0]["media"]["media_ids"] == list(fake.media)
    assert [b["reply"]["in_reply_to_tweet_id"] for b in bodies[1:]] == ids[:-1]
    return [b["text"] for b in bodies]


def sent_to_mastodon(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.mastodon
    creates = fake.requests_to("/api/v1/statuses")
    assert all(r.auth == f"Bearer {MASTODON_TOKEN}" for r in fake.received if "/instance" not in r.path)
    assert len({r.headers["idempotency-key"] for r in creates}) == len(creates) == len(fake.statuses)
    assert len(fake.requests_to("/api/v2/media")) == 1  # streamed: the fake keeps its size and digest, not its body
    [media] = fake.media.values()
    assert (media["type"], media["bytes"], media["sha256"]) == ("image", len(PNG), hashlib.sha256(PNG).hexdigest())
    assert media["description"] == IMAGE_ALT
    ids, statuses = list(fake.statuses), list(fake.statuses.values())
    assert (row.platform_id, row.url) == (ids[0], statuses[0]["url"])
    assert [m["id"] for m in statuses[0]["media_attachments"]] == list(fake.media)
    assert [s["in_reply_to_id"] for s in statuses] == [None, *ids[:-1]]
    return [request.form["status"] for request in creates]


def sent_to_bluesky(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.bluesky
    [login] = fake.requests_to("createSession")
    assert login.json == {"identifier": HANDLE, "password": APP_PASSWORD}
    assert all(r.auth.removeprefix("Bearer ") in fake.tokens for r in fake.received if r is not login)
    assert len(fake.requests_to("createRecord")) == len(fake.records)
    assert list(fake.blobs.values()) == [PNG]
    uris, records = [f"at://{DID}/app.bsky.feed.post/{rkey}" for rkey in fake.records], list(fake.records.values())
    assert row.platform_id == uris[0]
    [image] = records[0]["embed"]["images"]
    assert image["alt"] == IMAGE_ALT and image["image"]["ref"]["$link"] in fake.blobs
    assert [r["reply"]["parent"]["uri"] for r in records[1:]] == uris[:-1]
    assert all(r["reply"]["root"]["uri"] == uris[0] for r in records[1:])
    return [r["text"] for r in records]


def sent_to_threads(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.threads
    assert all({**r.query, **r.form}.get("access_token") == THREADS_TOKEN for r in fake.received)
    assert len(fake.requests_to(f"/{USER_ID}/threads_publish")) == len(fake.published) == len(fake.containers)
    ids, posts = list(fake.published), list(fake.published.values())
    assert row.platform_id == ids[0] and row.url and row.url.endswith(f"/P{ids[0]}")
    assert (posts[0]["media_type"], posts[0]["image_url"]) == ("IMAGE", f"{MEDIA_BASE_URL}/{IMAGE.name}")
    assert [p.get("reply_to_id") for p in posts] == [None, *ids[:-1]]
    return [p["text"] for p in posts]


def sent_to_linkedin(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.linkedin
    assert all(r.auth == f"Bearer {LINKEDIN_TOKEN}" for r in fake.received)
    assert len(fake.requests_to("/rest/images")) == 1 and list(fake.images.values()) == [PNG]
    [create] = fake.requests_to("/rest/posts")
    [(urn, body)] = fake.posts.items()
    assert row.platform_id == urn and body["author"] == AUTHOR and not fake.comments
    assert body["content"]["media"] == {"id": next(iter(fake.images)), "altText": IMAGE_ALT}
    assert fake.shown[urn] == reader_text(create.json["commentary"])  # little text: LinkedIn cut nothing
    return [create.json["commentary"]]


def sent_to_facebook(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.facebook
    assert all(r.form.get("access_token") == PAGE_TOKEN or r.auth == f"Bearer {PAGE_TOKEN}" for r in fake.received)
    [create] = fake.received
    assert create.path.endswith("/photos") and create.files["source"] == PNG
    [(post_id, post)] = fake.posts.items()
    assert row.platform_id == post_id and post["parent"] is None
    return [post["message"]]


def sent_to_telegram(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.telegram
    assert all(r.path.startswith(f"/bot{TELEGRAM_TOKEN}/") for r in fake.received)
    assert [r.path.rsplit("/", 1)[-1] for r in fake.received] == ["sendPhoto", "sendMessage"]
    assert fake.received[0].files["photo"] == PNG
    ids, messages = list(fake.messages), list(fake.messages.values())
    assert row.platform_id == ids[0] and all(m["chat_id"] == TELEGRAM_CHAT for m in messages)
    assert int(fake.received[1].json["reply_parameters"]["message_id"]) == int(ids[0])
    return [m["text"] for m in messages]


def sent_to_discord(fakes: Fakes, row: PostRow) -> list[str]:
    fake = fakes.discord
    [create] = fake.received
    assert (create.path, create.query) == (DISCORD_PATH, {"wait": "true"})
    assert create.files["files[0]"] == PNG
    payload = json.loads(create.form["payload_json"])
    assert payload["allowed_mentions"] == {"parse": []} and payload["attachments"][0]["description"] == IMAGE_ALT
    assert list(fake.messages) == [row.platform_id]
    return [payload["content"]]


def sent_to_slack(fakes: Fakes, row: PostRow) -> list[str]:
    [create] = fakes.slack.received
    assert create.path == SLACK_PATH and row.url is None  # an incoming webhook gives no link
    return list(fakes.slack.messages)


def sent_to_webhook(fakes: Fakes, row: PostRow) -> list[str]:
    [call] = fakes.hook.calls
    assert call.signed and call.key == row.idempotency_key
    assert call.body["parts"][0]["media"][0]["alt"] == IMAGE_ALT
    return [part["text"] for part in call.body["parts"]]


def sent_to_outbox(fakes: Fakes, row: PostRow) -> list[str]:
    [line] = (Path(str(row.url).partition("#")[0].removeprefix("file://"))).read_text().splitlines()
    entry = json.loads(line)
    assert entry["idempotency_key"] == row.idempotency_key and entry["id"] == row.platform_id
    return [part["text"] for part in entry["parts"]]


SENT: dict[str, Callable[[Fakes, PostRow], list[str]]] = {
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
    "outbox": sent_to_outbox,
}


def expected_texts(row: PostRow) -> list[str]:
    """The ledger's text of every part: what preview showed is exactly what the platform received
    (LinkedIn's little text included)."""
    return [part["text"] for part in row.payload["parts"]]


@pytest.mark.slow
def test_one_announcement_reaches_every_platform_once(
    tmp_path: Path, fakes: Fakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    accounts = write_config(tmp_path, fakes)
    apply_campaign(store, write_campaign(tmp_path, utcnow() + timedelta(seconds=2)), accounts)
    logs = publish_with_the_engine(tmp_path, fakes, database_url, redis_server.url, store)
    leaked = [name for name, secret in fakes.credentials().items() if secret.rsplit("/", 1)[-1] in logs]
    assert not leaked, f"the engine logged secrets: {leaked}"
    rows = ledger(store)
    assert set(rows) == set(SENT) == set(PLATFORMS)
    for platform, row in rows.items():
        assert row.status == "published" and row.platform_id and row.published_at, platform
        assert len(row.payload["parts"]) == (2 if platform in THREADED else 1), platform
        assert row.url or platform == "slack", f"{platform}: no url"
        assert SENT[platform](fakes, row) == expected_texts(row), platform


def test_the_seed_campaign_previews_clean_on_every_platform(tmp_path: Path, fakes: Fakes) -> None:
    accounts = write_config(tmp_path, fakes)
    _, rendered = render(SEED, accounts)
    platforms = {r.scheduled.post.platform for r in rendered}
    assert platforms == (set(PLATFORMS) - {"webhook"}) | {"youtube", "instagram", "reddit", "tiktok"}  # not the webhook
    assert all(r.ok for r in rendered)
    # Preview is offline: no platform and no media host was called (the kit itself made the S3 bucket).
    assert not any(fake.received for name, fake in vars(fakes).items() if name not in ("hook", "s3"))
    assert fakes.s3.received == [f"PUT /{MEDIA_BUCKET}"]
    assert fakes.hook.calls == []


# -- YouTube: the seed's featurette (a video, uploaded an hour ahead and scheduled with publishAt) -------
YOUTUBE_CAMPAIGN = """\
campaign: jj-youtube-e2e
timezone: America/Los_Angeles
fields: {{show: Jessica Jones, season: 3, network: Netflix, link: "https://www.netflix.com/title/80002311",
         hashtags: [JessicaJones]}}
accounts: [jj-youtube]
announcements:
  - key: featurette
    kind: featurette_release
    at: "{at}"
    fields:
      title: "Krysten Ritter steps into the director's chair for the final season of Jessica Jones"
      quote: "Jessica Jones has been a big chunk of my adult life now."
      quote_by: Krysten Ritter
    media:
      - path: media/featurette.mp4
        alt: "Krysten Ritter behind the camera on the Jessica Jones season 3 set"
"""


@pytest.mark.slow
def test_the_seed_featurette_reaches_youtube_once_scheduled_by_youtube(
    tmp_path: Path, fakes: Fakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    from promo.planning.apply import apply_plan
    from promo.planning.plan import plan
    from promo.rules.youtube import rfc3339, video_text

    accounts = write_config(tmp_path, fakes)
    (tmp_path / "media").mkdir()
    clip = SEED.parent / "media" / "featurette.mp4"
    (tmp_path / "media" / clip.name).write_bytes(clip.read_bytes())
    public_at = (utcnow() + timedelta(hours=1, seconds=2)).replace(microsecond=0)
    campaign_file = tmp_path / "youtube.yaml"
    campaign_file.write_text(YOUTUBE_CAMPAIGN.format(at=public_at.isoformat()), encoding="utf-8")
    campaign, rendered = render(campaign_file, accounts)
    [item] = rendered
    assert item.scheduled.scheduled_at == public_at - timedelta(hours=1)  # upload_ahead: dispatched an hour early
    apply_plan(store, plan(store, campaign, [item.scheduled]), actor="test")
    publish_with_the_engine(tmp_path, fakes, database_url, redis_server.url, store)
    row = ledger(store)["youtube"]
    [video] = fakes.youtube.videos.values()
    assert row.status == "published" and row.platform_id == video.id and row.url.endswith(video.id)
    assert video.data == clip.read_bytes() and fakes.youtube.initiated == 1
    sent = video_text(row.payload["parts"][0]["text"])
    assert video.metadata["snippet"]["title"] == sent.title == campaign.announcements[0].fields["title"]
    assert video.metadata["snippet"]["tags"] == list(sent.tags) and "Krysten Ritter" in sent.tags
    assert video.metadata["status"]["privacyStatus"] == "private"  # YouTube makes it public at publishAt
    assert video.metadata["status"]["publishAt"] == rfc3339(public_at) == sent.publish_at
    assert all(r.auth == f"Bearer {fakes.credentials()['PROMO_ACCOUNT_JJ_YOUTUBE_ACCESS_TOKEN']}"
               for r in fakes.youtube.received)


# -- Instagram: the seed's featurette as a Reel, fetched from the media host (moto's S3) by presigned URL ---
@pytest.mark.slow
def test_the_seed_featurette_reaches_instagram_once_as_a_reel(
    tmp_path: Path, fakes: Fakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    from promo.planning.apply import apply_plan
    from promo.planning.plan import plan

    accounts = write_config(tmp_path, fakes)
    (tmp_path / "media").mkdir()
    clip = SEED.parent / "media" / "featurette.mp4"
    (tmp_path / "media" / clip.name).write_bytes(clip.read_bytes())
    campaign_file = tmp_path / "instagram.yaml"
    at = (utcnow() + timedelta(seconds=3)).replace(microsecond=0)
    campaign_file.write_text(YOUTUBE_CAMPAIGN.replace("jj-youtube", "jj-instagram").format(at=at.isoformat()),
                             encoding="utf-8")
    campaign, rendered = render(campaign_file, accounts)
    apply_plan(store, plan(store, campaign, [r.scheduled for r in rendered]), actor="test")
    publish_with_the_engine(tmp_path, fakes, database_url, redis_server.url, store)
    row = ledger(store)["instagram"]
    [(media_id, reel)] = fakes.instagram.published.items()
    assert row.status == "published" and row.platform_id == media_id != reel["container"]
    assert reel["media_type"] == "REELS" and reel["caption"] == row.payload["parts"][0]["text"]
    [(url, size, digest)] = fakes.instagram.fetched
    assert (size, digest) == (clip.stat().st_size, hashlib.sha256(clip.read_bytes()).hexdigest())
    assert "X-Amz-Signature=" in url, url
    assert [w for w in fakes.s3.writes if w.startswith("PUT")] == [
        f"PUT /{MEDIA_BUCKET}/promo-media/{digest}.mp4"], fakes.s3.writes

