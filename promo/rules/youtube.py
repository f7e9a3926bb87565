"""YouTube: a video with a title, a description and tags, checked as the YouTube Data API counts them.

A YouTube post's text is a small document (``video_text`` reads it; the templates write it)::

    Krysten Ritter directs Jessica Jones             <- the first line: the title (100 characters, no < or >)
                                                     <- a blank line
    The description, as many lines as it needs.      <- 5,000 bytes of UTF-8, no < or >
    Tags: Jessica Jones, Krysten Ritter, Netflix     <- optional: the tags (500 characters as YouTube counts)
    Publish at: 2019-05-29T16:00:00Z                 <- written by ``timed`` for an ``upload_ahead`` account

``Tags:`` and ``Publish at:`` are read only from the last lines. Tags count as YouTube counts them
(developers.google.com/youtube/v3/docs/videos, ``snippet.tags[]``): the commas between tags count,
and a tag with a space counts its quotation marks (``Foo Baz`` is 9). A post whose title or
description carries ``#Shorts`` is a Short: its video must be vertical or square and at most 3
minutes. A custom thumbnail (``cover:``) needs a verified channel: the account says ``verified =
true``, or preview refuses the cover; so does a video over 15 minutes.

``upload_ahead`` (an account option, ``"2h"``): the post is dispatched that long before its time
(``timed`` moves its time and its embargo back, and writes the announcement's time as ``Publish
at:``), so the video is uploaded early as private and YouTube itself makes it public at that time.

Quota (developers.google.com/youtube/v3/determine_quota_cost): every call costs units from the
Google Cloud project's daily budget (``daily_quota``, default 10,000, reset at midnight Pacific
Time). ``post_units`` is what one post costs; ``quota_problems`` refuses a campaign whose YouTube
posts need more on one Pacific day than the budget leaves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from promo.posts import Part, Post, Problem, ScheduledPost
from promo.rules.base import TextRules
from promo.rules.counting import MediaRules
from promo.rules.video import VideoRules, duration_text

GB = 1_000_000_000
PACIFIC = ZoneInfo("America/Los_Angeles")
TITLE_LIMIT, DESCRIPTION_LIMIT, TAGS_LIMIT = 100, 5000, 500
SHORT_MAX_S = 180.0              # Shorts: up to 3 minutes (since 15 October 2024)
UNVERIFIED_MAX_S = 15 * 60.0     # an unverified channel uploads at most 15 minutes
DEFAULT_BUDGET = 10_000
PRIVACY = ("public", "unlisted", "private")
# Units per call: developers.google.com/youtube/v3/determine_quota_cost (the table's figures; see
# docs/platforms/youtube.md#quota for the page's newer note on a separate videos.insert bucket).
COSTS = {"videos.insert": 1600, "videos.update": 50, "videos.list": 1, "thumbnails.set": 50,
         "captions.insert": 400, "captions.list": 50, "playlistItems.insert": 50, "playlistItems.list": 1,
         "channels.list": 1}
POLLS_COUNTED = 5                # videos.list reads while the video processes, counted per post
_TAGS = re.compile(r"^tags:\s*(.*)$", re.IGNORECASE)
_PUBLISH_AT = re.compile(r"^publish at:\s*(.*)$", re.IGNORECASE)
_SHORTS = re.compile(r"#shorts\b", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")

# Video limits: docs/platforms/youtube.md#video-limits (YouTube Help "Upload videos", "Video
# formats"; the API's 256 GB upload limit). 12 hours for a verified channel; 15 minutes otherwise.
VIDEO = VideoRules(min_duration_s=1, max_duration_s=12 * 3600, max_bytes=256 * GB,
                   containers=frozenset({"mp4", "mov", "m4v", "3gp", "webm", "avi", "mpeg", "mpg", "flv", "wmv"}),
                   cover=True, captions=True, cover_frame=True)


Planned = Mapping[tuple[str, date], int]   # (project, Pacific day) -> units other campaigns already planned


@dataclass(frozen=True)
class VideoText:
    """What a YouTube post's text says: ``snippet.title``, ``snippet.description``, ``snippet.tags``."""

    title: str
    description: str
    tags: tuple[str, ...] = ()
    publish_at: str | None = None   # as written; ``publish_time`` parses it


def video_text(text: str) -> VideoText:
    """Read a YouTube post's text: the title line, the description, and trailing ``Tags:``/``Publish at:``."""
    lines = text.strip().splitlines()
    title = lines[0].strip() if lines else ""
    rest = lines[1:]
    tags: tuple[str, ...] = ()
    publish_at = None
    while rest and (_TAGS.match(rest[-1].strip()) or _PUBLISH_AT.match(rest[-1].strip())):
        line = rest.pop().strip()
        found = _TAGS.match(line)
        if found:
            tags = tuple(tag.strip() for tag in found.group(1).split(",") if tag.strip())
        else:
            publish_at = _PUBLISH_AT.match(line).group(1).strip()  # type: ignore[union-attr]
    return VideoText(title, "\n".join(rest).strip(), tags, publish_at)


