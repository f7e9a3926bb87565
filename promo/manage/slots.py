"""Time-slot queues against the store: which slots are taken, the next free one, and an ad hoc post put in it.

*Taken*, precisely: the slot at ``T`` of account ``A`` is taken when a post of ``A`` (campaign or ad
hoc) whose state is not ``cancelled`` or ``failed`` is scheduled (its ``scheduled_at``, not its
retry-shifted due time) in the minute ``[T, T + 1 min)``. A published post keeps its slot; a
cancelled or failed one frees it.

``post_in_next_slot`` reads the taken slots and writes the post in one transaction, under a lock
per account: PostgreSQL's ``pg_advisory_xact_lock``, SQLite's ``BEGIN IMMEDIATE`` writer lock
(every promo write transaction takes it), so two people racing never take the same slot.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from promo.campaigns.slots import HORIZON, minute, next_free, slot_times
from promo.errors import ConfigError
from promo.manage.posts import add_adhoc, checked_adhoc
from promo.manage.views import PostView
from promo.store import states
from promo.store.db import dialect_name, transaction
from promo.store.tables import PostRow
from promo.times import from_storage, iso, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from promo.accounts import Account, Slots

__all__ = ["FREEING", "MARGIN", "SlotView", "lock_slots", "next_free_slot", "post_in_next_slot", "slot_table",
           "taken_slots"]
FREEING = frozenset({states.CANCELLED, states.FAILED})  # a post in these states leaves its slot free
MARGIN = timedelta(minutes=1)  # the next slot is at least this far from now: time to queue and dispatch


@dataclass(frozen=True)
class SlotView:
    """One slot of one account: when, and the post that takes it (None: free)."""

    account: str
    at: datetime
    post_id: int | None

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"account": self.account, "at": iso(self.at.astimezone(tz)), "zone": tz.key,
                "free": self.post_id is None, "post": self.post_id}


def slots_of(account: Account) -> Slots:
    if account.slots is None:
        raise ConfigError(f"account {account.name} declares no slots (add slots = [\"09:00\", \"18:00\"] "
                          f"under [accounts.{account.name}] in promo.toml)")
    return account.slots


def taken_slots(session: Session, account: str, after: datetime, until: datetime) -> dict[datetime, int]:
    """The minutes (UTC, see ``promo.campaigns.slots.minute``) holding a live post of ``account``, with its id."""
    rows = session.execute(
        select(PostRow.scheduled_at, PostRow.id)
        .where(PostRow.account == account, PostRow.status.not_in(sorted(FREEING)),
               PostRow.scheduled_at >= minute(after), PostRow.scheduled_at <= until + timedelta(minutes=1))
        .order_by(PostRow.id))
    taken: dict[datetime, int] = {}
    for at, post_id in rows:
        taken.setdefault(minute(from_storage(at)), post_id)
    return taken


def lock_slots(session: Session, account: str) -> None:
    """Hold the account's slots until the transaction ends (SQLite: its writer lock already does)."""
    if dialect_name(session) == "postgresql":
        key = zlib.crc32(f"promo.slots:{account}".encode())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def next_free_slot(session: Session, account: Account, tz: ZoneInfo, after: datetime) -> datetime:
    """The account's first free slot after ``after``; ConfigError naming the next step if a year holds none."""
    slots = slots_of(account)
    found = next_free(slots, tz, after, taken_slots(session, account.name, after, after + HORIZON))
    if found is None:
        raise ConfigError(f"account {account.name}: every slot in the next {HORIZON.days} days is taken "
                          "(add slots or slot_days in promo.toml, or cancel a post)")
    return found


def post_in_next_slot(engine: Engine, account: Account, text_: str, tz: ZoneInfo, *,
                      now: datetime | None = None, actor: str = "cli") -> PostView:
    """Queue an ad hoc post in the account's next free slot (at least ``MARGIN`` from now), atomically."""
    slots_of(account)
    post = checked_adhoc(account, text_)
    with transaction(engine) as session:
        lock_slots(session, account.name)
        at = next_free_slot(session, account, tz, (now or utcnow()) + MARGIN)
        return add_adhoc(session, account, post, at, actor)


def slot_table(engine: Engine, accounts: Iterable[tuple[Account, ZoneInfo]], days: int,
               now: datetime | None = None) -> list[SlotView]:
    """Every slot of each account from now to ``days`` ahead, free or taken (by which post)."""
    start = now or utcnow()
    until = start + timedelta(days=days)
    views: list[SlotView] = []
    with Session(engine) as session:
        for account, tz in accounts:
            taken = taken_slots(session, account.name, start, until)
            views += [SlotView(account.name, at, taken.get(minute(at)))
                      for at in slot_times(slots_of(account), tz, start, until)]
    return views
