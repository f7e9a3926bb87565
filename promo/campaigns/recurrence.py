"""Recurring and evergreen announcements: ``repeat:`` (an RFC 5545 RRULE) and ``variants:``.

A recurring announcement's ``at`` is the rule's start (DTSTART); the rule is expanded in the
campaign's zone with python-dateutil, on wall-clock time, so ``FREQ=WEEKLY;BYDAY=FR;BYHOUR=18``
stays at 18:00 local across a DST change. A wall time the clocks skip goes out an hour later (the
zone's reading of it, ``fold=0``).

Only the occurrences inside a window are materialised (``expand``): each becomes an announcement of
its own, keyed ``<key>@<UTC time>`` (``weekly-stream@20260306T0200Z``), so each is a ledger row of its
own with its own identity. ``variants`` rotate by the occurrence's index in the whole rule (index
modulo the number of variants): the same occurrence always gets the same variant, and no variant
repeats within ``len(variants)`` consecutive occurrences.

What a rule may cost is bounded (``promo.campaigns.rrule_bounds``): its parts are checked before
dateutil sees them, its first occurrence is looked for at a bounded cost, at most ``MAX_WINDOW``
occurrences are materialised at a time, and a window more than ``MAX_BEFORE`` occurrences after the
rule's start is refused (each occurrence's index is counted from the start).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from promo.campaigns.rrule_bounds import RecurrenceProblem, check_parts, first_within
from promo.campaigns.timing import is_next_slot
from promo.errors import CampaignError

MAX_COUNT = 1000                      # a COUNT above this is refused
MAX_WINDOW = 1000                     # occurrences one expansion may materialise
MAX_BEFORE = 20_000                   # occurrences a window may lie after the rule's start
FIRST_WITHIN = timedelta(days=5 * 365)  # a rule's first occurrence must come within this of its start
PREVIEW_OCCURRENCES = 4               # how many occurrences preview, review and snapshots render
REFUSED_FREQ = ("SECONDLY", "MINUTELY")
SEPARATOR = "@"                       # between an announcement's key and an occurrence's UTC time
KEY_ROOM = 100 - len("@20260306T0200Z")   # the ledger keeps keys of up to 100 characters
_STAMP = "%Y%m%dT%H%MZ"
_FREQ = re.compile(r"(?:^|;)FREQ=([A-Z]+)")


@dataclass(frozen=True)
class Repeat:
    """An announcement's ``repeat:``: the RRULE text (with ``UNTIL`` / ``COUNT`` folded in)."""

    rule: str
    bounded: bool                      # has COUNT or UNTIL

    def occurrences(self, start: datetime) -> Iterator[datetime]:
        """Every occurrence from ``start`` (aware, in the campaign's zone), in order, as aware local times.
        A wall time the clocks skip is the zone's reading of it; if that is the next wall time's instant
        too (BYHOUR=2,3 on the March change), the occurrence is made once."""
        expanded: Any = rrulestr(self.rule, dtstart=start)
        last = None
        for moment in expanded:
            instant = moment.astimezone(UTC)
            if instant != last:
                yield instant.astimezone(start.tzinfo)
            last = instant


def parse_repeat(value: Any, tz: ZoneInfo, start: datetime) -> Repeat:
    """``FREQ=...`` text, or a mapping ``{rule, until, count}``; raises ``RecurrenceProblem``."""
    if is_next_slot(start):
        raise RecurrenceProblem("next-slot cannot repeat (each occurrence needs its own time): give at: a time")
    until, count = None, None
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"rule", "until", "count"})
        if unknown:
            raise RecurrenceProblem(f"unknown key {unknown[0]!r} (allowed: rule, until, count)")
        rule, until, count = value.get("rule"), value.get("until"), value.get("count")
    else:
        rule = value
    if not isinstance(rule, str) or not rule.strip():
        raise RecurrenceProblem("expected an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=FR;BYHOUR=18;BYMINUTE=0")
    text = rule.strip().upper().removeprefix("RRULE:")
    text = _with_bounds(text, until, count, tz)
    _check_text(text)
    check_parts(text)
    try:
        parsed: Any = rrulestr(text, dtstart=start)
    except (ValueError, TypeError) as exc:
        raise RecurrenceProblem(f"not a valid RRULE ({exc}): e.g. FREQ=WEEKLY;BYDAY=FR;BYHOUR=18") from None
    _check_parsed(parsed, start)
    return Repeat(text, bounded=parsed._count is not None or parsed._until is not None)


def _with_bounds(text: str, until: Any, count: Any, tz: ZoneInfo) -> str:
    if until is not None and count is not None:
        raise RecurrenceProblem("give until or count, not both")
    if count is not None:
        if "COUNT=" in text or "UNTIL=" in text:
            raise RecurrenceProblem("count is given twice (in the rule and as a key): keep one")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise RecurrenceProblem(f"count must be a whole number of at least 1, got {count!r}")
        text += f";COUNT={count}"
    if until is not None:
        if "COUNT=" in text or "UNTIL=" in text:
            raise RecurrenceProblem("until is given twice (in the rule and as a key): keep one")
        from promo.times import as_aware
        try:
            moment = as_aware(until if not isinstance(until, str) else until.strip(), tz)
        except ValueError as exc:
            raise RecurrenceProblem(f"until: {exc}") from None
        text += f";UNTIL={moment.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return text


def _check_text(text: str) -> None:
    freq = _FREQ.search(text)
    if len(_FREQ.findall(text)) > 1:
        raise RecurrenceProblem("FREQ is given twice: keep one")
    if freq is None:
        raise RecurrenceProblem("the rule needs FREQ= (HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY)")
    if freq.group(1) in REFUSED_FREQ:
        raise RecurrenceProblem(f"FREQ={freq.group(1)} is refused: a promotional post more often than hourly "
                                "is a mistake (use FREQ=HOURLY or slower)")
    if "DTSTART" in text:
        raise RecurrenceProblem("the start is the announcement's at:, not DTSTART in the rule")


