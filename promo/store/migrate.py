"""Bring the store to the current schema: ``upgrade(engine)``.

Every CLI command that opens the store calls it, so the common case (already current) costs one
query. Two processes may call it at once: on PostgreSQL the upgrade runs under a transaction-scoped
advisory lock (keyed by the current schema, so per-test schemas don't wait on each other); on
SQLite the engine's ``BEGIN IMMEDIATE`` takes the write lock first and serialises them. The
alembic Config is built here; there is no alembic.ini.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0001_initial"  # the newest revision; a test checks it against the scripts
_LOCK_NAME = "promo-migrate:"


def upgrade(engine: Engine) -> None:
    """Create or upgrade every table. Idempotent; cheap when the schema is current."""
    if current_revision(engine) == HEAD:
        return
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name || current_schema()))"),
                               {"name": _LOCK_NAME})
        if _read_revision(connection) != HEAD:  # somebody may have finished while we waited
            _run_alembic(connection)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (one query); None when it has no tables yet."""
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


def _read_revision(connection: Connection) -> str | None:
    if not _has_version_table(connection):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _has_version_table(connection: Connection) -> bool:
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
