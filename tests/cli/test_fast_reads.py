"""``promo queue``, ``show`` and ``status`` on a current SQLite store: read with sqlite3 and the settings
peek (neither SQLAlchemy, pydantic-settings nor kombu is imported), and printing exactly what the
full path (pydantic Settings, SQLAlchemy) prints."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from promo.store.db import make_engine, transaction
from promo.store.heartbeats import BEAT, WORKER, Identity, beat
from promo.store.tables import AccountState
from promo.times import utcnow
from tests.cli.conftest import Promo
from tests.store.storekit import walk

HEAVY = ("sqlalchemy", "pydantic_settings", "kombu", "alembic", "regex", "promo.platforms.registry")
PROBE = ("import sys\nfrom promo.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
         "print('LOADED:' + ' '.join(m for m in {heavy!r} if m in sys.modules))")
COMMANDS = [("queue",), ("queue", "--all"), ("queue", "--json", "--all"), ("queue", "-s", "failed"),
            ("show", "1"), ("show", "1", "--json"), ("show", "{adhoc}"), ("show", "{adhoc}", "--json"),
            ("show", "99999"), ("status",), ("status", "--json")]


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def busy(applied: Promo, store_url: str) -> tuple[Promo, int]:
    """The campaign applied, posts failed and held, a pause, a flagged account, an ad hoc post, a live
    worker and beat, and a lost worker."""
    engine = make_engine(store_url)
    try:
        walk(engine, 2, "queued", "publishing", "failed", reason="HTTP 500")
        walk(engine, 3, "held", reason="too late")
        with transaction(engine) as session:
            session.add(AccountState(account="jj-x", blocked_until=utcnow() + timedelta(days=1), blocked_reason="429",
                                     flagged_reason="x refused the credentials", flagged_at=utcnow()))
            session.add(AccountState(account="jj-bluesky", blocked_until=utcnow() - timedelta(seconds=1),
                                     blocked_reason="429, over"))
        beat(engine, Identity(WORKER, "host-a", 12, "promo-12@host-a", 4, "1.0"), 600.0)  # alive 30 min
        beat(engine, Identity(BEAT, "host-a", 14, "", None, "1.0"), 600.0)
        beat(engine, Identity(WORKER, "host-b", 13, "promo-13@host-b", 2, "1.0"), 1.0,
             now=utcnow() - timedelta(minutes=5))  # killed: its row stays, stale
    finally:
        engine.dispose()
    assert applied("pause", "--account", "jj-mastodon").code == 0
    made = applied("post", "-a", "jj-x", "--at", "now+1d", "--json", "ad hoc")
    assert made.code == 0, made.err
    return applied, int(made.json["id"])


def test_the_read_commands_import_nothing_heavy(busy: tuple[Promo, int], project: Path) -> None:
    _, adhoc = busy
    for argv in (["queue", "--all"], ["show", str(adhoc)], ["status"]):
        code = PROBE.format(argv=argv, heavy=HEAVY)
        done = subprocess.run([sys.executable, "-c", code], cwd=project, env=dict(os.environ),
                              capture_output=True, text=True, timeout=60)
        assert done.stdout.rpartition("LOADED:")[2].strip() == "", (argv, done.stdout, done.stderr)
        assert "error" not in done.stderr, done.stderr


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_the_fast_path_prints_what_the_full_path_prints(busy: tuple[Promo, int], argv: tuple[str, ...],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    promo, adhoc = busy
    args = [arg.format(adhoc=adhoc) for arg in argv]
    quick = promo(*args)
    monkeypatch.setattr("promo.settings_peek.peek_settings", lambda **_: None)
    full = promo(*args)
    assert (quick.code, quick.out, quick.err) == (full.code, full.out, full.err)


def test_status_still_shows_broker_store_and_accounts(busy: tuple[Promo, int]) -> None:
    promo, _ = busy
    shown = promo("status")
    assert shown.code == 1, shown.err  # something needs a person
    lines = shown.out.splitlines()
    assert lines[0].startswith("broker    ok  sqla+sqlite:///") and lines[1] == "database  ok"
    assert "failed 1" in shown.out and "held 1" in shown.out
    assert "paused: account jj-mastodon" in shown.out and "account jj-x: blocked until" in shown.out
    assert "flagged: x refused the credentials" in shown.out
    assert "account jj-bluesky" not in shown.out  # its block is over: shown by neither path
    assert "#2 failed" in shown.out and "#3 held" in shown.out
    assert "workers   1 alive: promo-12@host-a (pid 12, 4 processes, seen " in shown.out
    assert "  lost: worker promo-13@host-b (pid 13), last seen " in shown.out


def test_a_bad_setting_is_the_same_one_line_error(busy: tuple[Promo, int], monkeypatch: pytest.MonkeyPatch) -> None:
    promo, _ = busy
    monkeypatch.setenv("PROMO_HTTP_TIMEOUT", "-1")
    for argv in (("queue",), ("show", "1"), ("status",)):
        ran = promo(*argv)
        assert ran.code != 0 and ran.err.count("\n") == 1 and "http_timeout" in ran.err, ran.err
