"""Bring the store to the current schema: ``upgrade(engine)``.

Every CLI command that opens the store calls it, so the common case (already current) costs one
query. Two processes may call it at once: on PostgreSQL the upgrade runs under a transaction-scoped
advisory lock (keyed by the current schema, so per-test schemas don't wait on each other); on
SQLite the engine's ``BEGIN IMMEDIATE`` takes the write lock first and serialises them. The
alembic Config is built here; there is no alembic.ini.

``is_current(url)`` reads a SQLite store's stamp with ``sqlite3`` alone, before SQLAlchemy or
Alembic is imported: a command that only reads may skip the check (``App.engine``) or the engine.
``sqlite_file`` finds the file of a plain SQLite URL for such reads; ``sqlite_database_file`` that of
any SQLite URL (options too), for a reader that may parse it with SQLAlchemy (``promo preview``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SQLAlchemy is imported where it is used: is_current() runs without it
    from alembic.config import Config
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0008_notifications"  # the newest revision; a test checks it against the scripts
_LOCK_NAME = "promo-migrate:"


def is_current(url: str) -> bool:
    """Whether the store at ``url`` is a SQLite file stamped at ``HEAD``: one read, no SQLAlchemy.

    False means "not known to be current" (no file yet, an older stamp, PostgreSQL, a URL this does
    not parse): the caller then runs ``upgrade``, which checks again under its lock.
    """
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return False
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no version table yet, or the file is busy or not a database
        return False
    finally:
        connection.close()
    return row is not None and row[0] == HEAD


def sqlite_file(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL; None for anything else (SQLAlchemy parses those)."""
    scheme, sep, rest = url.partition(":///")
    if not sep or scheme not in ("sqlite", "sqlite+pysqlite") or not rest or rest == ":memory:":
        return None
    if any(char in rest for char in "?%#"):
        return None
    return Path(rest)


def sqlite_database_file(url: str) -> Path | None:
    """The file of any SQLite URL, options and all (``sqlite:///promo.db?mode=ro``); None for an in-memory
    database, a ``file:`` URI or another database. A plain URL is read by ``sqlite_file``, without SQLAlchemy."""
    plain = sqlite_file(url)
    if plain is not None:
        return plain
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def upgrade(engine: Engine) -> None:
    """Create or upgrade every table. Idempotent; cheap when the schema is current."""
    if current_revision(engine) == HEAD:
        return
    from sqlalchemy import text

    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name || current_schema()))"),
                               {"name": _LOCK_NAME})
        if _read_revision(connection) != HEAD:  # somebody may have finished while we waited
            _run_alembic(connection)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (one query); None when it has no tables yet."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


def _read_revision(connection: Connection) -> str | None:
    from sqlalchemy import text

    if not _has_version_table(connection):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _has_version_table(connection: Connection) -> bool:
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        query = "SELECT to_regclass('alembic_version') IS NOT NULL"
    else:
        query = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    return bool(connection.execute(text(query)).scalar())


def _run_alembic(connection: Connection) -> None:
    from alembic import command  # here: every command opens the store, few need alembic (start-up time)

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def alembic_config() -> Config:
    """The alembic Config for promo's migrations (script location only; the URL comes from the caller)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
