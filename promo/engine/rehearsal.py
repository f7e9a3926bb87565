"""The rehearsal adapter: the real engine runs, nothing goes to a platform.

``promo run --dry-run`` and the tests use it in ``dry-run`` mode: each post is checked with its own
platform's rules and the exact would-be payload is logged as one JSON line (to the log and to
``rehearsal.jsonl``). ``promo demo`` uses it in ``outbox`` mode: the post is also written to the
local outbox file, which stands in for a network. No network, no credentials.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import ClassVar

from pydantic import SecretStr
from sqlalchemy import Engine, select, update

from promo.accounts import Account
from promo.errors import PostInvalid
from promo.platforms.outbox import OutboxAdapter
from promo.platforms.registry import rules_for
from promo.posts import Journal, Lookup, NotPublished, Post, Published, Report
from promo.settings import Settings
from promo.store import states
from promo.store.db import make_engine
from promo.store.tables import Base, PostRow
from promo.times import iso, utcnow

log = logging.getLogger("promo.engine.rehearsal")


class RehearsalAdapter:
    """Checks with the post's platform rules, logs the payload; writes the outbox if given one."""

    platform: ClassVar[str] = "rehearsal"

    def __init__(self, account: Account, *, log_path: Path, outbox: Path | None = None) -> None:
        self.account = account
        self.log_path = log_path
        self.outbox = outbox

    def check(self, post: Post) -> Report:
        return rules_for(post.platform, self.account.options).check(post)

    def publish(self, post: Post, journal: Journal) -> Published:
        report = self.check(post)
        self._log(post, report)
        if not report.ok:
            raise PostInvalid(report.problems, f"{post.platform} {post.account}")
        if self.outbox is None:
            return Published(f"dry-run:{post.idempotency_key}")
        return self._outbox().publish(post, journal)

    def lookup(self, post: Post, journal: Journal) -> Lookup:
        return self._outbox().lookup(post, journal) if self.outbox is not None else NotPublished("a dry run")

    def verify(self) -> str:
        return "rehearsal (nothing is sent)"

    def _outbox(self) -> OutboxAdapter:
        stand_in = Account(self.account.name, "outbox", options={"path": str(self.outbox)})
        return OutboxAdapter(stand_in)

    def _log(self, post: Post, report: Report) -> None:
        line = json.dumps(
            {
                "at": iso(utcnow()),
                "mode": "outbox" if self.outbox else "dry-run",
                "account": post.account,
                "platform": post.platform,
                "idempotency_key": post.idempotency_key,
                "payload": post.to_payload(),
                "length": report.length,
                "limit": report.limit,
                "problems": [p.to_dict() for p in report.problems],
            },
            ensure_ascii=False,
        )
        log.info("would publish %s", line)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def rehearsal_settings(settings: Settings, source: Engine) -> Settings:
    """Copy the ledger to ``home/rehearsal/`` and return settings that run the engine on the copy.

    The copy uses its own SQLite store and its own embedded broker, so real workers never see the
    rehearsal's messages and the real ledger is never written.
    """
    folder = settings.home / "rehearsal"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    url = f"sqlite:///{(folder / 'promo.db').as_posix()}"
    snapshot_ledger(source, url)
    return settings.model_copy(
        update={
            "home": folder,
            "database_url": SecretStr(url),
            "publish_mode": "dry-run",
            "broker_url": SecretStr(f"sqla+sqlite:///{(folder / 'broker.db').as_posix()}"),
        }
    )


def snapshot_ledger(source: Engine, target_url: str) -> None:
    """Every table's rows into a fresh SQLite store; posts in flight become scheduled again."""
    in_flight = (states.QUEUED, states.PUBLISHING)
    states.check(in_flight, states.SCHEDULED, action="rehearsal copy")
    target = make_engine(target_url)
    Base.metadata.create_all(target)
    with source.connect() as reading, target.begin() as writing:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in reading.execute(select(table))]
            if rows:
                writing.execute(table.insert(), rows)
        writing.execute(
            update(PostRow)
            .where(PostRow.status.in_(in_flight))
            .values(status=states.SCHEDULED, lease_until=None)
        )
    target.dispose()