def tags_length(tags: Sequence[str]) -> int:
    """The tags' length as YouTube counts it: commas between them, quotes around a tag with a space."""
    return sum(len(tag) + (2 if " " in tag else 0) for tag in tags) + max(0, len(tags) - 1)


def publish_time(value: str | None) -> datetime | None:
    """A ``Publish at:`` value as an aware UTC time; None when absent; ValueError when unreadable."""
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"Publish at: {value} has no UTC offset")
    return moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_short(text: VideoText) -> bool:
    return bool(_SHORTS.search(text.title) or _SHORTS.search(text.description))


def lead_time(options: Mapping[str, Any]) -> timedelta:
    """The account's ``upload_ahead`` (``"90m"``, ``"2h"``, ``"1d"``); zero when unset."""
    value = options.get("upload_ahead")
    if not value:
        return timedelta(0)
    found = _DURATION.match(str(value))
    if found is None:
        raise ValueError(f"upload_ahead {value!r} should look like 2h or 90m")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[found.group(2)]
    return timedelta(**{unit: float(found.group(1))})


class YouTubeRules(TextRules):
    platform = "youtube"
    title = "YouTube"
    limit = DESCRIPTION_LIMIT
    unit = "bytes"
    media_rules = MediaRules(1, {"video": 256 * GB}, refusal="YouTube takes one video", video=VIDEO)

    def length(self, text: str) -> int:
        """The description's size in UTF-8 bytes (the title and tags are checked on their own)."""
        return len(video_text(text).description.encode("utf-8"))

    def too_long_message(self, part: Part, index: int, length: int, limit: int) -> str:
        return f"{self.where(index)}description {length:,}/{limit:,} bytes"

    @property
    def verified(self) -> bool:
        return bool(self.options.get("verified", False))

    def extra_problems(self, part: Part, index: int) -> list[Problem]:
        text = video_text(part.text)
        found = [Problem(code, f"{self.where(index)}{message}", index)
                 for code, message in (*self._text_problems(text), *self._video_problems(part, text))]
        return found + self._option_problems(index)

    def _text_problems(self, text: VideoText) -> list[tuple[str, str]]:
        found = []
        if not text.title:
            found.append(("empty", "the first line is the video's title, and it is empty"))
        elif len(text.title) > TITLE_LIMIT:
            found.append(("too_long", f"title {len(text.title)}/{TITLE_LIMIT} characters"))
        for name, value in (("title", text.title), ("description", text.description)):
            if "<" in value or ">" in value:
                found.append(("invalid_character", f"the {name} cannot contain < or >"))
        if tags_length(text.tags) > TAGS_LIMIT:
            found.append(("too_long", f"tags {tags_length(text.tags)}/{TAGS_LIMIT} characters (as YouTube counts "
                                      "them: the commas, and quotes around a tag with a space)"))
        try:
            publish_time(text.publish_at)
        except ValueError:
            found.append(("publish_at", f"Publish at: {text.publish_at} is not a time with a UTC offset"))
        return found

    def _video_problems(self, part: Part, text: VideoText) -> list[tuple[str, str]]:
        videos = [m for m in part.media if m.kind == "video"]
        if not videos:
            return [("no_video", "a YouTube post needs a video: add one under media:, or skip YouTube for this "
                                 "announcement")]
        video, found = videos[0], []
        if video.cover and not self.verified:
            found.append(("video_cover", "a custom thumbnail needs a verified channel: verify it (youtube.com/verify) "
                                         "and set verified = true on the account, or remove cover:"))
        seconds = video.duration_s
        if seconds is not None and seconds > UNVERIFIED_MAX_S and not self.verified:
            found.append(("video_too_long", f"video {duration_text(seconds)} is over the 15:00 an unverified channel "
                                            "may upload; verify it and set verified = true on the account"))
        if is_short(text):
            found += short_problems(video.width, video.height, seconds)
        return found

    def _option_problems(self, index: int) -> list[Problem]:
        privacy = str(self.options.get("privacy", "public"))
        found = []
        if privacy not in PRIVACY:
            found.append(Problem("config", f"{self.where(index)}privacy {privacy!r} is not one of "
                                           f"{', '.join(PRIVACY)}", index))
        try:
            lead_time(self.options)
        except ValueError as exc:
            found.append(Problem("config", f"{self.where(index)}{exc}", index))
        return found

    # -- timing and quota: what preview asks of a campaign's YouTube posts --------------------------
    def timed(self, post: Post, at: datetime, not_before: datetime | None) -> tuple[Post, datetime, datetime | None]:
        """With ``upload_ahead``: the post goes that much earlier (embargo too) and says ``Publish at:``
        the time it was meant for (or its embargo, if later): YouTube makes it public then."""
        try:
            ahead = lead_time(self.options)
        except ValueError:  # reported by ``_option_problems``
            ahead = timedelta(0)
        if not ahead or not post.parts:
            return post, at, not_before
        public = max(at, not_before) if not_before is not None else at
        first = post.parts[0]
        stamped = replace(first, text=f"{first.text.rstrip()}\nPublish at: {rfc3339(public)}")
        moved = replace(post, parts=(stamped, *post.parts[1:]))
        return moved, at - ahead, not_before - ahead if not_before is not None else None

    @staticmethod
    def campaign_problems(posts: Sequence[tuple[ScheduledPost, Any]], planned: Planned | None = None
                          ) -> dict[int, Problem]:
        """Preview's campaign-wide check (``promo.campaigns.preview``): the daily quota."""
        mine = [(scheduled, rules) for scheduled, rules in posts if isinstance(rules, YouTubeRules)]
        return quota_problems(mine, planned)

    def units(self, post: Post) -> int:
        return post_units(post, self.options)

    @property
    def project(self) -> str:
        """The Google Cloud project whose quota the account spends; accounts without one share ``default``."""
        return str(self.options.get("project") or "default")

    @property
    def budget(self) -> int:
        return int(self.options.get("daily_quota", DEFAULT_BUDGET))


