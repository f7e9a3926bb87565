"""The embedded broker: kombu's SQLAlchemy transport on a SQLite file, polled quickly.

kombu hands every transport option to ``create_engine``, which refuses ``polling_interval`` and
``visibility_timeout``; this transport keeps them for kombu and passes SQLAlchemy only its own.
Registered as ``promosqla``: ``embedded_url("sqla+sqlite:///x.db")`` -> ``promosqla+sqlite:///x.db``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as sqla
from sqlalchemy import create_engine

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
        return create_engine(client.hostname, connect_args={"timeout": 30}, **options)


class Transport(sqla.Transport):
    Channel = Channel


def embedded_url(url: str) -> str:
    TRANSPORT_ALIASES[ALIAS] = "workers.embedded:Transport"
    if url.startswith("sqla+"):
        return ALIAS + url[len("sqla") :]
    return url
