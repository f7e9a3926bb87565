"""Time-slot queues, pure: an account's declared slots as instants, and the first one not taken.

A slot is a wall-clock time (``09:00``) on a slot day, read in the account's zone, so it keeps its
local time across DST: 09:00 is 09:00 local on both sides of the March change. Two edge rules:

- a slot the clocks skip that day (02:30 on the spring-forward day) is skipped that day, never moved;
- a slot the clocks repeat (01:30 on the fall-back day) is its first occurrence, once.

A slot at ``T`` is *taken* when a post of the account is scheduled in the minute ``[T, T + 1 min)``
(``taken`` holds those minutes, see ``minute``); which posts count is the caller's business
(``promo.manage.slots``: every one not cancelled or failed).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from promo.accounts import Slots
from promo.times import localize

HORIZON = timedelta(days=366)


def minute(moment: datetime) -> datetime:
    """``moment`` in UTC, cut to its minute: the key a slot and a post's time are compared by."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def slot_times(slots: Slots, tz: ZoneInfo, after: datetime, until: datetime) -> Iterator[datetime]:
    """Every slot strictly after ``after`` and no later than ``until``, soonest first, aware in ``tz``."""
    day = after.astimezone(tz).date()
    last = until.astimezone(tz).date()
    while day <= last:
        if day.weekday() in slots.days:
            for wall in slots.times:
                try:
                    moment = localize(datetime.combine(day, wall), tz)
                except ValueError:  # the clocks skip it today
                    continue
                if after < moment <= until:
                    yield moment
        day += timedelta(days=1)


def next_free(slots: Slots, tz: ZoneInfo, after: datetime, taken: Collection[datetime],
              horizon: timedelta = HORIZON) -> datetime | None:
    """The first slot after ``after`` whose minute is not in ``taken``; None if all within ``horizon`` are."""
    for moment in slot_times(slots, tz, after, after + horizon):
        if minute(moment) not in taken:
            return moment
    return None
