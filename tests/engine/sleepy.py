"""An adapter that holds its pool process: each publish sleeps ``SLEEP_S``, then succeeds.

For the engine tests that fill the workers' pool with slow publishes. An account points at it in
the test's promo.toml (the worker needs the repository on its ``PYTHONPATH``)::

    [accounts.slow]
    platform = "outbox"
    adapter = "tests.engine.sleepy:SleepingAdapter"
"""

from __future__ import annotations

import time
from typing import ClassVar

from promo.platforms.base import BaseAdapter
from promo.posts import CannotTell, Journal, Lookup, Post, Published

SLEEP_S = 4.0


class SleepingAdapter(BaseAdapter[None]):
    platform: ClassVar[str] = "outbox"

    def publish(self, post: Post, journal: Journal) -> Published:
        time.sleep(SLEEP_S)
        return Published(f"slow-{post.idempotency_key}")

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return CannotTell("the sleeping adapter keeps nothing")

    def verify(self) -> str:
        return "sleepy"
