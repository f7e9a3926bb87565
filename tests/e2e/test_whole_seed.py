"""End to end: the whole seed campaign (promo/manage/seed/) through a real worker and beat to all 14 platforms.

The seed project is copied into a temporary folder (campaign, media, templates), its accounts pointed at the
fakes, and every announcement moved to a few seconds from now, one after another; ``promo apply`` writes the
ledger as a user would, then a real worker and beat on a throwaway Redis publish everything. Each platform's
fake must hold exactly the posts the ledger says went there, once each, under the ids the ledger holds.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select

from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import utcnow
from tests.e2e.e2ekit import MEDIA_BASE_URL, REPO, Fakes
from tests.engine.enginekit import EngineProcess, engine_env, make_store, wait_for
from tests.fakes.bluesky import DID, FakeVideoService
from tests.fakes.harness import MediaHost
from tests.fakes.webhook import SECRET

pytestmark = pytest.mark.timeout(120)

SEED_DIR = REPO / "promo" / "manage" / "seed"
CAMPAIGN = "jessica-jones-s3.yaml"
PLATFORMS = {"x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord", "slack",
             "outbox", "youtube", "instagram", "reddit", "tiktok"}
FINAL = {"published", "failed", "unknown", "held", "cancelled", "paused"}
ENGINE = {"publish_time_limit": 20.0, "http_timeout": 5.0, "visibility_timeout": 60}
# Announcements go out this many seconds apart, the first FIRST_AT seconds from now (``promo apply`` starts first).
FIRST_AT, SPACING = 6, 1


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


def accounts_toml(folder: Path, fakes: Fakes, services: VideoServices) -> str:
    """The kit's accounts, with what a user sets for video: Bluesky's video service and Threads' public media
    URL (the kit's are for the image-only premiere)."""
    config = fakes.accounts_toml(folder / "outbox.jsonl")
    config = config.replace(f'media_base_url = "{MEDIA_BASE_URL}"', f'media_base_url = "{services.media.url}"')
    return config.replace(f'base_url = "{fakes.bluesky.url}"',
                          f'base_url = "{fakes.bluesky.url}"\nvideo_base_url = "{services.video.url}"')


def copy_seed(folder: Path, config: str, start: datetime) -> None:
    """The seed project in ``folder``: its media, the templates, a promo.toml whose accounts are the fakes,
    and the campaign with every announcement due a few seconds from ``start``, in the seed's order."""
    shutil.copytree(SEED_DIR / "media", folder / "media")
    shutil.copytree(REPO / "templates", folder / "templates")
    (folder / "promo.toml").write_text('[promo]\ntemplates_dir = "templates"\n' + config, encoding="utf-8")
    campaign = yaml.safe_load((SEED_DIR / CAMPAIGN).read_text(encoding="utf-8"))
    for index, announcement in enumerate(campaign["announcements"]):
        at = (start + timedelta(seconds=FIRST_AT + SPACING * index)).replace(microsecond=0)
        announcement["at"] = at.isoformat()  # relative times ("premiere - 3d") would land days in the past
        if "not_before" in announcement:
            announcement["not_before"] = at.isoformat()
    (folder / CAMPAIGN).write_text(yaml.safe_dump(campaign, sort_keys=False, allow_unicode=True), encoding="utf-8")


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
    lines = [json.loads(line) for line in (folder / "outbox.jsonl").read_text(encoding="utf-8").splitlines()]
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


@pytest.mark.slow
def test_the_whole_seed_campaign_reaches_all_14_platforms_once(
    tmp_path: Path, fakes: Fakes, services: VideoServices, store: Engine, database_url: str, redis_server: Any
) -> None:
    copy_seed(tmp_path, accounts_toml(tmp_path, fakes, services), utcnow())
    env = engine_env(tmp_path, database_url, redis_server.url, SECRET, **ENGINE) | fakes.credentials()
    env |= {"PYTHONPATH": str(REPO)}
    promo_apply(tmp_path, env)
    publish_everything(tmp_path, env, store)
    rows = ledger(store)
    assert {row.platform for row in rows} == PLATFORMS
    stuck = {(row.account, row.announcement): (row.status, row.reason) for row in rows if row.status != "published"}
    assert not stuck, f"not published: {stuck}"
    for platform in sorted(PLATFORMS):
        check_platform(platform, [row for row in rows if row.platform == platform], HELD[platform](fakes, tmp_path))
