"""``promo calendar``: the week or month at a glance in the terminal, or the whole ledger as an RFC 5545 feed.

Thin: one call to ``promo.manage.calendar`` (``read_calendar`` or ``ics_feed``), then drawing. The
drawing fits the terminal (piped: 100 columns, unless ``COLUMNS``): each post is its platform's short
name, coloured by its state (no colour with ``NO_COLOR`` or when piped) and marked by it, so the
state reads without colour too. Keys and texts are clipped with an ellipsis; a URL is whole or gone.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promo.cli.common import NAME, App, console, emit_json, json_option, pass_app
from promo.cli.display import PIPED_WIDTH, clip, style
from promo.errors import PromoError

if TYPE_CHECKING:
    from promo.manage.calendar import CalendarEntry, CalendarPost, CalendarView

MIN_WIDTH = 60
KEY_MAX = 28          # the week view's announcement column, at most
PLATFORMS_MAX = 40    # the week view's platforms column, at most
MIN_TEXT = 12         # narrower than this, the week view drops the text column
CELL_MAX = 24         # a month cell, at most
SHORT = {"x": "x", "mastodon": "mas", "bluesky": "bsky", "threads": "thr", "linkedin": "in", "facebook": "fb",
         "telegram": "tg", "discord": "dc", "slack": "sl", "webhook": "hook", "outbox": "out"}
COLOURS = {"published": "green", "failed": "red", "unknown": "yellow", "held": "yellow", "paused": "yellow",
           "awaiting_approval": "magenta", "queued": "cyan", "publishing": "cyan", "cancelled": "bright_black"}
MARKS = {"published": "✓", "failed": "!", "unknown": "?", "held": "~", "paused": "=", "queued": "»",
         "awaiting_approval": "…", "publishing": "»", "cancelled": "×"}
Token = tuple[str, str | None]  # visible text, colour


class DateText(click.ParamType):
    """A day: ``YYYY-MM-DD`` (years 1900 to 2999)."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.fail(f"{text[:40]!r} is not a date (YYYY-MM-DD, e.g. 2027-06-14)", param, ctx)
        if not 1900 <= day.year <= 2999:
            self.fail(f"{text!r} is out of range (years 1900 to 2999)", param, ctx)
        return day


DATE = DateText()


@click.command()
@click.option("--week", is_flag=True, help="This week, Monday to Sunday (the default).")
@click.option("--month", is_flag=True, help="The whole month, as a grid.")
@click.option("--from", "start", type=DATE, help="Show the week or month holding this day (default: today).")
@click.option("--campaign", "-c", type=NAME, help="Only this campaign (its id).")
@click.option("--account", "-a", type=NAME, help="Only this account.")
@click.option("--ics", "ics", metavar="FILE", help="Write an RFC 5545 calendar feed to FILE ('-': stdout).")
@click.option("--per-post", is_flag=True, help="With --ics: one event per post, not per announcement.")
@click.option("--since", type=DATE, help="With --ics: only posts on or after this day (in their zone).")
@click.option("--until", type=DATE, help="With --ics: only posts on or before this day (in their zone).")
@json_option
@pass_app
def calendar(app: App, week: bool, month: bool, start: date | None, campaign: str | None, account: str | None,
             ics: str | None, per_post: bool, since: date | None, until: date | None, as_json: bool) -> None:
    """Posts by day in the campaign's zone, or every post as a calendar feed Outlook and Google import.

    The terminal calendar shows the week (Monday first) or month holding --from, in the campaign's
    zone (the configured zone when the campaigns shown have different zones): per announcement its
    time, key, and each post's platform coloured and marked by its state.

    --ics writes every post of the chosen campaigns, past ones included, as events with their zone
    (TZID): one per announcement (each account and its state in the description), or one per post
    with --per-post. UIDs stay the same when the campaign is applied again, so a calendar that
    imports the file again updates its events instead of duplicating them.

    \b
    Example:
        promo calendar
        promo calendar --month --from 2027-06-01 --campaign jessica-jones-s3
        promo calendar --ics jessica-jones.ics --campaign jessica-jones-s3
        promo calendar --ics - --per-post --since 2027-06-01 > posts.ics
    """
    _check_options(week, month, start, ics, per_post, since, until, as_json)
    if ics is not None:
        _write_feed(app, ics, campaign=campaign, account=account, per_post=per_post, since=since, until=until,
                    as_json=as_json)
        return
    from promo.manage.calendar import read_calendar

    view = read_calendar(app.engine, span="month" if month else "week", start=start, campaign=campaign,
                         account=account, default_zone=app.zone, accounts=_configured(app) if account else None)
    if as_json:
        emit_json(view.to_dict())
        return
    width = _width()
    for line in month_lines(view, width) if month else week_lines(view, width):
        click.echo(line)


