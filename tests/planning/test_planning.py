"""plan / apply against a real ledger: created, unchanged, changed, cancelled, locked; one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from promo.errors import CampaignError, PromoError
from promo.planning.apply import apply_plan as apply
from promo.planning.plan import plan
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.tables import Announcement, Campaign, Event, PostRow
from promo.times import from_storage, utcnow
from tests.store.storekit import PREMIERE, campaign, event_count, walk

FILE = {"premiere": (PREMIERE, "Jessica Jones season 3 premieres tonight"),
        "countdown": (PREMIERE - timedelta(days=3), "3 days to Jessica Jones season 3")}


def rows(engine: Engine) -> list[PostRow]:
    with transaction(engine) as session:
        return list(session.scalars(select(PostRow).order_by(PostRow.id)))


def applied(engine: Engine, texts=FILE, **kwargs):  # type: ignore[no-untyped-def]
    return apply(engine, plan(engine, *campaign(texts, **kwargs)))


def test_first_apply_creates_every_post(engine: Engine) -> None:
    first = plan(engine, *campaign(FILE))
    assert first.summary() == "4 new, 0 changed, 0 cancelled, 0 unchanged"
    result = apply(engine, first)
    created = rows(engine)
    assert [r.status for r in created] == [states.SCHEDULED] * 4
    assert all(r.idempotency_key.startswith("promo-") for r in created)
    assert {e.post_id for e in result.by_action("created")} == {r.id for r in created}
    assert len({r.idempotency_key for r in created}) == 4
    with transaction(engine) as session:
        actions = list(session.scalars(select(Event.action).order_by(Event.id)))
        stored = session.get(Campaign, "jessica-jones-s3")
        announcements = list(session.scalars(select(Announcement.key).order_by(Announcement.key)))
    assert actions == ["created"] * 4 + ["applied"]
    assert stored is not None and stored.digest == "d1"
    assert announcements == ["countdown", "premiere"]


def test_applying_the_same_file_twice_writes_nothing(engine: Engine) -> None:
    applied(engine)
    before = event_count(engine), [(r.id, r.updated_at) for r in rows(engine)]
    again = plan(engine, *campaign(FILE))
    assert again.summary() == "0 new, 0 changed, 0 cancelled, 4 unchanged"
    assert not again.writes
    assert apply(engine, again).wrote is False
    assert (event_count(engine), [(r.id, r.updated_at) for r in rows(engine)]) == before


def test_moving_the_premiere_a_week_shows_exactly_which_posts_move(engine: Engine) -> None:
    applied(engine)
    keys = {r.id: r.idempotency_key for r in rows(engine)}
    moved = dict(FILE, premiere=(PREMIERE + timedelta(weeks=1), FILE["premiere"][1]))
    edit = plan(engine, *campaign(moved))
    assert edit.summary() == "0 new, 2 changed, 0 cancelled, 2 unchanged"
    assert {e.announcement for e in edit.by_action("changed")} == {"premiere"}
    moved_by = "time 2019-06-14 00:01 -07:00 -> 2019-06-21 00:01 -07:00"
    assert edit.by_action("changed")[0].changes == (moved_by,)
    apply(engine, edit)
    after = rows(engine)
    assert {r.id: r.idempotency_key for r in after} == keys
    premiere = [r for r in after if r.announcement == "premiere"]
    assert all(from_storage(r.due_at) == PREMIERE + timedelta(weeks=1) for r in premiere)
    assert plan(engine, *campaign(moved)).summary() == "0 new, 0 changed, 0 cancelled, 4 unchanged"


def test_a_text_edit_is_named(engine: Engine) -> None:
    applied(engine)
    edited = dict(FILE, countdown=(FILE["countdown"][0], "Three days to go"))
    changes = {e.changes for e in plan(engine, *campaign(edited)).by_action("changed")}
    assert changes == {("text",)}
    apply(engine, plan(engine, *campaign(edited)))
    assert {r.payload["parts"][0]["text"] for r in rows(engine) if r.announcement == "countdown"} == {
        "Three days to go"}


def test_removing_an_announcement_cancels_its_unpublished_posts(engine: Engine) -> None:
    applied(engine)
    only = {"premiere": FILE["premiere"]}
    removal = plan(engine, *campaign(only, digest="d2"))
    assert removal.summary() == "0 new, 0 changed, 2 cancelled, 2 unchanged"
    assert {e.reason for e in removal.by_action("cancelled")} == {"announcement removed"}
    apply(engine, removal)
    assert {r.announcement: r.status for r in rows(engine)} == {
        "premiere": "scheduled", "countdown": "cancelled"}
    with transaction(engine) as session:
        flags = dict(session.execute(select(Announcement.key, Announcement.removed)).all())
    assert flags == {"premiere": False, "countdown": True}
    assert not plan(engine, *campaign(only, digest="d2")).writes
    back = plan(engine, *campaign(FILE))
    assert back.summary() == "2 new, 0 changed, 0 cancelled, 2 unchanged"
    apply(engine, back)
    assert [r.status for r in rows(engine) if r.announcement == "countdown"] == ["cancelled"] * 2 + [
        "scheduled"] * 2


def test_dropping_an_account_cancels_its_posts(engine: Engine) -> None:
    applied(engine)
    dropped = plan(engine, *campaign(FILE, accounts=("jj-x",)))
    gone = {(e.account, e.reason) for e in dropped.by_action("cancelled")}
    assert gone == {("jj-masto", "account dropped")}
    apply(engine, dropped)
    assert {r.status for r in rows(engine) if r.account == "jj-masto"} == {"cancelled"}


def test_a_published_post_is_locked_and_never_requeued(engine: Engine) -> None:
    applied(engine)
    target = next(r for r in rows(engine) if r.announcement == "premiere" and r.account == "jj-x")
    walk(engine, target.id, states.QUEUED, states.PUBLISHING, states.PUBLISHED, platform_id="1",
         url="https://x.com/jj/status/1")
    edited = dict(FILE, premiere=(PREMIERE + timedelta(weeks=1), "Now a week later"))
    edit = plan(engine, *campaign(edited))
    locked = edit.by_action("locked")
    assert [(e.post_id, e.status) for e in locked] == [(target.id, "published")]
    assert locked[0].changes == ("time 2019-06-14 00:01 -07:00 -> 2019-06-21 00:01 -07:00", "text")
    apply(engine, edit)
    row = next(r for r in rows(engine) if r.id == target.id)
    assert (row.status, row.payload["parts"][0]["text"]) == ("published", FILE["premiere"][1])
    assert from_storage(row.scheduled_at) == PREMIERE
    events = event_count(engine)
    again = plan(engine, *campaign(edited))
    assert again.summary() == "0 new, 0 changed, 0 cancelled, 3 unchanged, 1 locked"
    apply(engine, again)
    assert event_count(engine) == events


def test_a_post_that_starts_publishing_after_the_plan_is_reported_locked(engine: Engine) -> None:
    applied(engine)
    edited = dict(FILE, premiere=(PREMIERE, "Edited at the last minute"))
    edit = plan(engine, *campaign(edited))
    racing = edit.by_action("changed")[0]
    assert racing.post_id is not None
    with transaction(engine) as session:
        transition(session, racing.post_id, [states.SCHEDULED], states.QUEUED, action="claimed",
                   actor="dispatcher", new_attempt_id="a1")
        transition(session, racing.post_id, [states.QUEUED], states.PUBLISHING, action="started",
                   actor="worker", attempt_id="a1")
    result = apply(engine, edit)
    assert [(e.post_id, e.status) for e in result.by_action("locked")] == [(racing.post_id, "publishing")]
    row = next(r for r in rows(engine) if r.id == racing.post_id)
    assert (row.status, row.payload["parts"][0]["text"]) == ("publishing", FILE["premiere"][1])
    assert len(result.by_action("changed")) == 1


@pytest.mark.parametrize(("path", "after"), [
    ((states.QUEUED,), states.SCHEDULED), ((states.QUEUED, states.PUBLISHING, states.FAILED), states.SCHEDULED),
    ((states.PAUSED,), states.PAUSED), ((states.HELD,), states.SCHEDULED)])
def test_an_edit_rearms_unsent_posts_sensibly(engine: Engine, path: tuple[str, ...], after: str) -> None:
    status = path[-1]
    future = utcnow() + timedelta(days=1)
    first = {"premiere": (future, "Soon")}
    applied(engine, first, accounts=("jj-x",))
    (row,) = rows(engine)
    walk(engine, row.id, *path, new_attempt_id="a1", reason="boom")
    apply(engine, plan(engine, *campaign({"premiere": (future, "Soon, edited")}, accounts=("jj-x",))))
    (edited,) = rows(engine)
    assert edited.status == after
    assert edited.payload["parts"][0]["text"] == "Soon, edited"
    if status == states.QUEUED:
        assert edited.attempt_id is None


def test_a_held_post_edited_to_a_past_time_stays_held(engine: Engine) -> None:
    past = {"premiere": (utcnow() - timedelta(hours=1), "Late")}
    applied(engine, past, accounts=("jj-x",))
    (row,) = rows(engine)
    with transaction(engine) as session:
        transition(session, row.id, [states.SCHEDULED], states.HELD, action="held", actor="test")
    apply(engine, plan(engine, *campaign({"premiere": (past["premiere"][0], "Late, edited")},
                                         accounts=("jj-x",))))
    assert rows(engine)[0].status == states.HELD


def test_a_cancel_by_a_person_sticks_until_the_post_is_edited(engine: Engine) -> None:
    applied(engine, accounts=("jj-x",))
    target = rows(engine)[0]
    with transaction(engine) as session:
        transition(session, target.id, [states.SCHEDULED], states.CANCELLED, action="cancelled",
                   actor="cli", reason="cancelled by a person")
    assert plan(engine, *campaign(FILE, accounts=("jj-x",))).summary() == (
        "0 new, 0 changed, 0 cancelled, 2 unchanged")
    edited = {k: (when, text + "!") for k, (when, text) in FILE.items()}
    edit = plan(engine, *campaign(edited, accounts=("jj-x",)))
    assert edit.summary() == "1 new, 1 changed, 0 cancelled, 0 unchanged"
    apply(engine, edit)
    assert len(rows(engine)) == 3


def test_apply_is_one_transaction(engine: Engine) -> None:
    applied(engine)
    before = [(r.id, r.status, r.digest) for r in rows(engine)], event_count(engine)
    grown = dict(FILE, premiere=(PREMIERE, "Edited"), finale=(PREMIERE + timedelta(days=7), "Finale"))
    pending = plan(engine, *campaign(grown, digest="d2"))
    last = pending.entries[-1]
    assert last.action == "created" and last.announcement == "finale"
    broken = replace(last, campaign="no-such-campaign")  # its row breaks a foreign key, after the others
    with pytest.raises(PromoError, match="nothing was written"):
        apply(engine, replace(pending, entries=(*pending.entries[:-1], broken)))
    assert ([(r.id, r.status, r.digest) for r in rows(engine)], event_count(engine)) == before
    with transaction(engine) as session:
        assert session.get(Campaign, "jessica-jones-s3").digest == "d1"  # type: ignore[union-attr]


def test_a_row_edited_meanwhile_is_not_overwritten(engine: Engine) -> None:
    applied(engine, accounts=("jj-x",))
    edit = plan(engine, *campaign(dict(FILE, premiere=(PREMIERE, "Edited")), accounts=("jj-x",)))
    target = edit.by_action("changed")[0].post_id
    with transaction(engine) as session:
        session.execute(update(PostRow).where(PostRow.id == target).values(digest="someone else"))
    result = apply(engine, edit)
    assert [e.post_id for e in result.by_action("locked")] == [target]


def test_two_posts_for_one_account_in_one_announcement_are_refused(engine: Engine) -> None:
    fake, posts = campaign(FILE, accounts=("jj-x",))
    with pytest.raises(CampaignError, match="two posts for account 'jj-x'"):
        plan(engine, fake, [*posts, posts[0]])
