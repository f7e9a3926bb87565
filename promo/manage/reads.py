"""The read commands on a current SQLite store, without SQLAlchemy: ``promo queue``, ``show``, ``status``.

``FileReads`` answers what ``promo.manage.posts.EngineReads`` answers (a queue page, one post in
full, campaign zones) from ``promo.store.sqlite_reads``, and ``file_status`` what
``promo.manage.status.engine_status`` reports; the views are the same (``promo.manage.views``), and
``tests/manage/test_reads.py`` holds the two paths equal on one store. ``broker_problem`` probes
the embedded broker's SQLite file with ``sqlite3``, and only another broker through kombu.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from promo.errors import NotFound
from promo.manage.views import (
    ATTENTION_LIMIT,
    DEFAULT_LIMIT,
    PostDetail,
    QueuePage,
    Status,
    StoreFacts,
    queue_page,
    zone_names,
)
from promo.settings_peek import mask_url
from promo.store import states
from promo.store.meta import LAST_DISPATCH, LAST_SWEEP
from promo.store.migrate import sqlite_file
from promo.store.sqlite_reads import SqliteReads, connect_readonly
from promo.times import utcnow

EMBEDDED_BROKER = "sqla+sqlite:"


class PostReads(Protocol):
    """What ``promo queue`` and ``promo show`` read, by either path."""

    def queue(self, status: str | Sequence[str] | None = None, campaign: str | None = None,
              account: str | None = None, *, history: bool = False, limit: int = DEFAULT_LIMIT) -> QueuePage: ...

    def post(self, post_id: int) -> PostDetail: ...

    def campaign_zones(self, campaigns: Iterable[str | None]) -> dict[str, ZoneInfo]: ...


class FileReads:
    """``PostReads`` on a read-only SQLite connection."""

    def __init__(self, reads: SqliteReads) -> None:
        self.reads = reads

    def queue(self, status: str | Sequence[str] | None = None, campaign: str | None = None,
              account: str | None = None, *, history: bool = False, limit: int = DEFAULT_LIMIT) -> QueuePage:
        """Upcoming posts by due time, then (``history``, or asked for by status) the rest, newest first."""
        return queue_page(
            status, history, limit,
            lambda statuses, newest_first, most: list(self.reads.posts(statuses, campaign, account,
                                                                        newest_first=newest_first, limit=most)),
            lambda statuses: self.reads.count(statuses, campaign, account),
        )

    def post(self, post_id: int) -> PostDetail:
        """One post with its payload and every event, oldest first. NotFound if there is none."""
        row = self.reads.post(post_id)
        if row is None:
            raise NotFound(f"no post with id {post_id} ('promo queue --all' lists them)")
        return PostDetail.of(row, self.reads.events(post_id))

    def campaign_zones(self, campaigns: Iterable[str | None]) -> dict[str, ZoneInfo]:
        """The zone each named campaign was written in (unknown zones are left out)."""
        return zone_names(self.reads.campaign_zones(c for c in campaigns if c))

    def facts(self) -> StoreFacts:
        reads = self.reads
        return StoreFacts(reads.meta(LAST_DISPATCH), reads.meta(LAST_SWEEP), reads.counts(),
                          reads.posts(sorted(states.ATTENTION), limit=ATTENTION_LIMIT), reads.account_states(),
                          reads.holds(), reads.processes())


def file_status(broker: str, reads: SqliteReads, tz: ZoneInfo, *, now: datetime | None = None) -> Status:
    """``engine_status`` for a current SQLite store, read through ``reads``."""
    status = new_status(broker)
    try:
        status.fill(FileReads(reads).facts(), now or utcnow(), tz)
    except Exception as exc:  # as engine_status: the database failing is a finding
        status.store_failed(exc)
    return status


def new_status(broker: str) -> Status:
    """A report with the broker probed and the store not yet read."""
    problem = broker_problem(broker)
    return Status(mask_url(broker), problem is None, problem, True, None)


def broker_problem(url: str, timeout: float = 2.0) -> str | None:
    """None if the broker answers, else why not (one line)."""
    if url.startswith(EMBEDDED_BROKER):
        return embedded_broker_problem(url, timeout)
    from kombu import Connection  # Redis: a real connection and a ping

    try:
        with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            if url.startswith("redis"):
                connection.default_channel.client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def embedded_broker_problem(url: str, timeout: float = 2.0) -> str | None:
    """The embedded broker is a SQLite file the worker creates: fine if absent (no worker has run yet)
    or if it opens read-only as a database; else why not."""
    path = sqlite_file(url.removeprefix("sqla+"))
    if path is None or not path.exists():
        return None
    try:
        connection = connect_readonly(path, timeout)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None