def _check_options(week: bool, month: bool, start: date | None, ics: str | None, per_post: bool,
                   since: date | None, until: date | None, as_json: bool) -> None:
    """Usage errors: options that cannot go together."""
    if week and month:
        raise click.UsageError("--week and --month cannot be used together")
    if ics is None:
        for name, given in (("--per-post", per_post), ("--since", since), ("--until", until)):
            if given:
                raise click.UsageError(f"{name} goes with --ics (the terminal calendar takes --from)")
        return
    for name, given in (("--week", week), ("--month", month), ("--from", start)):
        if given:
            raise click.UsageError(f"{name} is for the terminal calendar, not --ics (use --since/--until)")
    if not ics.strip():
        raise click.UsageError("--ics needs a file name ('-' writes to stdout)")
    if since and until and since > until:
        raise click.UsageError(f"--since {since} is after --until {until}")
    if ics == "-" and as_json:
        raise click.UsageError("--json cannot share stdout with --ics - (write the feed to a file)")


def _configured(app: App) -> set[str]:
    """The accounts in promo.toml (an --account may name one with no posts yet)."""
    return set(app.accounts)


def _write_feed(app: App, target: str, *, campaign: str | None, account: str | None, per_post: bool,
                since: date | None, until: date | None, as_json: bool) -> None:
    from promo.manage.calendar import ics_feed

    feed = ics_feed(app.engine, campaign=campaign, account=account, per_post=per_post, since=since, until=until,
                    default_zone=app.zone, accounts=_configured(app) if account else None)
    if target == "-":
        click.echo(feed.data, nl=False)
        return
    write_atomically(Path(target), feed.data)
    if as_json:
        emit_json({"file": target, **feed.to_dict()})
        return
    events = "event" if feed.events == 1 else "events"
    click.echo(f"wrote {feed.events} {events} ({feed.posts} posts, zones: {', '.join(feed.zones) or 'none'}) "
               f"to {target}")


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, so a reader (a web server serving
    the feed) never sees half a file. PromoError naming the file if it cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    temporary = None
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", delete=False) as handle:
            temporary = handle.name
            handle.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        if temporary:
            Path(temporary).unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise PromoError(f"--ics {path}: cannot write it ({reason.lower()}); choose a writable file, "
                         "or '-' for stdout") from None


def _width() -> int:
    out = console()
    width = out.width if out.is_terminal or os.environ.get("COLUMNS") else PIPED_WIDTH
    return max(width, MIN_WIDTH)


# -- drawing -------------------------------------------------------------------------------------

def _styled(tokens: Sequence[Token]) -> str:
    return "".join(style(text, colour) if colour else text for text, colour in tokens)


def _visible(tokens: Sequence[Token]) -> int:
    return sum(len(text) for text, _ in tokens)


def _padded(tokens: Sequence[Token], width: int) -> str:
    return _styled(tokens) + " " * max(width - _visible(tokens), 0)


def _post_token(post: CalendarPost) -> Token:
    name = SHORT.get(post.platform, post.platform[:4])
    return name + MARKS.get(post.status, ""), COLOURS.get(post.status)


def _platforms(posts: Sequence[CalendarPost], width: int) -> list[Token]:
    """The posts' platforms on one line of at most ``width``; those that do not fit as ``+N``."""
    every = [(f" {text}" if number else text, colour) for number, (text, colour) in enumerate(map(_post_token, posts))]
    if _visible(every) <= width:
        return every
    tokens: list[Token] = []
    used = 0
    for number, (text, colour) in enumerate(every):
        left = len(posts) - number - 1
        if used + len(text) + len(f" +{left}") > width:
            more = f"+{len(posts) - number}"
            return [*tokens, (f" {more}" if tokens else more, None)]
        tokens.append((text, colour))
        used += len(text)
    return tokens


def _wrapped(posts: Sequence[CalendarPost], width: int) -> list[list[Token]]:
    """The posts' platforms over as many lines of ``width`` as they need."""
    lines: list[list[Token]] = [[]]
    for post in posts:
        text, colour = _post_token(post)
        if lines[-1] and _visible(lines[-1]) + 1 + len(text) > width:
            lines.append([])
        lines[-1].append((f" {text}" if lines[-1] else text[:width], colour))
    return lines


def _key(entry: CalendarEntry, several: bool) -> str:
    if entry.announcement is None:
        return "(ad hoc)"
    return f"{entry.campaign}/{entry.announcement}" if several else entry.announcement