def _check_parsed(parsed: rrule, start: datetime) -> None:
    count, until = parsed._count, parsed._until  # type: ignore[attr-defined]
    if count is not None and count > MAX_COUNT:
        raise RecurrenceProblem(f"COUNT={count} is over the bound of {MAX_COUNT}: "
                                "leave the rule unbounded, or use UNTIL")
    if until is not None:
        limit = until if until.tzinfo else until.replace(tzinfo=start.tzinfo)
        if limit < start:
            raise RecurrenceProblem(f"UNTIL {limit.astimezone(start.tzinfo):%Y-%m-%d %H:%M} is before the "
                                    f"start (at: {start:%Y-%m-%d %H:%M})")
    # An impossible rule (BYMONTHDAY=30 in February) would make dateutil search to the year 9999: seconds
    # of CPU for an hourly one. first_within looks at a bounded cost, and says so.
    if not first_within(parsed, start, FIRST_WITHIN):
        raise RecurrenceProblem(f"the rule makes no occurrence in the {FIRST_WITHIN.days // 365} years after "
                                f"its start (at: {start:%Y-%m-%d %H:%M}): check its BY... parts")


def occurrence_key(key: str, moment: datetime) -> str:
    """``weekly-stream@20260306T0200Z``: the announcement key and the occurrence's UTC minute."""
    return f"{key}{SEPARATOR}{moment.astimezone(UTC).strftime(_STAMP)}"


def split_key(key: str) -> tuple[str, datetime | None]:
    """An occurrence's key back into (announcement key, UTC time); (key, None) for a plain key."""
    base, sep, stamp = key.rpartition(SEPARATOR)
    if not sep:
        return key, None
    try:
        return base, datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return key, None


def window(repeat: Repeat, start: datetime, begin: datetime, end: datetime) -> list[tuple[int, datetime]]:
    """The occurrences in ``[begin, end]`` with their index in the whole rule. ``RecurrenceProblem`` when
    ``begin`` lies more than ``MAX_BEFORE`` occurrences after ``start`` (counting them costs time)."""
    found: list[tuple[int, datetime]] = []
    for index, moment in enumerate(repeat.occurrences(start)):
        if moment > end:
            break
        if moment >= begin:
            found.append((index, moment))
        elif index >= MAX_BEFORE:
            raise RecurrenceProblem(f"the rule has made over {MAX_BEFORE:,} occurrences since its start "
                                    f"(at: {start:%Y-%m-%d %H:%M}): give a later at:")
    return found


def expand_announcement(item: Any, begin: datetime, end: datetime) -> list[Any]:
    """The concrete announcements (dataclass copies) of a recurring ``item`` inside ``[begin, end]``;
    ``RecurrenceProblem`` past ``MAX_WINDOW`` of them, or past ``MAX_BEFORE`` (``window``)."""
    repeat: Repeat | None = item.repeat
    if repeat is None:
        return [item]
    found = window(repeat, item.scheduled_at, begin, end)
    if len(found) > MAX_WINDOW:
        raise RecurrenceProblem(f"the rule makes {len(found):,} occurrences from {begin:%Y-%m-%d} to "
                                f"{end:%Y-%m-%d}, over the {MAX_WINDOW:,} written at a time: use a slower rule "
                                "or a smaller recurrence_horizon_days")
    return [replace(item, key=occurrence_key(item.key, moment), scheduled_at=moment, repeat=None, variants=(),
                    **variant_for(item, index)) for index, moment in found]


def variant_for(item: Any, index: int) -> dict[str, Any]:
    """What the occurrence at ``index`` takes from ``variants``: a text, or fields over the announcement's."""
    if not item.variants:
        return {}
    chosen = item.variants[index % len(item.variants)]
    if isinstance(chosen, str):
        return {"text": chosen}
    return {"fields": dict(chosen)}  # the loader checked each set merged over the announcement's fields


def expand(campaign: Any, begin: datetime, horizon: timedelta) -> Any:
    """``campaign`` with each recurring announcement replaced by its occurrences in ``[begin, begin + horizon]``."""
    end = begin + horizon
    announcements: list[Any] = []
    for item in campaign.announcements:
        try:
            announcements += expand_announcement(item, begin, end)
        except RecurrenceProblem as exc:
            raise CampaignError(str(exc), file=str(campaign.source), line=item.line,
                                field=f"announcements.{item.key}.repeat") from None
    return replace(campaign, announcements=tuple(announcements))


def first(item: Any, limit: int) -> list[tuple[int, datetime]]:
    """The first ``limit`` occurrences of a recurring announcement (for preview)."""
    repeat: Repeat | None = item.repeat
    if repeat is None:
        return [(0, item.scheduled_at)]
    found: list[tuple[int, datetime]] = []
    for index, moment in enumerate(repeat.occurrences(item.scheduled_at)):
        if index >= limit:
            break
        found.append((index, moment))
    return found


def expand_first(campaign: Any, limit: int) -> Any:
    """``campaign`` with each recurring announcement replaced by its first ``limit`` occurrences."""
    announcements = []
    for item in campaign.announcements:
        if item.repeat is None:
            announcements.append(item)
            continue
        announcements += [replace(item, key=occurrence_key(item.key, moment), scheduled_at=moment, repeat=None,
                                  variants=(), **variant_for(item, index)) for index, moment in first(item, limit)]
    return replace(campaign, announcements=tuple(announcements))
