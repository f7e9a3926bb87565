"""CLI start-up: ``promo --help``, ``queue``, ``show`` and ``status`` from a cold process, and which heavy modules load.

Each command runs N times as a fresh process (the first run warms the file cache and migrates the
scratch store; it is not counted); the median and the worst are shown. The store commands run on
the embedded default (SQLite store, SQLite broker: ``status`` probes that file, no network) holding
a few ad hoc posts for an outbox account.

    python -m bench.startup               # 10 runs each
    python -m bench.startup --quick
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Target, parser, report, size, subprocess_env

TARGET_HELP_S = 0.3
TARGET_STORE_S = 0.5  # issue 11: queue, show and status on the embedded store
POSTS = 3
CONFIG = '[promo]\n\n[accounts.out]\nplatform = "outbox"\n'
COMMANDS = (("promo --help", ["--help"]), ("promo queue", ["queue"]), ("promo show 1", ["show", "1"]),
            ("promo status", ["status"]))
HEAVY = ("celery", "kombu", "tweepy", "atproto", "mastodon", "sqlalchemy", "jinja2", "rich", "httpx",
         "requests")
PROBE = ("import sys; from promo.cli import main\n"
         "try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
         "print('HEAVY:' + ' '.join(m for m in {heavy!r} if m in sys.modules))")
STORE_HEAVY = ("sqlalchemy", "sqlalchemy.orm", "alembic", "pydantic_settings", "kombu", "regex", "rich", "asyncio")
# What the read commands must not load on a current SQLite store (issue 11): each costs 0.1-0.5 s.
STORE_FORBIDDEN = ("sqlalchemy", "alembic", "pydantic_settings", "kombu", "regex")


# ``promo status`` answers in its exit code: 1 posts need a person, 3 posts wait with no worker or
# beat alive (docs/monitoring.md). The store here holds waiting posts and no engine runs: 3 is true.
TRUTHFUL_EXITS = (0, 1, 3)


def cold_times(command: list[str], env: dict[str, str], cwd: Path, runs: int) -> list[float]:
    times = []
    for i in range(runs + 1):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, timeout=60)
        elapsed = time.perf_counter() - start
        if done.returncode not in TRUTHFUL_EXITS:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[-2000:]}")
        if i:
            times.append(elapsed)
    return times


def heavy_imports(env: dict[str, str], cwd: Path, argv: list[str], heavy: tuple[str, ...] = HEAVY) -> str:
    code = PROBE.format(argv=argv, heavy=heavy)
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                         timeout=60).stdout
    return out.rpartition("HEAVY:")[2].strip()


def seed(promo: list[str], env: dict[str, str], cwd: Path) -> None:
    """A migrated store with a few scheduled ad hoc posts (ids 1..POSTS)."""
    for number in range(POSTS):
        subprocess.run([*promo, "post", "--account", "out", "--at", "now+1d", f"start-up bench {number}"],
                       env=env, cwd=cwd, check=True, capture_output=True, timeout=60)


def main(argv: list[str] | None = None) -> None:
    args: argparse.Namespace = parser(__doc__.splitlines()[0], default_n=10, quick_n=2).parse_args(argv)
    runs, script = size(args), Path(sys.executable).with_name("promo")
    promo = [str(script)] if script.exists() else [sys.executable, "-c", "from promo.cli import main; main()"]
    rows, targets = [], []
    with tempfile.TemporaryDirectory(prefix="promo-bench-") as tmp:
        folder = Path(tmp)
        (folder / "promo.toml").write_text(CONFIG, encoding="utf-8")
        env = subprocess_env(PROMO_HOME=str(folder / "home"), PROMO_CONFIG_FILE=str(folder / "promo.toml"))
        seed(promo, env, folder)
        for label, extra in COMMANDS:
            times = cold_times(promo + extra, env, folder, runs)
            median = statistics.median(times)
            rows.append([label, runs, f"{median * 1000:.0f}", f"{max(times) * 1000:.0f}"])
            limit = TARGET_HELP_S if label == "promo --help" else TARGET_STORE_S
            targets.append(Target(f"{label} <= {limit} s", median <= limit, f"{median:.3f} s median"))
        loaded = heavy_imports(env, folder, ["--help"])
        store_loads = {label: heavy_imports(env, folder, extra, STORE_HEAVY)
                       for label, extra in COMMANDS if extra != ["--help"]}
        baseline = statistics.median(cold_times([sys.executable, "-c", "pass"], env, folder, runs))
    targets.append(Target("no heavy import on promo --help", not loaded,
                          loaded or "none of " + ", ".join(HEAVY)))
    forbidden = sorted({m for loads in store_loads.values() for m in loads.split() if m in STORE_FORBIDDEN})
    targets.append(Target("queue, show, status: no SQLAlchemy, pydantic-settings, kombu", not forbidden,
                          " ".join(forbidden) or "none of " + ", ".join(STORE_FORBIDDEN)))
    report(args, "CLI start-up: cold processes", ["command", "runs", "median ms", "worst ms"], rows, targets,
           [f"a bare `python -c pass` takes {baseline * 1000:.0f} ms on this machine (the floor)",
            f"the store holds {POSTS} ad hoc posts; status opens the embedded broker's SQLite file read-only",
            *(f"{label} loads: {loads or 'none of ' + ', '.join(STORE_HEAVY)}"
              for label, loads in store_loads.items())])


if __name__ == "__main__":
    main()