def _header(view: CalendarView, width: int) -> list[str]:
    """What is shown and in which zone: one line, or two if one does not fit."""
    if view.span == "week":
        span = f"Week of {view.first:%a %Y-%m-%d} to {view.last:%a %Y-%m-%d}"
    else:
        span = f"{view.first:%B %Y}"
    zone = f"times in {view.zone.key} ({view.zone_source})"
    if len(span) + 2 + len(zone) <= width:
        return [f"{span}, {zone}"]
    return [clip(span, width), clip(zone, width)]


def _several(view: CalendarView) -> bool:
    return len({entry.campaign for day in view.days for entry in day.entries}) > 1


def week_lines(view: CalendarView, width: int) -> list[str]:
    """The week as an agenda: a line per day, and per announcement its time, key, platforms and text."""
    several = _several(view)
    key_width, platforms_width = _week_widths([entry for day in view.days for entry in day.entries], several, width)
    text_width = width - (9 + 2 + 5 + 2 + key_width + 2 + platforms_width + 2)
    lines = [*_header(view, width), ""]
    for day in view.days:
        label = f"{day.day:%a %m-%d}"
        if not day.entries:
            lines.append(f"{label}  -")
        for number, entry in enumerate(day.entries):
            cells: list[Token] = [(f"{label if number == 0 else '':9}  {entry.at:%H:%M}  ", None),
                     (f"{clip(_key(entry, several), key_width):{key_width}}  ", None)]
            cells += _platforms(entry.posts, platforms_width)
            text = entry.posts[0].text if text_width >= MIN_TEXT else ""
            line = _padded(cells, 9 + 2 + 5 + 2 + key_width + 2 + platforms_width)
            lines.append((line + "  " + clip(text, text_width)).rstrip() if text else line.rstrip())
    return lines + _footer(view, width)


def _week_widths(entries: list[CalendarEntry], several: bool, width: int) -> tuple[int, int]:
    """The key and platforms columns: as wide as their widest cell, within their maximum and the line."""
    room = width - (9 + 2 + 5 + 2) - 2
    key_width = min(max([len(_key(entry, several)) for entry in entries] + [8]), KEY_MAX, max(room // 2, 8))
    natural = [_visible(_platforms(entry.posts, PLATFORMS_MAX)) for entry in entries]
    return key_width, min(max([*natural, 4]), PLATFORMS_MAX, room - key_width)


def month_lines(view: CalendarView, width: int) -> list[str]:
    """The month as a grid, Monday first: per day its number, then per announcement its time and key,
    and its posts' platforms."""
    from datetime import timedelta

    from promo.manage.calendar import week_of

    cell = min((width - 6) // 7, CELL_MAX)
    several, by_day = _several(view), {day.day: day for day in view.days}
    rule = "┼".join("─" * cell for _ in range(7))
    lines = [*_header(view, width), "", "│".join(f"{name:{cell}}" for name in
                                                     ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")).rstrip()]
    monday = week_of(view.first)
    while monday <= view.last:
        cells = [_cell(by_day.get(monday + timedelta(days=n)), cell, several) for n in range(7)]
        lines.append(rule)
        for row in range(max(len(found) for found in cells)):
            lines.append("│".join(_padded(found[row] if row < len(found) else [], cell) for found in cells).rstrip())
        monday += timedelta(days=7)
    return lines + _footer(view, width)


def _cell(day: Any, width: int, several: bool) -> list[list[Token]]:
    if day is None:
        return [[]]
    rows: list[list[Token]] = [[(f"{day.day.day:>2}", None)]]
    for entry in day.entries:
        rows.append([(f"{entry.at:%H:%M} {clip(_key(entry, several), width - 6)}", None)])
        rows += _wrapped(entry.posts, width)
    return rows


def _footer(view: CalendarView, width: int) -> list[str]:
    """How many posts in each state (coloured, with its mark); or what to do when there are none."""
    posts = [post for day in view.days for entry in day.entries for post in entry.posts]
    if not posts:
        return ["", clip(f"no posts this {view.span}; 'promo calendar --ics FILE' exports them all, "
                         "'promo queue --all' lists them", width)]
    found = [post.status for post in posts]
    from promo.store import states

    lines: list[list[Token]] = [[(f"{len(posts)} post{'s' if len(posts) != 1 else ''}:", None)]]
    for state in (state for state in states.ALL if state in found):
        mark = f" {MARKS[state]}" if state in MARKS else ""
        text = f"{',' if len(lines) > 1 or len(lines[0]) > 1 else ''} {found.count(state)} {state}{mark}"
        if _visible(lines[-1]) + len(text) > width:
            lines.append([])
        lines[-1].append((text, COLOURS.get(state)))
    return ["", *(_styled(line) for line in lines)]
