"""Posts whose time has already passed when a campaign is planned or previewed, and what will happen to them.

``promo apply`` warns about them before it writes (``late_warnings``) and ``promo preview`` notes them
(``promo.planning.preview_late``): the same line from the same ``LatePost``, so the two commands never
tell a person different things. A post later than its allowed lateness (``engine.policies.allowed_lateness``:
its own, else its account's, else the ``max_lateness`` setting) is held for a person; otherwise the engine
sends it as soon as it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from promo.engine.policies import allowed_lateness, due_time
from promo.times import iso, show_time

if TYPE_CHECKING:
    from collections.abc import Mapping
    from zoneinfo import ZoneInfo

    from promo.accounts import Account
    from promo.planning.plan import Plan
    from promo.posts import ScheduledPost
    from promo.settings import Settings

__all__ = ["LatePost", "late_post", "late_warnings"]


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

    def line(self, tz: ZoneInfo) -> str:
        """``premiere for jj-x: 2019-06-14 00:01 -07:00 is already past (1.0 hours late, ...); it goes out ...``."""
        fate = "it will be held for a person, not sent" if self.held else "it goes out as soon as the engine runs"
        return (f"{self.announcement} for {self.account}: {show_time(self.due, tz)} is already past "
                f"({span(self.late)} late, {span(self.allowed)} allowed); {fate}")

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


def late_warnings(plan: Plan, accounts: Mapping[str, Account], settings: Settings, now: datetime) -> list[str]:
    """One line per post the plan would write whose time has already passed, and what will happen to it."""
    found = (late_post(entry.scheduled, accounts.get(entry.account), settings, now) for entry in plan.entries
             if entry.action in ("created", "changed") and entry.scheduled is not None)
    return [late.line(plan.zone) for late in found if late is not None]


def span(delta: timedelta) -> str:
    """``3 min``, ``1.5 hours``, ``2.0 days``: a lateness as a person reads it."""
    seconds = int(delta.total_seconds())
    for unit, size in (("days", 86400), ("hours", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}" if size > 60 else f"{seconds // size} {unit}"
    return f"{seconds} s"
