"""Fixtures for the engine tests: a fake webhook receiver, a store, settings and a runtime."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.engine.enginekit import EngineProcess, make_store, runtime_for, settings_for, write_config
from tests.fakes.webhook import SECRET, FakeWebhookServer, Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with FakeWebhookServer() as receiver:
        yield receiver


@pytest.fixture
def store(database_url: str) -> Iterator[Engine]:
    engine = make_store(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_runtime(tmp_path: Path, database_url: str, store: Engine, receiver: Receiver) -> Any:
    def build(rate_limit: str | None = None, **overrides: Any) -> Any:
        write_config(tmp_path, receiver.url, rate_limit)
        return runtime_for(settings_for(tmp_path, database_url, **overrides), store, SECRET)

    return build


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[..., EngineProcess]]:
    """``started(env, *args)``: ``promo <args>`` as a real process in ``tmp_path``; each one killed at the end."""
    processes: list[EngineProcess] = []

    def start(env: dict[str, str], *args: str) -> EngineProcess:
        processes.append(EngineProcess(tmp_path, env, *args))
        return processes[-1]

    yield start
    for process in processes:
        process.stop()
