"""The calendar: the ledger's posts by day (``read_calendar``) and as an RFC 5545 feed (``ics_feed``).

Both read the store in one transaction and return plain data; ``promo calendar`` draws or writes it.

- A post is placed at its ``scheduled_at`` (the campaign's time), or a YouTube video uploaded ahead at
  the time YouTube makes it public (``public_time``), in its campaign's zone; an ad hoc
  post, which has none, in the configured zone (``default_zone``).
- A post's identity is its campaign, announcement and account, as the ledger keys it
  (``posts.generation`` counts the rows that replaced a cancelled one): only the newest row of an
  identity is shown, and its ``uid`` is built from the identity alone, so re-applying a campaign, or
  exporting it again, gives every event the UID it had (an ad hoc post: its idempotency key).
- ``revisions`` counts an identity's created, changed, rescheduled and cancelled events; a post's
  event has SEQUENCE that count less one (an announcement's: the sum over its posts), so it grows
  with every edit and a calendar re-importing the feed takes the newer copy.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from promo.errors import ConfigError
from promo.posts import payload_text
from promo.rules.youtube import publish_time, video_text
from promo.store import states
from promo.store.db import transaction
from promo.store.tables import Campaign, Event, PostRow
from promo.times import iso, zone

__all__ = ["CalendarDay", "CalendarEntry", "CalendarPost", "CalendarView", "IcsFeed", "ics_feed", "read_calendar",
           "week_of"]

Span = Literal["week", "month"]
EVENT_LENGTH = timedelta(minutes=15)    # how long a post's event lasts in a calendar (a post is an instant)
REVISIONS = ("created", "changed", "rescheduled", "cancelled")  # the actions that bump an event's SEQUENCE
UID_DOMAIN = "promo"
PRODID = "-//promo//promo calendar//EN"
REFRESH = "PT1H"                        # how often a subscribed calendar should fetch the feed again


@dataclass(frozen=True)
class CalendarPost:
    """One post as the calendar places it: ``at`` is its time in its own zone (``zone``)."""

    id: int
    uid: str
    campaign: str | None
    announcement: str | None
    account: str
    platform: str
    status: str
    at: datetime
    zone: str
    text: str
    url: str | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    revisions: int

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        return {"id": self.id, "uid": self.uid, "campaign": self.campaign, "announcement": self.announcement,
                "account": self.account, "platform": self.platform, "status": self.status,
                "at": iso(self.at.astimezone(tz) if tz else self.at), "zone": self.zone, "url": self.url}


@dataclass(frozen=True)
class CalendarEntry:
    """An announcement's posts at one time of one day, as the calendar's zone reads it."""

    at: datetime
    campaign: str | None
    announcement: str | None
    posts: tuple[CalendarPost, ...]

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"at": iso(self.at), "campaign": self.campaign, "announcement": self.announcement,
                "posts": [post.to_dict(tz) for post in self.posts]}


@dataclass(frozen=True)
class CalendarDay:
    day: date
    entries: tuple[CalendarEntry, ...]

    @property
    def posts(self) -> int:
        return sum(len(entry.posts) for entry in self.entries)


@dataclass(frozen=True)
class CalendarView:
    """A week or a month of posts, in ``zone`` (``zone_source`` says why that zone)."""

    span: Span
    zone: ZoneInfo
    zone_source: str
    first: date
    last: date
    days: tuple[CalendarDay, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"span": self.span, "zone": self.zone.key, "zone_source": self.zone_source,
                "from": self.first.isoformat(), "to": self.last.isoformat(),
                "posts": sum(day.posts for day in self.days),
                "days": [{"date": day.day.isoformat(), "weekday": f"{day.day:%a}",
                          "entries": [entry.to_dict(self.zone) for entry in day.entries]} for day in self.days]}


@dataclass(frozen=True)
class IcsFeed:
    """An RFC 5545 calendar (``data``) and what it holds."""

    data: bytes
    events: int
    posts: int
    zones: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "posts": self.posts, "zones": list(self.zones)}


# -- the terminal calendar -----------------------------------------------------------------------

def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def read_calendar(engine: Engine, *, span: Span = "week", start: date | None = None, campaign: str | None = None,
                  account: str | None = None, default_zone: ZoneInfo, accounts: Collection[str] | None = None,
                  today: date | None = None) -> CalendarView:
    """The week (Monday to Sunday) or month holding ``start`` (default: today in the calendar's zone).

    The zone is the campaign's when every campaign shown has the same one, else ``default_zone``.
    ConfigError for a campaign the store does not know, or an account neither configured
    (``accounts``) nor in the store.
    """
    with transaction(engine) as session:
        check_names(session, campaign, account, accounts)
        tz, source = _calendar_zone(session, campaign, account, default_zone)
        first, last = _window(span, start or today or datetime.now(tz).date())
        lower = datetime.combine(first, time(), tz).astimezone(UTC)
        upper = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
        posts = _read_posts(session, campaign, account, default_zone, lower, upper)
    days = [CalendarDay(first + timedelta(days=n), ()) for n in range((last - first).days + 1)]
    return CalendarView(span, tz, source, first, last, tuple(_fill(day, posts, tz) for day in days))


def _window(span: Span, start: date) -> tuple[date, date]:
    if span == "week":
        monday = week_of(start)
        return monday, monday + timedelta(days=6)
    first = start.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _fill(day: CalendarDay, posts: list[CalendarPost], tz: ZoneInfo) -> CalendarDay:
    """``day`` with its posts, one entry per announcement and time (ad hoc posts: one each)."""
    entries: dict[tuple[Any, ...], list[CalendarPost]] = {}
    for post in posts:
        local = post.at.astimezone(tz)
        if local.date() == day.day:
            adhoc = post.announcement is None  # after the campaigns' posts of the same minute
            key = (local, adhoc, post.campaign or "", post.announcement or "", post.id if adhoc else 0)
            entries.setdefault(key, []).append(post)
    return CalendarDay(day.day, tuple(
        CalendarEntry(key[0], found[0].campaign, found[0].announcement, tuple(found))
        for key, found in sorted(entries.items(), key=lambda item: item[0])))


def _calendar_zone(session: Session, campaign: str | None, account: str | None,
                   default_zone: ZoneInfo) -> tuple[ZoneInfo, str]:
    """The campaigns' zone if all campaigns in scope share one, else ``default_zone``; and why."""
    if campaign is not None:
        names = [campaign]
    else:
        query = select(PostRow.campaign_id).where(PostRow.campaign_id.is_not(None)).distinct()
        names = sorted(session.scalars(query.where(PostRow.account == account) if account else query))
    zones = {name for name in session.scalars(select(Campaign.timezone).where(Campaign.id.in_(names)))}
    if len(zones) == 1:
        with contextlib.suppress(ValueError):
            found = zone(zones.pop())
            return found, f"campaign {names[0]}" if len(names) == 1 else f"{len(names)} campaigns, one zone"
    return default_zone, "settings: campaigns in different zones" if len(zones) > 1 else "settings"


def check_names(session: Session, campaign: str | None, account: str | None,
                accounts: Collection[str] | None) -> None:
    """ConfigError, naming what is known, for an unknown campaign or account."""
    if campaign is not None:
        known = set(session.scalars(select(Campaign.id))) | _distinct(session, PostRow.campaign_id)
        _refuse_unknown("campaign", campaign, known, "'promo queue --all' lists them")
    if account is not None:
        known = set(accounts or ()) | _distinct(session, PostRow.account)
        _refuse_unknown("account", account, known, "'promo accounts' lists them")


def _distinct(session: Session, column: Any) -> set[str]:
    return {value for value in session.scalars(select(column).distinct()) if value}


def _refuse_unknown(kind: str, value: str, known: set[str], hint: str) -> None:
    if value not in known:
        listed = ", ".join(sorted(known)[:20]) or "none"
        raise ConfigError(f"unknown {kind} {value!r} (known: {listed}; {hint})")


# -- reading the posts ---------------------------------------------------------------------------

def _read_posts(session: Session, campaign: str | None, account: str | None, default_zone: ZoneInfo,
                lower: datetime | None = None, upper: datetime | None = None) -> list[CalendarPost]:
    """The newest row of every identity in scope, ``lower <= scheduled_at < upper``, by time then id."""
    newer = aliased(PostRow)
    superseded = (select(newer.id).where(newer.campaign_id == PostRow.campaign_id,
                                         newer.announcement == PostRow.announcement,
                                         newer.account == PostRow.account,
                                         newer.generation > PostRow.generation).exists())
    query = (select(PostRow, Campaign.timezone).outerjoin(Campaign, Campaign.id == PostRow.campaign_id)
             .where(~superseded).order_by(PostRow.scheduled_at, PostRow.id))
    if campaign is not None:
        query = query.where(PostRow.campaign_id == campaign)
    if account is not None:
        query = query.where(PostRow.account == account)
    if lower is not None:
        query = query.where(PostRow.scheduled_at >= lower)
    if upper is not None:
        query = query.where(PostRow.scheduled_at < upper)
    rows = session.execute(query).all()
    revisions = _revisions(session, campaign, account)
    return [_post(row, _zone_named(name, default_zone), revisions) for row, name in rows]


def _revisions(session: Session, campaign: str | None, account: str | None) -> dict[tuple[Any, ...], int]:
    """Each identity's count of revision events, over all its rows (ad hoc posts: by post id)."""
    query = (select(PostRow.id, PostRow.campaign_id, PostRow.announcement, PostRow.account, func.count(Event.id))
             .join(Event, Event.post_id == PostRow.id).where(Event.action.in_(REVISIONS)).group_by(PostRow.id))
    if campaign is not None:
        query = query.where(PostRow.campaign_id == campaign)
    if account is not None:
        query = query.where(PostRow.account == account)
    counts: dict[tuple[Any, ...], int] = {}
    for post_id, campaign_id, announcement, account_name, count in session.execute(query):
        key = _identity(post_id, campaign_id, announcement, account_name)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _identity(post_id: int, campaign: str | None, announcement: str | None, account: str) -> tuple[Any, ...]:
    return (campaign, announcement, account) if announcement is not None else (post_id,)


def _zone_named(name: str | None, default_zone: ZoneInfo) -> ZoneInfo:
    if name:
        with contextlib.suppress(ValueError):
            return zone(name)
    return default_zone


def _post(row: PostRow, tz: ZoneInfo, revisions: dict[tuple[Any, ...], int]) -> CalendarPost:
    identity = _identity(row.id, row.campaign_id, row.announcement, row.account)
    return CalendarPost(row.id, post_uid(row), row.campaign_id, row.announcement, row.account, row.platform,
                        row.status, public_time(row).astimezone(tz), tz.key, payload_text(row.payload), row.url,
                        row.reason, row.created_at, row.updated_at, revisions.get(identity, 1))


def public_time(row: PostRow) -> datetime:
    """``scheduled_at``; for a YouTube video uploaded ahead, its ``Publish at:`` (YouTube makes it public then)."""
    text = payload_text(row.payload) if row.platform == "youtube" else ""
    with contextlib.suppress(ValueError):
        return publish_time(video_text(text).publish_at) or row.scheduled_at
    return row.scheduled_at


def post_uid(row: PostRow) -> str:
    """``campaign/announcement/account@promo`` (each part percent-encoded); ad hoc: its idempotency key."""
    if row.announcement is None or row.campaign_id is None:
        return f"adhoc/{row.idempotency_key}@{UID_DOMAIN}"
    return _uid(row.campaign_id, row.announcement, row.account)


def _uid(*parts: str) -> str:
    return "/".join(quote(part, safe="-._~") for part in parts) + f"@{UID_DOMAIN}"


# -- the feed ------------------------------------------------------------------------------------

def ics_feed(engine: Engine, *, campaign: str | None = None, account: str | None = None, per_post: bool = False,
             since: date | None = None, until: date | None = None, default_zone: ZoneInfo,
             accounts: Collection[str] | None = None) -> IcsFeed:
    """Every post in scope (past ones too) as RFC 5545 events: one per announcement, or one per post.

    ``since``/``until`` (inclusive) are dates as each post's own zone reads them. Each event's time
    carries its zone (TZID), and the feed a VTIMEZONE for each zone it uses.
    """
    with transaction(engine) as session:
        check_names(session, campaign, account, accounts)
        lower = datetime.combine(since - timedelta(days=1), time(), UTC) if since else None
        upper = datetime.combine(until + timedelta(days=2), time(), UTC) if until else None
        posts = [post for post in _read_posts(session, campaign, account, default_zone, lower, upper)
                 if (since is None or post.at.date() >= since) and (until is None or post.at.date() <= until)]
    groups = [[post] for post in posts] if per_post else _by_announcement(posts)
    title = f"promo: {campaign}" if campaign else "promo"
    zones = tuple(sorted({post.zone for post in posts}))
    main_zone = ZoneInfo(zones[0]) if len(zones) == 1 else default_zone
    return IcsFeed(build_feed(groups, title, main_zone, per_post=per_post), len(groups), len(posts), zones)


def _by_announcement(posts: Iterable[CalendarPost]) -> list[list[CalendarPost]]:
    groups: dict[tuple[Any, ...], list[CalendarPost]] = {}
    for post in posts:
        key = (post.campaign, post.announcement) if post.announcement is not None else (post.id,)
        groups.setdefault(key, []).append(post)
    return list(groups.values())


def build_feed(groups: list[list[CalendarPost]], title: str, main_zone: ZoneInfo, *, per_post: bool) -> bytes:
    """The VCALENDAR: one VEVENT per group of posts, a VTIMEZONE per zone used; the same store gives
    the same bytes (no time of export in it: DTSTAMP is when the posts last changed). ``main_zone``
    is the calendar's own (X-WR-TIMEZONE), for the calendars that read it."""
    from icalendar import Calendar

    feed = Calendar()
    for name, value in (("version", "2.0"), ("prodid", PRODID), ("calscale", "GREGORIAN"), ("name", title),
                        ("x-wr-calname", title), ("x-wr-timezone", main_zone.key),
                        ("x-published-ttl", REFRESH)):
        feed.add(name, value)
    feed.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    for group in groups:
        feed.add_component(_event(group, per_post))
    if groups:
        years = [post.at.year for group in groups for post in group]
        feed.add_missing_timezones(first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + 2, 1, 1))
    return bytes(feed.to_ical())


