"""The ``notifications`` outbox: lifecycle notifications derived from the event log, and their deliveries.

Nothing on the publish path writes here. The beat's ``notify`` tick (``promo.manage.notify``) reads
the events after a cursor (``meta`` key ``notify.cursor``), turns the ones a subscription asked for
into rows (``derive``) and delivers them; so a publish pays nothing for notifications, with or
without subscriptions. The cursor moves in the transaction that writes the rows, under its row lock
(PostgreSQL) or the write lock (SQLite); the unique ``(subscription, event_id, type)`` makes a
second writer's rows no-ops.

On PostgreSQL an event's id is taken before its transaction commits, so a later id can be visible
before an earlier one: events younger than ``grace`` seconds are left for the next turn. SQLite
commits its writers one at a time, in id order, and needs no grace.

What a payload carries: the post's id, campaign, announcement, account, platform, state, url or
reason, or the campaign's apply counts; never a credential, token or signing secret.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from promo.store import states
from promo.store.meta import get_meta, put_meta, upsert_statement
from promo.store.tables import Event, Notification, PostRow
from promo.times import iso

CURSOR = "notify.cursor"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
HISTORY_KEPT = 20  # attempts kept per notification, the newest

# post state -> notification type
BY_STATE = {
    states.PUBLISHED: "post.published",
    states.FAILED: "post.failed",
    states.UNKNOWN: "post.unknown",
    states.HELD: "post.held",
    states.AWAITING: "post.awaiting_approval",
}
APPLIED = "campaign.applied"
RECONNECT = "account.needs_reconnect"
NEEDS_RECONNECT = "needs-reconnect"  # the event a refused token refresh logs (no post: the account's)
TYPES = (*BY_STATE.values(), APPLIED, RECONNECT)
_APPLY_COUNTS = ("created", "changed", "unchanged", "cancelled", "locked")


@dataclass(frozen=True)
class Derived:
    """What one ``derive`` did: rows written, events read, and the cursor it left."""

    written: int
    scanned_to: int


def derive(session: Session, wanted: Mapping[str, frozenset[str]], now: datetime, *, grace: float,
           batch: int = 500) -> Derived:
    """Write a row per subscription for each new event it wants (``wanted``: name -> types); move the cursor.

    The first run starts at the newest event: a subscription added today is not sent the history.
    """
    upper = session.scalar(select(func.max(Event.id)).where(Event.at <= now - timedelta(seconds=grace))) or 0
    stored = get_meta(session, CURSOR, for_update=True)
    if stored is None:
        put_meta(session, CURSOR, str(upper))
        return Derived(0, upper)
    cursor = int(stored)
    if upper <= cursor:
        return Derived(0, cursor)
    rows = session.execute(_new_events(cursor, upper, batch)).all()
    scanned_to = rows[-1].id if len(rows) == batch else upper
    written = 0
    for row in rows:
        for kind, payload in notifications_of(row):
            for name, types in wanted.items():
                if kind in types:
                    written += _insert(session, name, kind, row.id, payload, now)
    put_meta(session, CURSOR, str(scanned_to))
    return Derived(written, scanned_to)


def _new_events(cursor: int, upper: int, batch: int) -> Any:
    interesting = Event.to_status.in_(list(BY_STATE)) | ((Event.action == "applied") & Event.post_id.is_(None))
    return (select(Event.id, Event.at, Event.action, Event.from_status, Event.to_status, Event.detail,
                   PostRow.id.label("post_id"), PostRow.campaign_id, PostRow.announcement, PostRow.account,
                   PostRow.platform, PostRow.url, PostRow.reason)
            .outerjoin(PostRow, PostRow.id == Event.post_id)
            .where(Event.id > cursor, Event.id <= upper, interesting)
            .order_by(Event.id).limit(batch))


def notifications_of(row: Any) -> list[tuple[str, dict[str, Any]]]:
    """The notifications one event row (joined with its post) makes: ``(type, payload)`` each."""
    detail = row.detail or {}
    if row.post_id is None:
        if row.action == NEEDS_RECONNECT:
            data = {"account": detail.get("account"), "reason": detail.get("reason")}
            return [(RECONNECT, _payload(RECONNECT, row.at, data))]
        if row.action != "applied":
            return []
        data = {"campaign": detail.get("campaign"), "digest": detail.get("digest"),
                **{name: detail.get(name, 0) for name in _APPLY_COUNTS}}
        return [(APPLIED, _payload(APPLIED, row.at, data))]
    kind = BY_STATE.get(row.to_status)
    if kind is None or (row.to_status == states.AWAITING and row.from_status == states.AWAITING):
        return []
    data = {"post_id": row.post_id, "campaign": row.campaign_id, "announcement": row.announcement,
            "account": row.account, "platform": row.platform, "state": row.to_status}
    if row.to_status == states.PUBLISHED:
        data["url"] = detail.get("url") or row.url
    else:
        data["reason"] = row.reason
    found = [(kind, _payload(kind, row.at, data))]
    if row.to_status == states.HELD and detail.get("needs_reconnect"):
        found.append((RECONNECT, _payload(RECONNECT, row.at, {
            "account": row.account, "platform": row.platform, "post_id": row.post_id, "reason": row.reason})))
    return found


def _payload(kind: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "timestamp": iso(at), "data": data}


def _insert(session: Session, subscription: str, kind: str, event_id: int, payload: dict[str, Any],
            now: datetime) -> int:
    statement = upsert_statement(session, Notification).values(
        delivery_id="msg_" + uuid.uuid4().hex, subscription=subscription, type=kind, event_id=event_id,
        payload=payload, status=PENDING, attempts=0, next_attempt_at=now, history=[], created_at=now,
        updated_at=now)
    done = session.execute(statement.on_conflict_do_nothing(index_elements=["subscription", "event_id", "type"]))
    return int(done.rowcount)  # type: ignore[attr-defined]


def due(session: Session, now: datetime, limit: int) -> list[Notification]:
    """Pending notifications whose next attempt has come, oldest first."""
    query = (select(Notification).where(Notification.status == PENDING, Notification.next_attempt_at <= now)
             .order_by(Notification.next_attempt_at, Notification.id).limit(limit))
    return list(session.scalars(query))


def claim(session: Session, row: Notification, until: datetime) -> bool:
    """Take one due notification for an attempt: its next attempt moves to ``until`` (a lease) if nobody
    else moved it first. Whether this caller has it."""
    done = session.execute(update(Notification)
                           .where(Notification.id == row.id, Notification.status == PENDING,
                                  Notification.next_attempt_at == row.next_attempt_at)
                           .values(next_attempt_at=until).execution_options(synchronize_session=False))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def record(session: Session, notification_id: int, now: datetime, *, status_code: int | None, error: str | None,
           next_attempt_at: datetime | None) -> str:
    """Record one attempt: delivered (no error), pending again at ``next_attempt_at``, or failed (neither)."""
    row = session.get(Notification, notification_id, with_for_update=True)
    if row is None:
        return FAILED
    status = DELIVERED if error is None else PENDING if next_attempt_at is not None else FAILED
    attempt = {"at": iso(now), "status_code": status_code, "error": error,
               "next_attempt_at": iso(next_attempt_at) if next_attempt_at else None}
    row.history = [*row.history, attempt][-HISTORY_KEPT:]
    row.attempts, row.status, row.updated_at = row.attempts + 1, status, now
    row.last_status_code, row.last_error, row.next_attempt_at = status_code, error, next_attempt_at
    if status == DELIVERED:
        row.delivered_at = now
    return status


def listing(session: Session, *, status: str | None = None, limit: int = 100) -> list[Notification]:
    """The newest notifications first, optionally only those in one ``status``."""
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Notification.status == status)
    return list(session.scalars(query))


def requeue(session: Session, ids: Sequence[int] | None, now: datetime) -> list[int]:
    """Send failed notifications again (``ids``, or every failed one for None): a fresh round of attempts.

    The delivery id stays: a receiver that saw an earlier attempt recognises the replay.
    """
    query = select(Notification.id).where(Notification.status == FAILED)
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    chosen = list(session.scalars(query.order_by(Notification.id)))
    if chosen:
        session.execute(update(Notification).where(Notification.id.in_(chosen))
                        .values(status=PENDING, attempts=0, next_attempt_at=now, updated_at=now)
                        .execution_options(synchronize_session=False))
    return chosen
