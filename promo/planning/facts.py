"""What a platform told ``promo accounts check`` about an account, cached in the store's ``meta`` table,
and the posts of a campaign checked against it by ``promo apply`` / ``promo demo``, and by ``promo
preview`` when a store is there to read (``promo.planning.preview_facts``: read-only, never created).

- TikTok: the creator's ``creator_info`` (allowed privacy levels, longest video, comments, duets and
  stitches turned off), the fields in ``promo.rules.tiktok.CREATOR_FIELDS``;
- Reddit: the subreddit's ``post_requirements`` (title lengths, required flair, body policy,
  domains) and the kinds of post it takes.

One row per account under ``facts.<account>``: ``{"platform", "read_at", "facts"}`` as JSON. No secret
is ever in it (creator_info and post_requirements carry none). The publish path still reads both live:
the cache only lets ``apply`` refuse early; each problem says when the facts were read, and facts
older than ``STALE_AFTER`` get a note that they may be stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.posts import Post, Problem
from promo.rules.reddit import requirement_problems, requirements_summary
from promo.rules.tiktok import UNAUDITED_NOTE, audited, creator_problems, creator_summary
from promo.times import iso, utcnow

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from promo.accounts import Account
    from promo.campaigns.preview import RenderedPost

PREFIX = "facts."
CACHED_PLATFORMS = ("tiktok", "reddit")
# Facts read longer ago than this get a note: a creator turns duets off, a subreddit changes its flair rules.
STALE_AFTER = timedelta(days=7)
WHAT = {"tiktok": "creator_info", "reddit": "subreddit rules"}


@dataclass(frozen=True)
class CachedFacts:
    """One account's cached facts and when they were read."""

    platform: str
    read_at: str
    facts: dict[str, Any]

    def summary(self) -> str:
        if self.platform == "tiktok":
            return creator_summary(self.facts)
        return f"r/{self.facts.get('subreddit', '?')}: " + requirements_summary(
            self.facts.get("requirements") or {}, self.facts.get("allowed"))

    def age(self, now: datetime) -> timedelta | None:
        """How long ago they were read (None if ``read_at`` cannot be read as an aware time)."""
        try:
            read = datetime.fromisoformat(self.read_at.replace("Z", "+00:00"))
        except ValueError:
            return None
        return now - read if read.tzinfo is not None else None

    def stale(self, now: datetime) -> bool:
        """Read more than ``STALE_AFTER`` ago (or at a time that cannot be read)."""
        age = self.age(now)
        return age is None or age > STALE_AFTER


def key_of(account: str) -> str:
    """The ``meta`` key (64 characters at most: a longer name is hashed)."""
    key = PREFIX + account
    return key if len(key) <= 64 else PREFIX + "sha256:" + hashlib.sha256(account.encode()).hexdigest()[:51]


def save_facts(engine: Engine, account: str, platform: str, facts: Mapping[str, Any], now: datetime) -> None:
    """Cache what ``promo accounts check`` read for ``account`` (replacing the last copy)."""
    from promo.store.db import transaction
    from promo.store.meta import put_meta

    value = json.dumps({"platform": platform, "read_at": iso(now), "facts": dict(facts)}, sort_keys=True)
    with transaction(engine) as session:
        put_meta(session, key_of(account), value)


def facts_from(accounts: Iterable[Account], get: Callable[[str], str | None]) -> dict[str, CachedFacts]:
    """The cached facts of those ``accounts`` on a cached platform, each read by ``get(meta key)``; a row
    that is not one ``save_facts`` wrote, or was written for another platform, counts as none."""
    found: dict[str, CachedFacts] = {}
    for account in accounts:
        if account.platform not in CACHED_PLATFORMS:
            continue
        text = get(key_of(account.name))
        try:
            row = json.loads(text) if text is not None else None
        except ValueError:
            row = None
        if isinstance(row, dict) and row.get("platform") == account.platform and isinstance(row.get("read_at"), str):
            facts = row.get("facts")
            found[account.name] = CachedFacts(account.platform, row["read_at"], facts if isinstance(facts, dict)
                                              else {})
    return found


