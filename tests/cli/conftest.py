"""What the command-line tests share: a project folder with the seed campaign moved into the future,
``promo`` run in-process (exit code, stdout, stderr), and a dump of the ledger to compare."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from promo.cli import main
from promo.store.db import make_engine
from promo.store.migrate import upgrade
from promo.store.tables import Event, Hold, PostRow

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "examples/jessica-jones-s3.yaml"
# The seed campaign's year, and the (future) year the tests move it to.
SEED_YEAR, YEAR = "2019-", "2027-"


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


Promo = Callable[..., Ran]


@pytest.fixture
def store_url(database_url: str) -> str:
    """The store the project uses: SQLite and PostgreSQL here; a module may narrow it to SQLite."""
    return database_url


@pytest.fixture
def project(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's example project, its campaign in 2027, its store at ``store_url``."""
    for name in ("examples", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "promo.toml", tmp_path / "promo.toml")
    seed = tmp_path / CAMPAIGN
    seed.write_text(seed.read_text(encoding="utf-8").replace(SEED_YEAR, YEAR), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for variable in ("PROMO_CONFIG_FILE", "PROMO_TEMPLATES_DIR", "PROMO_TIMEZONE", "PROMO_DEBUG", "NO_COLOR",
                     "FORCE_COLOR", "COLUMNS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PROMO_HOME", str(tmp_path / ".promo"))
    monkeypatch.setenv("PROMO_DATABASE_URL", store_url)
    return tmp_path


@pytest.fixture
def promo(project: Path, capsys: pytest.CaptureFixture[str]) -> Promo:
    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)
    return run


def dump(url: str) -> tuple[list[tuple[Any, ...]], ...]:
    """Every post, event and pause, to compare before and after a command."""
    engine = make_engine(url)
    upgrade(engine)
    try:
        with engine.connect() as connection:
            return tuple(
                [tuple(row) for row in connection.execute(select(table).order_by(*table.primary_key))]
                for table in (model.__table__ for model in (PostRow, Event, Hold))
            )
    finally:
        engine.dispose()


def counts(url: str) -> tuple[int, int]:
    posts, events, _ = dump(url)
    return len(posts), len(events)


def one_line_error(ran: Ran, code: int, fragment: str) -> None:
    assert ran.code == code, (ran.code, ran.out, ran.err)
    assert ran.err.count("\n") == 1 and ran.err.startswith("error: "), ran.err
    assert fragment in ran.err, ran.err
    assert "Traceback" not in ran.out + ran.err


@pytest.fixture
def applied(promo: Promo) -> Promo:
    """The project's campaign applied: its posts are in the ledger."""
    assert promo("apply", CAMPAIGN, "--yes").code == 0
    return promo
