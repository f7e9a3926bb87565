"""Memory: worker RSS, process by process, through a warm-up and then N posts.

``promo run -c 2`` (Redis, SQLite) is four processes: the main process (consumer, timers), two pool
children and Celery's embedded beat. Posts due now are added as the worker publishes them, so it never
waits for work. RSS is read per process after the first 2,000 posts, at the end of the warm-up, and
after each quarter of N; the target is the growth from the end of the warm-up to the end.

The warm-up is timed, not counted: ``publish_time_limit`` (120 s) plus 30 s at full rate. Celery's
main process arms a hard time-limit timer for every task; a finished task's timer is only marked
cancelled and stays in kombu's timer heap until it would have fired. So the main process holds the
timers of the last 120 s of tasks, about 0.55 KiB each: it grows for the first 120 s at full rate, by
rate x 120 s x 0.55 KiB (25 MiB at 400 posts/s, 60 MiB at 900/s), then stays flat. A warm-up of
2,000 posts (a few seconds) measured that plateau filling up; 10,000 posts would too.

    python -m bench.memory                # 150 s warm-up, then 100,000 posts
    python -m bench.memory --quick        # 2 s warm-up, then 100 posts
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, children, parser, redis_server, report, rss_kib, size, wait_until
from bench.engine import Worker, insert_posts, make_store, promo_env

TASK = "promo.publish"
FIRST = 2_000  # posts: the warm-up this script used to stop after
WARM_UP_S = 120 + 30  # promo's default publish_time_limit, and a margin
QUICK_WARM_UP_S = 2
CHUNK = 10_000  # posts added at a time, whenever fewer than half a chunk are left
TARGET_GROWTH = 0.10


class Feed:
    """Posts due now, added a chunk at a time as the worker publishes them."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.added = engine, 0

    def __call__(self, published: int) -> None:
        if self.added - published < CHUNK // 2:
            insert_posts(self.engine, [datetime.now(UTC)] * CHUNK)
            self.added += CHUNK


def rss_mib(roles: dict[str, int]) -> list[float]:
    """RSS of each process, MiB; refuses if a process was replaced (its numbers would not compare)."""
    if sorted(children(roles["main"])) != sorted(pid for role, pid in roles.items() if role != "main"):
        raise RuntimeError(f"the worker's processes changed: {roles} -> {children(roles['main'])}")
    return [rss_kib(pid) / 1024 for pid in roles.values()]


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], 100_000, 100)
    p.add_argument("--warm-up", type=float, default=None,
                   help=f"seconds of publishing before the measured posts ({WARM_UP_S}; --quick {QUICK_WARM_UP_S})")
    args: argparse.Namespace = p.parse_args(argv)
    n = size(args)
    warm_s = args.warm_up if args.warm_up is not None else QUICK_WARM_UP_S if args.quick else WARM_UP_S
    first = min(FIRST, n)
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp, redis_server(Path(tmp)) as redis_url:
        folder = Path(tmp)
        database_url = f"sqlite:///{folder / 'promo.db'}"
        feed = Feed(make_store(database_url))
        feed(0)
        worker = Worker.promo(folder, promo_env(folder, database_url, redis_url))
        try:
            worker.wait_for(TASK, first, timeout=120, progress=feed)
            roles = worker.roles()
            samples = [(f"after {first:,} posts", rss_mib(roles))]
            end = time.monotonic() + warm_s

            def warmed_up() -> bool:
                feed(worker.count(TASK))
                return time.monotonic() >= end

            wait_until(warmed_up, warm_s + 60, 0.2, "the warm-up")
            base = worker.count(TASK)
            samples.append((f"warm-up end: +{warm_s:.0f} s, {base:,} posts", rss_mib(roles)))
            for quarter in range(1, 5):
                worker.wait_for(TASK, base + n * quarter // 4, timeout=120 + n / 160, progress=feed)
                samples.append((f"+{n * quarter // 4:,} posts", rss_mib(roles)))
            rate = worker.rate(TASK)
        finally:
            worker.stop()
    warm = sum(samples[1][1])
    growth = sum(samples[-1][1]) / warm - 1
    report(args, "Memory: worker RSS by process, through a warm-up and N posts",
           ["checkpoint", *(f"{role} MiB" for role in roles), "total MiB", "vs warm-up end"],
           [[label, *(f"{mib:.1f}" for mib in rss), f"{sum(rss):.1f}", f"{sum(rss) / warm - 1:+.1%}"]
            for label, rss in samples],
           [Target(f"RSS growth <= {TARGET_GROWTH:.0%} over {n:,} posts after the warm-up",
                   growth <= TARGET_GROWTH, f"{growth:+.1%}")],
           [f"promo run -c 2: main process, two pool children and Celery's embedded beat; Redis, SQLite; "
            f"promo's default settings; {rate:.0f} posts/s",
            f"warm-up {warm_s:.0f} s at full rate after the first {first:,} posts: the main process keeps "
            f"every task's cancelled time-limit timer for publish_time_limit (120 s), see bench/memory.py"])


if __name__ == "__main__":
    main()
