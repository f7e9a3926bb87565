"""Posts already past, as ``promo preview`` tells them (``promo.planning.preview_late``): the very lines
``promo apply`` warns with, in the campaign's zone with the offset, held or sent by the same rule; a recurring
announcement's passed occurrences are left out, since apply never writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from promo.accounts import Account, load_accounts
from promo.campaigns.review import review_file
from promo.planning.campaign import plan_campaign_file
from promo.planning.late_posts import late_warnings
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
        "countdown for box: 2027-03-17 18:00 -07:00 is already past (3.0 days late, 6.0 hours allowed); "
        "it will be held for a person, not sent",
        "countdown for box2: 2027-03-17 18:00 -07:00 is already past (3.0 days late, 6.0 hours allowed); "
        "it will be held for a person, not sent",
        "teaser for box: 2027-03-20 17:00 -07:00 is already past (1.0 hours late, 6.0 hours allowed); "
        "it goes out as soon as the engine runs",
        "teaser for box2: 2027-03-20 17:00 -07:00 is already past (1.0 hours late, 6.0 hours allowed); "
        "it goes out as soon as the engine runs"]
    engine = make_engine(sqlite_url)
    upgrade(engine)
    try:
        plan = plan_campaign_file(engine, path, accounts, REPO / "templates", now=NOW)
    finally:
        engine.dispose()
    assert sorted(late_warnings(plan, accounts, settings, NOW)) == sorted(late.notes())


def test_the_json_field_is_on_late_posts_only(project: tuple[Path, dict[str, Account]]) -> None:
    path, accounts = project
    review = review_file(path, accounts, REPO / "templates")
    late = preview_late(review, accounts, Settings(_env_file=None), NOW)  # type: ignore[call-arg]
    entries = late.entries([item.to_dict() for item in review.posts])
    fields = {(e["announcement"], e["account"]): e.get("late") for e in entries}
    assert fields[("countdown", "box")] == {
        "due_at": "2027-03-17T18:00:00-07:00", "late_s": 3 * 86400, "allowed_s": 6 * 3600, "held": True,
        "note": late.notes()[0]}
    assert fields[("teaser", "box2")]["held"] is False  # type: ignore[index]
    assert fields[("premiere", "box")] is None
    assert all(field is None for (key, _), field in fields.items() if key.startswith("weekly"))
    document = late.markdown()
    assert document.startswith("\n## Already past\n\n- countdown for box\\: 2027\\-03\\-17 18\\:00 \\-07\\:00 is ")


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
