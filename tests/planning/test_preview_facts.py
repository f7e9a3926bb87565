"""The cached facts as preview reads them (``promo.planning.preview_facts``): a store that is not there is
not created, a URL with options is still a file, a row that is not one ``save_facts`` wrote counts as none,
and facts older than ``STALE_AFTER`` are named as maybe stale, in preview and in apply's notes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from promo.accounts import Account
from promo.planning.facts import STALE_AFTER, cached_notes, facts_from, key_of, save_facts
from promo.planning.preview_facts import read_store
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.times import utcnow

TIKTOK = Account("jj-tiktok", "tiktok", options={"audited": "true"})
REDDIT = Account("jj-reddit", "reddit")
FACTS = {"creator_username": "jessicajones", "max_video_post_duration_sec": 600}


def test_a_missing_sqlite_store_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'folder' / 'promo.db'}"
    for database in (url, url + "?timeout=5"):
        read = read_store(database, [TIKTOK])
        assert read.cached == {} and read.why_none == "no store here yet" and read.down is None
    assert not (tmp_path / "new").exists()  # the URL's parsing: tests/store/test_sqlite_urls.py


def test_a_url_with_options_reads_the_file_and_writes_nothing(tmp_path: Path, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    save_facts(engine, TIKTOK.name, "tiktok", FACTS, utcnow())
    engine.dispose()
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    before = database.stat().st_mtime_ns, database.stat().st_size
    read = read_store(sqlite_url + "?timeout=5", [TIKTOK, REDDIT])
    assert set(read.cached) == {TIKTOK.name} and read.cached[TIKTOK.name].facts == FACTS
    assert (database.stat().st_mtime_ns, database.stat().st_size) == before


def test_an_unmigrated_sqlite_file_has_no_tables(tmp_path: Path) -> None:
    import sqlite3

    sqlite3.connect(tmp_path / "empty.db").close()  # a file with no tables at all
    read = read_store(f"sqlite:///{tmp_path / 'empty.db'}", [REDDIT])
    assert read.why_none == "the store has no tables yet" and read.down is None


def test_rows_that_are_not_facts_count_as_none() -> None:
    rows = {key_of("a"): "{not json", key_of("b"): json.dumps({"platform": "reddit", "read_at": "x"}),
            key_of("c"): json.dumps(["a", "list"]), key_of("d"): json.dumps({"platform": "tiktok"}),
            key_of("e"): json.dumps({"platform": "tiktok", "read_at": "2026-01-01T00:00:00+00:00", "facts": 3})}
    accounts = [Account(name, "tiktok") for name in "abcde"] + [Account("x", "x")]
    found = facts_from(accounts, rows.get)
    assert list(found) == ["e"] and found["e"].facts == {}
    assert found["e"].stale(utcnow()) and found["e"].age(utcnow()) is not None


def test_apply_notes_name_stale_facts(engine: Engine) -> None:
    now = utcnow()
    save_facts(engine, TIKTOK.name, "tiktok", FACTS, now - STALE_AFTER - timedelta(days=2))
    save_facts(engine, REDDIT.name, "reddit", {"subreddit": "television", "requirements": {}}, now)
    old, fresh = cached_notes(engine, [TIKTOK, REDDIT], now)
    assert old.startswith("jj-tiktok (tiktok): creator_info read ") and "longest video 10:00" in old
    assert old.endswith(f"read {STALE_AFTER.days + 2} days ago, it may be stale: 'promo accounts check jj-tiktok' "
                        "reads it again")
    assert fresh.startswith("jj-reddit (reddit): subreddit rules read ") and "stale" not in fresh
    assert fresh.endswith(": r/television: no extra rules")
