"""promo.manage.posts on a real ledger: list, show, cancel, reschedule, ad hoc posts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, update

from promo.accounts import Account
from promo.errors import ConfigError, NotFound, PostInvalid, TransitionRefused
from promo.manage.posts import (
    cancel,
    create_adhoc,
    get_post,
    list_posts,
    post_zone,
    queue_posts,
    reschedule,
)
from promo.planning.apply import apply_plan as apply
from promo.planning.late_posts import late_warnings
from promo.planning.plan import plan
from promo.settings import Settings
from promo.store import states
from promo.store.db import transaction
from promo.store.ledger import transition
from promo.store.tables import PostRow
from promo.times import utcnow, zone
from tests.store.storekit import PREMIERE, campaign, event_count

X = Account("jj-x", "x", options={"handle": "JessicaJones"})


@pytest.fixture
def queued(engine: Engine) -> Engine:
    apply(engine, plan(engine, *campaign({"premiere": (PREMIERE, "Tonight"),
                                          "countdown": (PREMIERE - timedelta(days=3), "3 days")})))
    return engine


def test_list_filters_and_orders_by_due_time(queued: Engine) -> None:
    posts = list_posts(queued)
    assert [p.announcement for p in posts][:2] == ["countdown", "countdown"]
    assert {p.account for p in list_posts(queued, account="jj-x")} == {"jj-x"}
    assert list_posts(queued, campaign="other") == []
    assert len(list_posts(queued, status=[states.SCHEDULED], limit=3)) == 3
    with pytest.raises(ConfigError, match="unknown status"):
        list_posts(queued, status="sent")


def test_cancel_fences_out_a_queued_publish(queued: Engine) -> None:
    post = list_posts(queued)[0]
    with transaction(queued) as session:
        transition(session, post.id, [states.SCHEDULED], states.QUEUED, action="claimed", actor="test",
                   new_attempt_id="a1")
    assert cancel(queued, post.id, actor="tester").status == states.CANCELLED
    with transaction(queued) as session:  # the worker's start finds nothing to claim
        assert not transition(session, post.id, [states.QUEUED], states.PUBLISHING, action="started",
                              actor="worker", attempt_id="a1")
    with pytest.raises(TransitionRefused, match="is cancelled; cannot cancel"):
        cancel(queued, post.id)
    with pytest.raises(NotFound):
        cancel(queued, 10**6)
    detail = get_post(queued, post.id)
    assert [(e.action, e.to_status) for e in detail.events] == [
        ("created", "scheduled"), ("claimed", "queued"), ("cancelled", "cancelled")]
    assert detail.view.reason == "cancelled by tester"


def test_reschedule_keeps_the_embargo_and_refuses_sent_posts(queued: Engine) -> None:
    first, second = list_posts(queued)[:2]
    embargo = PREMIERE + timedelta(days=10)
    with transaction(queued) as session:
        session.execute(update(PostRow).where(PostRow.id == first.id).values(not_before=embargo))
    moved = reschedule(queued, first.id, PREMIERE + timedelta(days=1))
    assert moved.scheduled_at == PREMIERE + timedelta(days=1) and moved.due_at == embargo
    with transaction(queued) as session:
        for start, target in ((states.SCHEDULED, states.QUEUED), (states.QUEUED, states.PUBLISHING),
                              (states.PUBLISHING, states.PUBLISHED)):
            assert transition(session, second.id, [start], target, action=target, actor="t")
    with pytest.raises(TransitionRefused, match="is published; cannot reschedule"):
        reschedule(queued, second.id, PREMIERE)
    with pytest.raises(NotFound):
        get_post(queued, 10**6)


def test_a_manual_reschedule_shows_in_the_next_plan(queued: Engine) -> None:
    post = list_posts(queued, account="jj-x")[0]
    reschedule(queued, post.id, PREMIERE + timedelta(days=30))
    again = plan(queued, *campaign({"premiere": (PREMIERE, "Tonight"),
                                    "countdown": (PREMIERE - timedelta(days=3), "3 days")}))
    assert [e.post_id for e in again.by_action("changed")] == [post.id]


def test_ad_hoc_posts_are_checked_first(engine: Engine) -> None:
    at = utcnow() + timedelta(hours=2)
    made = create_adhoc(engine, X, "Jessica Jones season 3 is out now", at)
    assert (made.campaign, made.announcement, made.status, made.scheduled_at) == (None, None, "scheduled", at)
    with transaction(engine) as session:
        row = session.scalars(select(PostRow)).one()
        assert row.idempotency_key.startswith("promo-") and row.kind == "adhoc"
    before = event_count(engine)
    with pytest.raises(PostInvalid, match="280"):
        create_adhoc(engine, X, "a" * 300, at)
    assert event_count(engine) == before and len(list_posts(engine)) == 1


def test_queue_lists_upcoming_first_and_history_only_when_asked(queued: Engine) -> None:
    posts = list_posts(queued)
    cancel(queued, posts[0].id)
    page = queue_posts(queued)
    assert page.total == len(posts) - 1 and posts[0].id not in {p.id for p in page.posts}
    everything = queue_posts(queued, history=True, limit=2)
    assert everything.total == len(posts) and [p.status for p in everything.posts] == ["scheduled"] * 2
    assert queue_posts(queued, history=True).posts[-1].id == posts[0].id
    assert [p.id for p in queue_posts(queued, status="cancelled").posts] == [posts[0].id]


def test_a_post_zone_is_its_campaign_zone_else_its_account_zone(queued: Engine, engine: Engine) -> None:
    post = list_posts(queued)[0]
    assert post_zone(queued, post.id, lambda name: zone("Europe/Paris")).key == "America/Los_Angeles"
    adhoc = create_adhoc(queued, X, "Out now", utcnow() + timedelta(hours=1))
    assert post_zone(queued, adhoc.id, lambda name: zone(f"Europe/{'Paris' if name == 'jj-x' else 'Oslo'}")).key \
        == "Europe/Paris"
    with pytest.raises(NotFound, match="'promo queue"):
        post_zone(queued, 10**6, lambda name: zone("UTC"))


def test_late_warnings_say_what_will_happen(engine: Engine) -> None:
    now = PREMIERE + timedelta(hours=1)
    planned = plan(engine, *campaign({"premiere": (PREMIERE, "Tonight"),
                                      "countdown": (PREMIERE - timedelta(days=3), "3 days"),
                                      "later": (PREMIERE + timedelta(days=1), "Tomorrow")}))
    lines = late_warnings(planned, {"jj-x": X}, Settings(_env_file=None), now)  # type: ignore[call-arg]
    assert lines == [  # one line per announcement and fate, naming its accounts (jj-x and jj-masto)
        "premiere for jj-x and jj-masto: 2019-06-14 00:01 -07:00 is already past (1.0 hours late, 6.0 hours "
        "allowed); they go out as soon as the engine runs",
        "countdown for jj-x and jj-masto: 2019-06-11 00:01 -07:00 is already past (3.0 days late, 6.0 hours "
        "allowed); they will be held for a person, not sent"]
    one_account = plan(engine, *campaign({"premiere": (PREMIERE, "Tonight")}, accounts=("jj-x",)))
    assert late_warnings(one_account, {"jj-x": X}, Settings(_env_file=None), now) == [  # type: ignore[call-arg]
        "premiere for jj-x: 2019-06-14 00:01 -07:00 is already past (1.0 hours late, 6.0 hours allowed); "
        "it goes out as soon as the engine runs"]
