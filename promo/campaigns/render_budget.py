"""What one template render may cost: time, output size, and the size of any value it builds.

A campaign's templates are code written by people, so a render is bounded like untrusted code:

- ``RENDER_SECONDS`` of wall time. On the main thread an interval timer interrupts even a loop that
  writes nothing; elsewhere the deadline is checked on every ``range`` step and every output chunk.
- ``MAX_OUTPUT`` characters of output, counted as the template streams them.
- ``MAX_VALUE`` characters (or items) for a value made by ``*`` and digits for one made by ``**``:
  ``{{ 'x' * 10**8 }}`` is refused before it is built.
- Recursion (a macro that calls itself, a template that extends itself) ends as a ``RenderBudget``
  error instead of the interpreter's ``RecursionError``.

``Budget`` raises ``RenderBudget``; ``promo.campaigns.rendering`` turns it into a ``TemplateError``
naming the template.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, safe_range

RENDER_SECONDS = 2.0
MAX_OUTPUT = 100_000
MAX_VALUE = 100_000
MAX_EXPONENT_BITS = 4_096


class RenderBudget(Exception):
    """A render went past one of the bounds above."""


class Budget:
    """The deadline of the render under way (one per thread)."""

    _local = threading.local()

    @classmethod
    def check(cls) -> None:
        deadline = getattr(cls._local, "deadline", None)
        if deadline is not None and time.monotonic() > deadline:
            raise RenderBudget(f"took longer than {RENDER_SECONDS:g} s")

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[None]:
        cls._local.deadline = time.monotonic() + RENDER_SECONDS
        try:
            with _alarm():
                yield
        except RecursionError:
            raise RenderBudget("recursion too deep (a macro that calls itself, or a template that "
                               "extends or includes itself)") from None
        finally:
            cls._local.deadline = None


def stream(chunks: Iterator[str]) -> str:
    """Join a template's output, stopping at ``MAX_OUTPUT`` characters or the deadline."""
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise RenderBudget(f"wrote more than {MAX_OUTPUT:,} characters")
        Budget.check()
        parts.append(chunk)
    return "".join(parts)


def budgeted_range(*args: int) -> Iterator[int]:
    """``range`` for templates: the sandbox's size limit, and the deadline checked at every step."""
    for value in safe_range(*args):
        Budget.check()
        yield value


class BudgetedEnvironment(SandboxedEnvironment):
    """Jinja's sandbox with ``*`` and ``**`` checked before they build a value."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)


def _check_power(base: Any, exponent: Any) -> None:
    big = isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
    if big and exponent * abs(base).bit_length() > MAX_EXPONENT_BITS:
        raise RenderBudget(f"{base} ** {exponent} is too large a number")


def _check_product(left: Any, right: Any) -> None:
    for sized, times in ((left, right), (right, left)):
        sequence = isinstance(sized, str | list | tuple) and isinstance(times, int)
        if sequence and len(sized) * times > MAX_VALUE:
            raise RenderBudget(f"a value of {len(sized) * times:,} characters or items is too large")


@contextmanager
def _alarm() -> Iterator[None]:
    """Interrupt a runaway render on the main thread, where signals can be delivered."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise RenderBudget(f"took longer than {RENDER_SECONDS:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, RENDER_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
