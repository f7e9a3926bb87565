"""Small facts in the ``meta`` table (last dispatch time, the broker epoch last seen, shared login
sessions), written by upsert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the keys are read without SQLAlchemy (promo status on a SQLite store)
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

LAST_DISPATCH = "engine.last_dispatch"
LAST_SWEEP = "engine.last_sweep"
# The broker's epoch the dispatcher last saw (``workers/epoch.py``): a different one means the broker
# lost its messages, and every queued post is dispatched again (``promo.engine.sweeper``).
BROKER_EPOCH = "engine.broker_epoch"


def get_meta(session: Session, key: str, *, for_update: bool = False) -> str | None:
    """One fact, or None; ``for_update`` locks its row until the transaction ends (PostgreSQL; a
    SQLite write transaction already holds the whole database)."""
    from sqlalchemy import select

    from promo.store.tables import Meta

    query = select(Meta.value).where(Meta.key == key)
    return session.scalar(query.with_for_update() if for_update else query)


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
