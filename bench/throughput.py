"""Throughput: N posts due now through dispatcher, publish task and ledger, against raw Celery no-op tasks.

Both run in this one run, through the same broker, one worker process, prefork -c 2, prefetch 1, late
acks. The queue (or the ledger) is filled first, then the worker starts; the rate is taken between the
first and the last "succeeded" line of the worker's log, so start-up is not counted.

    python -m bench.throughput            # 10,000 posts on Redis+SQLite, Redis+PostgreSQL, embedded
    python -m bench.throughput --quick
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, parser, postgres_schema, redis_server, report, size
from bench.engine import Worker, insert_posts, make_store, promo_env, published_events

TARGET_RATIO = 0.7
# promo's defaults (dispatch_batch 500, dispatch_interval 1 s). A bigger batch was slower on SQLite:
# one claim transaction of 2,000 posts holds the write lock for seconds while the publishers wait.
ENGINE_SETTINGS: dict[str, Any] = {}


def raw_celery(folder: Path, broker: str, n: int) -> float:
    """No-op tasks per second through ``broker``."""
    from bench.noop import create_app

    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(broker)
    task = app.tasks["bench.noop"]
    with app.producer_or_acquire() as producer:
        for i in range(n):
            task.apply_async((i, "x" * 32), producer=producer)
    worker = Worker.noop(folder, broker)
    try:
        worker.wait_for("bench.noop", n, timeout=60 + n / 50)
        return worker.rate("bench.noop")
    finally:
        worker.stop()


def promo_posts(folder: Path, database_url: str, broker: str | None, n: int,
                settings: dict[str, Any]) -> tuple[float, str]:
    """Posts per second through promo, and whether each went out exactly once."""
    engine = make_store(database_url)
    insert_posts(engine, [datetime.now(UTC)] * n)
    worker = Worker.promo(folder, promo_env(folder, database_url, broker, **settings))
    try:
        worker.wait_for("promo.publish", n, timeout=60 + n / 50)
        rate = worker.rate("promo.publish")
    finally:
        worker.stop()
    total, distinct = published_events(engine)
    engine.dispose()
    return rate, "yes" if total == distinct == n else f"NO: {total} publishes of {distinct} posts"


def run(args: argparse.Namespace) -> list[list[Any]]:
    n, rows, settings = size(args), [], {**ENGINE_SETTINGS, **dict(args.set)}
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp:
        folder = Path(tmp)
        with redis_server(folder) as redis_url:
            raw = raw_celery(folder / "raw-redis", redis_url, n)
            rows.append(["raw Celery no-op", "Redis", "-", n, f"{raw:.0f}", "1.00", "-"])
            sqlite_url = f"sqlite:///{folder / 'redis-sqlite' / 'promo.db'}"
            rate, once = promo_posts(folder / "redis-sqlite", sqlite_url, redis_url, n, settings)
            rows.append(["promo", "Redis", "SQLite", n, f"{rate:.0f}", f"{rate / raw:.2f}", once])
            if not args.skip_postgres:
                with postgres_schema() as pg_url:
                    rate, once = promo_posts(folder / "redis-pg", pg_url, redis_url, n, settings)
                rows.append(["promo", "Redis", "PostgreSQL", n, f"{rate:.0f}", f"{rate / raw:.2f}", once])
        if args.skip_embedded:
            return rows
        small = min(n, args.embedded_n)
        broker = f"sqla+sqlite:///{folder / 'raw-embedded' / 'broker.db'}"
        raw = raw_celery(folder / "raw-embedded", broker, small)
        rows.append(["raw Celery no-op", "embedded (SQLite)", "-", small, f"{raw:.0f}", "1.00", "-"])
        sqlite_url = f"sqlite:///{folder / 'embedded' / 'promo.db'}"
        rate, once = promo_posts(folder / "embedded", sqlite_url, None, small, settings)
        rows.append(["promo", "embedded (SQLite)", "SQLite", small, f"{rate:.0f}", f"{rate / raw:.2f}", once])
    return rows


def setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set wants name=value, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], default_n=10_000, quick_n=40)
    p.add_argument("--skip-postgres", action="store_true", help="Redis+SQLite and embedded only")
    p.add_argument("--skip-embedded", action="store_true", help="Redis only")
    p.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                   help="a promo setting for the worker, e.g. --set dispatch_batch=200")
    p.add_argument("--embedded-n", type=int, default=2_000,
                   help="posts on the embedded broker (default 2,000: it is the slow one)")
    args = p.parse_args(argv)
    rows = run(args)
    targets = [Target(f"promo >= {TARGET_RATIO} x raw Celery ({r[1]}, {r[2]})", float(r[5]) >= TARGET_RATIO,
                      f"{r[5]} x") for r in rows if r[0] == "promo"]
    report(args, "Throughput: posts due now, promo vs raw Celery no-op (same run, same broker)",
           ["engine", "broker", "store", "n", "per second", "ratio to raw", "each once"], rows, targets,
           [f"one worker process, prefork -c 2, prefetch 1, late acks, loglevel INFO; promo settings "
            f"{ {**ENGINE_SETTINGS, **dict(args.set)} }; zero-latency bench.recording:RecordingAdapter"])


if __name__ == "__main__":
    main()
