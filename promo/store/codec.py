"""The hot path's row codec: what SQLAlchemy's column types do, for the few columns it reads and writes.

``promo.store.hot_path`` runs its statements on the DBAPI connection, past SQLAlchemy's type
processing, so it converts values itself, here, and must store exactly what the SQLAlchemy path
stores (a test compares the two on both stores):

==========  =========================================  =============================================
column      SQLite (``sqlite3``)                       PostgreSQL (``psycopg``)
==========  =========================================  =============================================
a time      ``YYYY-MM-DD HH:MM:SS.ffffff`` text, UTC   an aware ``datetime``, sent and read as UTC
            (``promo.store.tables.Stamp`` on SQLite)   (``timestamptz``)
JSON        ``json.dumps`` text, read with             ``json.dumps`` text cast to ``json``; psycopg
            ``json.loads``                             reads it back as Python values
==========  =========================================  =============================================

A naive time is refused, as ``Stamp`` refuses it: every time in the store is aware.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

SQLITE_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's SQLite DATETIME storage format


class RowCodec:
    """Times and JSON between Python and one dialect's driver."""

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"no hot-path codec for {dialect!r}")
        self.sqlite = dialect == "sqlite"

    def stamp(self, value: datetime | None) -> Any:
        """A time as the driver should receive it (UTC), or None."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the store")
        utc = value.astimezone(UTC)
        return utc.strftime(SQLITE_STAMP) if self.sqlite else utc

    def read_stamp(self, raw: Any) -> datetime | None:
        """A time read from the driver, aware UTC, or None."""
        if raw is None:
            return None
        value = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @staticmethod
    def json(value: Any) -> str:
        """A JSON column's value as text (what SQLAlchemy's ``JSON`` type sends on both stores)."""
        return json.dumps(value)

    @staticmethod
    def read_json(raw: Any) -> Any:
        """A JSON column's value: text from SQLite, already decoded by psycopg."""
        return json.loads(raw) if isinstance(raw, (str, bytes)) else raw
