"""The machine's load around a benchmark: read before each measurement and at the end, quiet or busy.

Ratios to raw Celery and CPU per post only compare on a quiet machine: another process on the same
cores slows the two runs of a round unequally. So a script reads ``/proc/loadavg`` before each
measurement and at the end, and its report says the load; a busy machine is said plainly, above the
tables. Quiet means at most half the cores busy (``QUIET_SHARE``):

- the 1-minute load average before the first measurement (the issue's rule);
- before every measurement, the CPU the whole machine used over one second (``SAMPLE_S``), while none
  of the benchmark's own processes runs. Before a later round the 1-minute average still carries
  the previous round's own load (it decays over minutes), so it is shown but not judged;
- where a script can tell (``bench.throughput``), the CPU other processes used while it measured:
  the machine's busy time less the benchmark's own processes.

``--wait-quiet SECONDS`` waits, before each measurement, up to that long for a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

QUIET_SHARE = 0.5  # quiet: at most this share of the cores busy
SAMPLE_S = 1.0  # the short look at the machine's CPU before each measurement
RETRY_S = 5.0  # how often --wait-quiet looks again


def cores() -> int:
    return os.cpu_count() or 1


def limit() -> float:
    """The busiest a quiet machine gets, in cores (1-minute load or cores' worth of CPU)."""
    return QUIET_SHARE * cores()


def load_average() -> tuple[float, float, float]:
    """The 1-, 5- and 15-minute load averages."""
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


def machine_cpu_seconds() -> float:
    """CPU seconds the machine has been busy so far: every process, the kernel, a hypervisor's steal."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def busy_cores(over: float = SAMPLE_S) -> float:
    """Cores' worth of CPU the whole machine uses over the next ``over`` seconds."""
    before, start = machine_cpu_seconds(), time.monotonic()
    time.sleep(over)
    return (machine_cpu_seconds() - before) / max(time.monotonic() - start, 1e-3)


def quiet_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait-quiet", type=wait_seconds, default=0.0, metavar="SECONDS",
                   help="before each measurement, wait up to SECONDS for a quiet machine (at most half "
                        "the cores busy); default 0: don't wait. The report says the load either way")


def wait_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"wants seconds from 0 to 86400, got {text!r}")
    return value


@dataclass
class Reading:
    """The load at one moment: before a measurement, or at the end."""

    when: str
    averages: tuple[float, float, float]
    busy: float  # cores' worth of CPU the machine used over SAMPLE_S
    first: bool = False  # the first before any measurement: its 1-minute average is judged too
    waited: float = 0.0

    @property
    def quiet(self) -> bool:
        return self.busy <= limit() and (not self.first or self.averages[0] <= limit())

    def text(self) -> str:
        one, five, fifteen = self.averages
        waited = f", after waiting {self.waited:.0f} s" if self.waited >= 1 else ""
        return f"{self.when} {one:.2f} {five:.2f} {fifteen:.2f} ({self.busy:.2f} busy{waited})"


def look(when: str, first: bool = False) -> Reading:
    busy = busy_cores()
    return Reading(when, load_average(), busy, first)


@dataclass
class LoadWatch:
    """The load before each measurement, the CPU others used during it, and the verdict."""

    wait_s: float = 0.0
    readings: list[Reading] = field(default_factory=list)  # one before each measurement
    others: list[tuple[str, float]] = field(default_factory=list)
    final: Reading | None = None

    def before(self, when: str) -> Reading:
        """Read the load before a measurement, waiting up to ``wait_s`` for quiet; returns the reading."""
        start, first = time.monotonic(), not self.readings
        reading = look(when, first)
        while not reading.quiet and time.monotonic() - start < self.wait_s:
            time.sleep(RETRY_S)
            reading = look(when, first)
        reading.waited = time.monotonic() - start - SAMPLE_S
        self.readings.append(reading)
        return reading

    def during(self, what: str, cores_used: float) -> None:
        """What other processes used (cores' worth of CPU) while ``what`` was measured."""
        self.others.append((what, cores_used))

    def end(self) -> None:
        """The load at the end: shown, not judged (its averages carry the benchmark's own runs)."""
        self.final = look("at the end")

    def busy_reasons(self) -> list[str]:
        """Why the machine was not quiet: empty when it was."""
        reasons = [f"1-minute load {r.averages[0]:.2f} {r.when}" for r in self.readings
                   if r.first and r.averages[0] > limit()]
        reasons += [f"{r.busy:.2f} cores busy {r.when}" for r in self.readings if r.busy > limit()]
        return reasons + [f"others used {used:.2f} cores during {what}" for what, used in self.others if used > limit()]

    def warning(self, what: str) -> str:
        """The line above the tables: empty on a quiet machine."""
        reasons = self.busy_reasons()
        if not reasons:
            return ""
        return (f"**busy machine: {what} below are not comparable** (quiet is at most {limit():g} of the "
                f"{cores()} cores busy: {'; '.join(reasons)})")

    def notes(self) -> list[str]:
        shown = [*self.readings, *([self.final] if self.final else [])]
        return [f"load average (1, 5, 15 min) on {cores()} cores, and cores busy over {SAMPLE_S:g} s: "
                + "; ".join(r.text() for r in shown)]


def load_line() -> str:
    """One line with the load now, for a report that does not watch it."""
    one, five, fifteen = load_average()
    return f"load average (1, 5, 15 min) at the end: {one:.2f} {five:.2f} {fifteen:.2f} on {cores()} cores"
