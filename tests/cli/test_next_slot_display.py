"""``at: next-slot`` in a campaign never shows its stand-in time (the year 9000) in any output: the dry run
(text and --json) shows the slot apply would take, apply takes exactly that slot, and the plan's lines
after an edit, the queue and the calendar show real times. Through the real command line, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from promo.campaigns.timing import NEXT_SLOT
from promo.planning.plan import CREATED, PlanEntry
from promo.times import utcnow, zone
from tests.cli.conftest import Promo, Ran, one_line_error
from tests.planning.nextslotkit import FILE, write_evergreen

BERLIN = zone("Europe/Berlin")
# the stand-in's date in any zone: 9000-01-01 in UTC and east of it, 8999-12-31 west of it
STAND_IN = re.compile(rf"\b(?:{NEXT_SLOT.year - 1}|{NEXT_SLOT.year})-\d\d-\d\d")


@pytest.fixture
def slotted(project: Path, promo: Promo) -> Promo:
    """The project's outbox account with three slots a day, every day, in Berlin."""
    toml = project / "promo.toml"
    head = '[accounts.jj-outbox]\nplatform = "outbox"\n'
    text = toml.read_text(encoding="utf-8")
    assert head in text
    toml.write_text(text.replace(head, head + 'timezone = "Europe/Berlin"\nslots = ["09:00", "12:30", "18:00"]\n'
                                              'slot_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'),
                     encoding="utf-8")
    return promo


def write(project: Path, **texts: str) -> str:
    return write_evergreen(project, "[jj-outbox]", **texts).name


def shown(ran: Ran) -> str:
    assert ran.code == 0, (ran.out, ran.err)
    assert not STAND_IN.search(ran.out + ran.err), ran.out + ran.err
    return ran.out


def slot_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_dry_run_shows_the_slot_apply_takes_and_never_the_stand_in(slotted: Promo, project: Path) -> None:
    path = write(project, stream="Stream Jessica Jones season 3 now", binge="Binge all 13 episodes")
    lines = shown(slotted("apply", path, "--dry-run")).splitlines()
    new = [line for line in lines if line.startswith("created")]
    assert len(new) == 2 and all(line.endswith("(next free slot)") for line in new), lines
    planned = slotted("apply", path, "--dry-run", "--json")
    shown(planned)
    created = {e["announcement"]: e for e in planned.json["created"]}
    expected = {key: slot_time(e["scheduled_at"]) for key, e in created.items()}
    assert expected["stream"] != expected["binge"]
    for at in expected.values():
        assert f"{at.astimezone(BERLIN):%H:%M}" in ("09:00", "12:30", "18:00")
        assert utcnow() + timedelta(minutes=1) < at < utcnow() + timedelta(days=1)
    applied = slotted("apply", path, "--yes", "--json")
    assert shown(applied)
    taken = {e["announcement"]: slot_time(e["scheduled_at"]) for e in applied.json["created"]}
    assert taken == expected  # the slot the dry run showed is the one apply took


def test_outputs_after_apply_show_real_times(slotted: Promo, project: Path) -> None:
    path = write(project, stream="Stream Jessica Jones season 3 now")
    shown(slotted("apply", path, "--yes"))
    edited = write(project, stream="Binge all 13 episodes of season 3")
    plan = shown(slotted("apply", edited, "--dry-run"))
    assert "changed" in plan and "next free slot" not in plan
    shown(slotted("apply", edited, "--dry-run", "--json"))
    shown(slotted("apply", edited, "--yes"))
    for command in (("queue",), ("queue", "--json"), ("calendar",), ("calendar", "--month", "--json"),
                    ("calendar", "--ics", "-"), ("slots", "--days", "2"), ("preview", edited),
                    ("preview", edited, "--json")):
        shown(slotted(*command))


