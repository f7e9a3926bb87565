"""Shared by every benchmark: flags, the machine, a throwaway Redis and PostgreSQL schema, tables, docs.

Each script builds its parser with ``parser(...)``, measures, and hands rows to ``report(...)``, which
prints a table and (unless ``--no-record``) appends it to docs/benchmarks.md with the exact command,
the machine and the date. Everything stays on loopback.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.load import LoadWatch, load_line

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
POSTGRES_URL = os.environ.get("PROMO_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def parser(description: str, default_n: int, quick_n: int) -> argparse.ArgumentParser:
    """The flags every script takes: --n, --quick, --no-record, --doc. SIGTERM cleans up like Ctrl-C."""
    signal.signal(signal.SIGTERM, _exit_cleanly)
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--n", type=int, default=None, help=f"size (default {default_n})")
    p.add_argument("--quick", action="store_true", help=f"tiny run to prove the script works (n={quick_n})")
    p.add_argument("--no-record", action="store_true", help="print only; do not append to docs/benchmarks.md")
    p.add_argument("--doc", type=Path, default=DOC, help="where results are appended")
    p.set_defaults(default_n=default_n, quick_n=quick_n)
    return p


def _exit_cleanly(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds: workers, redis-server and scratch schemas are stopped


def size(args: argparse.Namespace) -> int:
    if args.n is not None:
        return int(args.n)
    return int(args.quick_n if args.quick else args.default_n)


# -- measuring ------------------------------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def timed(func: Callable[[], Any], repeat: int = 1) -> float:
    """Median wall time of ``func`` over ``repeat`` runs, seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def wait_until(predicate: Callable[[], Any], timeout: float, every: float = 0.05, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")


def rss_kib(pid: int) -> int:
    """Resident set size of one process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time one process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_of(program: str, argument: str = "") -> list[int]:
    """Processes running ``program`` (its file name), with ``argument`` in their command line if given."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        first = command.split(" ", 1)[0]
        if (first == program or first.endswith("/" + program) or first.startswith(program + ":")) \
                and argument in command:
            found.append(int(entry.name))
    return found


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# -- the machine ----------------------------------------------------------------------------------

def _first_line(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "n/a"
    return out.strip().splitlines()[0] if out.strip() else "n/a"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "n/a"


def _memory() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "n/a"


def _postgres_version() -> str:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            return f"PostgreSQL {row[0]}" if row else "n/a"
    except Exception:  # any failure: the machine line just says so
        return "PostgreSQL not reachable"


def machine() -> str:
    """One line naming the machine the numbers came from."""
    import sqlite3

    import celery

    redis = _first_line(["redis-server", "--version"]).split(" sha=")[0]
    system = f"{platform.system()} {platform.release()}"
    return (f"{os.cpu_count()} CPUs ({_cpu_model()}), {_memory()} RAM, {system}, "
            f"Python {platform.python_version()}, celery {celery.__version__}, {redis}, "
            f"{_postgres_version()}, SQLite {sqlite3.sqlite_version}")


# -- reporting ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """One target from the issue: what it says and whether this run met it."""

    text: str
    met: bool
    measured: str

    @property
    def verdict(self) -> str:
        return "met" if self.met else "NOT met"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (it reads fine in a terminal too)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h))
              for i, h in enumerate(headers)]
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
    return "\n".join([line([str(h) for h in headers]), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *(line(r) for r in cells)])


def report(args: argparse.Namespace, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]],
           targets: Sequence[Target] = (), notes: Sequence[str] = (), load: LoadWatch | None = None,
           figures: str = "the figures") -> str:
    """Print the result and append it to the benchmarks document (unless --no-record).

    ``load`` is what the script watched of the machine's load; a busy machine is said above the
    table ("busy machine: ``figures`` below are not comparable"). Without it, the load at the end.
    """
    command = " ".join(["python -m bench." + Path(sys.argv[0]).stem, *sys.argv[1:]])
    warning = load.warning(figures) if load is not None else ""
    parts = [f"### {title}", "",
             f"- command: `{command}`",
             f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- machine: {machine()}", *([f"- {warning}"] if warning else []), "", table(headers, rows), ""]
    if targets:
        verdicts = [[t.text, t.measured, t.verdict] for t in targets]
        parts += [table(["target", "measured", "verdict"], verdicts), ""]
    notes = [*notes, *(load.notes() if load is not None else [load_line()])]
    parts += [f"- {note}" for note in notes] + [""]
    text = "\n".join(parts)
    print(text, flush=True)
    if not args.no_record:
        args.doc.parent.mkdir(parents=True, exist_ok=True)
        if not args.doc.exists():
            args.doc.write_text("# Benchmarks\n\nResults appended by `python -m bench`.\n\n",
                                encoding="utf-8")
        with args.doc.open("a", encoding="utf-8") as out:
            out.write(text + "\n")
    return text


# -- throwaway services ---------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(directory: Path) -> Iterator[str]:
    """A redis-server on a free loopback port for this run only; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/bootstrap --services installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--maxmemory-policy", "noeviction"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _listening(port), 10, 0.02, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(5)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for this run, dropped afterwards; yields a URL that uses it."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment without PROMO_* settings, with the repo on the path (for bench.recording)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
