"""What the read commands show, built the same way from either store path.

``promo queue``, ``show`` and ``status`` read through SQLAlchemy (``posts``, ``status``) or, on a
current SQLite file, through ``promo.store.sqlite_reads`` (``reads``). Both hand their rows here:
an ORM ``PostRow`` and a ``PostRecord`` carry the same attribute names, so each view has one
builder. Nothing here imports SQLAlchemy (the read commands' start-up time).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from promo.errors import ConfigError
from promo.posts import Post, payload_text
from promo.store import states
from promo.store.heartbeats import BEAT, WORKER, alive
from promo.store.pauses import Scope
from promo.times import iso

DEFAULT_LIMIT = 200
# What ``promo queue`` shows by default, soonest first; the other states are history (``--all``).
UPCOMING = (states.AWAITING, states.SCHEDULED, states.QUEUED, states.PUBLISHING, states.PAUSED, states.HELD)
ATTENTION_LIMIT = 200  # posts ``promo status`` lists as needing a person
NEXT_STEP = {
    states.FAILED: "fix the cause, then 'promo retry {id}' (or 'promo cancel {id}')",
    states.UNKNOWN: "check the platform, then 'promo resolve {id} --published URL' or '--not-published'",
    states.HELD: "'promo retry {id}' to send it anyway, or 'promo cancel {id}'",
}
NO_WORKER_STEP = "start one: promo worker (or promo run, on one machine)"
NO_BEAT_STEP = "start one: promo beat (or promo run, on one machine)"


class PostLike(Protocol):
    """A ``posts`` row as either path reads it (``tables.PostRow``, ``sqlite_reads.PostRecord``)."""

    @property
    def id(self) -> int: ...
    @property
    def campaign_id(self) -> str | None: ...
    @property
    def announcement(self) -> str | None: ...
    @property
    def account(self) -> str: ...
    @property
    def platform(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def scheduled_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def attempts(self) -> int: ...
    @property
    def url(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...


@dataclass(frozen=True)
class PostView:
    """One ledger row as ``promo queue`` lists it."""
    id: int
    campaign: str | None
    announcement: str | None
    account: str
    platform: str
    status: str
    scheduled_at: datetime
    due_at: datetime
    text: str
    attempts: int
    url: str | None
    reason: str | None

    @classmethod
    def of(cls, row: PostLike) -> PostView:
        return cls(row.id, row.campaign_id, row.announcement, row.account, row.platform, row.status,
                   row.scheduled_at, row.due_at, payload_text(row.payload),
                   row.attempts, row.url, row.reason)

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        return {"id": self.id, "campaign": self.campaign, "announcement": self.announcement,
                "account": self.account, "platform": self.platform, "status": self.status,
                "scheduled_at": _shown(self.scheduled_at, tz), "due_at": _shown(self.due_at, tz),
                "text": self.text, "attempts": self.attempts, "url": self.url, "reason": self.reason}


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str | None
    actor: str
    attempt_id: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, event: Any) -> EventView:
        """From an ``events`` row (``tables.Event`` or ``sqlite_reads.EventRecord``)."""
        return cls(event.id, event.at, event.action, event.from_status, event.to_status,
                   event.actor, event.attempt_id, dict(event.detail or {}))

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        return {"id": self.id, "at": _shown(self.at, tz), "action": self.action, "from": self.from_status,
                "to": self.to_status, "actor": self.actor, "attempt_id": self.attempt_id,
                "detail": self.detail}


@dataclass(frozen=True)
class PostDetail:
    """One post in full: the row, its exact payload, and its event history."""
    view: PostView
    idempotency_key: str
    kind: str
    payload: dict[str, Any]
    not_before: datetime | None
    max_lateness_s: int | None
    platform_id: str | None
    published_at: datetime | None
    created_at: datetime
    events: tuple[EventView, ...]

    @classmethod
    def of(cls, row: Any, events: Sequence[Any]) -> PostDetail:
        """From a ``posts`` row and its ``events`` rows, oldest first."""
        return cls(PostView.of(row), row.idempotency_key, row.kind, dict(row.payload), row.not_before,
                   row.max_lateness_s, row.platform_id, row.published_at, row.created_at,
                   tuple(EventView.of(event) for event in events))

    @property
    def post(self) -> Post:
        return Post.from_payload(self.view.platform, self.view.account, self.payload, self.idempotency_key)

    def to_dict(self, tz: ZoneInfo | None = None) -> dict[str, Any]:
        shown = self.view.to_dict(tz)
        shown.update({
            "idempotency_key": self.idempotency_key, "kind": self.kind, "payload": self.payload,
            "not_before": _shown(self.not_before, tz), "max_lateness_s": self.max_lateness_s,
            "platform_id": self.platform_id, "published_at": _shown(self.published_at, tz),
            "created_at": _shown(self.created_at, tz), "events": [e.to_dict(tz) for e in self.events],
        })
        return shown


def _shown(value: datetime | None, tz: ZoneInfo | None) -> str | None:
    if value is None:
        return None
    return iso(value.astimezone(tz) if tz else value)


@dataclass(frozen=True)
class QueuePage:
    """What ``promo queue`` shows: upcoming posts first, then history; ``total`` matched in all."""
    posts: list[PostView]
    total: int


def chosen_statuses(status: str | Sequence[str] | None) -> list[str]:
    """The states asked for; ConfigError naming an unknown one."""
    wanted = [status] if isinstance(status, str) else list(status or ())
    unknown = [s for s in wanted if s not in states.ALL]
    if unknown:
        raise ConfigError(f"unknown status {unknown[0]!r} (known: {', '.join(states.ALL)})")
    return wanted


def queue_page(status: str | Sequence[str] | None, history: bool, limit: int,
               fetch: Callable[[list[str], bool, int], list[Any]], count: Callable[[list[str]], int]) -> QueuePage:
    """What ``promo queue`` lists, whichever path reads the store: upcoming posts by due time, then
    (``history``, or asked for by status) the rest, newest first. ``fetch(statuses, newest_first,
    limit)`` returns rows ``PostView.of`` reads; ``count(statuses)`` counts them all."""
    chosen = chosen_statuses(status) or list(states.ALL if history else UPCOMING)
    coming = [s for s in chosen if s in UPCOMING]
    past = [s for s in chosen if s not in UPCOMING]
    rows = fetch(coming, False, limit) if coming else []
    if past and len(rows) < limit:
        rows += fetch(past, True, limit - len(rows))
    return QueuePage([PostView.of(row) for row in rows], count(chosen))


def zone_names(found: Sequence[tuple[str, str]]) -> dict[str, ZoneInfo]:
    """``(campaign, zone name)`` -> zones; a name that is no zone is left out."""
    from promo.times import zone

    zones: dict[str, ZoneInfo] = {}
    for campaign, name in found:
        with contextlib.suppress(ValueError):
            zones[campaign] = zone(name)
    return zones


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
    workers: list[dict[str, Any]] = field(default_factory=list)  # heartbeat rows: alive, or lost (killed)
    beats: list[dict[str, Any]] = field(default_factory=list)
    waiting: int = 0  # posts scheduled or queued: they need a live worker

    @property
    def healthy(self) -> bool:
        return self.broker_ok and self.database_ok

    @property
    def no_worker(self) -> bool:
        """Posts are waiting to go out and no worker is alive to publish them (``promo status`` exits 3)."""
        return self._none_alive(self.workers)

    @property
    def no_beat(self) -> bool:
        """Posts are waiting and no beat is alive to dispatch them (``promo status`` exits 3)."""
        return self._none_alive(self.beats)

    def _none_alive(self, rows: list[dict[str, Any]]) -> bool:
        return self.database_ok and self.waiting > 0 and not any(row["alive"] for row in rows)

    @property
    def next_step(self) -> str | None:
        """What to start when posts wait and a worker or a beat is missing."""
        missing = [step for step, gone in ((NO_WORKER_STEP, self.no_worker), (NO_BEAT_STEP, self.no_beat)) if gone]
        return "; ".join(missing) or None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy, "no_worker": self.no_worker, "no_beat": self.no_beat,
                               "workers_alive": sum(row["alive"] for row in self.workers),
                               "beats_alive": sum(row["alive"] for row in self.beats), "next_step": self.next_step}

    def store_failed(self, exc: Exception) -> None:
        """The database being down is a finding, not a crash."""
        self.database_ok, self.database_error = False, f"{type(exc).__name__}: {exc}".splitlines()[0]

    def fill(self, facts: StoreFacts, now: datetime, tz: ZoneInfo) -> None:
        """The store's part of the report, from what either path read."""
        self.last_dispatch, self.last_sweep = local_time(facts.last_dispatch, tz), local_time(facts.last_sweep, tz)
        self.counts = {state: int(facts.counts.get(state, 0)) for state in states.ALL}
        self.attention = [_attention(row, tz) for row in facts.attention]
        self.accounts = [_account(row, now, tz) for row in sorted(facts.accounts, key=lambda row: row.account)
                         if row.flagged_reason or _blocked(row, now)]
        self.holds = [Scope(kind, value).describe() for kind, value in sorted(facts.holds)]
        self.waiting = self.counts[states.SCHEDULED] + self.counts[states.QUEUED]
        found = sorted((_process(row, now, tz) for row in facts.processes),
                       key=lambda row: (row["hostname"], row["pid"]))
        self.workers = [row for row in found if row["kind"] == WORKER]
        self.beats = [row for row in found if row["kind"] == BEAT]


