"""Throughput: N posts due now through dispatcher, publish task and ledger, against raw Celery no-op tasks.

Both run through the same broker: one worker process, prefork -c 2, prefetch 1, late acks. The queue
(or the ledger) is filled first, then the worker starts; the rate is taken between the first and the
last "succeeded" line of the worker's log, so start-up is not counted.

Raw Celery's own rate moves by a third from one minute to the next on a shared 2-core machine, so
each round measures raw Celery and then promo on every store, and the ratio is taken within the
round. The table shows the median over the rounds and the range of the ratio. Between 10% and 90% of
each run, the CPU time of each process (worker main process, pool children, promo's beat,
redis-server, every PostgreSQL process) is read from /proc and divided by the tasks done: where
promo's time goes. Its total against raw Celery's in the same round is promo's CPU per post, a target
beside the ratio.

Both only compare on a quiet machine: the load is read before each round and at the end
(``bench.load``), with the CPU other processes used during each run; a busy machine is said above
the tables. ``--wait-quiet SECONDS`` waits for quiet before each round; ``--profile DIR`` records the
worker's main process and the beat with py-spy (``bench.spy``).

    python -m bench.throughput            # 10,000 posts, 3 rounds: Redis+SQLite, Redis+PostgreSQL, embedded
    python -m bench.throughput --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Target, cpu_seconds, parser, pids_of, postgres_schema, redis_server, report, size
from bench.engine import Worker, insert_posts, make_store, promo_env, published_events
from bench.load import LoadWatch, machine_cpu_seconds, quiet_option
from bench.spy import Recording

# promo's rate at least this share of raw Celery's, and its CPU per post at most this multiple of raw
# Celery's, in the same round (issue 17). Embedded: 2.0, as PostgreSQL. promo's sends are counted (its
# beat sends while the worker runs) and raw Celery's are not (its queue is filled before its worker
# starts): on Redis a send costs ~0.01 ms, through kombu's SQLAlchemy transport ~0.5 ms.
TARGET_RATIO = {"redis-sqlite": 0.8, "redis-pg": 0.7, "embedded": 0.7}
TARGET_CPU = {"redis-sqlite": 1.5, "redis-pg": 2.0, "embedded": 2.0}
CPU_GROUPS = ("worker main", "pool children", "beat", "redis", "postgres")
# promo's defaults (dispatch_batch 500, dispatch_interval 1 s) unless --set says otherwise
ENGINE_SETTINGS: dict[str, Any] = {}


@dataclass
class Run:
    """One measured run: tasks per second, CPU ms per task by process, whether each post went out once."""

    rate: float
    cpu_ms: dict[str, float]
    once: str = "-"
    others: float = 0.0  # cores' worth of CPU other processes used meanwhile

    @property
    def total_ms(self) -> float:
        return sum(self.cpu_ms.get(group, 0.0) for group in CPU_GROUPS)


@dataclass
class Series:
    """One configuration (engine, broker, store) over the rounds."""

    key: str
    engine: str
    broker: str
    store: str
    n: int
    runs: list[Run] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)
    cpu_ratios: list[float] = field(default_factory=list)  # CPU per post over raw Celery's, same round

    def row(self) -> list[Any]:
        rate = f"{statistics.median(run.rate for run in self.runs):.0f}"
        if not self.ratios:  # the baseline itself
            return [self.engine, self.broker, self.store, self.n, rate, "1.00", "-", "-"]
        failures = [run.once for run in self.runs if run.once != "yes"]
        return [self.engine, self.broker, self.store, self.n, rate, f"{self.ratio:.2f}",
                f"{min(self.ratios):.2f}-{max(self.ratios):.2f}", "; ".join(failures) or "yes"]

    @property
    def label(self) -> str:
        return f"{self.engine}, {self.broker}" + (f", {self.store}" if self.store != "-" else "")

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(self.cpu_ratios) if self.cpu_ratios else float("nan")

    def cpu_row(self) -> list[Any]:
        per_group = {group: statistics.median(run.cpu_ms.get(group, 0.0) for run in self.runs)
                     for group in CPU_GROUPS}
        shown = {"postgres": self.store == "PostgreSQL", "beat": self.engine == "promo"}
        cells = [f"{per_group[g]:.2f}" if shown.get(g, True) else "-" for g in CPU_GROUPS]
        versus = f"{self.cpu_ratio:.2f}" if self.cpu_ratios else "1.00"
        return [self.engine, self.broker, self.store, *cells, f"{statistics.median(r.total_ms for r in self.runs):.2f}",
                versus, f"{max(run.others for run in self.runs):.2f}"]


class CpuMeter:
    """CPU seconds by process group, for the worker, this run's redis-server and PostgreSQL; and the
    machine's, to tell what other processes used meanwhile."""

    def __init__(self, worker: Worker, redis_url: str | None, postgres: bool) -> None:
        self.worker, self.postgres = worker, postgres
        self.redis = pids_of("redis-server", f":{redis_url.rsplit(':', 1)[1].split('/')[0]}") if redis_url else []

    def read(self) -> dict[str, float]:
        seconds = self.worker.cpu_seconds()
        seconds["redis"] = sum(cpu_seconds(pid) for pid in self.redis)
        seconds["postgres"] = sum(cpu_seconds(pid) for pid in pids_of("postgres")) if self.postgres else 0.0
        seconds["bench"] = cpu_seconds(os.getpid())
        seconds["machine"], seconds["wall"] = machine_cpu_seconds(), time.monotonic()
        return seconds


