"""Scale: the dispatcher's claim time with 1,000 versus 1,000,000 future posts in the store.

For each store and size: fill the ledger with future posts, then, a few rounds over, add 100 posts due
now and time one dispatcher run (``promo.engine.dispatch.dispatch``) claiming them; also time a run with
nothing due. The claim must walk the (status, due_at) index, not scan: EXPLAIN shows which.

    python -m bench.scale                 # 1,000 vs 1,000,000 on SQLite and PostgreSQL
    python -m bench.scale --quick         # 1,000 vs 20,000
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Target, parser, postgres_schema, report, size
from bench.engine import _stamp, insert_posts, make_store

SMALL = 1_000
DUE_PER_ROUND = 100
ROUNDS = 9
INDEX = "ix_posts_status_due_at"
# The statement promo.engine.dispatch._due_rows sends, for EXPLAIN.
CLAIM_SQL = ("SELECT id, campaign_id, account, scheduled_at, due_at, not_before, max_lateness_s FROM posts "
             "WHERE status = 'scheduled' AND due_at <= {horizon} ORDER BY due_at, id LIMIT 500")


@contextmanager
def store(kind: str, folder: Path) -> Iterator[Any]:
    if kind == "SQLite":
        engine = make_store(f"sqlite:///{folder / 'promo.db'}")
        yield engine
        engine.dispose()
        return
    with postgres_schema() as url:
        engine = make_store(url)
        yield engine
        engine.dispose()


def fill(engine: Any, future: int) -> float:
    """Insert ``future`` posts due from tomorrow on; seconds taken."""
    start, tomorrow = time.perf_counter(), datetime.now(UTC) + timedelta(days=1)
    for offset in range(0, future, 200_000):
        count = min(200_000, future - offset)
        insert_posts(engine, [tomorrow + timedelta(seconds=offset + i) for i in range(count)])
    settle(engine)
    return time.perf_counter() - start


def settle(engine: Any) -> None:
    """VACUUM ANALYZE after the bulk load, so autovacuum does not run in the middle of the timing."""
    if engine.dialect.name != "postgresql":
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.autocommit = True
        raw.cursor().execute("VACUUM ANALYZE posts")
    finally:
        raw.driver_connection.autocommit = False
        raw.close()


def claim_times(engine: Any, folder: Path) -> tuple[float, float]:
    """Median seconds of one dispatcher run claiming 100 due posts, and of one with nothing due."""
    from promo.engine.dispatch import dispatch
    from promo.settings import load_settings

    settings = load_settings(home=folder, config_file=folder / "none.toml", dispatch_lookahead=0)
    busy, idle = [], []
    for _ in range(ROUNDS):
        insert_posts(engine, [datetime.now(UTC) - timedelta(seconds=1)] * DUE_PER_ROUND)
        start = time.perf_counter()
        claims = dispatch(engine, settings, {})
        busy.append(time.perf_counter() - start)
        assert len(claims) == DUE_PER_ROUND, f"claimed {len(claims)} of {DUE_PER_ROUND}"
        start = time.perf_counter()
        dispatch(engine, settings, {})
        idle.append(time.perf_counter() - start)
    return statistics.median(busy), statistics.median(idle)


def explain(engine: Any) -> str:
    from sqlalchemy import text

    horizon = datetime.now(UTC)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "EXPLAIN QUERY PLAN " + CLAIM_SQL.format(horizon=":h")
            rows = conn.execute(text(sql), {"h": _stamp(horizon)}).all()
            return "; ".join(str(r[-1]) for r in rows)
        sql = "EXPLAIN " + CLAIM_SQL.format(horizon=":h") + " FOR UPDATE OF posts SKIP LOCKED"
        rows = conn.execute(text(sql), {"h": horizon}).all()
        return " / ".join(str(r[0]).strip() for r in rows)


def measure(kind: str, future: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp, store(kind, Path(tmp)) as engine:
        filled = fill(engine, future)
        busy, idle = claim_times(engine, Path(tmp))
        return {"store": kind, "future": future, "fill_s": filled, "busy": busy, "idle": idle,
                "plan": explain(engine)}


def run(args: argparse.Namespace) -> tuple[list[list[Any]], list[Target], list[str]]:
    big = size(args)
    rows, targets, notes = [], [], []
    for kind in ("SQLite", "PostgreSQL")[: 1 if args.skip_postgres else 2]:
        small, large = measure(kind, SMALL), measure(kind, big)
        for m in (small, large):
            rows.append([m["store"], f"{m['future']:,}", f"{m['fill_s']:.1f}", f"{m['busy'] * 1000:.1f}",
                         f"{m['idle'] * 1000:.2f}", "yes" if INDEX in m["plan"] else "NO"])
        ratio = large["busy"] / small["busy"]
        targets.append(Target(f"{kind}: claim with {big:,} rows <= 2 x with {SMALL:,}", ratio <= 2.0,
                              f"{ratio:.2f} x"))
        notes.append(f"{kind} plan with {big:,} rows: `{large['plan']}`")
    return rows, targets, notes


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], default_n=1_000_000, quick_n=20_000)
    p.add_argument("--skip-postgres", action="store_true")
    args = p.parse_args(argv)
    rows, targets, notes = run(args)
    report(args, "Scale: dispatcher claim time against the number of future posts",
           ["store", "future posts", "fill s", f"claim {DUE_PER_ROUND} due, ms", "nothing due, ms",
            f"uses {INDEX}"], rows, targets,
           [f"median of {ROUNDS} dispatcher runs (promo.engine.dispatch.dispatch), each claiming {DUE_PER_ROUND} "
            "posts due now and logging an event per claim", *notes])


if __name__ == "__main__":
    main()
