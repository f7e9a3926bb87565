"""``promo status`` as data: is the engine healthy, and what needs a person?

``engine_status(settings)`` checks the broker and the database, reads the last dispatch and sweep
times, counts posts by state, lists the posts needing attention (failed, unknown, held) with their
reasons and next steps, the blocked or flagged accounts and the active pauses. Every time is given
in the configured zone (``settings.timezone``), with its offset.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from kombu import Connection
from sqlalchemy import Engine, func, select

from promo.settings import Settings, mask_url
from promo.store import states
from promo.store.db import make_engine, transaction
from promo.store.meta import LAST_DISPATCH, LAST_SWEEP, get_meta
from promo.store.pauses import active_pauses
from promo.store.tables import AccountState, PostRow
from promo.times import iso, utcnow, zone

NEXT_STEP = {
    states.FAILED: "fix the cause, then 'promo retry {id}' (or 'promo cancel {id}')",
    states.UNKNOWN: "check the platform, then 'promo resolve {id} --published URL' or '--not-published'",
    states.HELD: "'promo retry {id}' to send it anyway, or 'promo cancel {id}'",
}


@dataclass
class Status:
    broker: str
    broker_ok: bool
    broker_error: str | None
    database_ok: bool
    database_error: str | None
    last_dispatch: str | None = None
    last_sweep: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    attention: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    holds: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.broker_ok and self.database_ok

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy}


def engine_status(settings: Settings, engine: Engine | None = None, *, now: datetime | None = None) -> Status:
    """The report; ``engine`` defaults to the settings' database, opened without migrating it."""
    now = now or utcnow()
    broker_error = broker_problem(settings.broker)
    status = Status(mask_url(settings.broker), broker_error is None, broker_error, True, None)
    store = engine or make_engine(settings.database)
    try:
        _read_store(store, status, now, zone(settings.timezone))
    except Exception as exc:  # the database being down is a finding, not a crash
        status.database_ok, status.database_error = False, f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        if engine is None:
            store.dispose()
    return status


def broker_problem(url: str, timeout: float = 2.0) -> str | None:
    """None if the broker answers, else why not (one line)."""
    try:
        with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            if url.startswith("redis"):
                connection.default_channel.client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _read_store(engine: Engine, status: Status, now: datetime, tz: ZoneInfo) -> None:
    with transaction(engine) as session:
        status.last_dispatch = _local(get_meta(session, LAST_DISPATCH), tz)
        status.last_sweep = _local(get_meta(session, LAST_SWEEP), tz)
        counts = dict(session.execute(select(PostRow.status, func.count()).group_by(PostRow.status)).all())
        status.counts = {state: int(counts.get(state, 0)) for state in states.ALL}
        rows = session.execute(
            select(PostRow).where(PostRow.status.in_(states.ATTENTION)).order_by(PostRow.due_at).limit(200)
        ).scalars()
        status.attention = [_attention(row, tz) for row in rows]
        status.accounts = [
            _account(row, now, tz)
            for row in session.execute(select(AccountState)).scalars()
            if row.reason or (row.blocked_until and row.blocked_until > now)
        ]
        status.holds = [hold.describe() for hold in active_pauses(session)]


def _local(text: str | None, tz: ZoneInfo) -> str | None:
    """A stored ISO time, shown in ``tz`` with its offset (as stored if it cannot be read)."""
    if text:
        with contextlib.suppress(ValueError):
            return iso(datetime.fromisoformat(text).astimezone(tz))
    return text


def _attention(row: PostRow, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "account": row.account,
        "platform": row.platform,
        "campaign": row.campaign_id,
        "scheduled_at": iso(row.scheduled_at.astimezone(tz)),
        "due_at": iso(row.due_at.astimezone(tz)),
        "reason": row.reason or "",
        "next_step": NEXT_STEP[row.status].format(id=row.id),
    }


def _account(row: AccountState, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    blocked = row.blocked_until if row.blocked_until else None
    return {
        "account": row.account,
        "blocked_until": iso(blocked.astimezone(tz)) if blocked and blocked > now else None,
        "reason": row.reason or "",
    }
