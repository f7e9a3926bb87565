"""What ``promo run``, ``promo worker`` and ``promo beat`` print: one line per post event.

The worker's tasks (``workers/tasks.py``) log each post event on the ``promo.events`` logger with
its fields as ``extra`` (``post_id``, ``account``, ``outcome``, ``url``, ``reason``; ``queued`` for
the dispatcher's progress). ``EventFormatter`` draws them for people::

    17:35:59 -08:00  queued 3 posts (12, 13, 14), due 17:36:00 to 17:36:02
    17:36:00 -08:00  post 12  outbox  published  file:///.../outbox.jsonl#...

Unless ``--verbose``, Celery's own logging is replaced (``configure_quiet``, through its
``setup_logging`` signal): no banner, no superuser warning, no "Task ... succeeded" chatter; other
warnings and errors still reach stderr, one line each.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from datetime import datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

EVENTS = "promo.events"
# Loggers whose lines the event lines already say (the outcome and its reason).
_DUPLICATES = ("promo.engine.outcomes",)
_STYLES = {"published": "green", "failed": "red", "unknown": "yellow", "held": "yellow", "paused": "yellow"}


def clock(moment: datetime, tz: ZoneInfo) -> str:
    """``17:36:00 -08:00``: a time of day in ``tz``, with its offset."""
    local = moment.astimezone(tz)
    return f"{local:%H:%M:%S} {local.isoformat()[-6:]}"


def colour_wanted(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set."""
    return "NO_COLOR" not in os.environ and hasattr(stream, "isatty") and stream.isatty()


class EventFormatter(logging.Formatter):
    """A post event as ``TIME OFFSET  post ID  ACCOUNT  OUTCOME  URL-or-reason``; anything else as
    ``TIME OFFSET  message``."""

    def __init__(self, tz: ZoneInfo, colour: bool = False) -> None:
        super().__init__()
        self.tz, self.colour = tz, colour

    def format(self, record: logging.LogRecord) -> str:
        when = clock(datetime.fromtimestamp(record.created, self.tz), self.tz)
        fields: dict[str, Any] = record.__dict__
        if "post_id" in fields:
            return f"{when}  {self.post_line(fields)}"
        if "queued" in fields:
            return f"{when}  {self.queued_line(fields['queued'])}"
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return f"{when}  {level}{record.getMessage()}"

    def post_line(self, fields: dict[str, Any]) -> str:
        outcome = str(fields.get("outcome", ""))
        shown = outcome
        if self.colour and outcome in _STYLES:
            import click

            shown = click.style(outcome, fg=_STYLES[outcome])
        detail = fields.get("url") if outcome == "published" else fields.get("reason")
        account = str(fields.get("account") or "?").ljust(12)
        return "  ".join(str(part) for part in (f"post {fields['post_id']:<4}", account, shown, detail) if part)

    def queued_line(self, queued: list[tuple[int, datetime]]) -> str:
        ids = ", ".join(str(post_id) for post_id, _ in queued[:8]) + (", ..." if len(queued) > 8 else "")
        first, last = min(due for _, due in queued), max(due for _, due in queued)
        due = clock(first, self.tz)[:8] + ("" if last == first else f" to {clock(last, self.tz)[:8]}")
        posts = f"post {ids}" if len(queued) == 1 else f"{len(queued)} posts ({ids})"
        return f"queued {posts}, due {due}"


def event_handler(tz: ZoneInfo, stream: IO[str] | None = None) -> logging.Handler:
    stream = stream or sys.stdout
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EventFormatter(tz, colour_wanted(stream)))
    return handler


def show_events(tz: ZoneInfo) -> None:
    """Post events go to stdout as event lines (in every mode, ``--verbose`` too)."""
    logger = logging.getLogger(EVENTS)
    logger.handlers = [event_handler(tz)]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def configure_quiet(tz: ZoneInfo) -> None:
    """Replace Celery's logging: warnings and errors to stderr, one line each; no banner chatter."""
    from celery import signals
    from celery.exceptions import SecurityWarning

    warnings.filterwarnings("ignore", category=SecurityWarning)

    def setup(**_: Any) -> None:
        root = logging.getLogger()
        root.handlers = [event_handler(tz, sys.stderr)]
        root.setLevel(logging.WARNING)
        for name in _DUPLICATES:
            logging.getLogger(name).setLevel(logging.ERROR)
        show_events(tz)

    def stopping(**_: Any) -> None:  # pool processes told to stop are not errors
        logging.getLogger("multiprocessing").setLevel(logging.CRITICAL)

    signals.setup_logging.connect(setup, weak=False)
    signals.worker_shutting_down.connect(stopping, weak=False)
