"""Hotspots: where one publish spends its time, in-process under cProfile (no Celery, no broker).

Claims N posts due now with ``promo.engine.dispatch.dispatch`` and publishes each with
``promo.engine.publishing.publish_claimed`` through the zero-latency adapter, then shows, per post, the time
in each step and the heaviest functions. The profile behind docs/benchmarks.md's findings.

    python -m bench.hotspots              # 2,000 posts on SQLite
    python -m bench.hotspots --postgres
"""

from __future__ import annotations

import cProfile
import pstats
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, parser, postgres_schema, report, size
from bench.engine import insert_posts, make_store, write_config

STEPS = {  # (file suffix, function) -> what it is
    ("dispatch.py", "dispatch"): "dispatcher: claim (per post)",
    ("publishing.py", "start"): "publish: start (fenced move queued -> publishing, policies)",
    ("publishing.py", "_call_adapter"): "publish: adapter + record outcome",
    ("outcomes.py", "record_published"): "  of which: publishing -> published",
    ("ledger.py", "transition"): "ledger.transition (all calls)",
    ("ledger.py", "append"): "event inserts as statements of their own (SQLite only)",
    ("coercions.py", "expect"): "SQLAlchemy: building statements (coercions)",
    ("cache_key.py", "_generate_cache_key"): "SQLAlchemy: statement cache keys",
    ("bulk_persistence.py", "orm_execute_statement"): "SQLAlchemy: ORM-enabled UPDATE/INSERT path",
    ("base.py", "_execute_context"): "SQLAlchemy: executing statements (all)",
    ("writer_lock.py", "acquire"): "SQLite writer lock: queueing",
}


def profile(database_url: str, folder: Path, n: int) -> tuple[pstats.Stats, float, float]:
    from promo.engine.dispatch import dispatch
    from promo.engine.publishing import publish_claimed
    from promo.engine.runtime import Runtime
    from promo.settings import load_settings

    engine = make_store(database_url)
    write_config(folder)
    settings = load_settings(home=folder, config_file=folder / "promo.toml", database_url=database_url,
                             dispatch_batch=n)
    runtime = Runtime.from_settings(settings, actor="bench")
    insert_posts(engine, [datetime.now(UTC)] * n)
    publish_claimed(runtime, 0, "warm-up")  # imports and connections, outside the profile
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    claims = dispatch(runtime.db, settings, runtime.accounts)
    for claim in claims:
        publish_claimed(runtime, claim.post_id, claim.attempt_id)
    profiler.disable()
    elapsed = time.perf_counter() - start
    assert len(claims) == n, f"claimed {len(claims)} of {n}"
    return pstats.Stats(profiler), elapsed, profile_free(runtime, engine, n)


def profile_free(runtime: Any, engine: Any, n: int) -> float:
    """Posts per second for the same work without the profiler."""
    from promo.engine.dispatch import dispatch
    from promo.engine.publishing import publish_claimed

    insert_posts(engine, [datetime.now(UTC)] * n)
    start = time.perf_counter()
    for claim in dispatch(runtime.db, runtime.settings, runtime.accounts):
        publish_claimed(runtime, claim.post_id, claim.attempt_id)
    return n / (time.perf_counter() - start)


def step_rows(stats: pstats.Stats, n: int, total: float) -> list[list[str]]:
    found: dict[str, float] = {}
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in raw.items():
        for (suffix, function), label in STEPS.items():
            if name == function and filename.endswith(suffix):
                found[label] = found.get(label, 0.0) + cumulative
    return [[label, f"{found.get(label, 0.0) / n * 1000:.2f}", f"{found.get(label, 0.0) / total:.0%}"]
            for label in STEPS.values()]


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], default_n=2_000, quick_n=50)
    p.add_argument("--postgres", action="store_true", help="profile on PostgreSQL instead of SQLite")
    args = p.parse_args(argv)
    n = size(args)
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="promo-bench-")))
        url = stack.enter_context(postgres_schema()) if args.postgres else f"sqlite:///{folder / 'promo.db'}"
        stats, elapsed, free = profile(url, folder, n)
    rows = step_rows(stats, n, elapsed)
    rows.append(["whole claim + publish, under the profiler", f"{elapsed / n * 1000:.2f}", "100%"])
    rows.append(["whole claim + publish, no profiler", f"{1000 / free:.2f}", f"{free:.0f} posts/s"])
    report(args, f"Hotspots: one publish, in-process ({'PostgreSQL' if args.postgres else 'SQLite'})",
           ["step", "ms per post", "share"], rows, [Target("profile recorded", True, f"{n:,} posts")],
           ["cProfile, one process, no broker: the engine's own cost per post, which Celery's is added to"])
    stats.sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