def _event(posts: list[CalendarPost], per_post: bool) -> Any:
    """One VEVENT for one post, or for an announcement's posts (each account in its description)."""
    from icalendar import Event

    first, tz = posts[0], ZoneInfo(posts[0].zone)
    live = [post for post in posts if post.status != states.CANCELLED] or posts
    changed = max(post.updated_at for post in posts).astimezone(UTC)
    single = per_post or first.announcement is None
    event = Event()
    event.add("uid", first.uid if single else _uid(first.campaign or "", first.announcement or ""))
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("created", min(post.created_at for post in posts).astimezone(UTC))
    event.add("sequence", sum(max(post.revisions - 1, 0) for post in posts))
    event.add("dtstart", min(post.at for post in live).astimezone(tz))
    event.add("dtend", (max(post.at for post in live) + EVENT_LENGTH).astimezone(tz))
    event.add("summary", _summary(posts, single))
    event.add("description", _description(posts, single))
    event.add("status", "CANCELLED" if all(post.status == states.CANCELLED for post in posts) else "CONFIRMED")
    event.add("transp", "TRANSPARENT")
    if first.campaign:
        event.add("categories", [first.campaign])
    if single and first.url:
        event.add("url", first.url)
    return event


def _summary(posts: list[CalendarPost], single: bool) -> str:
    first = posts[0]
    what = f"{first.campaign}: {first.announcement}" if first.announcement else "ad hoc post"
    if single:
        return f"{what} on {first.account} ({first.status})"
    return f"{what} ({state_counts(posts)})"


def state_counts(posts: Iterable[CalendarPost]) -> str:
    """``9 published, 1 failed``: how many posts are in each state, in the ledger's order of states."""
    found = [post.status for post in posts]
    return ", ".join(f"{found.count(state)} {state}" for state in states.ALL if state in found)


def _description(posts: list[CalendarPost], single: bool) -> str:
    first = posts[0]
    lines = [f"{first.campaign} / {first.announcement}" if first.announcement else "ad hoc post"]
    for post in posts:
        line = f"{post.account} ({post.platform}): {post.status}, {_shown(post.at)}"
        lines.append(line + "".join(f" {extra}" for extra in (post.url, post.reason) if extra))
    text = first.text if single else next((post.text for post in posts if post.text), "")
    if text:
        lines += ["", text if single else f"Text ({first.account}): {text}"]
    return "\n".join(lines)


def _shown(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} {at.isoformat()[-6:]}"
