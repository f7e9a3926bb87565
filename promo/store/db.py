"""Connecting to the store: SQLite (embedded default, WAL + busy timeout) or PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.orm import Session

from promo.errors import ConfigError
from promo.store.writer_lock import QueuedWriterConnection, WriterLock

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle longer than this is pinged before use. One used moments ago is
# taken as alive: a publish checks out twice within milliseconds, and a ping each time was two of
# its round trips. If the server went away in between, that statement fails, the pool is emptied,
# and the post waits in the ledger for the sweeper (docs/reliability.md).
PING_AFTER_IDLE_S = 1.0


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for ``url``. SQLite gets WAL, a busy timeout, and ``BEGIN IMMEDIATE`` writes."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("database_url (PROMO_DATABASE_URL) is not a valid SQLAlchemy URL") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    engine = create_engine(parsed, **kwargs)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """``pool_pre_ping``, for connections idle longer than ``PING_AFTER_IDLE_S`` only."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"a pooled connection is gone: {exc}") from exc  # the pool reconnects


def _sqlite_engine(url: Any, **kwargs: Any) -> Engine:
    database = url.database
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    lock_path = None
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        lock_path = Path(f"{database}-writer")
        connect_args["factory"] = QueuedWriterConnection
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's begin event issue BEGIN
        if lock_path is not None:
            dbapi_connection.writer_lock = WriterLock(lock_path, SQLITE_BUSY_TIMEOUT_MS / 1000)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        begin_immediate(connection.connection.dbapi_connection)

    return engine


def begin_immediate(dbapi_connection: Any) -> None:
    """SQLite: take the write lock up front (``BEGIN IMMEDIATE``), queueing on the writer lock first.

    Two dispatchers then serialise instead of both reading the same due rows and failing to upgrade
    their locks; promo's writers wait on ``promo.store.writer_lock``, not SQLite's busy handler.
    """
    lock = getattr(dbapi_connection, "writer_lock", None)
    if lock is not None:
        lock.acquire()
    try:
        dbapi_connection.execute("BEGIN IMMEDIATE")
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def enable_wal(cursor: Any) -> None:
    """Switching a new file to WAL needs an exclusive lock and may answer BUSY without waiting."""
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.05)


def dialect_name(db: Session | Connection) -> str:
    """``sqlite`` or ``postgresql``, for a Session or a Connection."""
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
