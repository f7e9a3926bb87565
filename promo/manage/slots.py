"""Time-slot queues against the store: the next free slot, an ad hoc post put in it, and the week's table.

Which slots are *taken*, and the per-account lock, live in ``promo.planning.slots`` (apply uses them
too for a campaign announcement ``at: next-slot``).

``post_in_next_slot`` reads the taken slots and writes the post in one transaction, under a lock
per account: PostgreSQL's ``pg_advisory_xact_lock``, SQLite's ``BEGIN IMMEDIATE`` writer lock
(every promo write transaction takes it), so two people racing never take the same slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from promo.campaigns.slots import HORIZON, minute, slot_times
from promo.errors import ConfigError
from promo.manage.posts import add_adhoc, checked_adhoc
from promo.manage.views import PostView
from promo.planning.slots import FREEING, MARGIN, SlotQueue, first_free, lock_slots, taken_slots
from promo.store.db import transaction
from promo.times import iso, utcnow

if TYPE_CHECKING:
    from collections.abc import Iterable

    from promo.accounts import Account, Slots

__all__ = ["FREEING", "MARGIN", "SlotView", "lock_slots", "next_free_slot", "post_in_next_slot", "slot_table",
           "taken_slots"]


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


def next_free_slot(session: Session, account: Account, tz: ZoneInfo, after: datetime) -> datetime:
    """The account's first free slot after ``after``; ConfigError naming the next step if a year holds none."""
    found = first_free(session, account.name, SlotQueue(slots_of(account), tz), after)
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
