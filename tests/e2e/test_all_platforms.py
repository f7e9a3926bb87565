"""End to end: one announcement, every platform's fake, the real engine (Celery worker + beat on Redis).

The premiere of the seed story is loaded from a campaign file, rendered with the repository's
templates, checked, planned and applied into the store; a real worker and beat publish it; then
each fake must hold exactly one well-formed post (its thread replies chained under it), sent with
the right credentials and the text the ledger holds.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Fakes
from enginekit import EngineProcess, engine_env, make_store, wait_for
from fake_webhook import SECRET
from sqlalchemy import Engine, select

from promo.accounts import Account, load_accounts
from promo.posts import Post
from promo.preview import RenderedPost
from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import iso, utcnow

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
SEED = REPO / "examples" / "jessica-jones-s3.yaml"
PLATFORMS = ("x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord", "slack",
             "webhook", "outbox")
THREADED = ("x", "mastodon", "bluesky", "threads", "telegram", "webhook", "outbox")  # two parts each
WITH_IMAGE = ("x", "mastodon", "bluesky", "threads", "linkedin", "facebook", "telegram", "discord",
              "webhook", "outbox")
UNSETTLED = ("failed", "held", "cancelled", "paused")

CAMPAIGN = """\
campaign: jj-e2e
name: Jessica Jones season 3, end to end
timezone: America/Los_Angeles
fields:
  show: Jessica Jones
  season: 3
  network: Netflix
  link: https://www.netflix.com/title/80002311
  hashtags: [JessicaJones]
  cast: [Krysten Ritter, Rachael Taylor, Carrie-Anne Moss]
accounts: [{accounts}]
defaults:
  platforms:              # no native reply chain: post the first part only
    linkedin: {{thread: false}}
    facebook: {{thread: false}}
    discord: {{thread: false}}
    slack: {{thread: false, media: false}}
announcements:
  - key: premiere
    kind: premiere
    at: "{at}"
    fields:
      tagline: "When Jessica crosses paths with a highly intelligent psychopath, she and Trish must team up."
    media:
      - path: media/premiere.png
        alt: "Jessica Jones season 3 key art: Jessica and Trish, back to back"
    thread:
      - "Starring {{{{ cast | join_names }}}}. Episode 2 is directed by Krysten Ritter."
"""

pytestmark = pytest.mark.timeout(90)


def write_config(folder: Path, fakes: Fakes) -> dict[str, Account]:
    config = folder / "promo.toml"
    config.write_text(fakes.accounts_toml(folder / "outbox.jsonl"), encoding="utf-8")
    return load_accounts(config, environ=fakes.credentials())


def write_campaign(folder: Path, at: datetime) -> Path:
    (folder / "media").mkdir()
    shutil.copy(SEED.parent / "media" / "premiere.png", folder / "media" / "premiere.png")
    path = folder / "campaign.yaml"
    names = ", ".join(f"jj-{platform}" for platform in PLATFORMS)
    path.write_text(CAMPAIGN.format(accounts=names, at=iso(at)), encoding="utf-8")
    return path


def render(path: Path, accounts: dict[str, Account]) -> tuple[Any, list[RenderedPost]]:
    from promo.campaigns import load_campaign
    from promo.preview import render_campaign

    campaign = load_campaign(path, accounts, TEMPLATES)
    rendered = render_campaign(campaign, accounts, TEMPLATES)
    broken = {r.scheduled.post.account: [p.message for p in r.report.problems] for r in rendered if not r.ok}
    assert not broken, f"previews break a platform rule: {broken}"
    return campaign, rendered


def apply_campaign(engine: Engine, path: Path, accounts: dict[str, Account]) -> list[RenderedPost]:
    from promo.planning import apply, plan

    campaign, rendered = render(path, accounts)
    result = apply(engine, plan(engine, campaign, [r.scheduled for r in rendered]), actor="test")
    assert len(result.by_action("created")) == len(PLATFORMS), result.summary()
    return rendered


def rows(engine: Engine) -> dict[str, PostRow]:
    with transaction(engine) as session:
        return {row.platform: row for row in session.scalars(select(PostRow))}


def all_published(engine: Engine) -> bool:
    found = rows(engine)
    stuck = {p: (r.status, r.reason) for p, r in found.items() if r.status in UNSETTLED}
    assert not stuck, f"posts did not go out: {stuck}"
    return all(row.status == "published" for row in found.values())


def ledger_post(row: PostRow) -> Post:
    return Post.from_payload(row.platform, row.account, row.payload, row.idempotency_key)


@pytest.fixture
def store(database_url: str) -> Any:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_one_announcement_reaches_every_platform_once(
    tmp_path: Path, fakes: Fakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    accounts = write_config(tmp_path, fakes)
    rendered = apply_campaign(store, write_campaign(tmp_path, utcnow() + timedelta(seconds=2)), accounts)
    assert sorted(r.scheduled.post.platform for r in rendered) == sorted(PLATFORMS)
    env = engine_env(tmp_path, database_url, redis_server.url, SECRET) | fakes.credentials()
    processes = [EngineProcess(tmp_path, env, "worker", "-c", "2"), EngineProcess(tmp_path, env, "beat")]
    try:
        wait_for(lambda: all_published(store), 30, what="every post published")
    finally:
        for process in processes:
            process.stop()
    published = rows(store)
    for r in fakes.linkedin.received + fakes.bluesky.received[2:] + fakes.discord.received + fakes.facebook.received:
        print(r.path, r.headers, r.body[:1500] if r.body else r.form, r.files.keys())
    print(fakes.mastodon.received[2].headers)
    print(fakes.x.received[2].headers)
    print(published["linkedin"].payload)
    with transaction(store) as s:
        from promo.store.tables import Event
        print([(e.post_id, e.action, e.at) for e in s.scalars(select(Event))])
    raise AssertionError("diagnostic")
