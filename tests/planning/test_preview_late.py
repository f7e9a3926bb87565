"""Posts already past, as ``promo preview`` tells them (``promo.planning.preview_late``): the very lines
``promo apply`` warns with, in the campaign's zone with the offset, held or sent by the same rule, grouped per
announcement and fate (``promo.planning.late_posts.late_lines``); a recurring announcement's passed
occurrences are left out, since apply never writes them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from promo.accounts import Account, load_accounts
from promo.campaigns.review import review_file
from promo.planning.campaign import plan_campaign_file
from promo.planning.late_posts import LatePost, late_lines, late_warnings
from promo.planning.plan import Plan
from promo.planning.preview_late import preview_late
from promo.settings import Settings
from promo.store.db import make_engine
from promo.store.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2027, 3, 20, 18, 0, tzinfo=LA)
CAMPAIGN = """\
campaign: night-harbor
timezone: America/Los_Angeles
accounts: [box, box2]
announcements:
  - key: countdown
    kind: generic
    at: 2027-03-17 18:00
    text: "Three days ago"
  - key: teaser
    kind: generic
    at: 2027-03-20 17:00
    text: "An hour ago"
  - key: premiere
    kind: generic
    at: 2027-03-21 18:00
    text: "Tomorrow"
  - key: weekly
    kind: generic
    at: 2027-03-05 18:00
    repeat: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0"
    text: "Every Friday"
"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, Account]]:
    (tmp_path / "promo.toml").write_text('[accounts.box]\nplatform = "outbox"\npath = "outbox.jsonl"\n'
                                         '[accounts.box2]\nplatform = "outbox"\npath = "outbox2.jsonl"\n')
    (tmp_path / "campaign.yaml").write_text(CAMPAIGN)
    return tmp_path / "campaign.yaml", load_accounts(tmp_path / "promo.toml", environ={})


def test_preview_says_what_apply_warns(project: tuple[Path, dict[str, Account]], sqlite_url: str) -> None:
    path, accounts = project
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    review = review_file(path, accounts, REPO / "templates")
    late = preview_late(review, accounts, settings, NOW)
    assert late.notes() == [
        "countdown for box and box2: 2027-03-17 18:00 -07:00 is already past (3.0 days late, 6.0 hours allowed); "
        "they will be held for a person, not sent",
        "teaser for box and box2: 2027-03-20 17:00 -07:00 is already past (1.0 hours late, 6.0 hours allowed); "
        "they go out as soon as the engine runs"]
    assert late_warnings(_plan(path, accounts, sqlite_url), accounts, settings, NOW) == late.notes()


def test_an_account_that_allows_more_lateness_gets_its_own_line(project: tuple[Path, dict[str, Account]],
                                                               sqlite_url: str) -> None:
    path, accounts = project
    patient = {**accounts, "box2": replace(accounts["box2"], max_lateness=timedelta(days=7))}
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    notes = preview_late(review_file(path, patient, REPO / "templates"), patient, settings, NOW).notes()
    assert [note.split(":")[0] for note in notes] == ["countdown for box", "countdown for box2", "teaser for box",
                                                      "teaser for box2"]
    assert notes[1].endswith("(3.0 days late, 7.0 days allowed); it goes out as soon as the engine runs")
    assert late_warnings(_plan(path, patient, sqlite_url), patient, settings, NOW) == notes


def _plan(path: Path, accounts: dict[str, Account], url: str) -> Plan:
    engine = make_engine(url)
    upgrade(engine)
    try:
        return plan_campaign_file(engine, path, accounts, REPO / "templates", now=NOW)
    finally:
        engine.dispose()


