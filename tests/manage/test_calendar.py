"""promo.manage.calendar on a real ledger (SQLite and PostgreSQL): posts placed on their local days in
their campaign's zone, the feed parsed back with icalendar at its wall-clock times across a DST
change, and UIDs that survive re-applying, rescheduling, cancelling and re-creating a post."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import Engine

from promo.accounts import Account
from promo.errors import ConfigError
from promo.manage.calendar import ics_feed, read_calendar, week_of
from promo.manage.posts import cancel, create_adhoc, list_posts, reschedule
from promo.planning.apply import apply_plan as apply
from promo.planning.plan import plan
from promo.posts import Post, ScheduledPost
from promo.times import utcnow, zone
from tests.store.storekit import LA, FakeAnnouncement, FakeCampaign, campaign, walk

UTC_ZONE = zone("UTC")
PARIS = zone("Europe/Paris")
# Either side of the March 2027 change in Los Angeles (Sunday March 14: -08:00 becomes -07:00).
BEFORE_DST = datetime(2027, 3, 12, 18, 0, tzinfo=LA)
AFTER_DST = datetime(2027, 3, 16, 18, 0, tzinfo=LA)
TEXTS = {"before": (BEFORE_DST, "Friday night"), "after": (AFTER_DST, "Tuesday night https://example.com/a")}


@pytest.fixture
def dst(engine: Engine) -> Engine:
    apply(engine, plan(engine, *campaign(TEXTS)))
    return engine


def events(feed: bytes) -> dict[str, Any]:
    parsed = Calendar.from_ical(feed)
    return {str(event["UID"]): event for event in parsed.walk("VEVENT")}


def test_the_feed_keeps_wall_clock_times_across_the_dst_change(dst: Engine) -> None:
    feed = ics_feed(dst, default_zone=UTC_ZONE)
    found = events(feed.data)
    assert set(found) == {"jessica-jones-s3/before@promo", "jessica-jones-s3/after@promo"}
    for uid, local in (("jessica-jones-s3/before@promo", BEFORE_DST), ("jessica-jones-s3/after@promo", AFTER_DST)):
        start = found[uid].decoded("DTSTART")
        assert start.tzinfo.key == "America/Los_Angeles"
        assert (start.hour, start.minute, start.date()) == (18, 0, local.date())
        assert start == local
    offsets = {found[uid].decoded("DTSTART").utcoffset() for uid in found}
    assert offsets == {timedelta(hours=-8), timedelta(hours=-7)}
    raw = feed.data.decode()
    assert "DTSTART;TZID=America/Los_Angeles:20270312T180000" in raw
    assert "DTSTART;TZID=America/Los_Angeles:20270316T180000" in raw
    timezones = Calendar.from_ical(feed.data).walk("VTIMEZONE")
    assert [str(tz["TZID"]) for tz in timezones] == ["America/Los_Angeles"]
    assert feed.zones == ("America/Los_Angeles",) and (feed.events, feed.posts) == (2, 4)


def test_an_announcement_event_lists_each_account_and_its_state(dst: Engine) -> None:
    first = next(p for p in list_posts(dst) if p.announcement == "before" and p.account == "jj-x")
    walk(dst, first.id, "queued", "publishing", "published", platform_id="1", url="https://x.test/1")
    event = events(ics_feed(dst, default_zone=UTC_ZONE).data)["jessica-jones-s3/before@promo"]
    description = str(event["DESCRIPTION"])
    assert "jj-x (x): published, 2027-03-12 18:00 -08:00 https://x.test/1" in description
    assert "jj-masto (mastodon): scheduled, 2027-03-12 18:00 -08:00" in description
    assert str(event["SUMMARY"]) == "jessica-jones-s3: before (1 scheduled, 1 published)"
    assert str(event["STATUS"]) == "CONFIRMED" and str(event["TRANSP"]) == "TRANSPARENT"
    per_post = events(ics_feed(dst, default_zone=UTC_ZONE, per_post=True).data)
    assert len(per_post) == 4
    assert str(per_post["jessica-jones-s3/before/jj-x@promo"]["URL"]) == "https://x.test/1"


def test_uids_survive_reapply_reschedule_cancel_and_recreation(dst: Engine) -> None:
    first = events(ics_feed(dst, default_zone=UTC_ZONE, per_post=True).data)
    assert {int(e["SEQUENCE"]) for e in first.values()} == {0}
    apply(dst, plan(dst, *campaign(TEXTS)))  # nothing changed: the same feed, to the byte
    assert ics_feed(dst, default_zone=UTC_ZONE, per_post=True).data == ics_feed(
        dst, default_zone=UTC_ZONE, per_post=True).data
    post = next(p for p in list_posts(dst) if p.announcement == "after" and p.account == "jj-masto")
    reschedule(dst, post.id, AFTER_DST + timedelta(hours=1))
    cancel(dst, next(p.id for p in list_posts(dst) if p.announcement == "before" and p.account == "jj-x"))
    edited = {**TEXTS, "before": (BEFORE_DST, "Friday night, edited")}
    # re-creates the cancelled post (generation 1) and moves "after" back
    apply(dst, plan(dst, *campaign(edited)), now=utcnow() + timedelta(minutes=5))
    again = events(ics_feed(dst, default_zone=UTC_ZONE, per_post=True).data)
    assert set(again) == set(first)
    moved, recreated = again["jessica-jones-s3/after/jj-masto@promo"], again["jessica-jones-s3/before/jj-x@promo"]
    assert int(moved["SEQUENCE"]) == 2 and moved.decoded("DTSTART") == AFTER_DST  # rescheduled, then re-applied
    assert int(recreated["SEQUENCE"]) == 2 and str(recreated["STATUS"]) == "CONFIRMED"  # cancelled, re-created
    assert moved.decoded("LAST-MODIFIED") > first["jessica-jones-s3/after/jj-masto@promo"].decoded("LAST-MODIFIED")
    announcements = events(ics_feed(dst, default_zone=UTC_ZONE).data)
    assert set(announcements) == {"jessica-jones-s3/before@promo", "jessica-jones-s3/after@promo"}
    assert int(announcements["jessica-jones-s3/before@promo"]["SEQUENCE"]) == 3  # 2 for jj-x, 1 for the edit


def test_a_cancelled_post_stays_in_the_feed_as_cancelled(dst: Engine) -> None:
    for post in list_posts(dst):
        if post.announcement == "before":
            cancel(dst, post.id)
    event = events(ics_feed(dst, default_zone=UTC_ZONE).data)["jessica-jones-s3/before@promo"]
    assert str(event["STATUS"]) == "CANCELLED" and "2 cancelled" in str(event["SUMMARY"])


def test_dates_filter_by_each_posts_own_day(dst: Engine) -> None:
    only_after = ics_feed(dst, default_zone=UTC_ZONE, since=date(2027, 3, 16))
    assert set(events(only_after.data)) == {"jessica-jones-s3/after@promo"}
    # 18:00 on March 12 in Los Angeles is already March 13 in UTC: the post's own day counts
    only_before = ics_feed(dst, default_zone=UTC_ZONE, until=date(2027, 3, 12))
    assert set(events(only_before.data)) == {"jessica-jones-s3/before@promo"}
    assert ics_feed(dst, default_zone=UTC_ZONE, since=date(2027, 3, 13), until=date(2027, 3, 15)).events == 0


def test_the_week_is_in_the_campaigns_zone(dst: Engine) -> None:
    view = read_calendar(dst, start=date(2027, 3, 17), default_zone=UTC_ZONE)
    assert (view.first, view.last, view.zone.key) == (date(2027, 3, 15), date(2027, 3, 21), "America/Los_Angeles")
    assert view.zone_source == "campaign jessica-jones-s3"
    tuesday = view.days[1]
    assert tuesday.day == date(2027, 3, 16) and [e.announcement for e in tuesday.entries] == ["after"]
    entry = tuesday.entries[0]
    assert f"{entry.at:%H:%M}" == "18:00" and [p.account for p in entry.posts] == ["jj-x", "jj-masto"]
    month = read_calendar(dst, span="month", start=date(2027, 3, 31), default_zone=UTC_ZONE, account="jj-x")
    assert (month.first, month.last, len(month.days)) == (date(2027, 3, 1), date(2027, 3, 31), 31)
    assert [f"{e.at:%m-%d %H:%M}" for d in month.days for e in d.entries] == ["03-12 18:00", "03-16 18:00"]
    assert month.to_dict()["posts"] == 2


def test_campaigns_in_different_zones_are_shown_in_the_configured_one(dst: Engine) -> None:
    paris = FakeCampaign(id="paris", timezone="Europe/Paris",
                         announcements=(FakeAnnouncement("launch", "premiere", {}, AFTER_DST),))
    apply(dst, plan(dst, paris, [ScheduledPost("paris", "launch", "premiere", Post.single("x", "jj-x", "Bonsoir"),
                                               AFTER_DST)]))
    create_adhoc(dst, Account("out", "outbox"), "ad hoc", AFTER_DST)
    view = read_calendar(dst, start=date(2027, 3, 17), default_zone=PARIS)
    assert view.zone.key == "Europe/Paris" and view.zone_source == "settings: campaigns in different zones"
    wednesday = view.days[2]  # 18:00 in Los Angeles on Tuesday is 02:00 on Wednesday in Paris
    assert [(f"{e.at:%H:%M}", e.campaign, e.announcement) for e in wednesday.entries] == [
        ("02:00", "jessica-jones-s3", "after"), ("02:00", "paris", "launch"), ("02:00", None, None)]
    alone = read_calendar(dst, start=date(2027, 3, 17), campaign="paris", default_zone=UTC_ZONE)
    assert (alone.zone.key, alone.zone_source) == ("Europe/Paris", "campaign paris")
    adhoc = [e for e in events(ics_feed(dst, default_zone=PARIS).data) if e.startswith("adhoc/")]
    assert len(adhoc) == 1


def test_unknown_names_are_refused(dst: Engine) -> None:
    with pytest.raises(ConfigError, match="unknown campaign 'nosuch' \\(known: jessica-jones-s3;"):
        read_calendar(dst, campaign="nosuch", default_zone=UTC_ZONE)
    with pytest.raises(ConfigError, match="unknown account 'nobody'"):
        ics_feed(dst, account="nobody", default_zone=UTC_ZONE)
    configured = read_calendar(dst, account="jj-new", accounts={"jj-new"}, default_zone=UTC_ZONE)
    assert sum(day.posts for day in configured.days) == 0


def test_the_week_starts_on_monday() -> None:
    assert week_of(date(2027, 3, 14)) == date(2027, 3, 8)
    assert week_of(date(2027, 3, 15)) == date(2027, 3, 15)
