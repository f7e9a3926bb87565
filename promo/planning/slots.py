"""Time-slot queues in the ledger: which slots of an account are taken, and the lock that keeps two
writers from taking one slot. Used by ``promo post --next-slot`` (``promo.manage.slots``) and by apply
for a campaign announcement ``at: next-slot`` (``promo.planning.apply``); the plan shows the slot
apply would take (``expected_slots``, read-only).

*Taken*, precisely: the slot at ``T`` of account ``A`` is taken when a post of ``A`` (campaign or ad
hoc) whose state is not ``cancelled`` or ``failed`` is scheduled (its ``scheduled_at``, not its
retry-shifted due time) in the minute ``[T, T + 1 min)``. A published post keeps its slot; a
cancelled or failed one frees it.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from promo.campaigns.slots import HORIZON, minute, next_free
from promo.campaigns.timing import is_next_slot
from promo.errors import CampaignError
from promo.store import states
from promo.store.db import dialect_name
from promo.store.tables import PostRow
from promo.times import from_storage, zone

if TYPE_CHECKING:
    from promo.accounts import Account, Slots

FREEING = frozenset({states.CANCELLED, states.FAILED})  # a post in these states leaves its slot free
MARGIN = timedelta(minutes=1)  # the next slot is at least this far from now: time to queue and dispatch


@dataclass(frozen=True)
class SlotQueue:
    """An account's slots and the zone they are read in."""

    slots: Slots
    tz: ZoneInfo


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


def first_free(session: Session, account: str, queue: SlotQueue, after: datetime) -> datetime | None:
    """The account's first slot after ``after`` no live post takes; None if a year holds none.
    Call it after ``lock_slots`` in the transaction that writes the post."""
    return next_free(queue.slots, queue.tz, after, taken_slots(session, account, after, after + HORIZON))


def expected_slots(session: Session, posts: Sequence[tuple[str, SlotQueue | None, datetime]],
                   after: datetime) -> list[datetime | None]:
    """The slot each next-slot post would take if apply wrote ``posts`` now, in this order: (account, its
    queue, or None for a post at a fixed time, which takes its minute). None for a fixed-time post or when
    a year holds no free slot. Reads only and takes no lock: apply picks again (``first_free``)."""
    queued = {account for account, queue, _ in posts if queue is not None}
    taken = {account: set(taken_slots(session, account, after, after + HORIZON)) for account in queued}
    found: list[datetime | None] = []
    for account, queue, at in posts:
        if queue is None:
            if account in taken:
                taken[account].add(minute(at))
            found.append(None)
            continue
        slot = next_free(queue.slots, queue.tz, after, taken[account])
        if slot is not None:
            taken[account].add(minute(slot))
        found.append(slot)
    return found


def slot_queues(campaign: Any, accounts: Mapping[str, Account]) -> dict[str, SlotQueue]:
    """The slot queue of every account an ``at: next-slot`` announcement posts to (read in the account's
    timezone, else the campaign's). An account without ``slots``, or a recurring next-slot announcement,
    is one ``CampaignError`` naming the file, line, announcement and account."""
    queues: dict[str, SlotQueue] = {}
    for item in campaign.announcements:
        if not is_next_slot(item.scheduled_at):
            continue
        where = {"file": str(campaign.source), "line": item.line, "field": f"announcements.{item.key}.at"}
        if item.repeat is not None:
            raise CampaignError("next-slot cannot repeat (each occurrence needs its own time)", **where)
        for name in item.accounts:
            account = accounts[name]
            if account.slots is None:
                raise CampaignError(f"next-slot, but account {name} declares no slots (add slots = "
                                    f"[\"09:00\", \"18:00\"] under [accounts.{name}] in promo.toml)", **where)
            queues[name] = SlotQueue(account.slots, zone(account.timezone or campaign.timezone))
    return queues