def test_the_json_field_is_on_late_posts_only(project: tuple[Path, dict[str, Account]]) -> None:
    path, accounts = project
    review = review_file(path, accounts, REPO / "templates")
    late = preview_late(review, accounts, Settings(_env_file=None), NOW)  # type: ignore[call-arg]
    entries = late.entries([item.to_dict() for item in review.posts])
    fields = {(e["announcement"], e["account"]): e.get("late") for e in entries}
    assert fields[("countdown", "box")] == {
        "due_at": "2027-03-17T18:00:00-07:00", "late_s": 3 * 86400, "allowed_s": 6 * 3600, "held": True,
        "note": "countdown for box: 2027-03-17 18:00 -07:00 is already past (3.0 days late, 6.0 hours allowed); "
                "it will be held for a person, not sent"}  # each post's own line, never its group's
    assert fields[("teaser", "box2")]["held"] is False  # type: ignore[index]
    assert fields[("premiere", "box")] is None
    assert all(field is None for (key, _), field in fields.items() if key.startswith("weekly"))
    document = late.markdown()
    assert document.startswith("\n## Already past\n\n- countdown for box and box2\\: 2027\\-03\\-17 18\\:00 "
                               "\\-07\\:00 is ")
    assert document.count("\n- ") == 2


def test_an_embargo_and_an_own_lateness_count(project: tuple[Path, dict[str, Account]]) -> None:
    path, accounts = project
    path.write_text(CAMPAIGN.replace('    text: "Three days ago"\n', '    text: "Three days ago"\n'
                                     "    not_before: 2027-03-20 17:30\n    max_lateness: 7d\n"))
    review = review_file(path, accounts, REPO / "templates", only_accounts=["box"])
    [countdown, teaser] = preview_late(review, accounts, Settings(_env_file=None), NOW).notes()  # type: ignore[call-arg]
    assert countdown == ("countdown for box: 2027-03-20 17:30 -07:00 is already past (30 min late, 7.0 days "
                         "allowed); it goes out as soon as the engine runs")
    assert teaser.startswith("teaser for box: ")
    assert preview_late(review, accounts, Settings(_env_file=None),  # type: ignore[call-arg]
                        NOW - timedelta(days=30)).notes() == []


def _past(announcement: str, account: str, days_late: float = 3.0, allowed: timedelta = timedelta(hours=6)) -> LatePost:
    due = NOW - timedelta(days=days_late)
    return LatePost(announcement, account, due, NOW - due, allowed)


def test_thirteen_accounts_are_one_line_naming_three() -> None:
    group = [_past("featurette", f"acct-{number}") for number in range(13)]
    assert late_lines(group, LA, listed_by="--json") == [
        "featurette for acct-0, acct-1, acct-2 and 10 more accounts: 2027-03-17 18:00 -07:00 is already past "
        "(3.0 days late, 6.0 hours allowed); they will be held for a person, not sent"]
    assert late_lines(group[:4], LA, listed_by="--json")[0].startswith(
        "featurette for acct-0, acct-1, acct-2 and 1 more account: ")
    assert late_lines(group[:3], LA, listed_by="--json")[0].startswith("featurette for acct-0, acct-1 and acct-2: ")
    assert late_lines(group[:1], LA, listed_by="--json") == [group[0].line(LA)]


@pytest.mark.parametrize(("other", "why"), [
    (_past("featurette", "b", allowed=timedelta(days=7)), "it allows more lateness: sent, not held"),
    (_past("featurette", "b", days_late=2.0), "it is due at another time (YouTube goes early)"),
    (_past("teaser", "b"), "another announcement"),
])
def test_posts_whose_fates_differ_are_told_apart(other: LatePost, why: str) -> None:
    lines = late_lines([_past("featurette", "a"), other, _past("featurette", "c")], LA, listed_by="--json")
    assert [line.split(":")[0] for line in lines] == ["featurette for a and c", f"{other.announcement} for b"], why


def test_past_five_lines_one_line_counts_the_announcements_left_out() -> None:
    lates = [_past(f"a{number}", account) for number in range(5) for account in ("x", "y")]
    lates += [_past("a5", "x"), _past("a5", "y", allowed=timedelta(days=7)), _past("a6", "x")]
    lines = late_lines(lates, LA, listed_by="--json")
    assert len(lines) == 6 and [line.split(" for ")[0] for line in lines[:5]] == ["a0", "a1", "a2", "a3", "a4"]
    assert lines[5] == "... and 2 more announcements already past; --json lists every post"  # a5 twice, a6
    assert len(late_lines(lates, LA, listed_by=None)) == 8  # the markdown document: every group
    assert late_lines(lates[:-1], LA, listed_by="--json")[-1] == ("... and 1 more announcement already past; "
                                                                   "--json lists every post")
    assert len(late_lines(lates[:10], LA, listed_by="--json")) == 5  # five lines: nothing left out
