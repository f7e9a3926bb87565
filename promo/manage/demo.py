"""``promo demo``: the seed campaign published to a local outbox, on the embedded engine.

The seed (the Jessica Jones season 3 campaign, its accounts and media) ships inside the package in
``seed/`` (the same files as the repository's ``examples/`` and ``promo.toml``; a test keeps them
identical) and renders with the starter project's templates, so the demo runs from any folder.

A fresh demo home (``PROMO_HOME/demo``) gets its own SQLite store and embedded broker. The campaign
is planned as ``promo apply`` would, its announcements shifted to start three seconds from
now and compressed to one second apart (order kept), and applied. Then the engine is started in
``outbox`` mode by the caller's ``start_engine`` (the CLI runs ``promo run`` in a subprocess), and
the ledger and the outbox are polled until every post has settled. Progress goes to the caller's
``report`` callback; the result is a summary row per post. Nothing leaves the machine and no Redis
is needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from promo.accounts import load_accounts
from promo.engine.policies import due_time
from promo.errors import ConfigError
from promo.planning.apply import apply_plan
from promo.planning.campaign import plan_campaign_file
from promo.settings import Settings
from promo.store import states
from promo.store.db import make_engine, transaction
from promo.store.migrate import upgrade
from promo.store.tables import PostRow
from promo.times import utcnow

SEED_DIR = Path(__file__).resolve().parent / "seed"
SEED_CAMPAIGN = SEED_DIR / "jessica-jones-s3.yaml"
SEED_CONFIG = SEED_DIR / "promo.toml"
FIRST_POST_IN_S = 3.0
GAP_S = 1.0
POLL_S = 0.2
UNSETTLED = (states.SCHEDULED, states.QUEUED, states.PUBLISHING)


@dataclass(frozen=True)
class Queued:
    """The campaign is in the demo ledger: ``posts`` posts for ``accounts`` accounts."""

    campaign: str
    posts: int
    accounts: int
    first_in_s: float = FIRST_POST_IN_S


@dataclass(frozen=True)
class Arrived:
    """One post reached the outbox; ``seen`` of ``total`` have so far."""

    published_at: str
    account: str
    text: str
    seen: int
    total: int


@dataclass(frozen=True)
class Outcome:
    """One post's end state, for the summary."""

    announcement: str
    account: str
    platform: str
    status: str
    reason: str


@dataclass(frozen=True)
class DemoResult:
    home: Path
    outcomes: tuple[Outcome, ...]
    timed_out: bool

    @property
    def published(self) -> int:
        return sum(o.status == states.PUBLISHED for o in self.outcomes)

    @property
    def ok(self) -> bool:
        """Every post was published."""
        return bool(self.outcomes) and self.published == len(self.outcomes)

    @property
    def outbox(self) -> Path:
        return self.home / "outbox.jsonl"

    @property
    def engine_log(self) -> Path:
        return self.home / "engine.log"


DemoEvent = Queued | Arrived
# Starts the engine with this environment, its output going to this log file; leaving stops it.
EngineStarter = Callable[[Mapping[str, str], Path], AbstractContextManager[object]]


def run_demo(settings: Settings, start_engine: EngineStarter, *, campaign_file: Path | None = None,
             timeout: float = 60.0, report: Callable[[DemoEvent], None] = lambda event: None) -> DemoResult:
    """Queue the campaign in a fresh demo home, run the engine until every post settles (or
    ``timeout`` seconds pass), and say how each post ended."""
    source = seed_source() if campaign_file is None else Source(
        campaign_file, settings.config_file, settings.templates_dir)
    if not source.campaign.is_file():
        raise ConfigError(f"{source.campaign}: campaign file not found (leave out --campaign to use the "
                          "Jessica Jones seed campaign)")
    home = _fresh_home(settings.home / "demo")
    database = f"sqlite:///{(home / 'promo.db').as_posix()}"
    engine = make_engine(database)
    try:
        total = _queue_campaign(engine, source, report)
        with start_engine(engine_environment(source.config, home, database), home / "engine.log"):
            settled = _watch(engine, home / "outbox.jsonl", total, timeout, report)
        return DemoResult(home, _outcomes(engine), timed_out=not settled)
    finally:
        engine.dispose()


