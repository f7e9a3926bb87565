"""Drawing shared by several commands: times as people read them, and posts that break a rule."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from promo.times import show_time

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from promo.planning.campaign import RulesBroken


def when(value: datetime | None, tz: ZoneInfo) -> str:
    """``2019-06-14 00:01 -07:00`` in ``tz``; ``none`` for no time."""
    return show_time(value, tz)


def report_broken(error: RulesBroken) -> None:
    """One stderr line per problem of each post that breaks a rule, then the count."""
    for item in error.broken:
        scheduled = item.scheduled
        for problem in item.report.problems:
            click.echo(f"error: {error.path}: {scheduled.announcement} for {scheduled.post.account}: "
                       f"{problem.message}", err=True)
    click.echo(f"error: {error}", err=True)
