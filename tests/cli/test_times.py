"""Times a person types are read in the zone of what they are about and echoed with its offset, across
DST changes; the past needs --allow-past; apply warns before writing; status shows the configured zone."""

from __future__ import annotations

from pathlib import Path

import pytest

from promo.store.db import make_engine, transaction
from promo.store.ledger import transition
from tests.cli.conftest import CAMPAIGN, Promo, dump, one_line_error


@pytest.fixture
def store_url(sqlite_url: str) -> str:
    return sqlite_url


def first_post(promo: Promo, account: str = "jj-x") -> int:
    assert promo("apply", CAMPAIGN, "--yes").code == 0
    return int(promo("queue", "--account", account, "--json").json[0]["id"])


@pytest.mark.parametrize(("typed", "stored", "shown"), [
    ("2027-03-14 01:30", "2027-03-14T01:30:00-08:00", "2027-03-14 01:30 -08:00"),   # before spring forward
    ("2027-03-14 03:30", "2027-03-14T03:30:00-07:00", "2027-03-14 03:30 -07:00"),   # after it
    ("2027-11-07 01:30", "2027-11-07T01:30:00-07:00", "2027-11-07 01:30 -07:00"),   # the repeated hour: first
    ("2027-11-07 03:00", "2027-11-07T03:00:00-08:00", "2027-11-07 03:00 -08:00"),   # after fall back
    ("2027-11-07T10:00:00Z", "2027-11-07T02:00:00-08:00", "2027-11-07 02:00 -08:00"),  # an offset is kept
])
def test_reschedule_reads_the_campaign_zone_across_dst(promo: Promo, monkeypatch: pytest.MonkeyPatch,
                                                       typed: str, stored: str, shown: str) -> None:
    monkeypatch.setenv("PROMO_TIMEZONE", "Asia/Tokyo")  # not the campaign's zone: must not be used
    post = first_post(promo)
    ran = promo("reschedule", str(post), "--at", typed)
    assert ran.code == 0, ran.err
    assert ran.out == f"post {post} scheduled for {shown} (America/Los_Angeles)\n"
    assert promo("show", str(post), "--json").json["scheduled_at"] == stored


def test_a_wall_time_the_clocks_skip_is_refused(promo: Promo, store_url: str) -> None:
    post = first_post(promo)
    before = dump(store_url)
    one_line_error(promo("reschedule", str(post), "--at", "2027-03-14 02:30"), 1,
                   "2027-03-14 02:30 does not exist in America/Los_Angeles")
    assert dump(store_url) == before


def test_an_ad_hoc_post_is_read_in_its_account_zone(promo: Promo, project: Path) -> None:
    config = project / "promo.toml"
    config.write_text(config.read_text().replace('max_characters = 500',
                                                 'max_characters = 500\ntimezone = "Europe/Paris"'))
    made = promo("post", "-a", "jj-mastodon", "--at", "2027-03-28 09:00", "Out now", "--json")
    assert made.code == 0, made.err
    assert made.json["scheduled_at"] == "2027-03-28T09:00:00+02:00"  # Paris changed to summer time that night
    post = made.json["id"]
    moved = promo("reschedule", str(post), "--at", "2027-03-27 09:00")
    assert moved.out == f"post {post} scheduled for 2027-03-27 09:00 +01:00 (Europe/Paris)\n"
    assert "2027-03-27 09:00 +01:00" in promo("queue").out
    other = promo("post", "-a", "jj-x", "--at", "2027-03-28 09:00", "Out now", "--json")
    assert other.json["scheduled_at"] == "2027-03-28T09:00:00+00:00"  # no zone: the settings' (UTC)


def test_an_account_zone_must_be_a_real_zone(promo: Promo, project: Path) -> None:
    config = project / "promo.toml"
    config.write_text(config.read_text().replace('max_characters = 500',
                                                 'max_characters = 500\ntimezone = "Mars/Phobos"'))
    one_line_error(promo("accounts"), 1, "[accounts.jj-mastodon]: timezone: unknown IANA timezone 'Mars/Phobos'")


def test_apply_warns_about_late_posts_and_missing_credentials(promo: Promo, project: Path, store_url: str) -> None:
    seed = project / CAMPAIGN
    seed.write_text(seed.read_text().replace("2027-06-14", "2026-01-14"))  # the premiere is past: so is all else
    dry = promo("apply", CAMPAIGN, "--dry-run", "--json")
    warnings = dry.json["warnings"]
    assert any(w.startswith("premiere for jj-x, ") and ": 2026-01-14 00:01 -08:00 is already past" in w and
               "held for a person" in w for w in warnings)  # one line per announcement, naming a few accounts
    assert any("account jj-x (x): credentials missing, set PROMO_ACCOUNT_JJ_X_API_KEY" in w for w in warnings)
    assert not any(w.startswith("account jj-outbox") for w in warnings)  # the outbox needs no credential
    ran = promo("apply", CAMPAIGN, "--yes")
    lines = ran.err.splitlines()
    assert ran.code == 0 and lines and all(line.startswith("warning: ") for line in lines)
    credentials = [w for w in warnings if w.startswith("account ")]  # --json has every late line, text a few
    assert lines[-len(credentials):] == [f"warning: {w}" for w in credentials] and "applied: " in ran.out
    assert dump(store_url)[0]


def test_status_shows_the_configured_zone(promo: Promo, store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    post = first_post(promo)
    engine = make_engine(store_url)
    reason = "x refused the credentials; set PROMO_ACCOUNT_JJ_X_ACCESS_TOKEN_SECRET, then 'promo retry'"
    with transaction(engine) as session:
        assert transition(session, post, ["scheduled"], "queued", action="claimed", actor="t", new_attempt_id="a1")
        assert transition(session, post, ["queued"], "publishing", action="publishing", actor="t", attempt_id="a1")
        assert transition(session, post, ["publishing"], "failed", action="failed", actor="worker-1",
                          attempt_id="a1", reason=reason)
    engine.dispose()
    monkeypatch.setenv("PROMO_TIMEZONE", "America/New_York")
    ran = promo("status")
    line = next(line for line in ran.out.splitlines() if line.startswith(f"  #{post} failed"))
    assert ran.code == 3 and " -04:00  " in line and line.endswith(reason)  # 3: posts wait, no worker is alive
    attention = promo("status", "--json").json["attention"]
    assert attention[0]["scheduled_at"].endswith("-04:00")
    shown = promo("show", str(post)).out
    assert f"attempt 1 failed: {reason}  by worker-1" in shown and "failed -> failed" not in shown