def _fresh_home(home: Path) -> Path:
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    return home


@dataclass(frozen=True)
class Source:
    """A campaign file, the accounts file it names accounts from, and the templates it renders with."""

    campaign: Path
    config: Path
    templates: Path


def seed_source() -> Source:
    """The packaged seed: the Jessica Jones campaign, its accounts, the starter project's templates."""
    from promo.manage.scaffold import TEMPLATES

    return Source(SEED_CAMPAIGN, SEED_CONFIG, TEMPLATES)


def _queue_campaign(engine: Engine, source: Source, report: Callable[[DemoEvent], None]) -> int:
    upgrade(engine)
    accounts = load_accounts(source.config)
    plan = plan_campaign_file(engine, source.campaign, accounts, source.templates,
                              retime=lambda campaign, posts: shift_to_now(campaign, posts, utcnow()))
    apply_plan(engine, plan, actor="demo")
    report(Queued(plan.name, len(plan.entries), len({e.account for e in plan.entries})))
    return len(plan.entries)


def shift_to_now(campaign: Any, posts: Sequence[Any], now: datetime) -> tuple[Any, list[Any]]:
    """Move every announcement to start ``FIRST_POST_IN_S`` from now, ``GAP_S`` apart, order kept."""

    def moment(item: Any) -> datetime:
        return due_time(item.scheduled_at, item.not_before)

    times = sorted({moment(a) for a in campaign.announcements} | {moment(p) for p in posts})
    start = now + timedelta(seconds=FIRST_POST_IN_S)
    slot = {t: start + timedelta(seconds=GAP_S * i) for i, t in enumerate(times)}

    def moved(item: Any) -> Any:
        new = slot[moment(item)]
        return dataclasses.replace(item, scheduled_at=new, not_before=new if item.not_before else None)

    announcements = tuple(moved(a) for a in campaign.announcements)
    return dataclasses.replace(campaign, announcements=announcements), [moved(p) for p in posts]


def engine_environment(config: Path, home: Path, database: str) -> dict[str, str]:
    """The environment the demo's engine runs in: this one, pointed at the demo home and store,
    with the embedded broker, publishing to the outbox, dispatching often."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROMO_BROKER_URL", "PROMO_DATABASE_URL")}
    env.update({
        "PROMO_HOME": str(home.resolve()),
        "PROMO_DATABASE_URL": database,
        "PROMO_PUBLISH_MODE": "outbox",
        "PROMO_CONFIG_FILE": str(config.resolve()),
        "PROMO_DISPATCH_INTERVAL": "0.5",
        "PROMO_DISPATCH_LOOKAHEAD": "1.5",
        "PROMO_SWEEP_INTERVAL": "5",
    })
    return env


def _watch(engine: Engine, outbox: Path, total: int, timeout: float,
           report: Callable[[DemoEvent], None]) -> bool:
    """Report each post reaching the outbox until none is left to send. False on timeout."""
    seen = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _outbox_lines(outbox)
        for number, line in enumerate(lines[seen:], start=seen + 1):
            text = line["parts"][0]["text"].splitlines()[0] if line.get("parts") else ""
            report(Arrived(line["published_at"], line["account"], text, number, total))
        seen = len(lines)
        if not _unsettled(engine):
            return True
        time.sleep(POLL_S)
    return False


def _outbox_lines(outbox: Path) -> list[dict[str, Any]]:
    if not outbox.exists():
        return []
    lines = []
    for raw in outbox.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return lines


def _unsettled(engine: Engine) -> int:
    with transaction(engine) as session:
        return int(session.scalar(select(func.count()).where(PostRow.status.in_(UNSETTLED))) or 0)


def _outcomes(engine: Engine) -> tuple[Outcome, ...]:
    with transaction(engine) as session:
        rows = session.scalars(select(PostRow).order_by(PostRow.due_at, PostRow.id))
        return tuple(Outcome(row.announcement or "", row.account, row.platform, row.status, row.reason or "")
                     for row in rows)
