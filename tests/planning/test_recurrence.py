"""Recurring announcements against a real ledger (SQLite and PostgreSQL): one row per occurrence inside
the horizon, DST-correct, extended by the beat's tick, re-planned on edit, published ones untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, update

from promo.accounts import Account, load_accounts
from promo.planning.apply import apply_plan
from promo.planning.campaign import plan_campaign_file
from promo.planning.recurrence import extend_recurrences
from promo.store import states
from promo.store.db import transaction
from promo.store.tables import PostRow
from promo.times import from_storage

REPO = Path(__file__).resolve().parents[2]
LA = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 2, 26, 12, 0, tzinfo=UTC)       # the day before the first Friday
HORIZON = timedelta(days=30)
WEEKLY = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0"
CAMPAIGN = """\
campaign: evergreen
timezone: America/Los_Angeles
accounts: [box]
announcements:
  - key: stream-now
    kind: generic
    at: 2026-02-27 18:00
    text: "Stream Jessica Jones season 3 now"
{repeat}{extra}"""


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, Account]]:
    (tmp_path / "promo.toml").write_text('[accounts.box]\nplatform = "outbox"\npath = "outbox.jsonl"\n')
    return tmp_path / "campaign.yaml", load_accounts(tmp_path / "promo.toml", environ={})


def write(path: Path, repeat: str | None, extra: str = "") -> Path:
    path.write_text(CAMPAIGN.format(repeat=f"    repeat: \"{repeat}\"\n" if repeat else "", extra=extra))
    return path


def apply(engine: Engine, project: tuple[Path, dict[str, Account]], now: datetime = NOW):  # type: ignore[no-untyped-def]
    path, accounts = project
    plan = plan_campaign_file(engine, path, accounts, REPO / "templates", now=now, horizon=HORIZON)
    return apply_plan(engine, plan, now=now)


def rows(engine: Engine) -> list[PostRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(PostRow).order_by(PostRow.scheduled_at, PostRow.id)))


def live(engine: Engine) -> list[PostRow]:
    return [r for r in rows(engine) if r.status != states.CANCELLED]


def local(row: PostRow) -> datetime:
    return from_storage(row.scheduled_at).astimezone(LA)


def test_weekly_rule_keeps_18_local_across_the_march_change_as_rows(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    write(project[0], WEEKLY)
    result = apply(engine, project)
    assert result.summary() == "5 new, 0 changed, 0 cancelled, 0 unchanged"
    found = live(engine)
    assert [local(r).strftime("%m-%d %H:%M") for r in found] == ["02-27 18:00", "03-06 18:00", "03-13 18:00",
                                                                 "03-20 18:00", "03-27 18:00"]
    assert [local(r).utcoffset() for r in found] == [timedelta(hours=-8)] * 2 + [timedelta(hours=-7)] * 3
    assert [r.announcement for r in found][2] == "stream-now@20260314T0100Z"
    assert len({r.idempotency_key for r in found}) == 5
    assert apply(engine, project).wrote is False


def test_a_year_long_weekly_rule_is_only_the_horizon(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    path = write(project[0], WEEKLY + ";UNTIL=20270226T000000Z")
    assert path.exists()
    apply(engine, project)
    assert len(live(engine)) == 5
    assert all(local(r) <= (NOW + HORIZON).astimezone(LA) for r in live(engine))


def test_the_beat_tick_extends_the_horizon(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    path, accounts = project
    write(path, WEEKLY)
    apply(engine, project)
    later = NOW + timedelta(days=14)
    done = extend_recurrences(engine, accounts, REPO / "templates", now=later, horizon=HORIZON)
    assert [(d.campaign, d.created) for d in done] == [("evergreen", 2)]
    assert [local(r).strftime("%m-%d") for r in live(engine)][-2:] == ["04-03", "04-10"]
    assert len(live(engine)) == 7   # the two past ones are kept, not cancelled
    again = extend_recurrences(engine, accounts, REPO / "templates", now=later, horizon=HORIZON)
    assert [(d.campaign, d.created, d.skipped) for d in again] == [("evergreen", 0, "")]


def test_the_tick_leaves_a_file_edited_since_apply_alone(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    path, accounts = project
    write(path, WEEKLY)
    apply(engine, project)
    write(path, WEEKLY.replace("FR", "SA"))
    done = extend_recurrences(engine, accounts, REPO / "templates", now=NOW + timedelta(days=14), horizon=HORIZON)
    assert done[0].created == 0 and "changed since the last apply" in done[0].skipped
    assert len(live(engine)) == 5


def publish_first(engine: Engine) -> PostRow:
    first = rows(engine)[0]
    with transaction(engine) as session:
        session.execute(update(PostRow).where(PostRow.id == first.id).values(status=states.PUBLISHED))
    return first


def test_editing_the_rule_replans_only_future_unsent_occurrences(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    write(project[0], WEEKLY)
    apply(engine, project)
    published = publish_first(engine)
    write(project[0], WEEKLY.replace("BYHOUR=18", "BYHOUR=17"))
    later = NOW + timedelta(days=2)   # the first Friday is past
    result = apply(engine, project, later)
    assert result.summary() == "4 new, 0 changed, 4 cancelled, 0 unchanged"
    kept = [r for r in live(engine) if r.status == states.PUBLISHED]
    assert [(r.id, r.digest) for r in kept] == [(published.id, published.digest)]
    assert [local(r).strftime("%m-%d %H:%M") for r in live(engine)][1:] == [
        "03-06 17:00", "03-13 17:00", "03-20 17:00", "03-27 17:00"]


def test_removing_the_rule_cancels_unsent_and_never_touches_published(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    write(project[0], WEEKLY)
    apply(engine, project)
    published = publish_first(engine)
    write(project[0], None)
    result = apply(engine, project, NOW + timedelta(days=2))
    assert len(result.by_action("cancelled")) == 4
    by_key = {r.announcement: r.status for r in rows(engine)}
    assert by_key[published.announcement] == states.PUBLISHED
    assert by_key["stream-now"] == states.SCHEDULED   # now a one-off post at its at:
    assert sorted(by_key.values()).count(states.CANCELLED) == 4


def test_variants_rotate_across_occurrence_rows(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    extra = '    variants: ["Stream it now", "Binge season 3 tonight", "On Netflix now"]\n'
    write(project[0], WEEKLY, extra)
    apply(engine, project)
    texts = [r.payload["parts"][0]["text"] if "parts" in r.payload else r.payload.get("text")
             for r in live(engine)]
    assert texts == ["Stream it now", "Binge season 3 tonight", "On Netflix now", "Stream it now",
                     "Binge season 3 tonight"]


def test_occurrences_under_approval_wait_for_it(engine: Engine, project) -> None:  # type: ignore[no-untyped-def]
    extra = "    approval: {required: true, approvers: [legal@example.com]}\n"
    write(project[0], WEEKLY, extra)
    apply(engine, project)
    assert {r.status for r in live(engine)} == {states.AWAITING}
