"""What a ``repeat:`` rule may say, and what looking for its first occurrence may cost.

``check_parts`` reads the RRULE's parts as RFC 5545 writes them, before dateutil sees the rule:
known names only (dateutil's own ``BYEASTER`` is not RFC 5545), whole numbers in range (``BYHOUR`` 0
to 23, ``BYMONTHDAY`` 1 to 31 or -31 to -1, ...), an ``INTERVAL`` of 1 to 1,000, nothing more often
than hourly (one ``BYMINUTE``, one ``BYSECOND``), a ``BYSETPOS`` some set of the rule can reach, and
no hourly ``INTERVAL`` that drifts across the day under a day filter (it may match once in
centuries). dateutil would loop forever on ``INTERVAL=0``, stop with a traceback on ``BYHOUR=25``
or ``BYDAY=+9MO``, and take seconds to find nothing for ``BYMONTH=13``; here each is one line.

``first_within`` finds whether the rule makes an occurrence in a span after its start. dateutil
looks for an occurrence up to the year 9999, so a rule that never makes one (``BYMONTHDAY=30;
BYMONTH=2``) costs seconds of CPU there. The Gregorian calendar repeats every 400 years (146,097
days, a whole number of weeks), so the search runs on the same wall-clock start moved to the latest
year before 9999 whose calendar (leap years and the weekday of each 1 January, from the year before
to seven after) is the start's: dateutil's own end of time stops it after a few decades (three
centuries at most, for a start next to a century year that is not a leap year).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

MAX_RULE = 2000        # characters of rule text
MAX_INTERVAL = 1000
PARTS = ("FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY",
         "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST")
# part: (smallest, largest, whether -largest to -smallest count from the end)
RANGES = {"BYSECOND": (0, 59, False), "BYMINUTE": (0, 59, False), "BYHOUR": (0, 23, False),
          "BYMONTHDAY": (1, 31, True), "BYYEARDAY": (1, 366, True), "BYWEEKNO": (1, 53, True),
          "BYMONTH": (1, 12, False), "BYSETPOS": (1, 366, True)}
ONE_VALUE = ("BYMINUTE", "BYSECOND")
DAY_FILTERS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
# Each FREQ's period, and how many days one period holds at most (BYSETPOS picks within a period).
PERIODS = {"YEARLY": ("year", 366), "MONTHLY": ("month", 31), "WEEKLY": ("week", 7), "DAILY": ("day", 1),
           "HOURLY": ("hour", 1)}
NUMBERED_DAYS = {"MONTHLY": 5, "YEARLY": 53}  # BYDAY=+2MO: the largest number each FREQ allows
_NUMBERS = re.compile(r"[+-]?[0-9]+(?:,[+-]?[0-9]+)*", re.ASCII)
_DAY = re.compile(r"([+-]?[0-9]{1,2})?([A-Z]{2})", re.ASCII)
_CYCLE = 400           # years after which the Gregorian calendar, weekdays included, repeats
_LATEST = 9992         # the latest start whose calendar window (one year before, seven after) ends by 9999


class RecurrenceProblem(ValueError):
    """A ``repeat:`` that cannot be used; the message is one line, the loader adds file/line/field."""


def check_parts(text: str) -> None:
    """Refuse, in one line naming the part, what RFC 5545 or promo's bounds do not allow."""
    if len(text) > MAX_RULE:
        raise RecurrenceProblem(f"the rule is {len(text)} characters long; at most {MAX_RULE}")
    parts: dict[str, str] = {}
    for piece in text.split(";"):
        name, sep, value = piece.partition("=")
        if not sep:
            raise RecurrenceProblem(f"expected NAME=VALUE parts separated by ';', got {piece!r}")
        if name not in PARTS:
            raise RecurrenceProblem(f"{name!r} is not an RFC 5545 rule part (FREQ, INTERVAL, COUNT, UNTIL, WKST "
                                    "or BY...: see docs/recurrence.md)")
        if name in parts:
            raise RecurrenceProblem(f"{name} is given twice: keep one")
        parts[name] = value
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceProblem("give UNTIL or COUNT, not both")
    for name, value in parts.items():
        if name in RANGES:
            _check_numbers(name, value)
    _check_counts(parts)
    _check_days(parts)
    _check_setpos(parts)
    _check_drift(parts)


def _check_numbers(name: str, value: str) -> None:
    if not _NUMBERS.fullmatch(value):
        raise RecurrenceProblem(f"{name}={value[:40]}: expected whole numbers separated by commas")
    low, high, signed = RANGES[name]
    for number in (int(v) for v in value.split(",")):
        if not (low <= number <= high or (signed and -high <= number <= -low)):
            allowed = f"{low} to {high}" + (f", or -{high} to -{low} from the end" if signed else "")
            raise RecurrenceProblem(f"{name}={number} is out of range ({allowed})")
    if name in ONE_VALUE and len(set(value.split(","))) > 1:
        raise RecurrenceProblem(f"{name} takes one value: several put posts less than an hour apart "
                                "(a promotional post more often than hourly is a mistake)")


