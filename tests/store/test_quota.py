"""Quota units per project and Pacific day in the ``meta`` table: atomic adds from many writers at once,
and the YouTube adapter's meter reading and writing them through the engine's login cache."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from promo.store.login_cache import DbLoginCache
from promo.store.quota import quota_key, spend, spent


def test_adds_are_atomic_across_writers(engine: Any) -> None:
    day = date(2019, 6, 14)

    def worker() -> None:
        for _ in range(10):
            spend(engine, "jj-promo", day, 50)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert spent(engine, "jj-promo", day) == 6 * 10 * 50
    assert spent(engine, "jj-promo", date(2019, 6, 15)) == 0 and spent(engine, "other", day) == 0


def test_long_project_names_fit_the_key_column() -> None:
    key = quota_key("p" * 80, date(2019, 6, 14))
    assert len(key) <= 64 and key.endswith(":2019-06-14")


def test_the_youtube_meter_counts_in_the_store(engine: Any) -> None:
    from promo.platforms.youtube import YouTubeMeter
    from promo.rules.youtube import pacific_day
    from promo.times import utcnow

    meter = YouTubeMeter("jj-promo", 10_000, DbLoginCache(engine))
    meter.spend("videos.insert")
    meter.spend("thumbnails.set")
    assert meter.spent() == 1650 == spent(engine, "jj-promo", pacific_day(utcnow()))
    other = YouTubeMeter("jj-promo", 10_000, DbLoginCache(engine))  # another worker, the same project
    other.spend("captions.insert")
    assert meter.spent() == 2050
