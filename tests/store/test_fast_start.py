"""Store commands skip the migration check when the schema's stamp is current, and only then.

``is_current(url)`` reads a SQLite file's stamp with ``sqlite3`` alone; ``App.engine`` runs
``upgrade`` whenever that is not known to be current: a fresh store, an older stamp, PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from promo.cli.common import App
from promo.store import migrate
from promo.store.db import make_engine
from promo.store.migrate import HEAD, current_revision, is_current, upgrade

OLDER = "0000_older"


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder: no promo.toml, settings from the defaults."""
    monkeypatch.chdir(tmp_path)
    for variable in ("PROMO_CONFIG_FILE", "PROMO_DATABASE_URL", "PROMO_TIMEZONE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PROMO_HOME", str(tmp_path / ".promo"))
    return tmp_path


def stamp(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    engine.dispose()


def record_alembic(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Replace the alembic run with one that notes the stamp it found and moves it to HEAD.

    There is one revision so far, so an older stamp cannot be upgraded by the real scripts.
    """
    runs: list[str | None] = []

    def fake(connection: Any) -> None:
        runs.append(connection.execute(text("SELECT version_num FROM alembic_version")).scalar())
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": HEAD})

    monkeypatch.setattr(migrate, "_run_alembic", fake)
    return runs


def test_a_migrated_sqlite_file_is_current(sqlite_url: str) -> None:
    assert not is_current(sqlite_url)  # no file yet
    engine = make_engine(sqlite_url)
    assert not is_current(sqlite_url)  # a file (WAL) but no tables
    upgrade(engine)
    assert is_current(sqlite_url)
    engine.dispose()


def test_an_older_stamp_is_not_current(sqlite_url: str) -> None:
    upgrade(make_engine(sqlite_url))
    stamp(sqlite_url, OLDER)
    assert not is_current(sqlite_url)


@pytest.mark.parametrize("url", [
    "sqlite://", "sqlite:///:memory:", "sqlite:///file.db?mode=ro", "sqlite:///a%20b.db",
    "postgresql+psycopg://postgres@127.0.0.1/test", "not a url",
])
def test_urls_it_does_not_read_are_not_current(url: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not is_current(url)


def test_postgres_is_never_taken_as_current(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    upgrade(engine)
    assert not is_current(postgres_url)  # App.engine asks the pooled connection (one query)
    engine.dispose()


def test_a_file_that_is_not_a_store_is_not_current(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not a database at all" * 100)
    assert not is_current(f"sqlite:///{path}")


def test_is_current_imports_neither_sqlalchemy_nor_alembic(sqlite_url: str) -> None:
    upgrade(make_engine(sqlite_url))
    code = ("import sys; from promo.store.migrate import is_current\n"
            f"assert is_current({sqlite_url!r})\n"
            "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_app_engine_migrates_a_fresh_store(app_env: Path, database_url: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_DATABASE_URL", database_url)
    engine = App().engine
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_app_engine_migrates_the_default_embedded_store(app_env: Path) -> None:
    engine = App().engine
    assert (app_env / ".promo" / "promo.db").is_file()
    assert current_revision(engine) == HEAD
    assert is_current(App().settings.database)
    engine.dispose()


def test_app_engine_upgrades_an_older_stamp(app_env: Path, database_url: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_DATABASE_URL", database_url)
    upgrade(make_engine(database_url))
    stamp(database_url, OLDER)
    runs = record_alembic(monkeypatch)
    engine = App().engine
    assert runs == [OLDER]
    assert current_revision(engine) == HEAD
    engine.dispose()


def test_app_engine_upgrades_a_store_one_revision_behind(app_env: Path, database_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The real scripts: a store left at HEAD's predecessor is brought to HEAD by the next command."""
    from alembic import command
    from alembic.script import ScriptDirectory

    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(HEAD).down_revision
    if not isinstance(previous, str):
        pytest.skip("only one revision so far")
    old = make_engine(database_url)
    with old.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, previous)
    old.dispose()
    assert not is_current(database_url)
    monkeypatch.setenv("PROMO_DATABASE_URL", database_url)
    engine = App().engine
    assert current_revision(engine) == HEAD
    engine.dispose()
    if database_url.startswith("sqlite"):
        assert is_current(database_url)


def test_app_engine_skips_the_check_when_the_stamp_is_current(app_env: Path, sqlite_url: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMO_DATABASE_URL", sqlite_url)
    upgrade(make_engine(sqlite_url))

    def refuse(_engine: Any) -> None:
        raise AssertionError("upgrade ran on a current store")

    monkeypatch.setattr(migrate, "upgrade", refuse)
    engine = App().engine
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM posts")).scalar() == 0
    engine.dispose()


def test_upgrade_checks_the_database_not_the_file(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``upgrade`` itself still reads the stamp through the engine (and under the lock) every time."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    stamp(sqlite_url, OLDER)
    runs = record_alembic(monkeypatch)
    upgrade(engine)
    assert runs == [OLDER]
    assert is_current(sqlite_url)
    engine.dispose()
