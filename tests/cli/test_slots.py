"""``promo post --next-slot`` and ``promo slots`` on SQLite and PostgreSQL, through the real command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from promo.times import utcnow, zone
from tests.cli.conftest import Promo, one_line_error

SLOTS = ("09:00", "12:30", "18:00")


@pytest.fixture
def slotted(project: Path, promo: Promo) -> Promo:
    toml = project / "promo.toml"
    text = toml.read_text(encoding="utf-8")
    head = '[accounts.jj-outbox]\nplatform = "outbox"\n'
    assert head in text
    toml.write_text(text.replace(head, head + 'timezone = "Europe/Berlin"\nslots = ["18:00", "09:00", "12:30"]\n'
                                              'slot_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'),
                    encoding="utf-8")
    return promo


def test_post_next_slot_takes_free_slots_in_order(slotted: Promo) -> None:
    before = utcnow()
    first = slotted("post", "--account", "jj-outbox", "--next-slot", "Stream season 3 now", "--json")
    assert first.code == 0, first.err
    second = slotted("post", "-a", "jj-outbox", "--next-slot", "Still streaming")
    assert second.code == 0, second.err
    at = datetime.fromisoformat(first.json["scheduled_at"])
    local = at.astimezone(zone("Europe/Berlin"))
    assert f"{local:%H:%M}" in SLOTS and at > before + timedelta(minutes=1) and at - before < timedelta(days=1)
    assert first.json["scheduled_at"][-6:] in ("+01:00", "+02:00")  # echoed with the account's offset
    assert "(next free slot) (Europe/Berlin)" in second.out
    listed = slotted("slots", "--account", "jj-outbox", "--days", "2", "--json").json
    taken = [s for s in listed if not s["free"]]
    assert [s["post"] for s in taken] == [first.json["id"], int(second.out.split()[1])]
    assert taken[0]["at"] == first.json["scheduled_at"]


def test_slots_table_fits_100_columns(slotted: Promo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert slotted("post", "-a", "jj-outbox", "--next-slot", "Stream it").code == 0
    shown = slotted("slots", "--days", "3")
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert lines[0].split() == ["account", "day", "slot", "state"]
    assert len(lines) >= 1 + 6 and all(len(line) <= 100 for line in lines)
    assert "taken by post" in shown.out and "free" in shown.out
    assert slotted("slots", "--days", "3", "--free").out.count("taken") == 0


def test_next_slot_errors_are_one_line(slotted: Promo) -> None:
    one_line_error(slotted("post", "-a", "jj-x", "--next-slot", "hello"), 1, "account jj-x declares no slots")
    one_line_error(slotted("post", "-a", "jj-outbox", "--next-slot", "--at", "now+1h", "hello"), 2,
                   "--next-slot and --at exclude each other")
    one_line_error(slotted("slots", "--account", "nobody"), 1, "unknown account 'nobody'")


def test_bad_slots_in_promo_toml_name_the_file(project: Path, promo: Promo) -> None:
    toml = project / "promo.toml"
    head = '[accounts.jj-outbox]\nplatform = "outbox"\n'
    toml.write_text(toml.read_text(encoding="utf-8").replace(head, head + 'slots = ["25:00"]\n'), encoding="utf-8")
    one_line_error(promo("slots"), 1, "promo.toml: [accounts.jj-outbox]: slots: '25:00' is not a time of day")
