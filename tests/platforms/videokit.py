"""For video upload memory tests: a fake served from a child process, and the peak memory of a call.

``tracemalloc`` counts every Python allocation of the process, so anything else running in the test
process while the adapter uploads counts against it: a fake served from a thread (werkzeug's
multipart buffers), threads earlier tests left behind in the same xdist worker, a garbage
collection that runs finalizers of their objects. So both sides leave the test process:
``fake_in_child`` serves the fake from a forked child, and ``peak_of`` runs the measured call in a
forked child of its own, where only the calling thread exists, and sends the peak back through a
pipe. The fork inherits the warm-up the test did first (imports, a built client), so the peak is
the upload's alone.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

import pytest

from tests.fakes.harness import FakeServer

Fakes = FakeServer | tuple[FakeServer, ...]
T = TypeVar("T")


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


@dataclass(frozen=True)
class Measured(Generic[T]):
    """What ``peak_of`` saw: the peak (bytes) above what was held before, and what the call returned."""

    peak: int
    result: T


def _measure(call: Callable[[], object], sender: Connection) -> None:
    """In the forked child: run ``call`` under tracemalloc; send ("measured", peak, result) or ("failed", traceback)."""
    try:
        gc.collect()  # garbage inherited from the test process is not freed (finalizers run) during the call
        tracemalloc.start()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sender.send(("measured", peak - before, result))
    except BaseException:  # whatever it is, the test process must hear of it rather than wait
        sender.send(("failed", traceback.format_exc()))
    finally:
        sender.close()


def _answer(child: BaseProcess, receiver: Connection, timeout: float) -> tuple[Any, ...]:
    """The child's message, or a test failure that says why there is none."""
    __tracebackhide__ = True
    if not receiver.poll(timeout):
        pytest.fail(f"the measured call did not finish within {timeout:g} s; its child process was killed")
    try:
        answer: tuple[Any, ...] = receiver.recv()
    except EOFError:
        child.join(5)
        message = f"the measured call's child process ended without an answer (exit code {child.exitcode})"
        raise pytest.fail.Exception(message) from None
    if answer[0] == "failed":
        pytest.fail(f"the measured call raised in its child process:\n{answer[1]}")
    return answer


def peak_of(call: Callable[[], T], timeout: float = 60.0) -> Measured[T]:
    """The most memory (bytes) Python allocated at once while ``call`` ran in a forked child, and its result.

    The result comes back pickled, so changes ``call`` makes to objects of the test process stay in the
    child: return what the test needs to check. A call that raises fails the test with the child's
    traceback; one that runs past ``timeout`` seconds is killed and fails the test.
    """
    __tracebackhide__ = True
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(call, sender), daemon=True)
    child.start()
    sender.close()  # the child holds the only sending end: its death is an EOF here, not a silent wait
    try:
        _, peak, result = _answer(child, receiver, timeout)
        child.join(5)
    finally:
        receiver.close()
        if child.is_alive():  # past the timeout, or stuck after answering
            child.kill()
        child.join()
    return Measured(peak, result)
