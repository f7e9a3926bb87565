"""End to end: the whole seed campaign (promo/manage/seed/) through a real worker and beat to all 14 platforms.

The seed project is copied into a temporary folder as it ships: its campaign, media, templates and its own
promo.toml, whose accounts keep every option the seed gives them (X's and Instagram's rate limits, Reddit's flair,
YouTube's project, category and ``upload_ahead = "2h"``, TikTok's defaults). The copy only points each account at
its fake: base URLs and the other URLs a platform fetches from, and where a fake knows one account id only, that
id (``local_options``); the credentials come from ``PROMO_ACCOUNT_<NAME>_<CREDENTIAL>`` as a user's would.

Every announcement is moved to a few seconds from now, one after another. The YouTube Short's announcement goes
to YouTube alone: it is moved two hours later (the seed's ``upload_ahead``), so its upload is dispatched in the
window and YouTube must hold it private with ``publishAt`` at the announcement's time. ``promo apply`` writes the
ledger as a user would, then a real worker and beat on a throwaway Redis publish everything. Each platform's fake
must hold exactly the posts the ledger says went there, once each, under the ids the ledger holds.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from promo.accounts import Account, load_accounts
from promo.campaigns.probe import probe_video
from promo.rules.youtube import is_short, lead_time, rfc3339, short_problems, video_text
from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import utcnow
from tests.e2e.e2ekit import REPO, Fakes
from tests.engine.enginekit import EngineProcess, engine_env, make_store, wait_for
from tests.fakes.bluesky import DID, FakeVideoService
from tests.fakes.facebook import PAGE_ID
from tests.fakes.harness import MediaHost
from tests.fakes.linkedin import AUTHOR
from tests.fakes.threads import USER_ID as THREADS_USER
from tests.fakes.webhook import SECRET
from tests.fakes.youtube import Video

pytestmark = pytest.mark.timeout(120)

SEED_DIR = REPO / "promo" / "manage" / "seed"
CAMPAIGN = "jessica-jones-s3.yaml"
VERTICAL = SEED_DIR / "media" / "featurette-vertical.mp4"
PLATFORMS = {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord", "slack",
             "outbox", "youtube", "instagram", "reddit", "tiktok"}
FINAL = {"published", "failed", "unknown", "held", "cancelled", "paused"}
ENGINE = {"publish_time_limit": 20.0, "http_timeout": 5.0, "visibility_timeout": 60}
# Announcements go out this many seconds apart, the first FIRST_AT seconds from now (``promo apply`` starts first).
FIRST_AT, SPACING = 6, 1
UNCHANGED = {"jj-outbox"}  # the seed's path: outbox.jsonl in promo's home


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """SQLite only: the PostgreSQL variants of publishing live in the other end-to-end tests."""
    return sqlite_url


@dataclass
class VideoServices:
    """What the seed's featurette needs beyond the kit: Bluesky's video service, and a public media folder
    (Threads fetches its video, and the premiere's key art, by URL)."""

    video: FakeVideoService
    media: MediaHost


@pytest.fixture
def services(tmp_path: Path, fakes: Fakes) -> Iterator[VideoServices]:
    video, media = FakeVideoService(fakes.bluesky), MediaHost(tmp_path / "media")  # copy_seed fills the folder
    with video, media:
        yield VideoServices(video, media)


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


def local_options(fakes: Fakes, services: VideoServices) -> dict[str, dict[str, str]]:
    """What the copy sets beyond the seed: URLs, and the ids a fake knows as its only account."""
    found = {name: {"base_url": getattr(fakes, name.removeprefix("jj-")).url}
             for name in ("jj-x", "jj-mastodon", "jj-bluesky", "jj-threads", "jj-linkedin", "jj-facebook",
                          "jj-telegram", "jj-discord", "jj-slack", "jj-youtube", "jj-instagram", "jj-reddit",
                          "jj-tiktok")}
    found["jj-bluesky"]["video_base_url"] = services.video.url      # Bluesky's video service, a host of its own
    found["jj-threads"]["media_base_url"] = services.media.url      # Threads fetches the media from this URL
    found["jj-reddit"]["media_upload_url"] = fakes.reddit.url        # routes the host Reddit's upload lease names
    found["jj-threads"]["user_id"] = THREADS_USER                    # the fakes' accounts: the seed's ids are
    found["jj-linkedin"]["author"] = AUTHOR                          # placeholders no fake answers to
    found["jj-facebook"]["page_id"] = PAGE_ID
    return found


def seed_config(local: dict[str, dict[str, str]]) -> str:
    """The seed's promo.toml with ``local`` written over it (no value of the seed's is dropped)."""
    config = tomllib.loads((SEED_DIR / "promo.toml").read_text(encoding="utf-8"))
    assert set(local) | UNCHANGED == set(config["accounts"]), "an account of the seed is not pointed at a fake"
    tables = {"promo": config["promo"]} | {f"accounts.{name}": body | local.get(name, {})
                                           for name, body in config["accounts"].items()}
    lines = []
    for table, body in tables.items():
        assert all(isinstance(value, str | int | float | bool) for value in body.values()), table
        lines += [f"[{table}]", *(f"{key} = {json.dumps(value)}" for key, value in body.items()), ""]
    return "\n".join(lines)


def copy_seed(folder: Path, config: str, start: datetime) -> dict[str, datetime]:
    """The seed project in ``folder`` with its promo.toml ``config`` and every announcement due a few seconds from
    ``start``, in the seed's order; an announcement only uploaded ahead, that much later. Key -> time."""
    shutil.copytree(SEED_DIR / "media", folder / "media")
    shutil.copytree(REPO / "templates", folder / "templates")
    (folder / "promo.toml").write_text(config, encoding="utf-8")
    ahead = {name: lead_time(account.options) for name, account in seed_accounts(folder).items()}
    campaign = yaml.safe_load((SEED_DIR / CAMPAIGN).read_text(encoding="utf-8"))
    times = {}
    for index, announcement in enumerate(campaign["announcements"]):
        at = (start + timedelta(seconds=FIRST_AT + SPACING * index)).replace(microsecond=0)
        at += min(ahead[name] for name in announcement.get("accounts", campaign["accounts"]))
        announcement["at"] = at.isoformat()  # relative times ("premiere - 3d") would land days in the past
        if "not_before" in announcement:
            announcement["not_before"] = at.isoformat()
        times[announcement["key"]] = at
    (folder / CAMPAIGN).write_text(yaml.safe_dump(campaign, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return times


def seed_accounts(folder: Path) -> dict[str, Account]:
    return load_accounts(folder / "promo.toml", environ={})


def check_the_seeds_options(folder: Path, local: dict[str, dict[str, str]]) -> None:
    """Every behavioural option of the copy is the seed's: only ``local_options``' URLs and ids differ."""
    seed, copy = load_accounts(SEED_DIR / "promo.toml", environ={}), seed_accounts(folder)
    for name, account in copy.items():
        kept = {key: value for key, value in account.options.items() if key not in local.get(name, {})}
        assert kept == {k: v for k, v in seed[name].options.items() if k not in local.get(name, {})}, name
        assert (account.rate_limit, account.max_lateness) == (seed[name].rate_limit, seed[name].max_lateness), name
    assert copy["jj-x"].rate_limit is not None and copy["jj-instagram"].rate_limit is not None


def promo_apply(folder: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "promo", "apply", CAMPAIGN, "--yes", "--json"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def ledger(engine: Engine) -> list[PostRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(PostRow)))


def publish_everything(folder: Path, env: dict[str, str], engine: Engine) -> None:
    """A real worker and beat until every post is final (bounded); their logs on failure."""
    processes = [EngineProcess(folder, env, "worker", "-c", "2"), EngineProcess(folder, env, "beat")]

    def final() -> bool:
        ended = [p.log.stem for p in processes if p.process.poll() is not None]
        assert not ended, f"the engine stopped: {ended}"
        return all(row.status in FINAL for row in ledger(engine))

    try:
        wait_for(final, 60, what="every post final")
    except AssertionError as exc:
        logs = "\n".join(p.output()[-4000:] for p in processes)
        raise AssertionError(f"{exc}\n--- engine logs ---\n{logs}") from None
    finally:
        for process in processes:
            process.stop()


# -- what each fake holds: (the ids of its top-level posts, how many items it stored, replies included) ----
Held = tuple[list[str], int]


def _roots(items: dict[str, dict[str, Any]], parent: Callable[[dict[str, Any]], Any]) -> Held:
    return [key for key, item in items.items() if not parent(item)], len(items)


def _outbox(fakes: Fakes, folder: Path) -> Held:
    text = (folder / "home" / "outbox.jsonl").read_text(encoding="utf-8")  # the seed's path, in promo's home
    lines = [json.loads(line) for line in text.splitlines()]
    return [line["id"] for line in lines], sum(len(line["parts"]) for line in lines)


HELD: dict[str, Callable[[Fakes, Path], Held]] = {
    "x": lambda f, _: _roots(f.x.tweets, lambda t: t.get("reply")),
    "mastodon": lambda f, _: _roots(f.mastodon.statuses, lambda s: s.get("in_reply_to_id")),
    "bluesky": lambda f, _: ([f"at://{DID}/app.bsky.feed.post/{k}" for k, r in f.bluesky.records.items()
                              if not r.get("reply")], len(f.bluesky.records)),
    "threads": lambda f, _: _roots(f.threads.published, lambda p: p.get("reply_to_id")),
    "linkedin": lambda f, _: (list(f.linkedin.posts), len(f.linkedin.posts) + len(f.linkedin.comments)),
    "facebook": lambda f, _: _roots(f.facebook.posts, lambda p: p.get("parent")),
    "telegram": lambda f, _: _roots(f.telegram.messages, lambda m: m.get("reply_parameters")),
    "discord": lambda f, _: (list(f.discord.messages), len(f.discord.messages)),
    "slack": lambda f, _: ([], len(f.slack.messages)),
    "outbox": _outbox,
    "youtube": lambda f, _: (list(f.youtube.videos), len(f.youtube.videos)),
    "instagram": lambda f, _: (list(f.instagram.published), len(f.instagram.published)),
    "reddit": lambda f, _: ([p["id"] for p in f.reddit.posts], len(f.reddit.posts)),
    "tiktok": lambda f, _: ([p.publish_id for p in f.tiktok.posts], len(f.tiktok.posts)),
}
# Where every part of a thread is its own top-level message (no reply chain), the ledger keeps the first's id.
FLAT = {"discord"}


def check_platform(platform: str, rows: list[PostRow], held: Held) -> None:
    roots, stored = held
    ids = [row.platform_id for row in rows]
    assert all(ids) and len(set(ids)) == len(ids), (platform, ids)
    assert stored == sum(len(row.payload["parts"]) for row in rows), (platform, stored, ids)
    if platform == "slack":
        return  # an incoming webhook answers "ok": its ids are promo's own, the count above is the check
    if platform in FLAT:
        assert set(ids) <= set(roots), (platform, ids, roots)
    else:
        assert Counter(roots) == Counter(ids), (platform, roots, ids)


def check_youtube(fakes: Fakes, rows: dict[tuple[str, str], PostRow], times: dict[str, datetime],
                  folder: Path) -> None:
    """The Short: a vertical video, a Short by YouTube's rules, private until its announcement's time. The
    featurette, less than a minute from its time when released: public at once."""
    short, featurette = rows["jj-youtube", "featurette-short"], rows["jj-youtube", "featurette"]
    video = fakes.youtube.videos[short.platform_id]
    assert video.data == VERTICAL.read_bytes()
    (folder / "received.mp4").write_bytes(video.data)
    probed = probe_video(folder / "received.mp4")
    snippet = video.metadata["snippet"]
    assert is_short(video_text(f"{snippet['title']}\n\n{snippet['description']}")) and "#Shorts" in snippet["title"]
    assert short_problems(probed["width"], probed["height"], probed["duration_s"]) == []
    assert probed["height"] > probed["width"] and short.url == f"https://www.youtube.com/shorts/{video.id}"
    ahead = lead_time(seed_accounts(folder)["jj-youtube"].options)  # the seed's upload_ahead, 2 hours
    assert ahead == timedelta(hours=2) and short.scheduled_at == times["featurette-short"] - ahead  # sent early
    assert _status(video) == ("private", rfc3339(times["featurette-short"]))
    assert snippet["categoryId"] == "1"  # the seed's category_id
    assert _status(fakes.youtube.videos[featurette.platform_id]) == ("public", None)


def _status(video: Video) -> tuple[str, str | None]:
    status = video.metadata["status"]
    return status["privacyStatus"], status.get("publishAt")


def check_seed_options(fakes: Fakes, rows: dict[tuple[str, str], PostRow], folder: Path) -> None:
    """What the seed's options asked for reached the fakes; the posts stay within X's and Instagram's limits."""
    accounts = seed_accounts(folder)
    flair = accounts["jj-reddit"].options["flair_id"]
    assert [post["flair_id"] for post in fakes.reddit.posts] == [flair]
    assert [post.privacy for post in fakes.tiktok.posts] == ["SELF_ONLY"]  # not audited: the seed's default
    reel = fakes.instagram.published[rows["jj-instagram", "featurette-vertical"].platform_id]
    assert reel["media_type"] == "REELS" and hashlib.sha256(VERTICAL.read_bytes()).hexdigest() in reel["video_url"]
    for name in ("jj-x", "jj-instagram"):
        limit = accounts[name].rate_limit
        assert limit is not None and sum(row.account == name for row in rows.values()) < limit.posts, name


@pytest.mark.slow
def test_the_whole_seed_campaign_reaches_all_14_platforms_once(
    tmp_path: Path, fakes: Fakes, services: VideoServices, store: Engine, database_url: str, redis_server: Any
) -> None:
    local = local_options(fakes, services)
    times = copy_seed(tmp_path, seed_config(local), utcnow())
    check_the_seeds_options(tmp_path, local)
    fakes.reddit.requirements = {"is_flair_required": True}  # as r/television: a post without flair is refused
    # Processed at the first look: the seed keeps YouTube's and TikTok's 5 s between two looks.
    fakes.youtube.processing_polls = fakes.tiktok.processing_polls = 0
    env = engine_env(tmp_path, database_url, redis_server.url, SECRET, **ENGINE) | fakes.credentials()
    env |= {"PYTHONPATH": str(REPO)}
    promo_apply(tmp_path, env)
    publish_everything(tmp_path, env, store)
    rows = ledger(store)
    assert {row.platform for row in rows} == PLATFORMS and len(rows) == 64
    stuck = {(row.account, row.announcement): (row.status, row.reason) for row in rows if row.status != "published"}
    assert not stuck, f"not published: {stuck}"
    for platform in sorted(PLATFORMS):
        check_platform(platform, [row for row in rows if row.platform == platform], HELD[platform](fakes, tmp_path))
    by_post = {(row.account, row.announcement): row for row in rows}
    check_youtube(fakes, by_post, times, tmp_path)
    check_seed_options(fakes, by_post, tmp_path)