@dataclass(frozen=True)
class StoreFacts:
    """What ``promo status`` reads from the store, as either path reads it."""
    last_dispatch: str | None
    last_sweep: str | None
    counts: dict[str, int]
    attention: Sequence[PostLike]  # failed, unknown and held posts by due time, at most ATTENTION_LIMIT
    accounts: Sequence[Any]        # account_state rows: blocked_until, blocked_reason, flagged_reason, flagged_at
    holds: Sequence[tuple[str, str]]
    processes: Sequence[Any] = ()  # ``processes`` rows (heartbeats), alive or not


def local_time(text: str | None, tz: ZoneInfo) -> str | None:
    """A stored ISO time, shown in ``tz`` with its offset (as stored if it cannot be read)."""
    if text:
        with contextlib.suppress(ValueError):
            return iso(datetime.fromisoformat(text).astimezone(tz))
    return text


def _attention(row: PostLike, tz: ZoneInfo) -> dict[str, Any]:
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


def _blocked(row: Any, now: datetime) -> bool:
    """A 429 block ends by itself: once ``blocked_until`` has passed, the account is not blocked."""
    return row.blocked_until is not None and row.blocked_until > now


def _account(row: Any, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """An account that is blocked now (a 429), flagged (credentials), or both: each with its reason."""
    blocked = _blocked(row, now)
    why_blocked = (row.blocked_reason or "rate limited") if blocked else ""
    return {
        "account": row.account,
        "blocked_until": iso(row.blocked_until.astimezone(tz)) if blocked else None,
        "blocked_reason": why_blocked,
        "flagged_reason": row.flagged_reason or "",
        "flagged_at": iso(row.flagged_at.astimezone(tz)) if row.flagged_at else None,
        "reason": "; ".join(why for why in (row.flagged_reason, why_blocked) if why),
    }


def _process(row: Any, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    """A worker's or beat's heartbeat row (``tables.Process``, ``sqlite_reads.ProcessRecord``), as status shows it."""
    return {
        "kind": row.kind, "name": row.name, "hostname": row.hostname, "pid": row.pid,
        "concurrency": row.concurrency, "version": row.version,
        "started_at": iso(row.started_at.astimezone(tz)), "last_seen": iso(row.last_seen.astimezone(tz)),
        "alive": alive(row.last_seen, row.interval_s, now),
    }
