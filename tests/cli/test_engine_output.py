"""What ``promo run``, ``worker`` and ``beat`` print: the event lines (``promo.cli.events``).

tests/cli/test_first_run.py runs the real ``promo run`` and reads its output."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from promo.cli.events import EventFormatter, clock, colour_wanted

LA = ZoneInfo("America/Los_Angeles")
AT = datetime(2019, 6, 14, 7, 1, 2, tzinfo=UTC)


def record(message: str, level: int = logging.INFO, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("promo.events", level, __file__, 1, message, (), None)
    made.created = AT.timestamp()
    made.__dict__.update(extra)
    return made


def test_a_published_post_is_one_line_with_time_offset_id_account_and_url() -> None:
    line = EventFormatter(LA).format(record("post 12 ...", post_id=12, account="my-outbox", outcome="published",
                                            url="https://example.com/p/12", reason=None))
    assert line == "00:01:02 -07:00  post 12    my-outbox     published  https://example.com/p/12"


def test_a_failed_post_says_why() -> None:
    line = EventFormatter(LA).format(record("x", logging.WARNING, post_id=7, account="jj-x", outcome="failed",
                                            url=None, reason="X refused the post; fix it, then 'promo retry 7'"))
    assert line.endswith("post 7     jj-x          failed  X refused the post; fix it, then 'promo retry 7'")


def test_progress_and_other_lines() -> None:
    formatter = EventFormatter(LA)
    queued = [(i, AT.replace(second=s)) for i, s in ((12, 2), (13, 3), (14, 5))]
    assert formatter.format(record("q", queued=queued)) == (
        "00:01:02 -07:00  queued 3 posts (12, 13, 14), due 00:01:02 to 00:01:05")
    assert formatter.format(record("q", queued=queued[:1])) == "00:01:02 -07:00  queued post 12, due 00:01:02"
    assert formatter.format(record("ready: waiting")) == "00:01:02 -07:00  ready: waiting"
    assert formatter.format(record("broker down", logging.ERROR)) == "00:01:02 -07:00  error: broker down"
    assert clock(AT, ZoneInfo("UTC")) == "07:01:02 +00:00"


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert colour_wanted(Tty()) and not colour_wanted(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_wanted(Tty())
    coloured = EventFormatter(LA, colour=True).format(record("p", post_id=1, account="a", outcome="published",
                                                             url="u", reason=None))
    assert "\x1b[32mpublished" in coloured
