"""py-spy on a benchmark's worker processes: where the worker's main process spends its CPU.

``python -m bench.throughput --profile DIR`` records, in each run, the worker's main process (and
promo's beat) between the 10% and 90% marks, as py-spy's raw output (one collapsed stack and its
sample count a line), in ``DIR/<round>-<run>-<role>.txt``. ``python -m bench.spy FILE...`` sums such
files: the functions with the most samples, by their own time and with what they call.

py-spy is a tool, not a dependency of promo or of the benchmarks: ``pip install py-spy``. It needs
the right to trace the worker (root, or ``kernel.yama.ptrace_scope = 0``). It samples without
stopping the process (``--nonblocking``), and idle threads are not sampled, so a sample is CPU.

    python -m bench.throughput --n 3000 --rounds 1 --skip-embedded --no-record --profile /tmp/spy
    python -m bench.spy /tmp/spy/1-redis-sqlite-main.txt --top 30
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

RATE = 250  # samples per second


def py_spy() -> str:
    """The py-spy next to this Python, or on the PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy (a tool, not a promo dependency)")
    return found


class Recording:
    """``py-spy record`` on one process until ``stop()``."""

    def __init__(self, pid: int, out: Path, rate: int = RATE) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out, self.stopped = out, False
        self.process = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking", "--gil",
             "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> None:
        """Stop sampling; py-spy writes its file on SIGINT. Once; later calls do nothing."""
        if self.stopped:
            return
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
        if not self.out.exists():
            print(f"py-spy wrote no {self.out}: {err.decode(errors='replace').strip()[-300:]}", file=sys.stderr)


def stacks(path: Path) -> Counter[tuple[str, ...]]:
    """The raw file's stacks (outermost frame first) and their sample counts."""
    counts: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[tuple(stack.split(";"))] += int(count)
    return counts


def summary(counts: Counter[tuple[str, ...]], top: int) -> str:
    """The ``top`` functions by own samples and by samples including what they call, as percentages."""
    total = sum(counts.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in counts.items():
        own[stack[-1]] += count
        for frame in set(stack):
            inclusive[frame] += count
    lines = [f"{total} samples"]
    for title, counter in (("own", own), ("with callees", inclusive)):
        lines += ["", f"{title}:"]
        lines += [f"{100 * n / total:5.1f}%  {frame[:90]}" for frame, n in counter.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Sum py-spy raw files: the functions with the most samples.")
    p.add_argument("files", nargs="+", type=Path, help="py-spy --format raw output")
    p.add_argument("--top", type=int, default=25, help="functions shown (default 25)")
    args = p.parse_args(argv)
    counts: Counter[tuple[str, ...]] = Counter()
    for path in args.files:
        if not path.is_file():
            raise SystemExit(f"{path}: no such file")
        counts.update(stacks(path))
    print(summary(counts, args.top))


if __name__ == "__main__":
    main()
