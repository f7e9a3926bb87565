"""Memory: worker RSS (main process plus pool children) before and after N posts.

``promo run`` (Redis, SQLite) publishes a warm-up batch first, so imports, connection pools and the
adapter are in place; RSS is read, N more posts go through, and RSS is read again.

    python -m bench.memory                # 100,000 posts
    python -m bench.memory --quick
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.common import Target, parser, redis_server, report, size
from bench.engine import Worker, insert_posts, make_store, promo_env
from bench.throughput import ENGINE_SETTINGS

WARM_UP = 2_000
TARGET_GROWTH = 0.10


def main(argv: list[str] | None = None) -> None:
    args: argparse.Namespace = parser(__doc__.splitlines()[0], 100_000, 100).parse_args(argv)
    n, warm = size(args), min(WARM_UP, max(20, size(args) // 5))
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp, redis_server(Path(tmp)) as redis_url:
        folder = Path(tmp)
        database_url = f"sqlite:///{folder / 'promo.db'}"
        engine = make_store(database_url)
        insert_posts(engine, [datetime.now(UTC)] * warm)
        worker = Worker.promo(folder, promo_env(folder, database_url, redis_url, **ENGINE_SETTINGS))
        try:
            worker.wait_for("promo.publish", warm, timeout=120)
            before = worker.rss_kib()
            insert_posts(engine, [datetime.now(UTC)] * n)
            worker.wait_for("promo.publish", warm + n, timeout=120 + n / 40)
            after = worker.rss_kib()
        finally:
            worker.stop()
    growth = after / before - 1
    report(args, "Memory: worker RSS before and after N posts",
           ["posts after warm-up", "RSS before MiB", "RSS after MiB", "growth"],
           [[f"{n:,}", f"{before / 1024:.1f}", f"{after / 1024:.1f}", f"{growth:+.1%}"]],
           [Target(f"RSS growth <= {TARGET_GROWTH:.0%} over {n:,} posts", growth <= TARGET_GROWTH,
                   f"{growth:+.1%}")],
           [f"promo run -c 2 (main process with the beat schedule, two pool children), Redis, SQLite; "
            f"warm-up {warm:,} posts; promo's default settings"])


if __name__ == "__main__":
    main()
