"""``promo preview`` holds TikTok and Reddit posts against what ``promo accounts check`` cached (creator_info,
subreddit rules), read-only: with facts in the store the problems stop the preview like any rule; without a
store it works as before, creates nothing and says per account how to read them; a store that does not
answer is one note. Snapshots never depend on the store. And YouTube's daily quota, in plain words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from promo.planning.facts import save_facts
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.times import utcnow
from tests.cli.conftest import CAMPAIGN, Promo, Ran
from tests.planning.test_youtube_quota import write as write_youtube

TIKTOK = {"creator_username": "jessicajones", "max_video_post_duration_sec": 1,
          "privacy_level_options": ["SELF_ONLY"], "duet_disabled": True}
REDDIT = {"subreddit": "television", "requirements": {"title_text_max_length": 10, "is_flair_required": True},
          "allowed": {"link": True, "self": True, "image": True, "video": True}}
SNAP = "jj.snapshot.yaml"
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _save(url: str, days_ago: float = 1, **facts: dict[str, object]) -> None:
    engine = make_engine(url)
    upgrade(engine)
    for name, value in facts.items():
        account = name.replace("_", "-")
        save_facts(engine, account, account.split("-")[1], value, utcnow() - timedelta(days=days_ago))
    engine.dispose()


def _notes(ran: Ran) -> list[str]:
    """The ``note:`` lines on stderr, each joined back from its wrapped lines."""
    return [" ".join(note.split()) for note in ran.err.replace("\n  ", " ").splitlines() if note.startswith("note: ")]


def test_cached_facts_stop_the_preview_in_every_format(promo: Promo, store_url: str) -> None:
    _save(store_url, jj_tiktok=TIKTOK, jj_reddit=REDDIT)
    ran = promo("preview", CAMPAIGN, "--json")
    assert ran.code == 1, ran.err
    entries = ran.json
    assert isinstance(entries, list) and len(entries) > 14  # the list stays a list
    [tiktok] = [e for e in entries if e["account"] == "jj-tiktok"]
    messages = [p["message"] for p in tiktok["problems"] if p["code"] == "cached_rules"]
    assert any("over this creator's 0:01 limit (creator_info read " in m for m in messages), tiktok["problems"]
    assert tiktok["cached_facts"]["read"] and tiktok["cached_facts"]["facts"] == TIKTOK
    assert tiktok["cached_facts"]["stale"] is False and tiktok["cached_facts"]["read_at"]
    [reddit] = [e for e in entries if e["account"] == "jj-reddit"]
    assert any("the subreddit's maximum is 10" in p["message"] for p in reddit["problems"])
    assert not any("flair" in p["message"] for p in reddit["problems"])  # the account has a flair_id
    assert all("cached_facts" not in e for e in entries if e["platform"] not in ("tiktok", "reddit"))
    text = promo("preview", CAMPAIGN, "--platform", "tiktok")
    assert text.code == 1 and "over this creator's 0:01 limit" in " ".join(text.out.split())
    notes = _notes(text)
    assert len(notes) == 1 and notes[0].startswith("note: jj-tiktok (tiktok): creator_info read ")
    assert "longest video 0:01; duets off" in notes[0] and "stale" not in notes[0]
    document = promo("preview", CAMPAIGN, "--format", "markdown", "--account", "jj-reddit")
    assert document.code == 1 and "## Cached platform facts" in document.out
    assert "r/television\\: title 1\\-10 characters; flair required" in document.out
    assert "- problem: title" in document.out and "subreddit rules read" in document.out


@SQLITE_ONLY
def test_no_store_works_as_before_and_creates_nothing(promo: Promo, project: Path, sqlite_url: str) -> None:
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    assert not database.exists()
    ran = promo("preview", CAMPAIGN, "--compact")
    assert ran.code == 0 and ran.out.splitlines()[-1].endswith(" posts, all within their platform's rules")
    assert _notes(ran) == [
        "note: jj-reddit (reddit): no subreddit rules cached (no store here yet), so preview could not check "
        "against it: 'promo accounts check jj-reddit' reads it",
        "note: jj-tiktok (tiktok): no creator_info cached (no store here yet), so preview could not check "
        "against it: 'promo accounts check jj-tiktok' reads it"]
    assert all(len(line) <= 100 for line in ran.err.splitlines())
    entries = promo("preview", CAMPAIGN, "--json").json
    assert [e["cached_facts"]["read"] for e in entries if "cached_facts" in e] == [False, False]
    assert "no creator\\_info cached \\(no store here yet\\)" in promo("preview", CAMPAIGN, "--format", "markdown").out
    assert promo("preview", CAMPAIGN, "--platform", "x").err == ""  # no TikTok or Reddit post: nothing to read
    assert not database.exists() and not (project / ".promo").exists()


def test_a_snapshot_never_depends_on_the_store(promo: Promo, project: Path, store_url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _save(store_url, jj_tiktok={**TIKTOK, "max_video_post_duration_sec": 600})
    with_store = promo("preview", CAMPAIGN, "--snapshot", SNAP, "--compact")
    assert with_store.code == 0 and "creator_info read" in with_store.err
    locked = (project / SNAP).read_text()
    monkeypatch.setenv("PROMO_DATABASE_URL", f"sqlite:///{project / 'elsewhere' / 'none.db'}")  # a CI runner
    without = promo("preview", CAMPAIGN, "--check-snapshot", SNAP, "--compact")
    assert without.code == 0 and "as snapshotted" in without.out.splitlines()[-1]
    assert "no store here yet" in without.err
    assert promo("preview", CAMPAIGN, "--snapshot", SNAP).code == 0 and (project / SNAP).read_text() == locked
    assert not (project / "elsewhere").exists()


def test_old_facts_are_named_as_maybe_stale(promo: Promo, store_url: str) -> None:
    _save(store_url, days_ago=30, jj_tiktok={**TIKTOK, "max_video_post_duration_sec": 600})
    ran = promo("preview", CAMPAIGN, "--platform", "tiktok", "--compact")
    assert ran.code == 0, ran.out
    [note] = _notes(ran)
    assert "read 30 days ago, it may be stale: 'promo accounts check jj-tiktok' reads it again" in note
    [entry] = promo("preview", CAMPAIGN, "--platform", "tiktok", "--json").json
    assert entry["cached_facts"]["stale"] is True


@SQLITE_ONLY
@pytest.mark.postgres
def test_an_empty_database_is_read_but_never_migrated(promo: Promo, postgres_url: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_DATABASE_URL", postgres_url)
    ran = promo("preview", CAMPAIGN, "--platform", "tiktok", "--platform", "reddit", "--compact")
    assert ran.code == 0 and len(_notes(ran)) == 2
    assert all("cached (the store has no tables yet)" in note for note in _notes(ran))
    engine = create_engine(postgres_url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


@SQLITE_ONLY
@pytest.mark.parametrize("url", ["postgresql+psycopg://postgres@127.0.0.1:1/test", "not-a-database"])
def test_a_store_that_does_not_answer_is_one_note(promo: Promo, project: Path, url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if url == "not-a-database":
        (project / "garbage.db").write_text("this is not SQLite\n" * 100)
        url = f"sqlite:///{project / 'garbage.db'}"
    monkeypatch.setenv("PROMO_DATABASE_URL", url)
    ran = promo("preview", CAMPAIGN, "--compact")
    assert ran.code == 0 and "Traceback" not in ran.err
    [note] = _notes(ran)
    assert note.startswith("note: the store did not answer (") and "jj-reddit, jj-tiktok were not checked" in note
    assert note.endswith("'promo status' shows the database")
    entries = promo("preview", CAMPAIGN, "--json").json
    assert {e["cached_facts"]["note"] for e in entries if "cached_facts" in e} == {note.removeprefix("note: ")}


@SQLITE_ONLY
def test_youtube_quota_problems_in_plain_words(promo: Promo, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project / "youtube"
    folder.mkdir()
    write_youtube(folder, "seven", 7)
    monkeypatch.chdir(folder)
    ran = promo("preview", "seven.yaml", "--templates", str(project / "templates"), "--compact")
    assert ran.code == 1 and "7 of 7 posts break a platform rule" in ran.out
    full = promo("preview", "seven.yaml", "--templates", str(project / "templates"))
    assert ("YouTube: this campaign needs 11,585 quota units on 2019-06-14, the project's daily budget is 10,000: "
            "spread the uploads over more days") in " ".join(full.out.split())
    notes = _notes(ran)  # no store read: only the 2019 posts' late notes (tests/cli/test_preview_late.py)
    assert len(notes) == 6 and all(" is already past (" in note for note in notes[:5])  # 7 announcements: 5 shown
    assert notes[5].startswith("note: ... and 2 more announcements already past") and not (folder / ".promo").exists()
