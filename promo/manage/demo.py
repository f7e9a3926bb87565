"""``promo demo``: the seed campaign published to a local outbox, on the embedded engine.

A fresh demo home (``PROMO_HOME/demo``) gets its own SQLite store and embedded broker. The
campaign is loaded and rendered as ``promo preview`` would, its announcements are shifted to start
three seconds from now and compressed to one second apart (order kept), the plan is applied, and
``promo run`` starts as a subprocess in ``outbox`` mode. The ledger and the outbox are polled to show
each post as it arrives; then a summary. Nothing leaves the machine and no Redis is needed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from promo.errors import ConfigError
from promo.settings import Settings
from promo.store import states
from promo.times import utcnow

DEFAULT_CAMPAIGN = Path("examples/jessica-jones-s3.yaml")
FIRST_POST_IN_S = 3.0
GAP_S = 1.0
UNSETTLED = (states.SCHEDULED, states.QUEUED, states.PUBLISHING)


def run_demo(settings: Settings, *, campaign_file: str | None = None, timeout: float = 60.0) -> bool:
    """Run the demo; True when every post was published."""
    from rich.console import Console

    out = Console(highlight=False)
    home = _fresh_home(settings.home / "demo")
    database = f"sqlite:///{(home / 'promo.db').as_posix()}"
    count = _queue_campaign(
        settings, Path(campaign_file) if campaign_file else DEFAULT_CAMPAIGN, database, out
    )
    engine_process = _start_engine(settings, home, database)
    try:
        _watch(database, home / "outbox.jsonl", count, timeout, out)
    finally:
        _stop(engine_process)
    return _summary(database, out, home)


def _fresh_home(home: Path) -> Path:
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    return home


def _queue_campaign(settings: Settings, path: Path, database: str, out: Any) -> int:
    from promo.accounts import load_accounts
    from promo.campaigns import load_campaign
    from promo.campaigns.preview import render_campaign
    from promo.planning.apply import apply_plan as apply
    from promo.planning.plan import plan
    from promo.store.db import make_engine
    from promo.store.migrate import upgrade

    if not path.is_file():
        raise ConfigError(
            f"{path}: campaign file not found (run 'promo demo' in the promo checkout, "
            "or pass --campaign FILE)"
        )
    accounts = load_accounts(settings.config_file)
    campaign = load_campaign(path, accounts, settings.templates_dir)
    rendered = [r for r in render_campaign(campaign, accounts, settings.templates_dir) if r.ok]
    campaign, posts = shift_to_now(campaign, [r.scheduled for r in rendered], utcnow())
    engine = make_engine(database)
    upgrade(engine)
    apply(engine, plan(engine, campaign, posts), actor="demo")
    engine.dispose()
    out.print(
        f"[bold]{campaign.name}[/]: {len(posts)} posts for {len({p.post.account for p in posts})} accounts, "
        f"the first in {FIRST_POST_IN_S:.0f} s"
    )
    return len(posts)


def shift_to_now(campaign: Any, posts: Sequence[Any], now: datetime) -> tuple[Any, list[Any]]:
    """Move every announcement to start ``FIRST_POST_IN_S`` from now, ``GAP_S`` apart, order kept."""

    def moment(item: Any) -> datetime:
        return max(item.scheduled_at, item.not_before) if item.not_before else item.scheduled_at

    times = sorted({moment(a) for a in campaign.announcements} | {moment(p) for p in posts})
    start = now + timedelta(seconds=FIRST_POST_IN_S)
    slot = {t: start + timedelta(seconds=GAP_S * i) for i, t in enumerate(times)}

    def moved(item: Any) -> Any:
        new = slot[moment(item)]
        return dataclasses.replace(item, scheduled_at=new, not_before=new if item.not_before else None)

    announcements = tuple(moved(a) for a in campaign.announcements)
    return dataclasses.replace(campaign, announcements=announcements), [moved(p) for p in posts]


def _start_engine(settings: Settings, home: Path, database: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("PROMO_BROKER_URL", "PROMO_DATABASE_URL")}
    env.update(
        {
            "PROMO_HOME": str(home.resolve()),
            "PROMO_DATABASE_URL": database,
            "PROMO_PUBLISH_MODE": "outbox",
            "PROMO_CONFIG_FILE": str(settings.config_file.resolve()),
            "PROMO_DISPATCH_INTERVAL": "0.5",
            "PROMO_DISPATCH_LOOKAHEAD": "1.5",
            "PROMO_SWEEP_INTERVAL": "5",
        }
    )
    log = (home / "engine.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-c", "from promo.cli import main; main()", "run", "-c", "2"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    except ProcessLookupError:
        pass


def _watch(database: str, outbox: Path, total: int, timeout: float, out: Any) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    seen = 0
    deadline = time.monotonic() + timeout
    columns = (TextColumn("publishing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task("posts", total=total)
        while time.monotonic() < deadline:
            lines = _outbox_lines(outbox)
            for line in lines[seen:]:
                text = line["parts"][0]["text"].splitlines()[0] if line.get("parts") else ""
                progress.console.print(
                    f"[green]\u2713[/] {line['published_at'][11:19]} "
                    f"[bold]{line['account']:<12}[/] {text}",
                    no_wrap=True, overflow="ellipsis", markup=True,
                )
            seen = len(lines)
            progress.update(task, completed=seen)
            if not _unsettled(database):
                return
            time.sleep(0.2)
    out.print(f"[red]gave up after {timeout:.0f} s[/]")


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


def _unsettled(database: str) -> int:
    from sqlalchemy import func, select

    from promo.store.db import make_engine, transaction
    from promo.store.tables import PostRow

    engine = make_engine(database)
    try:
        with transaction(engine) as session:
            return int(session.scalar(select(func.count()).where(PostRow.status.in_(UNSETTLED))) or 0)
    finally:
        engine.dispose()


def _summary(database: str, out: Any, home: Path) -> bool:
    from rich.table import Table
    from sqlalchemy import select

    from promo.store.db import make_engine, transaction
    from promo.store.tables import PostRow

    engine = make_engine(database)
    with transaction(engine) as session:
        rows = list(session.scalars(select(PostRow).order_by(PostRow.due_at, PostRow.id)))
    engine.dispose()
    table = Table("announcement", "account", "platform", "state", "detail", title="Summary")
    for row in rows:
        table.add_row(row.announcement or "", row.account, row.platform, row.status, row.reason or "")
    out.print(table)
    published = sum(row.status == states.PUBLISHED for row in rows)
    out.print(
        f"{published}/{len(rows)} published to {home / 'outbox.jsonl'}; engine log {home / 'engine.log'}"
    )
    return bool(rows) and published == len(rows)
