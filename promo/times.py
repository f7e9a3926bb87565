"""Time in promo: every datetime is aware; naive input is read in a named IANA zone.

``parse_duration("3d")``, ``parse_duration("-1h30m")``, ``parse_moment("2019-06-14 00:01", zone)``.
A wall time that does not exist (the spring-forward gap) is an error; an ambiguous one (the
fall-back hour) is the first occurrence, as a person reading a calendar expects.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION = re.compile(r"^\s*([+-])?\s*((?:\d+(?:\.\d+)?\s*(?:w|d|h|m|s|weeks?|days?|hours?|minutes?|mins?|"
                       r"seconds?|secs?)\s*)+)$", re.IGNORECASE)
_PIECE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
MAX_DURATION_S = 100 * 366 * 86400


def zone(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError naming it if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {name!r} (e.g. America/Los_Angeles)") from None


def parse_duration(text: str) -> timedelta:
    """``3d``, ``-3 days``, ``1h30m``, ``90s``, ``2w`` -> timedelta. ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"cannot read {text!r} as a duration (e.g. 3d, 2h30m, -15m)")
    seconds = 0.0
    for amount, unit in _PIECE.findall(match.group(2)):
        key = "m" if unit.lower().startswith("min") else unit[0].lower()
        seconds += float(amount) * _UNITS[key]
    if seconds > MAX_DURATION_S:
        raise ValueError(f"{text.strip()!r} is too long a duration (at most 100 years)")
    return timedelta(seconds=-seconds if match.group(1) == "-" else seconds)


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Read a naive wall time in ``tz``. Refuses a time skipped by a DST change."""
    aware = naive.replace(tzinfo=tz, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(tz)
    if round_trip.replace(tzinfo=None) != naive:
        raise ValueError(f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key} (the clocks skip it)")
    return aware


def as_aware(value: datetime | date | str, tz: ZoneInfo) -> datetime:
    """A datetime, date or ISO 8601 text as an aware datetime; naive values are read in ``tz``."""
    if isinstance(value, str):
        value = _parse_iso(value)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else localize(value, tz)
    return localize(datetime.combine(value, time()), tz)


def _parse_iso(text: str) -> datetime:
    cleaned = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a time (e.g. 2019-06-14 00:01 or "
                         "2019-06-14T00:01:00-07:00)") from None


def parse_moment(text: str, tz: ZoneInfo, now: datetime | None = None) -> datetime:
    """A time typed by a person: ISO 8601, ``now``, or ``now+2h`` / ``+15m``. Always aware."""
    now = now or utcnow()
    stripped = text.strip().lower()
    if stripped == "now":
        return now
    if stripped.startswith("now"):
        return now + parse_duration(stripped[3:])
    if stripped[:1] in "+-" and _DURATION.match(stripped):
        return now + parse_duration(stripped)
    return as_aware(text, tz)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """ISO 8601 with its offset, to the second (microseconds kept only when present)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.isoformat(timespec="seconds" if value.microsecond == 0 else "milliseconds")


def from_storage(value: datetime) -> datetime:
    """Databases may hand back naive UTC (SQLite); make it aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def show_time(value: datetime | None, tz: ZoneInfo) -> str:
    """``2019-06-14 00:01 -07:00``: a time as a person reads it, in ``tz`` with its offset; ``none``."""
    if value is None:
        return "none"
    local = value.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.isoformat()[-6:]}"
