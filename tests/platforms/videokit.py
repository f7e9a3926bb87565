"""For video upload memory tests: a fake served from a child process, and the peak memory of a call.

``tracemalloc`` counts every Python allocation of the process, so a fake served from a thread of the
test process would count its own request parsing (werkzeug's multipart buffers) against the
adapter. ``fake_in_child`` serves the fake from a forked child instead; ``peak_of`` measures only
what the adapter allocates while it runs (imports are done by a warm-up call first).
"""

from __future__ import annotations

import multiprocessing
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.harness import FakeServer

Fakes = FakeServer | tuple[FakeServer, ...]


def _serve(factory: Callable[[], Fakes], urls: Any, stop: Any) -> None:
    made = factory()
    servers = made if isinstance(made, tuple) else (made,)
    urls.put([server.start().url for server in servers])
    stop.wait(120)
    for server in servers:
        server.stop()


@contextmanager
def fake_in_child(factory: Callable[[], Fakes]) -> Iterator[list[str]]:
    """The URLs of the fakes ``factory`` makes (one, or a tuple), served from a forked child process."""
    context = multiprocessing.get_context("fork")
    urls, stop = context.Queue(), context.Event()
    child = context.Process(target=_serve, args=(factory, urls, stop), daemon=True)
    child.start()
    try:
        yield urls.get(timeout=20)
    finally:
        stop.set()
        child.join(10)
        if child.is_alive():
            child.kill()


def peak_of(call: Callable[[], object]) -> int:
    """The most memory (bytes) Python allocated at once while ``call`` ran, above what was held before."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before