def _check_counts(parts: Mapping[str, str]) -> None:
    for name, low, high in (("INTERVAL", 1, MAX_INTERVAL), ("COUNT", 1, None)):
        value = parts.get(name)
        if value is None:
            continue
        if not value.isascii() or not value.isdigit():
            raise RecurrenceProblem(f"{name}={value[:40]}: expected a whole number of at least {low}")
        if int(value) < low or (high is not None and int(value) > high):
            span = f"{low} to {high:,}" if high is not None else f"at least {low}"
            raise RecurrenceProblem(f"{name}={int(value)} is out of range ({span})")


def _check_days(parts: Mapping[str, str]) -> None:
    if parts.get("WKST", "MO") not in WEEKDAYS:
        raise RecurrenceProblem(f"WKST={parts['WKST'][:40]}: expected one of {', '.join(WEEKDAYS)}")
    if "BYDAY" not in parts:
        return
    freq = parts.get("FREQ", "")
    for day in parts["BYDAY"].split(","):
        found = _DAY.fullmatch(day)
        if found is None or found.group(2) not in WEEKDAYS:
            raise RecurrenceProblem(f"BYDAY={day[:40]}: expected days such as MO, FR or +2MO, -1FR")
        if found.group(1) is None:
            continue
        most = NUMBERED_DAYS.get(freq)
        if most is None:
            raise RecurrenceProblem(f"BYDAY={day}: a numbered day is for FREQ=MONTHLY or FREQ=YEARLY only")
        if not 1 <= abs(int(found.group(1))) <= most:
            raise RecurrenceProblem(f"BYDAY={day} is out of range (1 to {most}, or -{most} to -1, "
                                    f"with FREQ={freq})")


def _check_setpos(parts: Mapping[str, str]) -> None:
    freq = parts.get("FREQ", "")
    if "BYSETPOS" not in parts or freq not in PERIODS:
        return
    period, days = PERIODS[freq]
    times = len(set(parts.get("BYHOUR", "0").split(","))) if freq != "HOURLY" else 1
    largest = days * times
    if all(abs(int(v)) > largest for v in parts["BYSETPOS"].split(",")):
        raise RecurrenceProblem(f"BYSETPOS={parts['BYSETPOS'][:40]} never picks anything: each {period} of "
                                f"a FREQ={freq} rule holds at most {largest} time(s)")


def _check_drift(parts: Mapping[str, str]) -> None:
    interval = int(parts.get("INTERVAL", "1"))
    if parts.get("FREQ") != "HOURLY" or 24 % interval == 0 or interval % 24 == 0:
        return
    day_filter = next((name for name in DAY_FILTERS if name in parts), None)
    if day_filter is not None:
        raise RecurrenceProblem(f"FREQ=HOURLY with {day_filter} needs an INTERVAL that divides 24 or is a "
                                f"multiple of 24, not {interval} (or use FREQ=DAILY with BYHOUR)")


def first_within(rule: Any, start: datetime, span: timedelta) -> bool:
    """Whether ``rule`` (a dateutil rrule read from ``start``) makes an occurrence in ``[start, start + span]``,
    looked for in the start's calendar twin near the year 9999 (``calendar_twin``), on wall-clock time."""
    wall = start.replace(tzinfo=None)
    moved_by = calendar_twin(wall.year) - wall.year
    until = rule._until
    if until is not None:
        until = (until.astimezone(start.tzinfo) if until.tzinfo else until).replace(tzinfo=None)
        # beyond the twin's window UNTIL cannot end the span early: leave it out
        until = _move(until, moved_by) if until.year <= wall.year + 6 else None
    probe = rule.replace(dtstart=_move(wall, moved_by), until=until)
    first = next(iter(probe), None)
    return first is not None and first <= _move(wall, moved_by) + span


@lru_cache(maxsize=256)
def calendar_twin(year: int) -> int:
    """The latest year up to 9992 whose calendar from the year before to seven years after is ``year``'s
    (the same leap years, each 1 January on the same weekday); ``year`` itself from 9992 on."""
    if year >= _LATEST:
        return year
    offsets = [k for k in range(-1, 8) if year + k >= 1]
    wanted = _calendar(year, offsets)
    surely = year + (_LATEST - year) // _CYCLE * _CYCLE
    for candidate in range(_LATEST, surely, -1):
        if _calendar(candidate, offsets) == wanted:
            return candidate
    return surely


def _calendar(year: int, offsets: list[int]) -> tuple[tuple[bool, int], ...]:
    return tuple((calendar.isleap(year + k), date(year + k, 1, 1).weekday()) for k in offsets)


def _move(moment: datetime, years: int) -> datetime:
    """``moment`` ``years`` later on the wall clock (its twin year has the same 29 February, if any)."""
    return moment.replace(year=moment.year + years)