def test_preview_in_every_format_says_next_free_slot(slotted: Promo, project: Path) -> None:
    path = write(project, stream="Stream Jessica Jones season 3 now")
    assert "next free slot of jj-outbox" in shown(slotted("preview", path))
    assert [p["scheduled_at"] for p in slotted("preview", path, "--json").json] == ["next free slot of jj-outbox"]
    assert "- at next free slot of jj-outbox" in shown(slotted("preview", path, "--format", "markdown"))
    shown(slotted("preview", path, "--snapshot", "evergreen.snapshot.yaml"))
    locked = (project / "evergreen.snapshot.yaml").read_text(encoding="utf-8")
    assert "next free slot of jj-outbox" in locked and not STAND_IN.search(locked)
    shown(slotted("preview", path, "--check-snapshot", "evergreen.snapshot.yaml"))


def test_errors_never_show_the_stand_in(slotted: Promo, project: Path) -> None:
    path = write(project, stream="Stream now")
    (project / path).write_text((project / path).read_text(encoding="utf-8") + "  - key: later\n    kind: generic\n"
                                "    at: stream + 1d\n    text: later\n", encoding="utf-8")
    ran = slotted("apply", path, "--dry-run")
    one_line_error(ran, 1, "stream is at next-slot")
    assert not STAND_IN.search(ran.err)
    repeating = write(project, stream="Stream now")
    (project / repeating).write_text((project / repeating).read_text(encoding="utf-8")
                                     + "    repeat: FREQ=DAILY\n", encoding="utf-8")
    ran = slotted("apply", repeating, "--dry-run")
    one_line_error(ran, 1, "next-slot cannot repeat")
    assert not STAND_IN.search(ran.err)


def test_an_entry_without_a_free_slot_says_next_free_slot() -> None:
    entry = PlanEntry(CREATED, "evergreen", "stream", "jj-outbox", "outbox", NEXT_SLOT)
    assert entry.slot_pending and entry.when(str) == "next free slot of jj-outbox"
    found = datetime(2027, 6, 14, 9, 0, tzinfo=BERLIN)
    assert PlanEntry(CREATED, "evergreen", "stream", "jj-outbox", "outbox", NEXT_SLOT,
                     expected_at=found).to_dict(BERLIN)["scheduled_at"] == "2027-06-14T09:00:00+02:00"


def test_a_video_uploaded_ahead_cannot_take_a_next_slot(promo: Promo, project: Path) -> None:
    """YouTube's upload_ahead needs the public time when the upload goes: a next-slot post has none yet.

    Refused in words by preview and apply (nothing written), never scheduled from the stand-in time."""
    toml = project / "promo.toml"
    head = '[accounts.jj-youtube]\nplatform = "youtube"\n'
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        head, head + 'slots = ["09:00"]\nslot_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'),
        encoding="utf-8")
    (project / FILE).write_text(
        "campaign: evergreen\ntimezone: America/Los_Angeles\naccounts: [jj-youtube]\nannouncements:\n"
        "  - key: clip\n    kind: generic\n    at: next-slot\n    text: \"Jessica Jones season 3: the featurette\"\n"
        "    media:\n      - path: examples/media/featurette.mp4\n        alt: \"Krysten Ritter on set\"\n",
        encoding="utf-8")
    for args in (("preview", FILE), ("apply", FILE, "--yes")):
        ran = promo(*args)
        assert ran.code != 0 and "cannot be uploaded ahead" in ran.out + ran.err, (args, ran.out, ran.err)
        assert not STAND_IN.search(ran.out + ran.err) and "Traceback" not in ran.err
    listed = promo("queue", "--json")
    assert listed.code == 0 and not listed.json, listed.out


def test_a_template_cannot_print_the_time_of_a_next_slot_announcement(slotted: Promo, project: Path) -> None:
    """The slot is taken at apply; a text that prints it is one line naming the field, not year 9000."""
    for text in ("Out {{ scheduled_at | day }}", "Then {{ schedule.stream }}"):
        path = write(project, stream=text)
        for args in (("preview", path), ("apply", path, "--yes")):
            ran = slotted(*args)
            one_line_error(ran, ran.code or 1, "next free slot, taken when the campaign is applied")
            assert ran.code != 0 and f"{path}:" in ran.err and not STAND_IN.search(ran.out + ran.err)
    assert slotted("queue", "--json").json == []
