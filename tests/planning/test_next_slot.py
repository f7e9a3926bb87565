"""``at: next-slot`` in a campaign announcement, against a real ledger (SQLite and PostgreSQL): apply gives
each account its next free slot, a re-apply keeps it, two announcements take two slots, an account
without slots is refused before anything is written, and preview shows the placeholder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from promo.accounts import Account, load_accounts
from promo.campaigns.preview import preview_file
from promo.errors import CampaignError
from promo.planning.apply import apply_plan
from promo.planning.campaign import plan_campaign_file
from promo.store.db import transaction
from promo.store.tables import Event, PostRow
from promo.times import from_storage
from tests.planning.nextslotkit import write_evergreen

REPO = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2027, 6, 14, 8, 0, tzinfo=LA)  # a Monday, 08:00 in Los Angeles
TOML = """\
[accounts.box]
platform = "outbox"
path = "box.jsonl"
timezone = "America/Los_Angeles"
slots = ["18:00", "09:00"]

[accounts.berlin]
platform = "outbox"
path = "berlin.jsonl"
timezone = "Europe/Berlin"
slots = ["10:00"]

[accounts.plain]
platform = "outbox"
path = "plain.jsonl"
"""


@pytest.fixture
def accounts(tmp_path: Path) -> dict[str, Account]:
    (tmp_path / "promo.toml").write_text(TOML, encoding="utf-8")
    return load_accounts(tmp_path / "promo.toml", environ={})


def write(tmp_path: Path, accounts: str = "[box, berlin]", **texts: str) -> Path:
    return write_evergreen(tmp_path, accounts, **texts)


def apply(engine: Engine, path: Path, accounts: dict[str, Account]):  # type: ignore[no-untyped-def]
    plan = plan_campaign_file(engine, path, accounts, REPO / "templates", now=NOW)
    return apply_plan(engine, plan, now=NOW)


def slots(engine: Engine) -> dict[tuple[str, str], datetime]:
    with transaction(engine) as session:
        return {(r.announcement, r.account): from_storage(r.scheduled_at)
                for r in session.scalars(select(PostRow).order_by(PostRow.id))}


def test_apply_gives_each_account_its_next_free_slot(engine: Engine, tmp_path: Path,
                                                     accounts: dict[str, Account]) -> None:
    result = apply(engine, write(tmp_path, stream="Stream Jessica Jones season 3 now"), accounts)
    assert result.summary() == "2 new, 0 changed, 0 cancelled, 0 unchanged"
    assert slots(engine) == {("stream", "box"): datetime(2027, 6, 14, 9, 0, tzinfo=LA),
                             ("stream", "berlin"): datetime(2027, 6, 15, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))}
    shown = {e["account"]: e["scheduled_at"] for e in result.to_dict()["created"]}
    assert shown == {"box": "2027-06-14T09:00:00-07:00", "berlin": "2027-06-15T01:00:00-07:00"}


def test_a_reapply_keeps_the_slot_and_changes_nothing(engine: Engine, tmp_path: Path,
                                                      accounts: dict[str, Account]) -> None:
    path = write(tmp_path, stream="Stream Jessica Jones season 3 now")
    apply(engine, path, accounts)
    before = slots(engine)
    with transaction(engine) as session:
        events = len(list(session.scalars(select(Event.id))))
    again = plan_campaign_file(engine, path, accounts, REPO / "templates", now=NOW)
    assert again.summary() == "0 new, 0 changed, 0 cancelled, 2 unchanged"
    assert apply_plan(engine, again, now=NOW).wrote is False
    with transaction(engine) as session:
        assert len(list(session.scalars(select(Event.id)))) == events
    edited = apply(engine, write(tmp_path, stream="Binge all 13 episodes"), accounts)
    assert edited.summary() == "0 new, 2 changed, 0 cancelled, 0 unchanged"
    assert not [c for e in edited.by_action("changed") for c in e.changes if c.startswith("time")]
    assert slots(engine) == before


def test_two_next_slot_announcements_take_two_slots(engine: Engine, tmp_path: Path,
                                                    accounts: dict[str, Account]) -> None:
    apply(engine, write(tmp_path, "[box]", stream="Stream Jessica Jones season 3 now",
                        binge="Binge all 13 episodes"), accounts)
    taken = slots(engine)
    assert sorted(taken.values()) == [datetime(2027, 6, 14, 9, 0, tzinfo=LA), datetime(2027, 6, 14, 18, 0, tzinfo=LA)]
    apply(engine, write(tmp_path, "[box]", stream="Stream Jessica Jones season 3 now",
                        binge="Binge all 13 episodes", recap="Catch up on season 2"), accounts)
    assert slots(engine)[("recap", "box")] == datetime(2027, 6, 15, 9, 0, tzinfo=LA)


def test_an_account_without_slots_is_refused_and_nothing_written(engine: Engine, tmp_path: Path,
                                                                  accounts: dict[str, Account]) -> None:
    path = write(tmp_path, "[box, plain]", stream="Stream Jessica Jones season 3 now")
    with pytest.raises(CampaignError) as caught:
        apply(engine, path, accounts)
    message = str(caught.value)
    assert message.startswith(f"{path}:5: announcements.stream.at: next-slot, but account plain declares no slots")
    assert "\n" not in message and "[accounts.plain]" in message
    assert slots(engine) == {}


def test_nothing_may_be_relative_to_a_next_slot_time(tmp_path: Path, accounts: dict[str, Account]) -> None:
    path = write(tmp_path, stream="Stream now")
    path.write_text(path.read_text() + "  - key: later\n    kind: generic\n    at: stream + 1d\n    text: later\n")
    with pytest.raises(CampaignError, match="stream is at next-slot"):
        preview_file(path, accounts, REPO / "templates")


def test_preview_shows_the_placeholder_and_checks_the_post(tmp_path: Path, accounts: dict[str, Account]) -> None:
    rendered = preview_file(write(tmp_path, stream="Stream Jessica Jones season 3 now"), accounts, REPO / "templates")
    assert [item.to_dict()["scheduled_at"] for item in rendered] == ["next free slot of box",
                                                                     "next free slot of berlin"]
    assert all(item.ok for item in rendered)
    assert rendered[0].scheduled.post.text == "Stream Jessica Jones season 3 now"
