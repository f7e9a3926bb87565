"""Posts whose time has already passed when a campaign is planned or previewed, and what will happen to them.

``promo apply`` warns about them before it writes (``late_warnings``) and ``promo preview`` notes them
(``promo.planning.preview_late``): the same lines from the same ``late_lines``, so the two commands never
tell a person different things. A post later than its allowed lateness (``engine.policies.allowed_lateness``:
its own, else its account's, else the ``max_lateness`` setting) is held for a person; otherwise the engine
sends it as soon as it runs.

A campaign planned long after its dates has every post past (the README's 2019 example: 64 of them), and
64 lines are not read. So the lines are grouped: one per announcement and fate (the same due time,
lateness, allowed lateness and outcome), naming a few accounts, and after ``SHOWN`` lines one more says
how many announcements it left out and where every post is listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.engine.policies import allowed_lateness, due_time
from promo.times import iso, show_time

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from zoneinfo import ZoneInfo

    from promo.accounts import Account
    from promo.planning.plan import Plan
    from promo.posts import ScheduledPost
    from promo.settings import Settings

__all__ = ["SHOWN", "LatePost", "late_lines", "late_post", "late_warnings"]
SHOWN = 5           # grouped lines shown before the one that counts the rest
NAMED = 3           # accounts named in a grouped line before "and N more accounts"


@dataclass(frozen=True)
class LatePost:
    """A post due before now: how late it is, how late it may be, and so whether it is held."""

    announcement: str | None
    account: str
    due: datetime           # its time, or its embargo if that is later
    late: timedelta
    allowed: timedelta

    @property
    def held(self) -> bool:
        """Whether the engine holds it for a person instead of sending it."""
        return self.late > self.allowed

    @property
    def line_key(self) -> tuple[str | None, datetime, timedelta, timedelta, bool]:
        """What its posts have in common to be told in one grouped line."""
        return self.announcement, self.due, self.late, self.allowed, self.held

    def line(self, tz: ZoneInfo) -> str:
        """``premiere for jj-x: 2019-06-14 00:01 -07:00 is already past (1.0 hours late, ...); it goes out ...``."""
        return group_line([self], tz)

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        """The ``late`` field of a post in ``promo preview --json``."""
        return {"due_at": iso(self.due.astimezone(tz)), "late_s": int(self.late.total_seconds()),
                "allowed_s": int(self.allowed.total_seconds()), "held": self.held, "note": self.line(tz)}


def late_post(scheduled: ScheduledPost, account: Account | None, settings: Settings, now: datetime) -> LatePost | None:
    """``scheduled`` as a late post if it is due before ``now``; None if it is not late yet."""
    due = due_time(scheduled.scheduled_at, scheduled.not_before)
    if due >= now:
        return None
    return LatePost(scheduled.announcement, scheduled.post.account, due, now - due,
                    allowed_lateness(scheduled.max_lateness_s, account, settings))


def late_warnings(plan: Plan, accounts: Mapping[str, Account], settings: Settings, now: datetime, *,
                  listed_by: str | None = None) -> list[str]:
    """The posts the plan would write whose time has already passed, and what will happen to them, grouped.

    Every group by default (``apply --json``); ``listed_by`` cuts them as ``late_lines`` does, for a person.
    """
    found = (late_post(entry.scheduled, accounts.get(entry.account), settings, now) for entry in plan.entries
             if entry.action in ("created", "changed") and entry.scheduled is not None)
    return late_lines([late for late in found if late is not None], plan.zone, listed_by=listed_by)


def late_lines(lates: Iterable[LatePost], tz: ZoneInfo, *, listed_by: str | None) -> list[str]:
    """One line per announcement and fate, in the posts' order; past ``SHOWN`` lines, one that counts the rest.

    ``listed_by`` names what lists every post (``--json``) for that last line; None gives every line, for
    what is read at leisure or by a program (the markdown document, ``promo apply --json``).
    """
    groups: dict[tuple[str | None, datetime, timedelta, timedelta, bool], list[LatePost]] = {}
    for late in lates:
        groups.setdefault(late.line_key, []).append(late)
    lines = [group_line(group, tz) for group in groups.values()]
    if listed_by is None or len(lines) <= SHOWN:
        return lines
    left_out = len({announcement for announcement, *_ in list(groups)[SHOWN:]})
    return [*lines[:SHOWN], f"... and {counted(left_out, 'more announcement')} already past; "
                            f"{listed_by} lists every post"]


def group_line(group: Sequence[LatePost], tz: ZoneInfo) -> str:
    """``featurette for jj-x, jj-mastodon, jj-bluesky and 10 more accounts: 2019-05-29 ... they will be held ...``.

    ``group`` shares one fate; one post is said exactly as ``LatePost.line``.
    """
    first, names = group[0], [late.account for late in group]
    if len(names) == 1:
        fate = "it will be held for a person, not sent" if first.held else "it goes out as soon as the engine runs"
    else:
        fate = "they will be held for a person, not sent" if first.held else "they go out as soon as the engine runs"
    return (f"{first.announcement} for {_accounts(names)}: {show_time(first.due, tz)} is already past "
            f"({span(first.late)} late, {span(first.allowed)} allowed); {fate}")


def _accounts(names: Sequence[str]) -> str:
    """``jj-x``, ``jj-x and jj-bluesky``, ``jj-x, jj-mastodon and jj-bluesky``, ``... and 10 more accounts``."""
    if len(names) <= NAMED:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{', '.join(names[:NAMED])} and {counted(len(names) - NAMED, 'more account')}"


def counted(number: int, noun: str) -> str:
    """``1 more account``, ``10 more accounts``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def span(delta: timedelta) -> str:
    """``3 min``, ``1.5 hours``, ``2.0 days``: a lateness as a person reads it."""
    seconds = int(delta.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}" if size > 60 else f"{seconds // size} {unit}"
    return f"{seconds} s"
