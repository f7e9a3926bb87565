"""One durable commit on a connection of its own: what makes a worker's grouped outcome commits durable.

A PostgreSQL commit made with ``synchronous_commit = off`` is visible at once but reaches the disk
only with a later WAL flush: a crash of the server before then forgets it. A commit that waits for
its flush writes every WAL record before its own to disk, so one such commit, begun after a set of
relaxed commits returned, makes all of them durable. ``WalFlush.flush`` is that commit: a
transactional ``pg_logical_emit_message`` (any role may call it, at any ``wal_level``) writes one
small WAL record, so its commit, with ``synchronous_commit`` at its default, waits until the WAL up
to it is flushed. (A transaction that wrote no WAL, ``SELECT txid_current()`` say, commits without
waiting: PostgreSQL flushes only for transactions that wrote something. A logical decoding slot, if
the database has one, sees these messages under the prefix ``promo``.)

A flush vouches only for commits made on the server it reached. A server that crashed and came back
has forgotten its unflushed commits, and a connection made afterwards cannot tell; so a flush covers
only commits made after ``connected_at`` (monotonic, read before connecting): ``covers(started)``.
A connection that fails is closed and made again, with a new ``connected_at``.

Used by ``workers/grouped_acks.py`` (docs/reliability.md, "Grouped outcome commits").
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from promo.store.db import make_engine

FLUSH_SQL = "SELECT pg_logical_emit_message(true, 'promo', 'flush')"


class FlushFailed(Exception):
    """The flush did not happen (the server is down or the connection broke): nothing is vouched for."""


class WalFlush:
    """A connection of its own to the store, and one durable commit on it whenever asked."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = make_engine(url, poolclass=NullPool)
        self._connection: Any = None  # the pool's connection record; its driver connection is used
        self.connected_at: float | None = None

    def connect(self) -> None:
        """Open the connection (closing any earlier one); FlushFailed if the server does not answer."""
        self.close()
        connected_at = time.monotonic()
        try:
            self._connection = self.engine.raw_connection()
            self._connection.driver_connection.autocommit = True
        except (SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error) as exc:  # the pool raises the driver's own
            self._connection = None
            raise FlushFailed(f"cannot connect to the store: {_reason(exc)}") from exc
        self.connected_at = connected_at

    def covers(self, started: float) -> bool:
        """Whether a flush on this connection vouches for a commit made after ``started`` (monotonic)."""
        return self.connected_at is not None and started >= self.connected_at

    def flush(self) -> None:
        """One durable commit: every commit the server made before it is on disk. FlushFailed if not."""
        if self._connection is None:
            raise FlushFailed("no connection to the store")
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            self._connection.driver_connection.execute(FLUSH_SQL).fetchone()
        except driver_error as exc:
            self.close()
            raise FlushFailed(f"the flush failed: {_reason(exc)}") from exc

    def close(self) -> None:
        connection, self._connection, self.connected_at = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a broken connection may refuse even to close
                connection.invalidate()  # NullPool: closes the driver connection

    def dispose(self) -> None:
        self.close()
        self.engine.dispose()


def _reason(exc: BaseException) -> str:
    """The driver's first line, without the URL or parameters SQLAlchemy appends."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
