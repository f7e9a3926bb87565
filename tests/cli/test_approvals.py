"""``promo review``, ``approve`` and ``reject`` as people use them, on SQLite and PostgreSQL; and the
issue's promise under a real ``promo run``: nothing goes out until approved, then each post once."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.cli.conftest import CAMPAIGN, Promo, dump, one_line_error

ALICE, BOB, CAROL = "alice@studio.com", "bob@studio.com", "carol@studio.com"
RULE = "approval: {required: true, approvers: [alice@studio.com, bob@studio.com], min: 2}\n"


def with_rule(project: Path, rule: str = RULE) -> Path:
    seed = project / CAMPAIGN
    text = seed.read_text(encoding="utf-8")
    seed.write_text(text.replace("timezone: America/Los_Angeles\n", f"timezone: America/Los_Angeles\n{rule}", 1),
                    encoding="utf-8")
    return seed


@pytest.fixture
def waiting(promo: Promo, project: Path) -> Promo:
    with_rule(project)
    assert promo("apply", CAMPAIGN, "--yes").code == 0
    return promo


def statuses(promo: Promo) -> set[str]:
    return {post["status"] for post in promo("queue", "--all", "--json").json}


def test_apply_creates_posts_awaiting_approval_and_review_lists_them(waiting: Promo) -> None:
    assert statuses(waiting) == {"awaiting_approval"}
    listed = waiting("review", "--campaign", "jessica-jones-s3")
    assert listed.code == 0 and "needs 2 of alice@studio.com, bob@studio.com" in listed.out
    assert "never approved:" in listed.out and "post(s) wait" in listed.out
    shown = waiting("review", "--json").json
    assert shown and all(item["approved_by"] == [] and item["diff"] == [] for item in shown)
    one_line_error(waiting("review", "--campaign", "nope"), 1, "no campaign 'nope'")


def test_two_approvers_schedule_a_post_and_show_displays_them(waiting: Promo,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    first = waiting("approve", "jessica-jones-s3", "premiere", "--as", ALICE, "--note", "legal ok")
    assert first.code == 0 and "1 of 2 approvals: awaiting_approval" in first.out
    monkeypatch.setenv("PROMO_USER", BOB)
    second = waiting("approve", "jessica-jones-s3", "premiere", "--json")
    assert second.code == 0
    decided = second.json
    assert decided["approver"] == BOB and {p["status"] for p in decided["posts"]} == {"scheduled"}
    post_id = decided["posts"][0]["post_id"]
    shown = waiting("show", str(post_id))
    assert "approvals:" in shown.out and f"approved by {ALICE} (1 of 2): legal ok" in shown.out
    assert f"approved by {BOB} (2 of 2)" in shown.out
    assert "awaiting_approval -> scheduled" in shown.out


def test_someone_not_on_the_list_is_refused_with_the_store_unchanged(waiting: Promo, store_url: str) -> None:
    before = dump(store_url)
    one_line_error(waiting("approve", "jessica-jones-s3", "--as", CAROL), 1,
                   "carol@studio.com is not an approver of jessica-jones-s3/")
    one_line_error(waiting("reject", "jessica-jones-s3", "premiere", "--as", CAROL), 1, "pass --as with one of them")
    one_line_error(waiting("approve", "jessica-jones-s3", "--as", "carol"), 1, "--as: 'carol' is not an email")
    assert dump(store_url) == before


def test_an_edit_after_approval_holds_again_and_review_draws_the_diff(waiting: Promo, project: Path) -> None:
    for who in (ALICE, BOB):
        assert waiting("approve", "jessica-jones-s3", "--as", who).code == 0
    assert statuses(waiting) == {"scheduled"}
    seed = project / CAMPAIGN
    seed.write_text(seed.read_text(encoding="utf-8").replace("Krysten Ritter", "Krysten  Ritter"), encoding="utf-8")
    applied = waiting("apply", CAMPAIGN, "--yes", "--json").json
    assert applied["changed"] and all(entry["awaiting_approval"] for entry in applied["changed"])
    assert statuses(waiting) == {"scheduled", "awaiting_approval"}
    shown = waiting("review", "--json").json
    assert {item["post_id"] for item in shown} == {entry["post_id"] for entry in applied["changed"]}
    diff = shown[0]["diff"]
    assert diff[0].startswith(f"--- approved by {BOB}") and diff[1] == "+++ now"
    assert any(line.startswith("-") and "Krysten Ritter" in line for line in diff[2:])
    assert any(line.startswith("+") and "Krysten  Ritter" in line for line in diff[2:])
    assert "changed since it was last approved:" in waiting("review").out


def test_reject_keeps_a_post_waiting_with_the_reason(waiting: Promo) -> None:
    rejected = waiting("reject", "jessica-jones-s3", "premiere", "--as", BOB, "-m", "embargo moved", "--json").json
    post_id = rejected["posts"][0]["post_id"]
    shown = waiting("show", str(post_id), "--json").json
    assert shown["status"] == "awaiting_approval" and shown["reason"].startswith("rejected by bob@studio.com: embargo")
    assert [e["action"] for e in shown["events"]][-1] == "rejected"
    assert "rejected by bob@studio.com: embargo moved" in waiting("review").out


def test_arguments_are_checked(waiting: Promo) -> None:
    for args, fragment in ((("approve",), "name a CAMPAIGN"),
                           (("approve", "jessica-jones-s3", "premiere", "--post", "1"), "not both")):
        ran = waiting(*args, "--as", ALICE)
        assert ran.code == 2 and fragment in ran.err and "--help' shows the usage" in ran.err
    one_line_error(waiting("approve", "--post", "999", "--as", ALICE), 1, "no post with id 999")
    one_line_error(waiting("approve", "jessica-jones-s3", "nope", "--as", ALICE), 1, "has no announcement 'nope'")
    for command in ("approve", "reject", "review"):
        assert "Example:" in waiting(command, "--help").out


def test_git_email_is_the_last_resort_and_no_git_is_one_line(waiting: Promo, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "gitconfig"
    config.write_text(f"[user]\n\temail = {ALICE}\n", encoding="utf-8")
    monkeypatch.delenv("PROMO_USER", raising=False)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    by_git = waiting("approve", "jessica-jones-s3", "premiere", "--json").json
    assert by_git["approver"] == ALICE
    monkeypatch.setenv("PROMO_USER", CAROL)
    one_line_error(waiting("approve", "jessica-jones-s3", "premiere"), 1, "carol@studio.com is not an approver")
    assert waiting("approve", "jessica-jones-s3", "premiere", "--as", BOB, "--json").json["approver"] == BOB
    monkeypatch.delenv("PROMO_USER")
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    one_line_error(waiting("approve", "jessica-jones-s3"), 1, "pass --as EMAIL (or set PROMO_USER)")


# -- under a real promo run --------------------------------------------------------------------------

PROMO = Path(sys.executable).parent / "promo"


def run_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(COLUMNS="100", NO_COLOR="1")
    return env


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(PROMO), *args], cwd=cwd, env=run_env(), capture_output=True, text=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def ledger(project: Path) -> dict[str, int]:
    with closing(sqlite3.connect(project / ".promo" / "promo.db")) as db:
        return dict(db.execute("SELECT status, count(*) FROM posts GROUP BY status").fetchall())


def wait_until(check, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_promo_run_publishes_nothing_until_approved_then_each_post_once(tmp_path: Path) -> None:
    assert cli(tmp_path, "init", "x").returncode == 0
    project = tmp_path / "x"
    campaign = project / "campaign.yaml"
    text = campaign.read_text(encoding="utf-8")
    premiere = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=10)  # the three posts: 8 to 10 s ahead
    text = re.sub(r"at: \d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", f"at: {premiere.isoformat()}", text, count=1)
    text = text.replace("at: premiere - 2m", "at: premiere - 2s").replace("at: premiere - 1m", "at: premiere - 1s")
    campaign.write_text(text.replace("\ndefaults:\n", "\napproval: {required: true}\n\ndefaults:\n", 1),
                        encoding="utf-8")
    assert cli(project, "apply", "campaign.yaml", "--yes").returncode == 0
    assert ledger(project) == {"awaiting_approval": 3}
    outbox = project / ".promo" / "outbox.jsonl"
    log = (project / "run.log").open("wb")
    runner = subprocess.Popen([str(PROMO), "run"], cwd=project, env=run_env(), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        assert wait_until(lambda: "promo run" in (project / "run.log").read_text(errors="replace"), 30)
        time.sleep(max(0.0, (premiere - datetime.now(UTC)).total_seconds()) + 5)  # all due, the dispatcher ran
        assert not outbox.exists() and ledger(project) == {"awaiting_approval": 3}
        approved = cli(project, "approve", "night-harbor-s1", "--as", ALICE)
        assert approved.returncode == 0 and approved.stdout.count(": scheduled") == 3, approved.stdout
        assert wait_until(lambda: ledger(project) == {"published": 3}, 90), ledger(project)
        time.sleep(2)  # nothing more goes out
    finally:
        os.killpg(runner.pid, signal.SIGINT)
        try:
            runner.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait(5)
        log.close()
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert len(lines) == 3 and len({line["idempotency_key"] for line in lines}) == 3, lines
