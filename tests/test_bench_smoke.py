"""The benchmark scripts work: each runs with a tiny N and records its table. Not timed tests."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest


def run(name: str, tmp_path: Path, *flags: str) -> str:
    doc = tmp_path / "benchmarks.md"
    importlib.import_module(f"bench.{name}").main(["--quick", "--doc", str(doc), *flags])
    return doc.read_text(encoding="utf-8")


def assert_recorded(text: str, title: str) -> None:
    assert title in text
    assert "- command: `python -m bench." in text
    assert "- machine: " in text and "CPUs" in text
    assert "| target" in text


def test_preview(tmp_path: Path) -> None:
    text = run("preview", tmp_path)
    assert_recorded(text, "Preview: render and check every post")
    assert "| 12            | 10       |" in text


def test_startup(tmp_path: Path) -> None:
    text = run("startup", tmp_path)
    assert_recorded(text, "CLI start-up")
    assert "promo queue" in text


@pytest.mark.postgres
def test_scale(tmp_path: Path) -> None:
    text = run("scale", tmp_path, "--n", "5000")
    assert_recorded(text, "Scale: dispatcher claim time")
    assert "ix_posts_status_due_at" in text
    assert "PostgreSQL" in text


def test_floor(tmp_path: Path) -> None:
    text = run("floor", tmp_path)
    assert_recorded(text, "Floor: the ledger protocol in plain SQL")
    assert "| SQLite" in text and "| PostgreSQL" in text and "| PostgreSQL, 2 round trips" in text


def test_hotspots(tmp_path: Path) -> None:
    text = run("hotspots", tmp_path)
    assert_recorded(text, "Hotspots: one publish")
    assert "ledger.transition" in text


@pytest.mark.slow
def test_throughput(tmp_path: Path) -> None:
    text = run("throughput", tmp_path, "--skip-postgres", "--n", "20", "--rounds", "1")
    assert_recorded(text, "Throughput")
    assert "CPU ms per task, by process" in text
    assert "raw Celery no-op | Redis" in text
    assert "embedded (SQLite)" in text
    assert "NO:" not in text  # every post published exactly once
    assert "CPU per post <= 1.5 x raw Celery's (Redis, SQLite)" in text
    assert "promo >= 0.8 x raw Celery's rate (Redis, SQLite)" in text
    assert "| beat " in text and "| vs raw |" in text
    assert "load average (1, 5, 15 min) on" in text and "before round 1" in text


@pytest.mark.slow
def test_lateness(tmp_path: Path) -> None:
    text = run("lateness", tmp_path, "--skip-embedded", "--skip-postgres", "--n", "10", "--spread", "2")
    assert_recorded(text, "Lateness")
    assert "load average (1, 5, 15 min) on" in text and "before the redis run" in text


@pytest.mark.slow
def test_memory(tmp_path: Path) -> None:
    text = run("memory", tmp_path, "--n", "40")
    assert_recorded(text, "Memory: worker RSS")


def test_runner_rejects_an_unknown_benchmark() -> None:
    from bench.run_all import main

    with pytest.raises(SystemExit, match="unknown benchmark"):
        main(["--only", "nope"])


def test_a_busy_machine_is_said_above_the_tables() -> None:
    from bench.load import LoadWatch, Reading, cores

    half = cores() / 2
    quiet = LoadWatch(readings=[Reading("before round 1", (half, 0.1, 0.1), 0.1, first=True),
                                Reading("before round 2", (half * 3, 0.1, 0.1), 0.1)])
    assert quiet.warning("ratios") == ""  # round 2's 1-minute average carries round 1's own load
    busy = LoadWatch(readings=[Reading("before round 1", (half + 0.5, 0.1, 0.1), 0.1, first=True)])
    busy.during("round 1, promo, Redis, SQLite", half + 0.2)
    warning = busy.warning("ratios")
    assert warning.startswith("**busy machine: ratios below are not comparable**")
    assert f"1-minute load {half + 0.5:.2f} before round 1" in warning
    assert "during round 1, promo, Redis, SQLite" in warning
    assert "before round 1" in busy.notes()[0]


def test_wait_quiet_takes_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.throughput import arguments

    assert arguments(["--quick", "--wait-quiet", "30"]).wait_quiet == 30.0
    with pytest.raises(SystemExit):
        arguments(["--wait-quiet", "soon"])
    assert "--wait-quiet: wants seconds from 0 to 86400, got 'soon'" in capsys.readouterr().err


def test_the_runner_gives_wait_quiet_only_to_the_scripts_that_wait() -> None:
    from bench.run_all import flags_for

    argv = ["--quick", "--wait-quiet", "60", "--no-record"]
    assert flags_for("throughput", argv) == argv
    assert flags_for("startup", argv) == ["--quick", "--no-record"]
    assert flags_for("preview", ["--wait-quiet=60"]) == []


def test_spy_sums_raw_stacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench.spy import main

    record = tmp_path / "main.txt"
    record.write_text("loop (a.py:1);ack (b.py:2) 30\nloop (a.py:1);receive (c.py:3) 10\n", encoding="utf-8")
    main([str(record), "--top", "3"])
    out = capsys.readouterr().out
    assert "40 samples" in out and " 75.0%  ack (b.py:2)" in out and "100.0%  loop (a.py:1)" in out