def others(before: dict[str, float], after: dict[str, float]) -> float:
    """Cores' worth of CPU used between two readings by anything but this run's processes."""
    ours = sum(after[key] - before[key] for key in (*CPU_GROUPS, "bench"))
    return max(0.0, after["machine"] - before["machine"] - ours) / max(after["wall"] - before["wall"], 1e-3)


def measure(worker: Worker, task: str, n: int, meter: CpuMeter, profile: Path | None = None) -> Run:
    """Wait for ``n`` tasks; CPU per task by group between 10% and 90% of them (and py-spy meanwhile,
    into ``profile``-main.txt and -beat.txt, if asked)."""
    marks: list[tuple[int, dict[str, float]]] = []
    recordings: list[Recording] = []

    def progress(count: int) -> None:
        if (not marks and count >= n // 10) or (len(marks) == 1 and count >= n - n // 10):
            marks.append((count, meter.read()))
            if profile is not None and len(marks) == 1:
                recordings.extend(Recording(pid, profile.with_name(f"{profile.name}-{role}.txt"))
                                  for role, pid in worker.roles().items() if role in ("main", "beat"))
            elif len(marks) == 2:
                for recording in recordings:
                    recording.stop()

    try:
        worker.wait_for(task, n, timeout=60 + n / 50, progress=progress)
    finally:
        for recording in recordings:
            recording.stop()
    run = Run(worker.rate(task), {})
    if len(marks) == 2 and marks[1][0] > marks[0][0]:
        (first, before), (last, after) = marks
        run.cpu_ms = {group: (after[group] - before[group]) / (last - first) * 1000 for group in CPU_GROUPS}
        run.others = others(before, after)
    return run


@dataclass
class Session:
    """One invocation: its flags, the series measured so far, the load watch, the round under way."""

    args: argparse.Namespace
    series: dict[str, Series]
    load: LoadWatch
    round: int = 0

    @property
    def settings(self) -> dict[str, Any]:
        return {**ENGINE_SETTINGS, **dict(self.args.set)}

    def profile(self, key: str) -> Path | None:
        return self.args.profile / f"{self.round}-{key}" if self.args.profile else None

    def add(self, key: str, run: Run, raw: Run | None) -> None:
        series = self.series[key]
        series.runs.append(run)
        self.load.during(f"round {self.round}, {series.label}", run.others)
        if raw is not None:
            series.ratios.append(run.rate / raw.rate)
            if run.cpu_ms and raw.cpu_ms:
                series.cpu_ratios.append(run.total_ms / raw.total_ms)


def raw_celery(session: Session, key: str, folder: Path, broker: str, n: int, redis_url: str | None) -> Run:
    """No-op tasks per second through ``broker``."""
    from bench.noop import create_app

    folder.mkdir(parents=True, exist_ok=True)
    app = create_app(broker)
    task = app.tasks["bench.noop"]
    with app.producer_or_acquire() as producer:
        for i in range(n):
            task.apply_async((i, "x" * 32), producer=producer)
    worker = Worker.noop(folder, broker, session.args.concurrency)
    try:
        run = measure(worker, "bench.noop", n, CpuMeter(worker, redis_url, postgres=False), session.profile(key))
    finally:
        worker.stop()
    session.add(key, run, None)
    return run


def promo_posts(session: Session, key: str, folder: Path, database_url: str, broker: str | None, n: int,
                raw: Run) -> None:
    """Posts per second through promo, and whether each went out exactly once."""
    engine = make_store(database_url)
    insert_posts(engine, [datetime.now(UTC)] * n)
    worker = Worker.promo(folder, promo_env(folder, database_url, broker, **session.settings), session.args.concurrency)
    try:
        run = measure(worker, "promo.publish", n, CpuMeter(worker, broker, engine.dialect.name == "postgresql"),
                      session.profile(key))
    finally:
        worker.stop()
    total, distinct = published_events(engine)
    engine.dispose()
    run.once = "yes" if total == distinct == n else f"NO: {total} publishes of {distinct} posts"
    session.add(key, run, raw)


def one_round(folder: Path, session: Session) -> None:
    """Raw Celery, then promo on each store, per broker; ratios within this round."""
    args, n = session.args, size(session.args)
    session.load.before(f"before round {session.round}")
    with redis_server(folder) as redis_url:
        raw = raw_celery(session, "raw-redis", folder / "raw-redis", redis_url, n, redis_url)
        if not args.skip_sqlite:
            promo_posts(session, "redis-sqlite", folder / "redis-sqlite",
                        f"sqlite:///{folder / 'redis-sqlite' / 'promo.db'}", redis_url, n, raw)
        if not args.skip_postgres:
            with postgres_schema() as pg_url:
                promo_posts(session, "redis-pg", folder / "redis-pg", pg_url, redis_url, n, raw)
    if args.skip_embedded:
        return
    small = min(n, args.embedded_n)
    raw = raw_celery(session, "raw-embedded", folder / "raw-embedded",
                     f"sqla+sqlite:///{folder / 'raw-embedded' / 'broker.db'}", small, None)
    promo_posts(session, "embedded", folder / "embedded", f"sqlite:///{folder / 'embedded' / 'promo.db'}", None,
                small, raw)


def run(args: argparse.Namespace, load: LoadWatch) -> list[Series]:
    n = size(args)
    small = min(n, args.embedded_n)
    session = Session(args, {
        "raw-redis": Series("raw-redis", "raw Celery no-op", "Redis", "-", n),
        "redis-sqlite": Series("redis-sqlite", "promo", "Redis", "SQLite", n),
        "redis-pg": Series("redis-pg", "promo", "Redis", "PostgreSQL", n),
        "raw-embedded": Series("raw-embedded", "raw Celery no-op", "embedded (SQLite)", "-", small),
        "embedded": Series("embedded", "promo", "embedded (SQLite)", "SQLite", small),
    }, load)
    for index in range(1, args.rounds + 1):
        session.round = index
        with tempfile.TemporaryDirectory(prefix=f"promo-bench-{index}-") as tmp:
            one_round(Path(tmp), session)
    load.end()
    return [s for s in session.series.values() if s.runs]


def setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--set wants name=value, got {text!r}")
    return name, value


def arguments(argv: list[str] | None) -> argparse.Namespace:
    p = parser(__doc__.splitlines()[0], default_n=10_000, quick_n=40)
    p.add_argument("--rounds", type=int, default=None, help="rounds, each raw Celery then promo (default 3; --quick 1)")
    p.add_argument("--skip-postgres", action="store_true", help="Redis+SQLite and embedded only")
    p.add_argument("--skip-embedded", action="store_true", help="Redis only")
    p.add_argument("--skip-sqlite", action="store_true", help="no Redis+SQLite run")
    p.add_argument("--concurrency", type=int, default=2, help="pool processes per worker, raw and promo (default 2)")
    p.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                   help="a promo setting for the worker, e.g. --set dispatch_batch=200")
    p.add_argument("--embedded-n", type=int, default=2_000,
                   help="posts on the embedded broker (default 2,000: it is the slow one)")
    p.add_argument("--profile", type=Path, default=None, metavar="DIR",
                   help="record the worker's main process and the beat with py-spy, between 10%% and 90%% of "
                        "each run, into DIR (bench/spy.py; needs py-spy)")
    quiet_option(p)
    args = p.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else 3)
    if args.rounds < 1:
        p.error(f"--rounds wants 1 or more, got {args.rounds}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    load = LoadWatch(args.wait_quiet)
    measured = run(args, load)
    report(args, "Throughput: posts due now, promo vs raw Celery no-op (same round, same broker)",
           ["engine", "broker", "store", "n", "per second", "ratio to raw", "ratio range", "each once"],
           [s.row() for s in measured], targets(measured),
           [f"{args.rounds} rounds, median shown; one worker process, prefork -c {args.concurrency}, prefetch 1, "
            "late acks, "
            f"loglevel INFO; promo settings { {**ENGINE_SETTINGS, **dict(args.set)} }; zero-latency "
            "bench.recording:RecordingAdapter",
            "CPU per post vs raw Celery: total CPU ms per post (worker main, pool children, beat, redis, "
            "postgres) over raw Celery's in the same round, median over the rounds (table below)"],
           load, figures="ratios")
    report(args, "Throughput: CPU ms per task, by process (between 10% and 90% of each run, median)",
           ["engine", "broker", "store", *CPU_GROUPS, "total", "vs raw", "others"], [s.cpu_row() for s in measured],
           notes=["vs raw: total over raw Celery's in the same round, median; others: cores' worth of CPU that "
                  "other processes used during the run (the most over the rounds)"],
           load=load, figures="ratios")


def targets(measured: list[Series]) -> list[Target]:
    found = []
    for s in measured:
        if not s.ratios:
            continue
        ratio, cpu = TARGET_RATIO[s.key], TARGET_CPU[s.key]
        found.append(Target(f"promo >= {ratio} x raw Celery's rate ({s.broker}, {s.store})", s.ratio >= ratio,
                            f"{s.ratio:.2f} x (median of {len(s.ratios)})"))
        found.append(Target(f"CPU per post <= {cpu} x raw Celery's ({s.broker}, {s.store})", s.cpu_ratio <= cpu,
                            f"{s.cpu_ratio:.2f} x (median of {len(s.cpu_ratios)})"))
    return found


if __name__ == "__main__":
    main()
