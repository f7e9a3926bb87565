"""A zero-latency adapter for the engine benchmarks: it records each publish in memory and returns at once.

Plugged in per account in the generated promo.toml::

    [accounts.bench]
    platform = "outbox"
    adapter = "bench.recording:RecordingAdapter"
"""

from __future__ import annotations

import time
from collections import deque
from typing import ClassVar

from promo.platforms.base import BaseAdapter
from promo.posts import Journal, Lookup, NotPublished, Post, Published


class RecordingAdapter(BaseAdapter):
    platform: ClassVar[str] = "outbox"
    # the latest (idempotency key, wall time) pairs and a count, per process: bounded, so the memory
    # benchmark measures promo's memory, not the recorder's
    recent: ClassVar[deque[tuple[str, float]]] = deque(maxlen=1000)
    count: ClassVar[int] = 0

    def publish(self, post: Post, journal: Journal) -> Published:
        RecordingAdapter.count += 1
        self.recent.append((post.idempotency_key, time.time()))
        return Published(f"bench-{post.idempotency_key}")

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return NotPublished("the recorder keeps nothing")

    def verify(self) -> str:
        return "bench"
