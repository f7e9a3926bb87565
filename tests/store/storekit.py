"""Hand-built campaigns for planning tests (so they don't depend on promo.campaigns), and ledger moves."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from promo.posts import Post, ScheduledPost
from promo.store.db import transaction
from promo.store.ledger import status_of, transition
from promo.store.tables import Event
from promo.times import zone

LA = zone("America/Los_Angeles")
PREMIERE = datetime(2019, 6, 14, 0, 1, tzinfo=LA)


@dataclass(frozen=True)
class FakeAnnouncement:
    key: str
    kind: str
    fields: Mapping[str, Any]
    scheduled_at: datetime


@dataclass(frozen=True)
class FakeCampaign:
    """Just what promo.planning.plan reads of promo.campaigns' Campaign."""

    id: str = "jessica-jones-s3"
    name: str = "Jessica Jones season 3"
    timezone: str = "America/Los_Angeles"
    source: str = "examples/jessica-jones-s3.yaml"
    digest: str = "d1"
    announcements: tuple[FakeAnnouncement, ...] = field(default_factory=tuple)


def campaign(texts: Mapping[str, tuple[datetime, str]], accounts: tuple[str, ...] = ("jj-x", "jj-masto"),
             digest: str = "d1") -> tuple[FakeCampaign, list[ScheduledPost]]:
    """A campaign whose announcements ``key -> (time, text)`` post to every account."""
    announcements = tuple(FakeAnnouncement(key, "premiere", {"title": "Jessica Jones", "when": when},
                                           when) for key, (when, _) in texts.items())
    posts = [ScheduledPost("jessica-jones-s3", key, "premiere",
                           Post.single(_platform(account), account, text), when)
             for key, (when, text) in texts.items() for account in accounts]
    return FakeCampaign(digest=digest, announcements=announcements), posts


def _platform(account: str) -> str:
    return "x" if account.endswith("-x") else "mastodon"


def event_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Event)).scalar_one())


def walk(engine: Engine, post_id: int, *path: str, **values: Any) -> None:
    """Move a post along ``path``, one legal transition at a time; the last step also sets ``values``.

    ``walk(engine, 7, "queued", "publishing", "published", platform_id="1")``: what the engine would do.
    """
    with transaction(engine) as session:
        for step, target in enumerate(path, start=1):
            current = status_of(session, post_id)
            assert current is not None, f"no post {post_id}"
            last = values if step == len(path) else {}
            assert transition(session, post_id, [current], target, action=f"test: {target}", actor="test", **last)
