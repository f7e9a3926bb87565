"""Run every benchmark in turn: ``python -m bench`` (full) or ``python -m bench --quick`` (smoke).

Flags after the command go to every script (``--quick``, ``--no-record``, ``--doc PATH``);
``--wait-quiet SECONDS`` to the scripts that wait for a quiet machine (throughput, lateness);
``--only NAME[,NAME]`` picks some.

    python -m bench                       # the full set, about 20 minutes on 2 cores
    python -m bench --quick --no-record
    python -m bench --only throughput,lateness
"""

from __future__ import annotations

import importlib
import sys
import time

ORDER = ("startup", "preview", "scale", "floor", "hotspots", "throughput", "lateness", "memory")
QUIET = ("throughput", "lateness")  # the scripts that take --wait-quiet (bench.load)


def flags_for(name: str, argv: list[str]) -> list[str]:
    """``argv`` as ``name`` takes it: without ``--wait-quiet SECONDS`` unless it waits for quiet."""
    if name in QUIET:
        return argv
    flags = [flag for flag in argv if not flag.startswith("--wait-quiet=")]
    if "--wait-quiet" in flags:
        at = flags.index("--wait-quiet")
        del flags[at:at + 2]
    return flags


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = list(ORDER)
    if "--only" in argv:
        at = argv.index("--only")
        names = argv[at + 1].split(",")
        del argv[at:at + 2]
    for name in names:
        if name not in ORDER:
            raise SystemExit(f"unknown benchmark {name!r} (known: {', '.join(ORDER)})")
    for name in names:
        start, flags = time.perf_counter(), flags_for(name, argv)
        print(f"== bench.{name} {' '.join(flags)}", flush=True)
        sys.argv = [f"bench/{name}.py", *flags]
        importlib.import_module(f"bench.{name}").main(flags)
        print(f"== bench.{name} took {time.perf_counter() - start:.0f} s\n", flush=True)


if __name__ == "__main__":
    main()
