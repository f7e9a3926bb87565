"""End to end: the seed's featurette to Reddit (a video post to r/television) and its vertical cut to TikTok
(FILE_UPLOAD, SELF_ONLY for an unaudited app), rendered from the repository's templates, through a real worker
and beat on Redis; each fake must hold exactly one post, made from the bytes of the seed's clips."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from promo.planning.apply import apply_plan
from promo.planning.plan import plan
from promo.rules.reddit import split
from promo.times import utcnow
from tests.e2e.e2ekit import SEED, Fakes, render, write_config
from tests.e2e.test_all_platforms import ledger, publish_with_the_engine
from tests.engine.enginekit import make_store

pytestmark = pytest.mark.timeout(90)

CAMPAIGN = """\
campaign: jj-reddit-tiktok-e2e
timezone: America/Los_Angeles
fields: {{show: Jessica Jones, season: 3, network: Netflix, link: "https://www.netflix.com/title/80002311",
         hashtags: [JessicaJones]}}
accounts: [jj-reddit, jj-tiktok]
announcements:
  - key: featurette
    kind: featurette_release
    at: "{at}"
    accounts: [jj-reddit]
    fields:
      title: "Krysten Ritter steps into the director's chair for the final season of Jessica Jones"
      quote: "Jessica Jones has been a big chunk of my adult life now."
      quote_by: Krysten Ritter
    media:
      - path: media/featurette.mp4
        alt: "Krysten Ritter behind the camera on the Jessica Jones season 3 set"
  - key: featurette-vertical
    kind: featurette_release
    at: "{at}"
    accounts: [jj-tiktok]
    fields:
      title: "Krysten Ritter steps into the director's chair for the final season of Jessica Jones"
    media:
      - path: media/featurette-vertical.mp4
        alt: "Krysten Ritter behind the camera on the Jessica Jones season 3 set"
"""


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


@pytest.mark.slow
def test_the_seed_featurette_reaches_reddit_and_tiktok_once(
    tmp_path: Path, fakes: Fakes, store: Engine, database_url: str, redis_server: Any
) -> None:
    accounts = write_config(tmp_path, fakes)
    (tmp_path / "media").mkdir()
    names = ("featurette.mp4", "featurette-vertical.mp4")
    clips = {name: (SEED.parent / "media" / name).read_bytes() for name in names}
    for name, data in clips.items():
        (tmp_path / "media" / name).write_bytes(data)
    campaign_file = tmp_path / "campaign.yaml"
    campaign_file.write_text(CAMPAIGN.format(at=(utcnow() + timedelta(seconds=2)).isoformat()), encoding="utf-8")
    campaign, rendered = render(campaign_file, accounts)
    apply_plan(store, plan(store, campaign, [r.scheduled for r in rendered]), actor="test")
    logs = publish_with_the_engine(tmp_path, fakes, database_url, redis_server.url, store)
    leaked = [name for name, secret in fakes.credentials().items() if secret.rsplit("/", 1)[-1] in logs]
    assert not leaked, f"the engine logged secrets: {leaked}"
    rows = ledger(store)

    [post] = fakes.reddit.posts
    reddit = rows["reddit"]
    assert (reddit.status, reddit.platform_id) == ("published", post["id"]) and reddit.url.endswith(f"/{post['id']}/")
    title, body = split(reddit.payload["parts"][0]["text"])
    assert (post["kind"], post["title"], post["selftext"]) == ("video", title, body)
    assert fakes.reddit.uploads[post["media_key"]] == clips["featurette.mp4"]

    [item] = fakes.tiktok.posts
    tiktok = rows["tiktok"]
    assert (tiktok.status, tiktok.platform_id) == ("published", item.publish_id)  # SELF_ONLY: no public id
    assert item.privacy == "SELF_ONLY" and item.title == tiktok.payload["parts"][0]["text"]
    assert item.content() == clips["featurette-vertical.mp4"] and fakes.tiktok.creator_queries == 1
