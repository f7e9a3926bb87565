"""Small facts in the ``meta`` table (last dispatch time, shared login sessions), written by upsert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the keys are read without SQLAlchemy (promo status on a SQLite store)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

LAST_DISPATCH = "engine.last_dispatch"
LAST_SWEEP = "engine.last_sweep"


def get_meta(session: Session, key: str) -> str | None:
    from sqlalchemy import select

    from promo.store.tables import Meta

    return session.scalar(select(Meta.value).where(Meta.key == key))


def put_meta(session: Session, key: str, value: str) -> None:
    """Insert or replace one fact, atomically on both SQLite and PostgreSQL."""
    from promo.store.tables import Meta

    statement = upsert_statement(session, Meta).values(key=key, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def upsert_statement(db: Session | Connection, table: Any) -> Any:
    """``INSERT`` with ``ON CONFLICT`` support for the store's dialect."""
    from promo.store.db import dialect_name

    if dialect_name(db) == "postgresql":  # the dialects' own modules load on first use: start-up time
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)
