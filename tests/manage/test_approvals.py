"""Approvals bound to the payload, on a real ledger (SQLite and PostgreSQL): plan/apply create posts
``awaiting_approval``, the dispatcher never claims them, ``approve`` releases them once enough
different approvers approved the exact payload, an edit holds them again, ``reject`` keeps them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from promo.engine.dispatch import dispatch
from promo.manage.approvals import NotAnApprover, Target, approve, reject, resolve_approver, review
from promo.manage.posts import cancel, reschedule
from promo.planning.apply import apply_plan
from promo.planning.plan import plan
from promo.posts import Post, ScheduledPost
from promo.store import states
from promo.store.approvals import Decision, Policy, standing
from promo.store.db import transaction
from promo.store.tables import Approval, Event, PostRow
from promo.times import utcnow, zone
from tests.engine.enginekit import settings_for
from tests.store.storekit import walk

LA = zone("America/Los_Angeles")
SOON = utcnow().replace(microsecond=0) + timedelta(hours=2)
ALICE, BOB, CAROL = "alice@studio.com", "bob@studio.com", "carol@studio.com"
TWO = Policy(approvers=(ALICE, BOB), min=2)
ONE = Policy(approvers=(ALICE, BOB), min=1)
CAMPAIGN = "jessica-jones-s3"


@dataclass(frozen=True)
class Item:
    key: str
    kind: str
    fields: Mapping[str, Any]
    scheduled_at: datetime
    approval: Policy | None = None


@dataclass(frozen=True)
class File:
    """What planning reads of a loaded campaign, with approval rules."""

    announcements: tuple[Item, ...]
    id: str = CAMPAIGN
    name: str = "Jessica Jones season 3"
    timezone: str = "America/Los_Angeles"
    source: str = "jj.yaml"
    digest: str = "d1"
    posts: list[ScheduledPost] = field(default_factory=list)


def campaign(texts: Mapping[str, tuple[datetime, str]], rule: Policy | None = TWO) -> File:
    items = tuple(Item(key, "generic", {}, when, rule) for key, (when, _) in texts.items())
    posts = [ScheduledPost(CAMPAIGN, key, "generic", Post.single("webhook", "hook", text), when)
             for key, (when, text) in texts.items()]
    return File(items, digest=str(hash((tuple(texts.items()), rule))), posts=posts)


FILE = {"premiere": (SOON, "Jessica Jones season 3 premieres tonight"),
        "countdown": (SOON - timedelta(minutes=30), "30 minutes to Jessica Jones season 3")}


def applied(engine: Engine, texts: Mapping[str, tuple[datetime, str]] = FILE, rule: Policy | None = TWO) -> Any:
    built = campaign(texts, rule)
    return apply_plan(engine, plan(engine, built, built.posts))


def statuses(engine: Engine) -> dict[str, str]:
    with transaction(engine) as session:
        return {row.announcement or "": row.status for row in session.scalars(select(PostRow))}


def post_id(engine: Engine, key: str) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(PostRow.id).where(PostRow.announcement == key)) or 0)


def dump(engine: Engine) -> tuple[list[Any], ...]:
    with transaction(engine) as session:
        return tuple([tuple(getattr(r, c.key) for c in table.__table__.columns) for r in session.scalars(select(table))]
                     for table in (PostRow, Event, Approval))


def test_posts_are_created_awaiting_approval_and_never_claimed(engine: Engine, tmp_path: Path,
                                                              database_url: str) -> None:
    result = applied(engine)
    assert all(entry.awaiting for entry in result.entries)
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.AWAITING}
    settings = settings_for(tmp_path, database_url)
    assert dispatch(engine, settings, {}, now=SOON + timedelta(hours=1)) == []
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.AWAITING}


def test_two_different_approvers_release_a_post_and_the_same_one_twice_counts_once(engine: Engine) -> None:
    applied(engine)
    first = approve(engine, Target(CAMPAIGN, "premiere"), ALICE, note="legal ok")
    assert [(o.status, o.approved, o.needed) for o in first] == [(states.AWAITING, (ALICE,), 2)]
    again = approve(engine, Target(CAMPAIGN, "premiere"), ALICE)
    assert again[0].already and again[0].status == states.AWAITING
    second = approve(engine, Target(CAMPAIGN, "premiere"), BOB)
    assert [(o.status, o.approved) for o in second] == [(states.SCHEDULED, (ALICE, BOB))]
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.AWAITING}
    with transaction(engine) as session:
        kept = list(session.scalars(select(Approval).order_by(Approval.id)))
        events = list(session.scalars(select(Event).where(Event.action == "approved").order_by(Event.id)))
    assert [(a.approver, a.decision, a.note) for a in kept] == [(ALICE, "approved", "legal ok"), (BOB, "approved", "")]
    assert kept[0].digest == kept[1].digest and len(kept[0].digest) == 64 and kept[0].at.tzinfo is not None
    assert [(e.from_status, e.to_status, e.detail["approver"]) for e in events] == [
        (None, None, ALICE), (states.AWAITING, states.SCHEDULED, BOB)]


def test_someone_not_on_the_list_is_refused_and_nothing_is_written(engine: Engine) -> None:
    applied(engine)
    approve(engine, Target(CAMPAIGN, "premiere"), ALICE)
    before = dump(engine)
    with pytest.raises(NotAnApprover, match=r"carol@studio\.com is not an approver of jessica-jones-s3/countdown"):
        approve(engine, Target(CAMPAIGN), CAROL)
    with pytest.raises(NotAnApprover):
        reject(engine, Target(post_id=post_id(engine, "premiere")), CAROL)
    assert dump(engine) == before


def test_an_edit_after_approval_holds_the_post_again_and_old_approvals_do_not_count(engine: Engine) -> None:
    applied(engine, rule=ONE)
    approve(engine, Target(CAMPAIGN), ALICE)
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}
    edited = dict(FILE, premiere=(SOON, "Jessica Jones season 3 is out now"))
    result = applied(engine, edited, rule=ONE)
    assert [e.changes for e in result.by_action("changed")] == [("text",)]
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.SCHEDULED}
    waiting = review(engine, CAMPAIGN)
    assert [w.post_id for w in waiting] == [post_id(engine, "premiere")]
    assert "-Jessica Jones season 3 premieres tonight" in waiting[0].diff
    assert "+Jessica Jones season 3 is out now" in waiting[0].diff
    assert waiting[0].last_approved is not None and waiting[0].last_approved.approver == ALICE
    approve(engine, Target(CAMPAIGN, "premiere"), BOB)
    assert statuses(engine)["premiere"] == states.SCHEDULED
    back = applied(engine, FILE, rule=ONE)  # the text alice approved: approved already
    assert statuses(engine)["premiere"] == states.SCHEDULED and back.by_action("changed")


def test_a_published_post_is_never_held_again(engine: Engine) -> None:
    applied(engine, rule=ONE)
    approve(engine, Target(CAMPAIGN), ALICE)
    walk(engine, post_id(engine, "premiere"), "queued", "publishing", "published", platform_id="1")
    result = applied(engine, dict(FILE, premiere=(SOON, "Edited after it went out")), rule=ONE)
    assert [e.action for e in result.entries if e.announcement == "premiere"] == ["locked"]
    assert statuses(engine)["premiere"] == states.PUBLISHED


def test_a_time_only_edit_keeps_the_approval_unless_the_rule_says_so(engine: Engine) -> None:
    applied(engine, rule=ONE)
    approve(engine, Target(CAMPAIGN), ALICE)
    later = {key: (when + timedelta(hours=1), text) for key, (when, text) in FILE.items()}
    applied(engine, later, rule=ONE)
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}
    strict = Policy(approvers=(ALICE, BOB), min=1, on_time_change=True)
    applied(engine, later, rule=strict)  # alice approved the text, not yet the times
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.AWAITING}
    approve(engine, Target(CAMPAIGN), BOB)
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}
    applied(engine, FILE, rule=strict)
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.AWAITING}
    applied(engine, later, rule=strict)  # back to the times bob approved
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}


def test_a_rule_added_holds_scheduled_posts_and_a_rule_removed_releases_them(engine: Engine) -> None:
    applied(engine, rule=None)
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}
    added = campaign(FILE, TWO)
    held = plan(engine, added, added.posts)
    assert {e.changes for e in held.by_action("changed")} == {(f"needs approval: {TWO.describe()}",)}
    apply_plan(engine, held)
    assert statuses(engine) == {"premiere": states.AWAITING, "countdown": states.AWAITING}
    applied(engine, rule=None)
    assert statuses(engine) == {"premiere": states.SCHEDULED, "countdown": states.SCHEDULED}


def test_a_rejection_keeps_the_post_waiting_until_the_same_person_approves(engine: Engine) -> None:
    applied(engine, rule=ONE)
    premiere = post_id(engine, "premiere")
    rejected = reject(engine, Target(post_id=premiere), BOB, note="the embargo moved")
    assert rejected[0].status == states.AWAITING
    approve(engine, Target(post_id=premiere), ALICE)
    assert statuses(engine)["premiere"] == states.AWAITING  # bob's rejection stands
    with transaction(engine) as session:
        reason = session.scalar(select(PostRow.reason).where(PostRow.id == premiere))
    assert reason is not None and reason.startswith("rejected by bob@studio.com: the embargo moved")
    (waiting,) = [item for item in review(engine) if item.post_id == premiere]
    assert [(d.approver, d.note) for d in waiting.rejected] == [(BOB, "the embargo moved")]
    assert waiting.approved == (ALICE,) and waiting.last_approved is not None and waiting.diff == ()
    approve(engine, Target(post_id=premiere), BOB)
    assert statuses(engine)["premiere"] == states.SCHEDULED


def test_rejecting_an_approved_post_takes_it_back_even_from_the_queue(engine: Engine) -> None:
    applied(engine, rule=ONE)
    approve(engine, Target(CAMPAIGN), ALICE)
    premiere = post_id(engine, "premiere")
    walk(engine, premiere, "queued", new_attempt_id="a1")
    reject(engine, Target(CAMPAIGN, "premiere"), ALICE, note="wrong date")
    with transaction(engine) as session:
        row = session.get(PostRow, premiere)
        assert row is not None and (row.status, row.attempt_id) == (states.AWAITING, None)
    assert cancel(engine, premiere).status == states.CANCELLED


def test_moving_a_post_by_hand_keeps_it_waiting_and_on_time_change_holds_it(engine: Engine) -> None:
    applied(engine, rule=ONE)
    premiere = post_id(engine, "premiere")
    assert reschedule(engine, premiere, SOON + timedelta(hours=3)).status == states.AWAITING
    strict = Policy(approvers=(ALICE,), min=1, on_time_change=True)
    applied(engine, rule=strict)
    approve(engine, Target(CAMPAIGN), ALICE)
    assert reschedule(engine, premiere, SOON + timedelta(hours=4)).status == states.AWAITING


def test_a_target_names_what_exists(engine: Engine) -> None:
    applied(engine)
    with pytest.raises(Exception, match="no campaign 'nope'"):
        approve(engine, Target("nope"), ALICE)
    with pytest.raises(Exception, match="has no announcement 'nope'"):
        approve(engine, Target(CAMPAIGN, "nope"), ALICE)
    with pytest.raises(Exception, match="no post with id 999"):
        approve(engine, Target(post_id=999), ALICE)
    assert approve(engine, Target(CAMPAIGN, "premiere"), ALICE)[0].needed == 2


# -- who approves ---------------------------------------------------------------------------------

def git_config(tmp_path: Path, email: str | None) -> dict[str, str]:
    """An environment whose git reads only ``tmp_path/gitconfig``."""
    config = tmp_path / "gitconfig"
    config.write_text("" if email is None else f"[user]\n\temail = {email}\n", encoding="utf-8")
    return {"GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(tmp_path)}


def test_the_approver_is_as_then_promo_user_then_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in git_config(tmp_path, "Carol@Studio.com").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert subprocess.run(["git", "config", "user.email"], capture_output=True, text=True).stdout.strip()
    assert resolve_approver(ALICE, {"PROMO_USER": BOB}) == ALICE
    assert resolve_approver(None, {"PROMO_USER": BOB}) == BOB
    assert resolve_approver(None, {}) == CAROL  # lower-cased
    assert resolve_approver("  ", {"PROMO_USER": ""}) == CAROL
    with pytest.raises(NotAnApprover, match="--as: 'alice' is not an email address"):
        resolve_approver("alice", {})


def test_no_git_email_or_no_git_says_to_pass_as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in git_config(tmp_path, None).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotAnApprover, match=r"git has no user.email: pass --as EMAIL \(or set PROMO_USER\)"):
        resolve_approver(None, {})
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert os.environ["PATH"] == str(tmp_path / "empty")
    with pytest.raises(NotAnApprover, match=r"git is not installed to read user\.email: pass --as EMAIL"):
        resolve_approver(None, {})


# -- counting, as a property ------------------------------------------------------------------------

PEOPLE = (ALICE, BOB, CAROL, "dan@studio.com")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(("approved", "rejected")),
                          st.sampled_from(("d1", "d2"))), max_size=12),
       st.lists(st.sampled_from(PEOPLE), unique=True, max_size=4), st.integers(1, 4))
def test_each_persons_latest_decision_on_the_digest_counts_once(decided: list[tuple[str, str, str]],
                                                                listed: list[str], minimum: int) -> None:
    rule = Policy(approvers=tuple(listed), min=minimum)
    found = [Decision(1, who, verdict, digest, {}, SOON, "", SOON) for who, verdict, digest in decided]
    stands = standing(rule, "d1", found)
    latest = {who: verdict for who, verdict, digest in decided if digest == "d1"}
    allowed = [who for who in latest if not listed or who in listed]
    assert sorted(stands.approved) == sorted(who for who in allowed if latest[who] == "approved")
    assert len(set(stands.approved)) == len(stands.approved)
    assert stands.satisfied == (len(stands.approved) >= minimum
                                and not any(latest[who] == "rejected" for who in allowed))
