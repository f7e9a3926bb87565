"""Announcement times: absolute, or relative to another announcement, resolved in the campaign's zone.

``at: 2019-06-14 00:01`` is read in the campaign's zone (an explicit offset is kept).
``at: premiere - 3d`` or ``at: {after: premiere, offset: -3d}`` is relative. Days and weeks keep
the local wall-clock time across a DST change (00:01 three days before is 00:01); hours, minutes
and seconds are absolute (``premiere - 2h`` is exactly two hours earlier).

``at: next-slot`` is the next free slot of each of the announcement's accounts (``docs/slots.md``),
known only when apply writes the post: until then its time is ``NEXT_SLOT``, a placeholder nothing
may be relative to (``is_next_slot`` tells it apart).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from promo.errors import CampaignError
from promo.times import as_aware, localize, parse_duration

_PIECE = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE)
_CALENDAR = {"w": 7.0, "d": 1.0}
_CLOCK = {"h": 3600.0, "m": 60.0, "s": 1.0}
NEXT_SLOT_WORD = "next-slot"
# The stand-in time of an ``at: next-slot`` announcement until apply picks each account's slot.
NEXT_SLOT = datetime(9000, 1, 1, tzinfo=UTC)
_LOOKS_LIKE_KEY = re.compile(r"^([A-Za-z_][\w.-]*)\s*(?:[+-].*)?$")


@dataclass(frozen=True)
class TimeSpec:
    """Where a time comes from: a fixed moment, or an anchor plus calendar days and clock seconds."""

    field: str
    line: int
    moment: datetime | None = None
    anchor: str | None = None
    days: float = 0.0
    seconds: float = 0.0
    next_slot: bool = False  # ``at: next-slot``: each account's next free slot, chosen by apply


def is_next_slot(moment: datetime) -> bool:
    """Whether ``moment`` is the placeholder time of an ``at: next-slot`` announcement."""
    return moment == NEXT_SLOT


def split_offset(text: str) -> tuple[float, float]:
    """``-1d2h`` -> (-1.0 calendar days, -7200.0 seconds). ValueError if it is not a duration."""
    parse_duration(text)  # validates, with the house error message
    sign = -1.0 if text.strip().startswith("-") else 1.0
    days = seconds = 0.0
    for amount, unit in _PIECE.findall(text):
        key = "m" if unit.lower().startswith("min") else unit[0].lower()
        if key in _CALENDAR:
            days += float(amount) * _CALENDAR[key]
        else:
            seconds += float(amount) * _CLOCK[key]
    return sign * days, sign * seconds


def parse_spec(value: Any, *, field: str, line: int, file: str, tz: ZoneInfo,
               keys: Collection[str]) -> TimeSpec:
    """Read ``at`` / ``not_before``: absolute text, ``key +/- offset``, or ``{after: key, offset: ...}``."""
    if isinstance(value, Mapping):
        return _parse_mapping(value, field=field, line=line, file=file, keys=keys)
    if not isinstance(value, str):
        raise CampaignError(f"expected a time such as 2019-06-14 00:01 or premiere - 3d, got {value!r}",
                            file=file, line=line, field=field)
    text = value.strip()
    if text == NEXT_SLOT_WORD:
        if field.endswith("not_before"):
            raise CampaignError("next-slot is only for at (not_before needs a time)", file=file, line=line,
                                field=field)
        return TimeSpec(field, line, next_slot=True)
    relative = _parse_relative(text, field=field, line=line, file=file, keys=keys)
    if relative is not None:
        return relative
    try:
        return TimeSpec(field, line, moment=as_aware(text, tz))
    except ValueError as exc:
        found = _LOOKS_LIKE_KEY.match(text)
        if found and not text[:1].isdigit():
            raise CampaignError(f"unknown announcement {found.group(1)!r} in {text!r} "
                                f"(known: {_some(keys)})", file=file, line=line,
                                field=field) from None
        hint = "; or relative, e.g. premiere - 3d" if "cannot read" in str(exc) else ""
        raise CampaignError(f"{exc}{hint}", file=file, line=line, field=field) from None


def _parse_relative(text: str, *, field: str, line: int, file: str,
                    keys: Collection[str]) -> TimeSpec | None:
    if text in keys:
        return TimeSpec(field, line, anchor=text)
    for sign in re.finditer(r"[+-]", text):
        anchor = text[:sign.start()].strip()
        if anchor in keys:
            return _relative(anchor, text[sign.start():], field=field, line=line, file=file)
    return None


def _relative(anchor: str, offset: str, *, field: str, line: int, file: str) -> TimeSpec:
    try:
        days, seconds = split_offset(offset)
    except ValueError as exc:
        raise CampaignError(str(exc), file=file, line=line, field=field) from None
    return TimeSpec(field, line, anchor=anchor, days=days, seconds=seconds)


def _parse_mapping(value: Mapping[str, Any], *, field: str, line: int, file: str,
                   keys: Collection[str]) -> TimeSpec:
    unknown = set(value) - {"after", "before", "offset"}
    if unknown or ("after" in value) == ("before" in value):
        raise CampaignError("expected {after: KEY, offset: -3d} or {before: KEY, offset: 3d}",
                            file=file, line=line, field=field)
    anchor = str(value.get("after", value.get("before")))
    if anchor not in keys:
        raise CampaignError(f"unknown announcement {anchor!r} (known: {_some(keys)})",
                            file=file, line=line, field=field)
    offset = str(value.get("offset", "0s")).strip()
    if "before" in value:
        offset = offset[1:] if offset.startswith("-") else "-" + offset.removeprefix("+")
    return _relative(anchor, offset, field=field, line=line, file=file)


def shift(anchor: datetime, days: float, seconds: float, tz: ZoneInfo) -> datetime:
    """``anchor`` moved by calendar ``days`` (local wall time kept) then absolute ``seconds``."""
    whole = int(days)
    seconds += (days - whole) * 86400
    moved = anchor.astimezone(tz)
    if whole:
        moved = localize(moved.replace(tzinfo=None) + timedelta(days=whole), tz)
    if seconds:
        moved = (moved.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(tz)
    return moved


def resolve(specs: Mapping[str, TimeSpec], tz: ZoneInfo, file: str) -> dict[str, datetime]:
    """Every announcement's time; a relative time that leads back to itself is an error.

    Chains are followed with a loop, not recursion, so a chain of thousands of relative times costs
    time in proportion to its length and never the interpreter's stack.
    """
    resolved: dict[str, datetime] = {}
    for key in specs:
        _resolve_chain(key, specs, tz, file, resolved)
    return resolved


def _resolve_chain(key: str, specs: Mapping[str, TimeSpec], tz: ZoneInfo, file: str,
                   resolved: dict[str, datetime]) -> None:
    chain: list[str] = []
    while key not in resolved:
        spec = specs[key]
        if key in chain:
            circle = " -> ".join([*chain[chain.index(key):], key])
            raise CampaignError(f"times refer to each other in a circle: {circle}", file=file,
                                line=spec.line, field=spec.field)
        if spec.next_slot or spec.moment is not None:
            resolved[key] = spec.moment.astimezone(tz) if spec.moment is not None else NEXT_SLOT
            break
        chain.append(key)
        assert spec.anchor is not None
        key = spec.anchor
    for waiting in reversed(chain):
        resolved[waiting] = resolve_relative(specs[waiting], resolved, tz, file)


def resolve_relative(spec: TimeSpec, schedule: Mapping[str, datetime], tz: ZoneInfo, file: str) -> datetime:
    """A time (e.g. ``not_before``) against already resolved announcement times."""
    if spec.moment is not None:
        return spec.moment.astimezone(tz)
    assert spec.anchor is not None
    if is_next_slot(schedule[spec.anchor]):
        raise CampaignError(f"{spec.anchor} is at next-slot, whose time apply picks per account: "
                            "give a time, not one relative to it", file=file, line=spec.line, field=spec.field)
    try:
        return shift(schedule[spec.anchor], spec.days, spec.seconds, tz)
    except ValueError as exc:  # a wall time the clocks skip
        raise CampaignError(str(exc), file=file, line=spec.line, field=spec.field) from None
    except OverflowError:
        raise CampaignError("the time falls outside the years 1 to 9999", file=file, line=spec.line,
                            field=spec.field) from None


def _some(keys: Iterable[str], most: int = 8) -> str:
    """A few known keys for an error line, not thousands."""
    ordered = sorted(keys)
    shown = ", ".join(ordered[:most])
    return shown + (f" and {len(ordered) - most} more" if len(ordered) > most else "")
