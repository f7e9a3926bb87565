"""The first run, as a new user meets it, through the installed ``promo`` console script in a folder
outside the checkout: ``promo demo``; ``promo init x && cd x && promo apply campaign.yaml --yes &&
promo run``; and what ``promo run`` prints (event lines; Celery's banner only with --verbose)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMO = Path(sys.executable).parent / "promo"  # the console script, as pipx would install it


def clean_env(**extra: str) -> dict[str, str]:
    """No PROMO_* settings and no credentials: what a new user has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(COLUMNS="100", NO_COLOR="1", **extra)
    return env


def promo(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(PROMO), *args], cwd=cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@contextmanager
def running(cwd: Path, *args: str) -> Iterator[Path]:
    """``promo ARGS`` in the background, its output (stdout and stderr) in a file; stopped with Ctrl-C."""
    log = cwd / "run.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(PROMO), *args], cwd=cwd, env=clean_env(), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield log
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def wait_for(log: Path, text: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace")
        if text in output:
            return output
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not seen in {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def statuses(project: Path) -> dict[str, int]:
    with closing(sqlite3.connect(project / ".promo" / "promo.db")) as db:
        return dict(db.execute("SELECT status, count(*) FROM posts GROUP BY status").fetchall())


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_demo_runs_from_a_folder_outside_the_checkout(tmp_path: Path) -> None:
    assert PROMO.is_file() and not tmp_path.is_relative_to(REPO)
    assert not (tmp_path / "examples").exists() and not (tmp_path / "promo.toml").exists()
    done = promo(tmp_path, "demo", "--timeout", "90", timeout=110)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "64/64 published to " in done.stdout  # the seed: 64 posts on 14 accounts, media included
    assert len((tmp_path / ".promo" / "demo" / "outbox.jsonl").read_text().splitlines()) == 64


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_init_apply_run_publishes_the_first_posts_with_no_credentials(tmp_path: Path) -> None:
    made = promo(tmp_path, "init", "x", "--start-in", "8s")
    assert made.returncode == 0, made.stderr
    project = tmp_path / "x"
    applied = promo(project, "apply", "campaign.yaml", "--yes")
    assert applied.returncode == 0, applied.stderr
    assert "3 new" in applied.stdout
    with running(project, "run") as log:
        output = wait_for(log, "published", 60)
    assert "post 1 " in output and "outbox" in output and "file://" in output
    assert "[tasks]" not in output and "succeeded in" not in output and "superuser" not in output
    assert output.splitlines()[0].startswith("promo run: store sqlite:///.promo/promo.db")
    found = statuses(project)
    assert found.get("published", 0) >= 1, found
    assert set(found) <= {"published", "scheduled", "queued", "publishing"}, found
    assert len((project / ".promo" / "outbox.jsonl").read_text().splitlines()) == found["published"]


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_run_verbose_shows_celery_output(tmp_path: Path) -> None:
    assert promo(tmp_path, "init", "x", "--start-in", "6s").returncode == 0
    project = tmp_path / "x"
    assert promo(project, "apply", "campaign.yaml", "--yes").returncode == 0
    with running(project, "run", "--verbose") as log:
        output = wait_for(log, "published  file://", 60)
    assert "[tasks]" in output and "promo.publish" in output and "succeeded in" in output
    assert "post 1 " in output


def test_shell_completion_script() -> None:
    env = clean_env(_PROMO_COMPLETE="bash_source")
    done = subprocess.run([str(PROMO)], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "_PROMO_COMPLETE=bash_complete" in done.stdout and "complete -o nosort -F" in done.stdout
    words = clean_env(_PROMO_COMPLETE="bash_complete", COMP_WORDS="promo pre", COMP_CWORD="1")
    done = subprocess.run([str(PROMO)], env=words, capture_output=True, text=True, timeout=30)
    assert "preview" in done.stdout
