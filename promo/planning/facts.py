"""What a platform told ``promo accounts check`` about an account, cached in the store's ``meta`` table,
and the posts of a campaign checked against it by ``promo apply`` / ``promo demo`` (``promo preview``
reads no store, so it never sees the cache).

- TikTok: the creator's ``creator_info`` (allowed privacy levels, longest video, comments, duets and
  stitches turned off), the fields in ``promo.rules.tiktok.CREATOR_FIELDS``;
- Reddit: the subreddit's ``post_requirements`` (title lengths, required flair, body policy,
  domains) and the kinds of post it takes.

One row per account under ``facts.<account>``: ``{"platform", "read_at", "facts"}`` as JSON. No secret
is ever in it (creator_info and post_requirements carry none). The publish path still reads both live:
the cache only lets ``apply`` refuse early, and a stale one is named with when it was read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from promo.posts import Post, Problem
from promo.rules.reddit import requirement_problems, requirements_summary
from promo.rules.tiktok import UNAUDITED_NOTE, audited, creator_problems, creator_summary
from promo.times import iso

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from promo.accounts import Account
    from promo.campaigns.preview import RenderedPost

PREFIX = "facts."
CACHED_PLATFORMS = ("tiktok", "reddit")
_WHAT = {"tiktok": "creator_info", "reddit": "subreddit rules"}


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


def load_facts(engine: Engine, accounts: Iterable[Account]) -> dict[str, CachedFacts]:
    """The cached facts of those ``accounts`` on a cached platform that have them (one read transaction)."""
    from promo.store.db import transaction
    from promo.store.meta import get_meta

    wanted = [a for a in accounts if a.platform in CACHED_PLATFORMS]
    if not wanted:
        return {}
    found: dict[str, CachedFacts] = {}
    with transaction(engine) as session:
        for account in wanted:
            text = get_meta(session, key_of(account.name))
            if text is None:
                continue
            row = json.loads(text)
            if row.get("platform") == account.platform:
                found[account.name] = CachedFacts(row["platform"], row["read_at"], row.get("facts") or {})
    return found


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
    from promo.campaigns.preview import RenderedPost

    used = {item.scheduled.post.account for item in rendered}
    cached = load_facts(engine, [accounts[name] for name in sorted(used) if name in accounts])
    out = []
    for item in rendered:
        post = item.scheduled.post
        facts = cached.get(post.account)
        if facts is None:
            out.append(item)
            continue
        found = CHECKS[facts.platform](facts.facts, post, accounts[post.account].options)
        problems = tuple(Problem("cached_rules", f"{message} ({_WHAT[facts.platform]} read {facts.read_at}; "
                                                 f"'promo accounts check {post.account}' reads it again)", 0)
                         for message in found)
        out.append(RenderedPost(item.scheduled, replace(item.report, problems=(*item.report.problems, *problems))))
    return out


def cached_notes(engine: Engine, accounts: Iterable[Account]) -> list[str]:
    """One line per TikTok or Reddit account: its cached facts and when they were read, or how to read them."""
    chosen = [a for a in accounts if a.platform in CACHED_PLATFORMS]
    cached = load_facts(engine, chosen) if chosen else {}
    lines = []
    for account in chosen:
        facts = cached.get(account.name)
        what = _WHAT[account.platform]
        if facts is None:
            lines.append(f"{account.name} ({account.platform}): no {what} cached, so apply could not check "
                         f"against it: 'promo accounts check {account.name}' reads it")
        else:
            lines.append(f"{account.name} ({account.platform}): {what} read {facts.read_at}: {facts.summary()}")
        if account.platform == "tiktok" and not audited(account.options):
            lines[-1] += f"; {UNAUDITED_NOTE}"
    return lines
