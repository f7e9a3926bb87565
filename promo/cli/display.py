"""Drawing shared by several commands: times as people read them, tables that fit the terminal,
text clipped without breaking a URL, event history as lines, and posts that break a rule."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import click

from promo.times import show_time

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from promo.manage.posts import EventView
    from promo.planning.campaign import RulesBroken

GAP = 2          # spaces between table columns
MIN_FLEX = 10    # flexible columns shrink to this, then the last of them is dropped
PIPED_WIDTH = 100  # a table's width when piped, unless COLUMNS says otherwise
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def when(value: datetime | None, tz: ZoneInfo) -> str:
    """``2027-06-14 00:01 -07:00`` in ``tz``; ``none`` for no time."""
    return show_time(value, tz)


def style(text: str, colour: str) -> str:
    """``text`` in ``colour``, unless ``NO_COLOR`` is set (click drops colour when piped)."""
    return text if os.environ.get("NO_COLOR") else click.style(text, fg=colour)


def clip(text: str, width: int) -> str:
    """``text`` on one line, at most ``width`` characters, cut between words; a URL is whole or gone."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    kept = ""
    for word in flat.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if len(candidate) > width - 1:
            if not kept and not _URL.match(word):
                kept = word[: width - 1]
            break
        kept = candidate
    return kept + "…"


def fit_widths(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
               flexible: Sequence[str]) -> dict[str, int]:
    """Each column's width so the table fits ``width``: ``flexible`` columns shrink in that order, to
    ``MIN_FLEX`` at least; if that is not enough, they are dropped in the same order."""
    natural = {h: max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(headers)}
    columns, droppable = list(headers), [h for h in flexible if h in headers]
    while True:
        widths = {h: natural[h] for h in columns}
        over = sum(widths.values()) + GAP * (len(widths) - 1) - width
        for name in (h for h in flexible if h in widths):
            cut = max(0, min(over, widths[name] - MIN_FLEX))
            widths[name], over = widths[name] - cut, over - cut
        if over <= 0 or not droppable:
            return widths
        columns.remove(droppable.pop(0))


def table(out: Console, headers: Sequence[str], rows: Sequence[Sequence[str]],
          flexible: Sequence[str] = ()) -> list[str]:
    """A borderless table as wide as the terminal at most (``COLUMNS``; piped: ``PIPED_WIDTH``), as lines;
    cells are clipped, never wrapped."""
    from rich.table import Table

    width = out.width if out.is_terminal or os.environ.get("COLUMNS") else PIPED_WIDTH
    widths = fit_widths(headers, rows, width, flexible)
    shown = [i for i, h in enumerate(headers) if h in widths]
    grid = Table(box=None, header_style="bold", pad_edge=False, padding=(0, GAP // 2), show_edge=False)
    for i in shown:
        grid.add_column(headers[i], no_wrap=True, overflow="ellipsis", width=widths[headers[i]])
    for row in rows:
        grid.add_row(*(clip(row[i], widths[headers[i]]) for i in shown))
    out.width = max(width, sum(widths.values()) + GAP * len(widths))
    with out.capture() as captured:
        out.print(grid)
    return [line.rstrip() for line in captured.get().splitlines()]


def history_lines(events: Sequence[EventView], tz: ZoneInfo, last_reason: str | None = None) -> list[str]:
    """A post's events as lines: ``2027-06-14 00:01 -07:00  queued -> publishing  by worker-1``."""
    lines, attempt = [], 0
    for number, event in enumerate(events):
        if event.to_status == "publishing":
            attempt += 1
        reason = last_reason if number == len(events) - 1 else None
        lines.append(f"{when(event.at, tz)}  {_event_words(event, attempt, reason, tz)}  by {event.actor or '?'}")
    return lines


def _event_words(event: EventView, attempt: int, last_reason: str | None, tz: ZoneInfo) -> str:
    detail = event.detail
    if event.from_status == "publishing" and event.to_status != "published":
        outcome = {"failed": "failed", "unknown": "ended unknown"}.get(event.to_status or "", "was refused")
        reason = detail.get("reason") or last_reason
        text = f"attempt {attempt} {outcome}" + (f": {reason}" if reason else "")
        return text + (f"; next try {shown_at(detail['until'], tz)}" if detail.get("until") else "")
    if event.from_status and event.to_status and event.from_status != event.to_status:
        text = f"{event.from_status} -> {event.to_status}"
    else:
        text = event.action
    extra = _detail_words(detail, tz)
    return f"{text}: {extra}" if extra else text


def _detail_words(detail: dict[str, object], tz: ZoneInfo) -> str:
    changes = detail.get("changes")
    if isinstance(changes, list):
        return "; ".join(str(change) for change in changes)
    if "from" in detail and "to" in detail:
        return f"moved from {shown_at(detail['from'], tz)} to {shown_at(detail['to'], tz)}"
    pieces = [str(detail[key]) for key in ("url", "reason", "why", "hold") if detail.get(key)]
    if detail.get("until"):
        pieces.append(f"until {shown_at(detail['until'], tz)}")
    return "; ".join(pieces)


def shown_at(value: object, tz: ZoneInfo) -> str:
    """A time kept as ISO text in an event, shown in ``tz`` (as kept if it cannot be read)."""
    try:
        return when(datetime.fromisoformat(str(value)), tz)
    except (ValueError, OverflowError):
        return str(value)


def report_broken(error: RulesBroken) -> None:
    """One stderr line per problem of each post that breaks a rule, then the count."""
    for item in error.broken:
        scheduled = item.scheduled
        for problem in item.report.problems:
            click.echo(f"error: {error.path}: {scheduled.announcement} for {scheduled.post.account}: "
                       f"{problem.message}", err=True)
    click.echo(f"error: {error}", err=True)
