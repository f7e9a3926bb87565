"""Throughput: N posts due now through dispatcher, publish task and ledger, against raw Celery no-op tasks.

Both run through the same broker: one worker process, prefork -c 2, prefetch 1, late acks. The queue
(or the ledger) is filled first, then the worker starts; the rate is taken between the first and the
last "succeeded" line of the worker's log, so start-up is not counted.

Raw Celery's own rate moves by a third from one minute to the next on a shared 2-core machine, so
each round measures raw Celery and then promo on every store, and the ratio is taken within the
round. The table shows the median over the rounds and the range of the ratio. Between 10% and 90% of
each run, the CPU time of each process (worker main process, pool children, redis-server, every
PostgreSQL process) is read from /proc and divided by the tasks done: where promo's time goes.

    python -m bench.throughput            # 10,000 posts, 3 rounds: Redis+SQLite, Redis+PostgreSQL, embedded
    python -m bench.throughput --quick
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, cpu_seconds, parser, pids_of, postgres_schema, redis_server, report, size
from bench.engine import Worker, insert_posts, make_store, promo_env, published_events

TARGET_RATIO = 0.7
CPU_GROUPS = ("worker main", "pool children", "redis", "postgres")
# promo's defaults (dispatch_batch 500, dispatch_interval 1 s) unless --set says otherwise
ENGINE_SETTINGS: dict[str, Any] = {}


@dataclass
class Run:
    """One measured run: tasks per second, CPU ms per task by process, whether each post went out once."""

    rate: float
    cpu_ms: dict[str, float]
    once: str = "-"


@dataclass
class Series:
    """One configuration (engine, broker, store) over the rounds."""

    engine: str
    broker: str
    store: str
    n: int
    runs: list[Run] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)

    def row(self) -> list[Any]:
        rate = f"{statistics.median(run.rate for run in self.runs):.0f}"
        if not self.ratios:  # the baseline itself
            return [self.engine, self.broker, self.store, self.n, rate, "1.00", "-", "-"]
        failures = [run.once for run in self.runs if run.once != "yes"]
        return [self.engine, self.broker, self.store, self.n, rate, f"{self.ratio:.2f}",
                f"{min(self.ratios):.2f}-{max(self.ratios):.2f}", "; ".join(failures) or "yes"]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def cpu_row(self) -> list[Any]:
        per_group = {group: statistics.median(run.cpu_ms.get(group, 0.0) for run in self.runs)
                     for group in CPU_GROUPS}
        cells = [f"{per_group[g]:.2f}" if g != "postgres" or self.store == "PostgreSQL" else "-"
                 for g in CPU_GROUPS]
        return [self.engine, self.broker, self.store, *cells, f"{sum(per_group.values()):.2f}"]


class CpuMeter:
    """CPU seconds by process group, for the worker, this run's redis-server and PostgreSQL."""

    def __init__(self, worker: Worker, redis_url: str | None, postgres: bool) -> None:
        self.worker, self.postgres = worker, postgres
        self.redis = pids_of("redis-server", f":{redis_url.rsplit(':', 1)[1].split('/')[0]}") if redis_url else []

    def read(self) -> dict[str, float]:
        seconds = self.worker.cpu_seconds()
        seconds["redis"] = sum(cpu_seconds(pid) for pid in self.redis)
        seconds["postgres"] = sum(cpu_seconds(pid) for pid in pids_of("postgres")) if self.postgres else 0.0
        return seconds


