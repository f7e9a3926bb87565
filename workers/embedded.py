"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled quickly.

kombu hands every transport option to ``create_engine``, which refuses ``polling_interval`` and
``visibility_timeout``; this transport keeps them for kombu and passes SQLAlchemy only its own.
Registered as ``promosqla``: ``embedded_url("sqla+sqlite:///x.db")`` -> ``promosqla+sqlite:///x.db``.

On SQLite the broker file is in WAL mode with ``synchronous=NORMAL``, like the store: kombu commits
once per message sent and once per message taken, and the default rollback journal syncs the disk
on each. What that risks is the last messages on a power cut, never on a crash of promo; a lost
message is re-dispatched from the ledger by the sweeper (docs/reliability.md, F11).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as sqla
from sqlalchemy import create_engine, event

from promo.store.db import enable_wal

ALIAS = "promosqla"
KOMBU_ONLY = {
    "polling_interval",
    "visibility_timeout",
    "queue_tablename",
    "message_tablename",
    "callback",
    "errback",
    "max_retries",
    "interval_start",
    "interval_step",
    "interval_max",
    "retry_errors",
}


class Channel(sqla.Channel):
    def _engine_from_config(self) -> Any:
        client = self.connection.client
        options = {k: v for k, v in client.transport_options.items() if k not in KOMBU_ONLY}
        engine = create_engine(client.hostname, connect_args={"timeout": 30}, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _write_ahead)
        return engine


def _write_ahead(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    enable_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Transport(sqla.Transport):
    Channel = Channel


def embedded_url(url: str) -> str:
    TRANSPORT_ALIASES[ALIAS] = "workers.embedded:Transport"
    if url.startswith("sqla+"):
        return ALIAS + url[len("sqla") :]
    return url