def short_problems(width: int | None, height: int | None, seconds: float | None) -> list[tuple[str, str]]:
    """A Short is vertical or square and at most 3 minutes (YouTube Help, "Upload YouTube Shorts")."""
    wide = bool(width and height and width > height)
    long = seconds is not None and seconds > SHORT_MAX_S
    if not wide and not long:
        return []
    shape = f"{width}x{height}" if width and height else "of unknown size"
    length = duration_text(seconds) if seconds is not None else "of unknown length"
    return [("short", f"a Short (#Shorts) must be vertical or square and at most 3:00; this video is {shape}, "
                      f"{length}: use a vertical cut, or remove #Shorts")]


def post_units(post: Post, options: Mapping[str, Any]) -> int:
    """Quota units one post spends: the upload, its release, its thumbnail, captions and playlist."""
    media = next((m for m in post.media if m.kind == "video"), None)
    units = COSTS["videos.insert"] + POLLS_COUNTED * COSTS["videos.list"]
    if str(options.get("privacy", "public")) != "private" or video_text(post.text).publish_at:
        units += COSTS["videos.update"]
    if media is not None and media.cover:
        units += COSTS["thumbnails.set"]
    if media is not None and media.captions:
        units += COSTS["captions.insert"]
    if options.get("playlist_id"):
        units += COSTS["playlistItems.insert"]
    return units


def pacific_day(moment: datetime) -> date:
    """The quota day of ``moment``: YouTube's daily quota resets at midnight Pacific Time."""
    return moment.astimezone(PACIFIC).date()


def next_reset(now: datetime) -> datetime:
    """The next midnight Pacific Time after ``now`` (when a spent daily quota is back), in UTC."""
    tomorrow = pacific_day(now) + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC).astimezone(UTC)


def quota_problems(posts: Sequence[tuple[ScheduledPost, YouTubeRules]], planned: Planned | None = None
                   ) -> dict[int, Problem]:
    """Index (in ``posts``) -> the problem of each post on a Pacific day whose need passes the budget."""
    need: dict[tuple[str, date], int] = {}
    budget: dict[str, int] = {}
    for scheduled, rules in posts:
        key = (rules.project, pacific_day(scheduled.scheduled_at))
        need[key] = need.get(key, 0) + rules.units(scheduled.post)
        budget[rules.project] = min(budget.get(rules.project, rules.budget), rules.budget)
    found: dict[int, Problem] = {}
    for index, (scheduled, rules) in enumerate(posts):
        key = (rules.project, pacific_day(scheduled.scheduled_at))
        before = (planned or {}).get(key, 0)
        if need[key] + before > budget[rules.project]:
            found[index] = Problem("quota", quota_message(need[key], key[1], budget[rules.project], before))
    return found


def quota_message(need: int, day: date, budget: int, planned: int) -> str:
    said = (f"YouTube: this campaign needs {need:,} quota units on {day.isoformat()}, the project's daily budget "
            f"is {budget:,}")
    return f"{said} and {planned:,} are already planned" if planned else f"{said}: spread the uploads over more days"
