"""Reading a current SQLite store with ``sqlite3`` alone: what ``promo queue``, ``show`` and ``status`` read.

The read commands must start within 0.5 s, and importing SQLAlchemy alone takes about that. On a
SQLite file stamped at the current schema (``migrate.HEAD``), ``open_current(url)`` opens it
read-only (``mode=ro``: nothing here can write) and the queries below read it. The SQL and the row
codec live here and nowhere else; they decode columns exactly as ``tables`` does: times through
``Stamp`` (stored as naive UTC text, read back aware in UTC), JSON columns through ``json``.

Rows come back as small records whose fields carry the table's attribute names (``PostRecord`` reads
like a ``PostRow``), so ``promo.manage`` builds the same views from either. Any other store (an
older stamp, PostgreSQL, a URL with options) is read through SQLAlchemy, as are all writes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from promo.store.migrate import HEAD, sqlite_file

TIMEOUT_S = 5.0  # a writer holds the lock for milliseconds (WAL: readers rarely wait at all)


class PostRecord(NamedTuple):
    """A ``posts`` row: the columns a person is shown, named as on ``tables.PostRow``."""

    id: int
    campaign_id: str | None
    announcement: str | None
    account: str
    platform: str
    status: str
    scheduled_at: datetime
    due_at: datetime
    payload: dict[str, Any]
    attempts: int
    url: str | None
    reason: str | None
    idempotency_key: str
    kind: str
    not_before: datetime | None
    max_lateness_s: int | None
    platform_id: str | None
    published_at: datetime | None
    created_at: datetime


class EventRecord(NamedTuple):
    """An ``events`` row, named as on ``tables.Event``."""

    id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor: str
    attempt_id: str | None
    detail: dict[str, Any] | None


class AccountRecord(NamedTuple):
    """An ``account_state`` row, the part ``promo status`` shows."""

    account: str
    blocked_until: datetime | None
    blocked_reason: str | None
    flagged_reason: str | None
    flagged_at: datetime | None


class ProcessRecord(NamedTuple):
    """A ``processes`` row (a worker's or beat's heartbeat), named as on ``tables.Process``."""

    kind: str
    hostname: str
    pid: int
    name: str
    started_at: datetime
    last_seen: datetime
    interval_s: float
    concurrency: int | None
    version: str


_POST_COLUMNS = ", ".join(PostRecord._fields)
_EVENT_COLUMNS = ", ".join(EventRecord._fields)
_POST_TIMES = {i for i, name in enumerate(PostRecord._fields)
               if name in ("scheduled_at", "due_at", "not_before", "published_at", "created_at")}


def stamp(value: str | None) -> datetime | None:
    """A stored time, read back as ``tables.Stamp`` reads it: aware, in UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def document(value: str | None) -> Any:
    """A JSON column (SQL NULL is None)."""
    return None if value is None else json.loads(value)


def _post(row: Sequence[Any]) -> PostRecord:
    values: list[Any] = [stamp(value) if i in _POST_TIMES else value for i, value in enumerate(row)]
    values[PostRecord._fields.index("payload")] = document(values[PostRecord._fields.index("payload")])
    return PostRecord(*values)


def _event(row: Sequence[Any]) -> EventRecord:
    id_, at, action, from_status, to_status, actor, attempt_id, detail = row
    return EventRecord(id_, stamp(at), action, from_status, to_status, actor, attempt_id,  # type: ignore[arg-type]
                       document(detail))


def connect_readonly(path: Path, timeout: float = TIMEOUT_S) -> sqlite3.Connection:
    """``path`` opened read-only; sqlite3.Error if it is missing or cannot be opened."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def open_current(url: str) -> SqliteReads | None:
    """The store at ``url`` for reading, if it is a SQLite file at the current schema; else None."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return None
    try:
        connection = connect_readonly(path)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if row is None or row[0] != HEAD:
        connection.close()
        return None
    return SqliteReads(connection)


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


class SqliteReads:
    """The read commands' queries on one read-only connection (``close()`` when done)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def close(self) -> None:
        self.connection.close()

    def _all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        return self.connection.execute(sql, tuple(parameters)).fetchall()

    def posts(self, statuses: Sequence[str], campaign: str | None = None, account: str | None = None, *,
              newest_first: bool = False, limit: int = -1) -> list[PostRecord]:
        """Posts in these states (all if none given), by due time then id (or the reverse)."""
        where, parameters = _filters(statuses, campaign, account)
        order = "due_at DESC, id DESC" if newest_first else "due_at, id"
        rows = self._all(f"SELECT {_POST_COLUMNS} FROM posts{where} ORDER BY {order} LIMIT ?",
                         [*parameters, limit])
        return [_post(row) for row in rows]

    def count(self, statuses: Sequence[str], campaign: str | None = None, account: str | None = None) -> int:
        where, parameters = _filters(statuses, campaign, account)
        return int(self._all(f"SELECT count(*) FROM posts{where}", parameters)[0][0])

    def post(self, post_id: int) -> PostRecord | None:
        rows = self._all(f"SELECT {_POST_COLUMNS} FROM posts WHERE id = ?", [post_id])
        return _post(rows[0]) if rows else None

    def events(self, post_id: int) -> list[EventRecord]:
        """A post's events, oldest first."""
        rows = self._all(f"SELECT {_EVENT_COLUMNS} FROM events WHERE post_id = ? ORDER BY id", [post_id])
        return [_event(row) for row in rows]

    def campaign_zones(self, campaigns: Iterable[str]) -> list[tuple[str, str]]:
        """``(campaign id, zone name)`` of each campaign asked for that exists."""
        wanted = sorted(set(campaigns))
        return [tuple(row) for row in self._all(f"SELECT id, timezone FROM campaigns WHERE id IN ({_marks(wanted)})",
                                                wanted)] if wanted else []

    def counts(self) -> dict[str, int]:
        """How many posts are in each state (states with none are left out)."""
        return {status: int(count) for status, count in
                self._all("SELECT status, count(*) FROM posts GROUP BY status")}

    def meta(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else None

    def account_states(self) -> list[AccountRecord]:
        rows = self._all("SELECT account, blocked_until, blocked_reason, flagged_reason, flagged_at FROM account_state")
        return [AccountRecord(account, stamp(blocked), why_blocked, flagged, stamp(flagged_at))
                for account, blocked, why_blocked, flagged, flagged_at in rows]

    def processes(self) -> list[ProcessRecord]:
        """Every worker's and beat's heartbeat row, alive or not."""
        rows = self._all(f"SELECT {', '.join(ProcessRecord._fields)} FROM processes")
        return [ProcessRecord(kind, host, pid, name, stamp(started), stamp(seen), float(interval), workers, version)  # type: ignore[arg-type]
                for kind, host, pid, name, started, seen, interval, workers, version in rows]

    def holds(self) -> list[tuple[str, str]]:
        """The active pauses, ``(scope, value)``."""
        return [(scope, value) for scope, value in self._all("SELECT scope, value FROM holds")]


def _filters(statuses: Sequence[str], campaign: str | None, account: str | None) -> tuple[str, list[Any]]:
    clauses, parameters = [], list(statuses)
    if statuses:
        clauses.append(f"status IN ({_marks(statuses)})")
    if campaign is not None:
        clauses.append("campaign_id = ?")
        parameters.append(campaign)
    if account is not None:
        clauses.append("account = ?")
        parameters.append(account)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), parameters
