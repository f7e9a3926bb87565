"""The cached TikTok and Reddit facts (``promo.planning.facts``) for ``promo preview``, read-only.

Preview must work on a fresh machine and in CI, where there is no store, so the store is only read
if it is already there: a SQLite file that does not exist is never created (nor its folder), the
file is opened read-only with ``sqlite3`` (``store.sqlite_reads.connect_readonly``), no migration
runs, and a PostgreSQL server is asked once with a short connect timeout. A store with no facts, no
tables or no file gives one note per TikTok or Reddit account naming ``promo accounts check``; a
store that does not answer gives one note, and the preview goes on without the facts.

The facts only add to the live output (problems with code ``cached_rules``, the notes, JSON's
``cached_facts``): snapshots are taken from the posts before they are added, so a lock written on a
laptop with a store matches a CI run without one (docs/previews-in-ci.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promo.planning.facts import (
    CACHED_PLATFORMS,
    WHAT,
    CachedFacts,
    facts_from,
    facts_note,
    load_facts,
    with_cached_problems,
)
from promo.store.migrate import sqlite_database_file
from promo.times import utcnow

if TYPE_CHECKING:
    from promo.accounts import Account
    from promo.campaigns.review import Review

CONNECT_TIMEOUT_S = 3   # a database server that does not answer this fast is reported as down
_NO_STORE = "no store here yet"
_NO_TABLES = "the store has no tables yet"


@dataclass(frozen=True)
class StoreRead:
    """What reading the store gave: the facts found, why there could be none, or why it did not answer."""

    cached: dict[str, CachedFacts] = field(default_factory=dict)
    why_none: str = ""          # the store is there but empty, or is not there at all
    down: str | None = None     # the store did not answer: one note instead of one per account


@dataclass(frozen=True)
class PreviewFacts:
    """The cached facts of the TikTok and Reddit accounts a preview posts to, and what to show of them."""

    review: Review                          # its posts with the cached problems added
    accounts: tuple[Account, ...]
    read: StoreRead
    now: datetime

    def notes(self) -> list[str]:
        """One line per account (its facts, or why there are none), or one line if the store did not answer."""
        if self.read.down is not None:
            return [self.read.down]
        return [self._note(account) for account in self.accounts]

    def _note(self, account: Account) -> str:
        return facts_note(account, self.read.cached.get(account.name), self.now, command="preview",
                          why=self.read.why_none, unaudited=False)  # preview notes it on each TikTok post

    def account_entry(self, account: Account) -> dict[str, Any]:
        """An account's facts in ``promo preview --json`` (``cached_facts`` of each of its posts)."""
        facts = self.read.cached.get(account.name)
        return {"account": account.name, "platform": account.platform, "what": WHAT[account.platform],
                "read": facts is not None, "read_at": facts.read_at if facts else None,
                "stale": facts.stale(self.now) if facts else None, "facts": facts.facts if facts else None,
                "note": self.read.down if self.read.down is not None else self._note(account)}

    def entries(self) -> list[dict[str, Any]]:
        """``promo preview --json``'s list: each post, and on a TikTok or Reddit post its account's facts."""
        by_name = {account.name: self.account_entry(account) for account in self.accounts}
        out = []
        for item in self.review.posts:
            entry = item.to_dict()
            if entry["account"] in by_name:
                entry["cached_facts"] = by_name[entry["account"]]
            out.append(entry)
        return out

    def markdown(self) -> str:
        """A section for the review document (empty when no post goes to TikTok or Reddit)."""
        from promo.campaigns.review import escape

        lines = self.notes()
        if not lines:
            return ""
        return "\n## Cached platform facts\n\n" + "".join(f"- {escape(line)}\n" for line in lines)


def preview_facts(database: str, review: Review, accounts: Mapping[str, Account],
                  now: datetime | None = None) -> PreviewFacts:
    """``review`` checked against the facts cached in the store at ``database``, if it can be read."""
    used = sorted({item.scheduled.post.account for item in review.posts})
    chosen = tuple(accounts[name] for name in used
                   if name in accounts and accounts[name].platform in CACHED_PLATFORMS)
    read = read_store(database, chosen) if chosen else StoreRead()
    posts = with_cached_problems(list(review.posts), read.cached, accounts) if read.cached else review.posts
    return PreviewFacts(replace(review, posts=tuple(posts)), chosen, read, now or utcnow())


def read_store(database: str, accounts: Sequence[Account]) -> StoreRead:
    """The facts of ``accounts`` in the store at ``database`` (a URL), read without creating or changing it."""
    if database.startswith("sqlite"):
        path = sqlite_database_file(database)
        if path is None or not path.is_file():
            return StoreRead(why_none=_NO_STORE)
        return _read_sqlite(path, accounts)
    return _read_server(database, accounts)


def _read_sqlite(path: Path, accounts: Sequence[Account]) -> StoreRead:
    from promo.store.sqlite_reads import SqliteReads, connect_readonly

    try:
        reads = SqliteReads(connect_readonly(path, timeout=CONNECT_TIMEOUT_S))
    except sqlite3.Error as exc:
        return StoreRead(down=down_note(accounts, str(exc)))
    try:
        return StoreRead(facts_from(accounts, reads.meta))
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            return StoreRead(why_none=_NO_TABLES)
        return StoreRead(down=down_note(accounts, str(exc)))
    finally:
        reads.close()


def _read_server(database: str, accounts: Sequence[Account]) -> StoreRead:
    from sqlalchemy.exc import DBAPIError, ProgrammingError

    from promo.store.db import make_engine

    engine = make_engine(database, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        return StoreRead(load_facts(engine, accounts))
    except ProgrammingError:  # no meta table: a database 'promo migrate' has not set up
        return StoreRead(why_none=_NO_TABLES)
    except DBAPIError as exc:
        return StoreRead(down=down_note(accounts, str(exc.orig or exc)))
    finally:
        engine.dispose()


def down_note(accounts: Sequence[Account], error: str) -> str:
    """The one note for a store that did not answer: what was not checked, and what to look at."""
    first = " ".join((error.strip().splitlines() or ["no answer"])[0].split())
    reason = first if len(first) <= 120 else first[:117] + "..."
    names = ", ".join(account.name for account in accounts)
    return (f"the store did not answer ({reason}), so {names} were not checked against the facts "
            "'promo accounts check' caches: 'promo status' shows the database")
