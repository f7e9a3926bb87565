"""promo apply / queue / show / cancel / reschedule / post / migrate, run in-process through main()
on SQLite and PostgreSQL: exit codes, --json shapes, one-line errors, and a database left unchanged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import CAMPAIGN, Promo, counts, one_line_error


def test_apply_plans_writes_and_is_idempotent(promo: Promo, store_url: str) -> None:
    dry = promo("apply", CAMPAIGN, "--dry-run", "--json")
    assert dry.code == 0 and dry.json["applied"] is False
    assert counts(store_url) == (0, 0)
    total = len(dry.json["created"])
    assert total > 10 and dry.json["summary"] == f"{total} new, 0 changed, 0 cancelled, 0 unchanged"
    first = promo("apply", CAMPAIGN, "--json")
    assert first.json["applied"] is True
    entry = first.json["created"][0]
    assert set(entry) == {"post_id", "campaign", "announcement", "account", "platform", "scheduled_at",
                          "status", "changes", "reason", "awaiting_approval"}
    assert entry["post_id"] and entry["scheduled_at"].endswith(("-07:00", "-08:00"))
    assert not any(e["awaiting_approval"] for e in first.json["created"])  # the seed has no approval rule
    before = counts(store_url)
    again = promo("apply", CAMPAIGN)
    assert again.code == 0
    assert f"0 new, 0 changed, 0 cancelled, {total} unchanged" in again.out
    assert "nothing to apply" in again.out
    assert counts(store_url) == before


def test_apply_prints_its_summary_once(promo: Promo) -> None:
    shown = promo("apply", CAMPAIGN)
    assert shown.code == 0 and shown.out.count(" new, ") == 1 and "applied: " in shown.out


def test_moving_the_premiere_shows_which_posts_move(promo: Promo, project: Path) -> None:
    promo("apply", CAMPAIGN)
    path = project / CAMPAIGN
    path.write_text(path.read_text().replace("2027-06-14", "2027-06-21"))
    plan = promo("apply", CAMPAIGN, "--dry-run", "--json").json
    moved = {c for e in plan["changed"] for c in e["changes"] if c.startswith("time")}
    assert "time 2027-06-14 00:01 -07:00 -> 2027-06-21 00:01 -07:00" in moved
    assert plan["created"] == [] and plan["cancelled"] == []
    shown = promo("apply", CAMPAIGN)
    assert "-> 2027-06-21 00:01 -07:00" in shown.out and "applied:" in shown.out


def test_a_broken_campaign_writes_nothing(promo: Promo, project: Path, store_url: str) -> None:
    path = project / CAMPAIGN
    path.write_text(path.read_text().replace("kind: premiere", "kind: no-such-kind"))
    one_line_error(promo("apply", CAMPAIGN), 1, "jessica-jones-s3.yaml:")
    (project / "long.yaml").write_text(
        "campaign: long-one\nname: Too long\ntimezone: America/Los_Angeles\naccounts: [jj-x]\n"
        "announcements:\n  - key: shout\n    kind: generic\n    at: 2027-06-14 00:01\n"
        f"    text: \"{'a' * 300}\"\n")
    too_long = promo("apply", "long.yaml")
    assert too_long.code == 1 and "shout for jj-x: X: 300/280" in too_long.err
    assert "Traceback" not in too_long.err
    one_line_error(promo("apply", "missing.yaml"), 1, "missing.yaml")
    assert counts(store_url) == (0, 0)


def test_queue_show_cancel_reschedule(promo: Promo, store_url: str) -> None:
    promo("apply", CAMPAIGN)
    listed = promo("queue", "--status", "scheduled", "--account", "jj-x", "--json").json
    assert listed and {(p["status"], p["account"]) for p in listed} == {("scheduled", "jj-x")}
    assert listed[0]["due_at"].endswith(("-07:00", "-08:00"))
    first = listed[0]["id"]
    table = promo("queue", "--campaign", "jessica-jones-s3", "-n", "3")
    assert table.code == 0 and "featurette" in table.out and "3 of " in table.out
    detail = promo("show", str(first), "--json").json
    assert detail["idempotency_key"].startswith("promo-")
    assert [e["action"] for e in detail["events"]] == ["created"]
    assert "history:" in promo("show", str(first)).out
    # a naive --at is read in the campaign's zone (America/Los_Angeles), whatever PROMO_TIMEZONE says
    moved = promo("reschedule", str(first), "--at", "2027-07-01 12:00", "--json").json
    assert moved["scheduled_at"] == "2027-07-01T12:00:00-07:00" and moved["status"] == "scheduled"
    moved = promo("reschedule", str(first), "--at", "2027-12-01 12:00", "--json").json
    assert moved["scheduled_at"] == "2027-12-01T12:00:00-08:00"
    assert promo("cancel", str(first)).code == 0
    before = counts(store_url)
    one_line_error(promo("cancel", str(first)), 1, f"post {first} is cancelled; cannot cancel")
    one_line_error(promo("reschedule", str(first), "--at", "now+1h"), 1, "cannot reschedule")
    one_line_error(promo("reschedule", str(listed[1]["id"]), "--at", "soonish"), 2, "'--at': cannot read")
    one_line_error(promo("show", "999999"), 1, "no post with id 999999 ('promo queue --all' lists them)")
    one_line_error(promo("cancel", "999999"), 1, "no post with id 999999")
    assert counts(store_url) == before
    actions = [e["action"] for e in promo("show", str(first), "--json").json["events"]]
    assert actions == ["created", "rescheduled", "rescheduled", "cancelled"]


def test_ad_hoc_posts(promo: Promo, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_TIMEZONE", "America/Los_Angeles")
    made = promo("post", "--account", "jj-mastodon", "--at", "2027-06-14 09:00", "Out now!", "--json")
    assert made.code == 0, made.err
    assert made.json["campaign"] is None and made.json["announcement"] is None
    assert made.json["scheduled_at"] == "2027-06-14T09:00:00-07:00"
    assert "(ad hoc)" in promo("queue").out
    soon = promo("post", "-a", "jj-x", "--at", "now+2h", "Tonight")
    assert soon.code == 0 and soon.out.startswith("post ") and "(America/Los_Angeles)" in soon.out
    before = counts(store_url)
    one_line_error(promo("post", "--account", "nobody", "hello"), 1, "unknown account 'nobody'")
    one_line_error(promo("post", "--account", "nobody", "hello"), 1, "configured: jj-bluesky, ")
    one_line_error(promo("post", "--account", "jj-x", "--at", "whenever", "hello"), 2, "'--at'")
    one_line_error(promo("post", "--account", "jj-x", "a" * 300), 1, "300/280")
    assert counts(store_url) == before


def test_migrate_prints_the_revision(promo: Promo) -> None:
    ran = promo("migrate")
    assert ran.code == 0 and re.search(r": at revision \d{4}_\w+$", ran.out)
    assert ran.out.rstrip().endswith(promo("migrate", "--json").json["revision"])
