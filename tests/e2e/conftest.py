"""Fixtures for the end-to-end tests: every platform's fake, running in the test process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The engine helpers (enginekit, fake_webhook) live next to the engine tests: import them under the
# module names the engine tests use, so a whole-suite run holds one copy of each.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from e2ekit import Fakes, running_fakes


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with running_fakes() as started:
        yield started
