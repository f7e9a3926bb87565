"""``promo preview`` of a campaign with one announcement already past and one to come: a note on stderr in
``promo apply --dry-run``'s words, ``late`` on the past post with --json, an "Already past" section in the
markdown document; the exit code stays 0 and the snapshot holds nothing of it (it does not depend on the clock).
A campaign whose every post is past (the README's, in 2019) is told in a few grouped lines, the same from both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import CAMPAIGN as SEED
from tests.cli.conftest import ROOT, Promo, Ran

FILE = "half-past.yaml"
CAMPAIGN = """\
campaign: half-past
timezone: America/Los_Angeles
accounts: [jj-outbox]
announcements:
  - key: gone
    kind: generic
    at: 2020-01-15 09:00
    text: "Announced long ago"
  - key: coming
    kind: generic
    at: 2099-07-01 09:00
    text: "Announced far ahead"
"""
NOTE = "gone for jj-outbox: 2020-01-15 09:00 -08:00 is already past ("
FATE = " late, 6.0 hours allowed); it will be held for a person, not sent"


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url  # no TikTok or Reddit post: preview never opens the store


@pytest.fixture
def campaign(project: Path) -> str:
    (project / FILE).write_text(CAMPAIGN, encoding="utf-8")
    return FILE


def _notes(ran: Ran) -> list[str]:
    """The ``note:`` lines on stderr, each joined back from its wrapped lines."""
    return [" ".join(note.split()) for note in ran.err.replace("\n  ", " ").splitlines() if note.startswith("note: ")]


def test_text_notes_the_past_post_on_stderr_and_exits_0(promo: Promo, campaign: str) -> None:
    for options in ((), ("--compact",)):
        ran = promo("preview", campaign, *options)
        assert ran.code == 0, ran.err
        [note] = _notes(ran)
        assert note.startswith(f"note: {NOTE}") and note.endswith(FATE), note
        assert "already past" not in ran.out  # stdout is the same whatever the day
    dry_run = promo("apply", campaign, "--dry-run")
    assert dry_run.code == 0 and f"warning: {note.removeprefix('note: ')}" in dry_run.err.splitlines()


def test_json_has_late_on_the_past_post_only(promo: Promo, campaign: str) -> None:
    ran = promo("preview", campaign, "--json")
    assert ran.code == 0, ran.err
    gone, coming = ran.json
    assert "late" not in coming and gone["late"]["due_at"] == "2020-01-15T09:00:00-08:00"
    assert gone["late"]["held"] is True and gone["late"]["allowed_s"] == 6 * 3600
    assert gone["late"]["late_s"] > 5 * 365 * 86400
    assert gone["late"]["note"].startswith(NOTE) and gone["late"]["note"].endswith(FATE)
    assert promo("apply", campaign, "--dry-run", "--json").json["warnings"] == [gone["late"]["note"]]


def test_markdown_has_a_line_per_past_post(promo: Promo, campaign: str) -> None:
    ran = promo("preview", campaign, "--format", "markdown")
    assert ran.code == 0, ran.err
    _, section = ran.out.split("\n## Already past\n\n")
    [line] = section.splitlines()
    assert line.startswith("- gone for jj\\-outbox\\: 2020\\-01\\-15 09\\:00 \\-08\\:00 is already past \\(")


def test_the_snapshot_does_not_hold_it(promo: Promo, campaign: str, project: Path) -> None:
    wrote = promo("preview", campaign, "--snapshot", "half-past.snapshot.yaml")
    assert wrote.code == 0, wrote.err
    lock = (project / "half-past.snapshot.yaml").read_text(encoding="utf-8")
    assert "already past" not in lock and "late_s" not in lock and "held" not in lock
    checked = promo("preview", campaign, "--check-snapshot", "half-past.snapshot.yaml", "--json")
    assert checked.code == 0 and checked.json["snapshot"]["equal"] is True
    assert "late" in checked.json["posts"][0]  # the live output still says it


def test_a_broken_rule_still_exits_1(promo: Promo, campaign: str, project: Path) -> None:
    (project / campaign).write_text(CAMPAIGN.replace("accounts: [jj-outbox]", "accounts: [jj-x]")
                                    .replace("Announced long ago", "a" * 300), encoding="utf-8")
    ran = promo("preview", campaign, "--compact")
    assert ran.code == 1 and any(note.startswith("note: gone for jj-x: ") for note in _notes(ran))


def test_a_campaign_long_past_is_a_few_grouped_lines_the_same_in_preview_and_apply(promo: Promo, project: Path) -> None:
    (project / "examples" / "in-2019.yaml").write_text((ROOT / SEED).read_text(encoding="utf-8"), encoding="utf-8")
    preview = promo("preview", "examples/in-2019.yaml")
    past = [note.removeprefix("note: ") for note in _notes(preview) if "already past" in note]
    dry_run = promo("apply", "examples/in-2019.yaml", "--dry-run")
    warned = [line.removeprefix("warning: ") for line in dry_run.err.splitlines() if "already past" in line]
    assert preview.code == 0 and dry_run.code == 0 and len(past) == len(warned) == 6
    assert warned[:5] == past[:5]  # one function says both
    assert past[0].startswith("featurette for jj-x, jj-mastodon, jj-bluesky and 8 more accounts: 2019-05-29 09:00 ")
    assert past[0].endswith("; they will be held for a person, not sent")
    assert re.fullmatch(r"\.\.\. and \d+ more announcements already past; --json lists every post", past[5])
    assert warned[5] == past[5].replace("--json", "'promo preview --json'")
    machine = [w for w in promo("apply", "examples/in-2019.yaml", "--dry-run", "--json").json["warnings"]
               if "already past" in w]
    assert len(machine) > 6 and machine[:5] == past[:5] and not any(w.startswith("...") for w in machine)  # uncut
    posts = promo("preview", "examples/in-2019.yaml", "--json").json
    assert all(post["late"]["note"].startswith(f"{post['announcement']} for {post['account']}: ") for post in posts)
