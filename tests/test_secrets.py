"""Secrets never reach output, logs or the database.

Every credential of the seed accounts and the database password are set to recognisable values; the
commands a person runs are executed as real subprocesses, and everything they print, every file under
the state folder and every row of every table is searched for those values.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import MetaData, create_engine, select

from promo.accounts import env_name, load_accounts

ROOT = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path) -> Path:
    for name in ("promo.toml", "templates", "examples"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
        else:
            shutil.copy(source, tmp_path / name)
    return tmp_path


def _secret_env(project: Path, postgres_url: str) -> tuple[dict[str, str], list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    secrets = []
    for account in load_accounts(project / "promo.toml", {}).values():
        for n, credential in enumerate(account.spec.credentials):
            value = f"Sekr1t-{account.name}-{n}-9f3a"
            env[env_name(account.name, credential)] = value
            secrets.append(value)
    password = "PgPassw0rd-77c1"
    env["PROMO_DATABASE_URL"] = postgres_url.replace("postgres@", f"postgres:{password}@")
    secrets.append(password)
    return env, secrets


def _promo(project: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "promo", *args], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120)
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout + result.stderr


def test_secrets_never_leave_their_variables(tmp_path: Path, postgres_url: str) -> None:
    project = _project(tmp_path)
    env, secrets = _secret_env(project, postgres_url)
    outputs = [
        _promo(project, env, "config"),
        _promo(project, env, "config", "--json"),
        _promo(project, env, "accounts"),
        _promo(project, env, "accounts", "--json"),
        _promo(project, env, "preview", "examples/jessica-jones-s3.yaml", "--json"),
        _promo(project, env, "apply", "examples/jessica-jones-s3.yaml", "--json"),
        _promo(project, env, "queue", "--json"),
        _promo(project, env, "show", "1", "--json"),
        _promo(project, env, "status", "--json"),
    ]
    applied = json.loads(outputs[5])
    assert applied["created"], "the campaign was not applied"
    texts = [*outputs, *_state_files(project), *_database_rows(env["PROMO_DATABASE_URL"])]
    for secret in secrets:
        leaks = [t[:200] for t in texts if secret in t]
        assert not leaks, f"secret leaked: {leaks}"


def _state_files(project: Path) -> list[str]:
    state = project / ".promo"
    return [p.read_text(errors="replace") for p in state.rglob("*") if p.is_file() and p.suffix != ".db"]


def _database_rows(url: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    metadata = MetaData()
    metadata.reflect(engine)
    rows = []
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in conn.execute(select(table))]
    engine.dispose()
    assert rows
    return rows
