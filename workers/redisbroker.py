"""kombu's Redis transport, with its channels guarded against a closed connection.

The upstream bug (seen with kombu 5.7 and redis-py 8.1; the same ``'NoneType' object has no
attribute 'hostname'`` as kombu#582 and kombu#970): when Redis restarts under a worker,
Celery's consumer closes the broken connection (``Consumer.on_connection_error_after_connected``).
``redis.Channel.close`` first drops its connection pools, then ``virtual.Channel.close`` restores
the unacknowledged messages, which builds a new pool from ``channel.connection.client``; by then
``kombu.Connection`` has set that to None, and ``_connparams`` raises ``AttributeError``. Celery
counts an AttributeError as unrecoverable and stops the worker, so one Redis restart took down
every worker holding unacknowledged messages (issue 12). A late ack of a task that finished after
the loss takes the same path.

Here a channel whose connection is gone raises redis-py's ``ConnectionError`` instead: a connection
error, which kombu's close ignores and Celery answers by reconnecting. The messages that could not
be restored are the ones Redis lost anyway, or are restored after the visibility timeout; the
ledger re-dispatches whatever the broker dropped (docs/reliability.md, F10).

``workers.app.create_app`` names this transport for ``redis://`` and ``rediss://`` URLs (kombu's
``TRANSPORT_ALIASES``, as ``workers.embedded`` does for the embedded broker). Remove it once kombu
checks the connection in ``Channel._connparams``.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> Any:
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("the broker connection is closed (kombu: restore after close)")
        return super()._connparams(asynchronous=asynchronous)


class Transport(redis.Transport):
    Channel = Channel
