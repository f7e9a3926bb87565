"""The broker epoch: how the dispatcher learns at once that Redis lost its messages.

A key in the broker's own Redis, ``promo:epoch``, holds a random value, set with ``SET NX`` by the
first dispatcher tick that finds it missing. Redis restarted without persistence, or flushed, comes
back without the key (and without the messages): the next tick sets a new value, and since the store
remembers the epoch it last saw (``promo.store.meta.BROKER_EPOCH``), the dispatcher knows every
``queued`` post's message may be gone and dispatches them all again, under the attempt-id fence
(``promo.engine.sweeper.requeue_after_broker_loss``). Without it, a lost message waited for its lease.

Only Redis brokers have an epoch: the embedded broker is a SQLite file beside the store, and loses
its messages only with it. The key has no time to live; were it evicted, the cost is one needless
re-dispatch of the queued posts, each fenced.
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

KEY = "promo:epoch"
SCHEMES = ("redis://", "rediss://")
SOCKET_TIMEOUT_S = 2.0  # a dispatcher tick never hangs on a broker that is gone
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def has_epoch(broker_url: str) -> bool:
    return broker_url.startswith(SCHEMES)


def broker_epoch(broker_url: str) -> str | None:
    """The broker's epoch, set first if the broker has none; None for a broker without epochs.

    Raises redis-py's ``ConnectionError`` (or ``TimeoutError``) while the broker is unreachable.
    """
    if not has_epoch(broker_url):
        return None
    client = _client(broker_url)
    for _ in range(3):  # a flush between the SET and the GET: set it again
        current = client.get(KEY)
        if current is not None:
            return current.decode() if isinstance(current, bytes) else str(current)
        client.set(KEY, uuid.uuid4().hex, nx=True)  # of two dispatchers, the first one's value stays
    raise RuntimeError(f"the broker lost the {KEY} key three times in a row")


def _client(broker_url: str) -> redis.Redis:
    import redis

    with _lock:
        if broker_url not in _clients:
            _clients[broker_url] = redis.Redis.from_url(
                broker_url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S)
        return _clients[broker_url]
