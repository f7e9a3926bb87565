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


@pytest.mark.slow
def test_lateness(tmp_path: Path) -> None:
    text = run("lateness", tmp_path, "--skip-embedded", "--skip-postgres", "--n", "10", "--spread", "2")
    assert_recorded(text, "Lateness")


@pytest.mark.slow
def test_memory(tmp_path: Path) -> None:
    text = run("memory", tmp_path, "--n", "40")
    assert_recorded(text, "Memory: worker RSS")


def test_runner_rejects_an_unknown_benchmark() -> None:
    from bench.run_all import main

    with pytest.raises(SystemExit, match="unknown benchmark"):
        main(["--only", "nope"])
