"""The beat starts a due tick without Celery's "Sending due task" line: nothing is sent (issue 17)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from tests.engine.enginekit import settings_for, wait_for
from workers.app import create_app
from workers.beat import Scheduler
from workers.ticks import Tick


def test_a_due_tick_is_started_without_a_sending_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}"))
    runs: list[str] = []
    scheduler = Scheduler(app)
    tick = Tick("quick", lambda s: 1.0, lambda s: 60.0, lambda beat: runs.append(threading.current_thread().name))
    scheduler.ticks = {tick.task: tick}
    entry = scheduler.Entry(name="quick", task=tick.task, schedule=1.0, app=app)
    caplog.set_level(logging.DEBUG)
    try:
        scheduler.apply_entry(entry)
        wait_for(lambda: runs, 5, what="the tick's run")
    finally:
        scheduler.close()
    assert runs == ["promo-quick"]
    assert not [r for r in caplog.records if "Sending due task" in r.getMessage()]


def test_an_entry_that_is_not_a_tick_is_sent_as_celery_sends_it(tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'promo.db'}"))
    scheduler = Scheduler(app)
    entry = scheduler.Entry(name="other", task="somebody.else", schedule=1.0, app=app)
    caplog.set_level(logging.DEBUG)
    try:
        scheduler.apply_entry(entry)  # on the embedded broker, a real message
    finally:
        scheduler.close()
    lines = [r.getMessage() for r in caplog.records]
    assert "Scheduler: Sending due task other (somebody.else)" in lines
    assert any(line.startswith("somebody.else sent. id->") for line in lines)