def load_facts(engine: Engine, accounts: Iterable[Account]) -> dict[str, CachedFacts]:
    """The cached facts of those ``accounts`` on a cached platform that have them (one read transaction)."""
    from promo.store.db import transaction
    from promo.store.meta import get_meta

    wanted = [a for a in accounts if a.platform in CACHED_PLATFORMS]
    if not wanted:
        return {}
    with transaction(engine) as session:
        return facts_from(wanted, lambda key: get_meta(session, key))


def _tiktok(facts: Mapping[str, Any], post: Post, options: Mapping[str, Any]) -> list[str]:
    return [problem for part in post.parts for problem in creator_problems(facts, part, options)]


def _reddit(facts: Mapping[str, Any], post: Post, options: Mapping[str, Any]) -> list[str]:
    return [problem for part in post.parts[:1]
            for problem in requirement_problems(facts.get("requirements") or {}, part,
                                                flair_id=options.get("flair_id"), allowed=facts.get("allowed"))]


CHECKS: dict[str, Callable[[Mapping[str, Any], Post, Mapping[str, Any]], list[str]]] = {
    "tiktok": _tiktok, "reddit": _reddit}


def check_cached(engine: Engine, rendered: list[RenderedPost], accounts: Mapping[str, Account]
                 ) -> list[RenderedPost]:
    """``rendered`` with the problems each post's cached facts show added (code ``cached_rules``)."""
    used = {item.scheduled.post.account for item in rendered}
    cached = load_facts(engine, [accounts[name] for name in sorted(used) if name in accounts])
    return with_cached_problems(rendered, cached, accounts)


def with_cached_problems(rendered: list[RenderedPost], cached: Mapping[str, CachedFacts],
                         accounts: Mapping[str, Account]) -> list[RenderedPost]:
    """``rendered`` with the problems the ``cached`` facts (by account) show added; no I/O."""
    from promo.campaigns.preview import RenderedPost

    out = []
    for item in rendered:
        post = item.scheduled.post
        facts = cached.get(post.account)
        if facts is None or post.account not in accounts:
            out.append(item)
            continue
        found = CHECKS[facts.platform](facts.facts, post, accounts[post.account].options)
        problems = tuple(Problem("cached_rules", f"{message} ({WHAT[facts.platform]} read {facts.read_at}; "
                                                 f"'promo accounts check {post.account}' reads it again)", 0)
                         for message in found)
        out.append(RenderedPost(item.scheduled, replace(item.report, problems=(*item.report.problems, *problems))))
    return out


def facts_note(account: Account, facts: CachedFacts | None, now: datetime, *, command: str = "apply",
               why: str = "", unaudited: bool = True) -> str:
    """One line on an account's cached facts and when they were read (a note if they may be stale), or on
    why ``command`` could not check against them and how to read them (``why``: the store had none to give)."""
    what, name = WHAT[account.platform], account.name
    if facts is None:
        line = (f"{name} ({account.platform}): no {what} cached{f' ({why})' if why else ''}, so {command} could "
                f"not check against it: 'promo accounts check {name}' reads it")
    else:
        line = f"{name} ({account.platform}): {what} read {facts.read_at}: {facts.summary()}"
        if facts.stale(now):
            age = facts.age(now)
            days = f"{age.days} days ago" if age is not None else "at an unknown time"
            line += f"; read {days}, it may be stale: 'promo accounts check {name}' reads it again"
    if unaudited and account.platform == "tiktok" and not audited(account.options):
        line += f"; {UNAUDITED_NOTE}"
    return line


def cached_notes(engine: Engine, accounts: Iterable[Account], now: datetime | None = None) -> list[str]:
    """One line per TikTok or Reddit account: its cached facts and when they were read, or how to read them."""
    chosen = [a for a in accounts if a.platform in CACHED_PLATFORMS]
    cached = load_facts(engine, chosen) if chosen else {}
    now = now or utcnow()
    return [facts_note(account, cached.get(account.name), now) for account in chosen]
