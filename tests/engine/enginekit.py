"""Helpers for the engine tests: a store, ledger rows, settings, and real engine processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from promo.accounts import load_accounts
from promo.engine.runtime import Runtime
from promo.posts import Post
from promo.settings import Settings, load_settings
from promo.store.db import make_engine, transaction
from promo.store.migrate import upgrade
from promo.store.tables import Event, PostRow
from promo.times import utcnow

SECRET_ENV = "PROMO_ACCOUNT_HOOK_SIGNING_SECRET"
FAST = {
    "dispatch_interval": 0.2,
    "dispatch_lookahead": 0.5,
    "queued_lease": 2.0,
    "publish_time_limit": 3.0,
    "sweep_interval": 0.5,
    "http_timeout": 0.8,
    "retry_base": 0.5,
    "retry_max": 2.0,
    "visibility_timeout": 30,
}


def make_store(url: str) -> Engine:
    engine = make_engine(url)
    upgrade(engine)
    return engine


def write_config(folder: Path, hook_url: str, rate_limit: str | None = None) -> Path:
    path = folder / "promo.toml"
    limit = f'rate_limit = "{rate_limit}"\n' if rate_limit else ""
    path.write_text(
        f'[accounts.hook]\nplatform = "webhook"\nurl = "{hook_url}"\n{limit}\n'
        '[accounts.box]\nplatform = "outbox"\n',
        encoding="utf-8",
    )
    return path


def settings_for(folder: Path, database_url: str, **overrides: Any) -> Settings:
    """Fast engine settings in ``folder``; an empty accounts file unless ``write_config`` wrote one."""
    config = folder / "promo.toml"
    if not config.exists():
        config.write_text("", encoding="utf-8")
    values: dict[str, Any] = {
        "home": folder / "home",
        "config_file": folder / "promo.toml",
        "database_url": database_url,
        **FAST,
        **overrides,
    }
    return load_settings(**values)


def runtime_for(settings: Settings, engine: Engine, secret: str) -> Runtime:
    accounts = load_accounts(settings.config_file, environ={SECRET_ENV: secret})
    return Runtime(settings, engine, accounts, actor="test")


def add_post(
    engine: Engine,
    *,
    text: str = "Jessica Jones season 3 is coming",
    account: str = "hook",
    platform: str = "webhook",
    due: datetime | None = None,
    scheduled: datetime | None = None,
    not_before: datetime | None = None,
    max_lateness_s: int | None = None,
    campaign: str | None = None,
    status: str = "scheduled",
) -> int:
    now = utcnow()
    scheduled = scheduled or due or now
    row = PostRow(
        idempotency_key=uuid.uuid4().hex,
        campaign_id=campaign,
        account=account,
        platform=platform,
        payload=Post.single(platform, account, text).to_payload(),
        digest="-",
        status=status,
        scheduled_at=scheduled,
        due_at=due or scheduled,
        not_before=not_before,
        max_lateness_s=max_lateness_s,
        created_at=now,
        updated_at=now,
    )
    with transaction(engine) as session:
        session.add(row)
        session.flush()
        return row.id


def post(engine: Engine, post_id: int) -> PostRow:
    with transaction(engine) as session:
        row = session.get(PostRow, post_id)
        assert row is not None
        return row


def statuses(engine: Engine) -> dict[int, str]:
    with transaction(engine) as session:
        return dict(session.execute(select(PostRow.id, PostRow.status)).all())  # type: ignore[arg-type]


def actions(engine: Engine, post_id: int) -> list[str]:
    with transaction(engine) as session:
        return list(session.scalars(select(Event.action).where(Event.post_id == post_id).order_by(Event.id)))


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.1, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")


def engine_env(
    folder: Path, database_url: str, broker_url: str | None, secret: str, **overrides: Any
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMO_")}
    env.update(
        {
            "PROMO_HOME": str(folder / "home"),
            "PROMO_CONFIG_FILE": str(folder / "promo.toml"),
            "PROMO_DATABASE_URL": database_url,
            SECRET_ENV: secret,
        }
    )
    if broker_url:
        env["PROMO_BROKER_URL"] = broker_url
    for name, value in {**FAST, **overrides}.items():
        env[f"PROMO_{name.upper()}"] = str(value)
    return env


class EngineProcess:
    """``promo <command>`` as a real process in its own session, so a test can kill it or its children."""

    def __init__(self, folder: Path, env: dict[str, str], *args: str) -> None:
        self.log = folder / f"{args[0]}-{uuid.uuid4().hex[:6]}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from promo.cli import main; main()", *args],
            cwd=folder,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def kill_children(self) -> list[int]:
        killed = self.children()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        return killed

    def kill(self) -> None:
        """SIGKILL the main process only (its pool children are orphaned, as in a real crash)."""
        self.process.kill()
        self.process.wait(5)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(5)

    def output(self) -> str:
        return self.log.read_text(errors="replace")