def measure(worker: Worker, task: str, n: int, meter: CpuMeter) -> Run:
    """Wait for ``n`` tasks; CPU per task by group between 10% and 90% of them."""
    marks: list[tuple[int, dict[str, float]]] = []

    def progress(count: int) -> None:
        if (not marks and count >= n // 10) or (len(marks) == 1 and count >= n - n // 10):
            marks.append((count, meter.read()))

    worker.wait_for(task, n, timeout=60 + n / 50, progress=progress)
    cpu_ms: dict[str, float] = {}
    if len(marks) == 2 and marks[1][0] > marks[0][0]:
        (first, before), (last, after) = marks
        cpu_ms = {group: (after[group] - before[group]) / (last - first) * 1000 for group in before}
    return Run(worker.rate(task), cpu_ms)


def raw_celery(folder: Path, broker: str, n: int, redis_url: str | None) -> Run:
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
        return measure(worker, "bench.noop", n, CpuMeter(worker, redis_url, postgres=False))
    finally:
        worker.stop()


def promo_posts(folder: Path, database_url: str, broker: str | None, n: int, settings: dict[str, Any]) -> Run:
    """Posts per second through promo, and whether each went out exactly once."""
    engine = make_store(database_url)
    insert_posts(engine, [datetime.now(UTC)] * n)
    worker = Worker.promo(folder, promo_env(folder, database_url, broker, **settings))
    try:
        run = measure(worker, "promo.publish", n, CpuMeter(worker, broker, engine.dialect.name == "postgresql"))
    finally:
        worker.stop()
    total, distinct = published_events(engine)
    engine.dispose()
    run.once = "yes" if total == distinct == n else f"NO: {total} publishes of {distinct} posts"
    return run


def one_round(folder: Path, args: argparse.Namespace, series: dict[str, Series], settings: dict[str, Any]) -> None:
    """Raw Celery, then promo on each store, per broker; ratios within this round."""
    n = size(args)

    def add(key: str, run: Run, raw: Run | None) -> None:
        series[key].runs.append(run)
        if raw is not None:
            series[key].ratios.append(run.rate / raw.rate)

    with redis_server(folder) as redis_url:
        raw = raw_celery(folder / "raw-redis", redis_url, n, redis_url)
        add("raw-redis", raw, None)
        add("redis-sqlite", promo_posts(folder / "redis-sqlite", f"sqlite:///{folder / 'redis-sqlite' / 'promo.db'}",
                                        redis_url, n, settings), raw)
        if not args.skip_postgres:
            with postgres_schema() as pg_url:
                add("redis-pg", promo_posts(folder / "redis-pg", pg_url, redis_url, n, settings), raw)
    if args.skip_embedded:
        return
    small = min(n, args.embedded_n)
    raw = raw_celery(folder / "raw-embedded", f"sqla+sqlite:///{folder / 'raw-embedded' / 'broker.db'}", small, None)
    add("raw-embedded", raw, None)
    add("embedded", promo_posts(folder / "embedded", f"sqlite:///{folder / 'embedded' / 'promo.db'}", None, small,
                                settings), raw)


def run(args: argparse.Namespace) -> list[Series]:
    n, settings = size(args), {**ENGINE_SETTINGS, **dict(args.set)}
    small = min(n, args.embedded_n)
    series = {
        "raw-redis": Series("raw Celery no-op", "Redis", "-", n),
        "redis-sqlite": Series("promo", "Redis", "SQLite", n),
        "redis-pg": Series("promo", "Redis", "PostgreSQL", n),
        "raw-embedded": Series("raw Celery no-op", "embedded (SQLite)", "-", small),
        "embedded": Series("promo", "embedded (SQLite)", "SQLite", small),
    }
    for index in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix=f"promo-bench-{index}-") as tmp:
            one_round(Path(tmp), args, series, settings)
    return [s for s in series.values() if s.runs]


def setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set wants name=value, got {text!r}")
    return name, value


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0], default_n=10_000, quick_n=40)
    p.add_argument("--rounds", type=int, default=None, help="rounds, each raw Celery then promo (default 3; --quick 1)")
    p.add_argument("--skip-postgres", action="store_true", help="Redis+SQLite and embedded only")
    p.add_argument("--skip-embedded", action="store_true", help="Redis only")
    p.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                   help="a promo setting for the worker, e.g. --set dispatch_batch=200")
    p.add_argument("--embedded-n", type=int, default=2_000,
                   help="posts on the embedded broker (default 2,000: it is the slow one)")
    args = p.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    measured = run(args)
    report(args, "Throughput: posts due now, promo vs raw Celery no-op (same round, same broker)",
           ["engine", "broker", "store", "n", "per second", "ratio to raw", "ratio range", "each once"],
           [s.row() for s in measured], targets(measured),
           [f"{args.rounds} rounds, median shown; one worker process, prefork -c 2, prefetch 1, late acks, "
            f"loglevel INFO; promo settings { {**ENGINE_SETTINGS, **dict(args.set)} }; zero-latency "
            "bench.recording:RecordingAdapter"])
    report(args, "Throughput: CPU ms per task, by process (between 10% and 90% of each run, median)",
           ["engine", "broker", "store", *CPU_GROUPS, "total"], [s.cpu_row() for s in measured])


def targets(measured: list[Series]) -> list[Target]:
    return [Target(f"promo >= {TARGET_RATIO} x raw Celery ({s.broker}, {s.store})", s.ratio >= TARGET_RATIO,
                   f"{s.ratio:.2f} x (median of {len(s.ratios)})") for s in measured if s.ratios]


if __name__ == "__main__":
    main()
