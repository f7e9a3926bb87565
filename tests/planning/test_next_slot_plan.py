"""The plan gives each new ``at: next-slot`` post the slot apply would take (``expected_at``), read-only, in
the plan's order and after what the ledger and the plan's earlier posts take; apply then takes exactly
those slots. Against a real ledger (SQLite and PostgreSQL), at a fixed ``now``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from promo.accounts import Account, load_accounts
from promo.campaigns import load_campaign
from promo.campaigns.preview import render_campaign
from promo.planning.apply import apply_plan
from promo.planning.plan import Plan, plan
from promo.planning.slots import slot_queues

REPO = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2027, 6, 14, 8, 0, tzinfo=LA)  # a Monday, 08:00 in Los Angeles
TOML = '[accounts.box]\nplatform = "outbox"\npath = "box.jsonl"\ntimezone = "America/Los_Angeles"\n' \
       'slots = ["09:00", "18:00"]\n'


@pytest.fixture
def accounts(tmp_path: Path) -> dict[str, Account]:
    (tmp_path / "promo.toml").write_text(TOML, encoding="utf-8")
    return load_accounts(tmp_path / "promo.toml", environ={})


def planned(engine: Engine, tmp_path: Path, accounts: dict[str, Account], *announcements: tuple[str, str]) -> Plan:
    body = "".join(f"  - key: {key}\n    kind: generic\n    at: {at}\n    text: \"{key} now\"\n"
                   for key, at in announcements)
    path = tmp_path / "evergreen.yaml"
    path.write_text(f"campaign: evergreen\ntimezone: America/Los_Angeles\naccounts: [box]\nannouncements:\n{body}",
                    encoding="utf-8")
    campaign = load_campaign(path, accounts, REPO / "templates")
    posts = [item.scheduled for item in render_campaign(campaign, accounts, REPO / "templates")]
    return plan(engine, campaign, posts, slots=slot_queues(campaign, accounts), now=NOW)


def expected(result: Plan) -> dict[str, str]:
    return {e.announcement or "": e.when(lambda at: f"{at.astimezone(LA):%a %H:%M}") for e in result.entries}


def test_the_plan_shows_the_slots_apply_takes_in_order(engine: Engine, tmp_path: Path,
                                                       accounts: dict[str, Account]) -> None:
    first = planned(engine, tmp_path, accounts, ("premiere", "2027-06-14 09:00"), ("stream", "next-slot"),
                    ("binge", "next-slot"))
    assert expected(first) == {"premiere": "Mon 09:00", "stream": "Mon 18:00", "binge": "Tue 09:00"}
    assert [e.slot_pending for e in first.entries] == [False, True, True]
    applied = apply_plan(engine, first, now=NOW)
    assert {e.announcement: e.scheduled_at for e in applied.entries} == {
        e.announcement: e.expected_at or e.scheduled_at for e in first.entries}
    again = planned(engine, tmp_path, accounts, ("premiere", "2027-06-14 09:00"), ("stream", "next-slot"),
                    ("binge", "next-slot"), ("recap", "next-slot"))
    assert expected(again) == {"premiere": "Mon 09:00", "stream": "Mon 18:00", "binge": "Tue 09:00",
                               "recap": "Tue 18:00"}  # the ledger's slots are taken: the next free one
    assert again.to_dict()["created"][0]["scheduled_at"] == "2027-06-15T18:00:00-07:00"
