"""Fixtures for the end-to-end tests: every platform's fake, running in the test process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.e2ekit import Fakes, running_fakes


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    with running_fakes() as started:
        yield started
