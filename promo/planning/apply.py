"""Writing a plan: ``apply_plan``.

Everything happens in one transaction. Each entry's precondition is checked again with the row
locked (PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so a
post a worker started publishing meanwhile is reported ``locked``, never overwritten. Every action
is logged in the event log; a plan with nothing to do writes nothing at all.

Two applies of one file may race (PostgreSQL lets both read "nothing there yet"). The ledger keeps
one live post per campaign, announcement and account (``posts.generation``, unique with them), so
each insert runs in a savepoint: the apply that comes second finds the campaign and announcement
rows already there and updates them, and reports each post the other created as ``locked``
("another apply created it first"), never a second row.

Under an approval rule a post is created ``awaiting_approval``, and an edit decides again, inside
the transaction, whether its new approval digest has enough approvals (``needs_approval``): a
payload edit after approval sends it back to ``awaiting_approval``; a time-only edit does not,
unless the rule says ``on_time_change``.

A new post of an ``at: next-slot`` announcement takes its account's first free slot here, inside the
transaction and under the account's slot lock (``promo.planning.slots``), so two announcements, or an
apply and ``promo post --next-slot``, never take one slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert, Update

from promo.engine.policies import due_time
from promo.errors import PromoError
from promo.planning.plan import (
    ACTIONS,
    CANCELLED,
    CHANGED,
    CREATED,
    FILE_CANCEL,
    LOCKED,
    ApplyResult,
    Identity,
    Plan,
    PlanEntry,
)
from promo.planning.slots import MARGIN, first_free, lock_slots
from promo.posts import ScheduledPost
from promo.store import states
from promo.store.approvals import Policy, approval_digest, decisions, standing
from promo.store.db import transaction
from promo.store.ledger import clear_attempt, log, new_idempotency_key, transition
from promo.store.tables import Announcement, Campaign, PostRow
from promo.times import utcnow


def apply_plan(engine: Engine, plan: Plan, *, actor: str = "cli", now: datetime | None = None) -> ApplyResult:
    """Write ``plan`` in one transaction. Nothing to do: nothing is written, not even an event."""
    if not plan.writes:
        return ApplyResult(plan, plan.entries, wrote=False)
    now = now or utcnow()
    try:
        with transaction(engine) as session:
            _write_campaign(session, plan, now)
            _write_announcements(session, plan)
            entries = tuple(_apply_entry(session, entry, actor, now) for entry in plan.entries)
            _log_applied(session, plan, entries, actor, now)
    except IntegrityError:
        raise PromoError(f"campaign {plan.campaign_id} was changed by someone else while applying; "
                         "nothing was written: run apply again") from None
    return ApplyResult(plan, entries, wrote=True)


def _write_campaign(session: Session, plan: Plan, now: datetime) -> None:
    values = {"name": plan.name, "timezone": plan.timezone, "source": plan.source, "digest": plan.digest,
              "applied_at": now}
    change = update(Campaign).where(Campaign.id == plan.campaign_id).values(**values)
    if plan.campaign_op == "insert":
        _insert_or(session, insert(Campaign).values(id=plan.campaign_id, **values), change)
    else:  # applied_at moves whenever an apply writes anything
        session.execute(change)


def _insert_or(session: Session, row: Insert, otherwise: Update) -> None:
    """Insert ``row``; if a racing apply inserted it first, run ``otherwise`` instead."""
    try:
        with session.begin_nested():
            session.execute(row)
    except IntegrityError:
        session.execute(otherwise)


def _write_announcements(session: Session, plan: Plan) -> None:
    for op, state in plan.announcement_ops:
        where = (Announcement.campaign_id == plan.campaign_id, Announcement.key == state.key)
        values: dict[str, Any] = {"removed": True} if op == "remove" else {
            "kind": state.kind, "fields": state.fields, "scheduled_at": state.scheduled_at,
            "approval": state.approval, "removed": False}
        change = update(Announcement).where(*where).values(**values)
        if op == "insert":
            _insert_or(session, insert(Announcement).values(campaign_id=plan.campaign_id, key=state.key,
                                                            **values), change)
        else:
            session.execute(change)


def _apply_entry(session: Session, entry: PlanEntry, actor: str, now: datetime) -> PlanEntry:
    if entry.action == CREATED:
        return _create(session, entry, actor, now)
    if entry.action == CHANGED:
        return _change(session, entry, actor, now)
    if entry.action == CANCELLED:
        return _cancel(session, entry, actor, now)
    return entry


def _latest_id(session: Session, identity: Identity) -> int | None:
    campaign, announcement, account = identity
    return session.scalar(select(func.max(PostRow.id)).where(
        PostRow.campaign_id == campaign, PostRow.announcement == announcement, PostRow.account == account))


def _generation(session: Session, replaces: int | None) -> int:
    """0 for an identity's first post, one more than the cancelled post it replaces."""
    if replaces is None:
        return 0
    return (session.scalar(select(PostRow.generation).where(PostRow.id == replaces)) or 0) + 1


def _in_next_slot(session: Session, entry: PlanEntry, now: datetime) -> PlanEntry:
    """A new ``at: next-slot`` post: its account's first free slot, under the account's slot lock."""
    assert entry.slot is not None and entry.scheduled is not None
    lock_slots(session, entry.account)
    at = first_free(session, entry.account, entry.slot, now + MARGIN)
    if at is None:
        raise PromoError(f"announcement {entry.announcement}: every slot of account {entry.account} in the next "
                         "year is taken; nothing was written (add slots or slot_days in promo.toml, or cancel a post)")
    at = at.astimezone(entry.slot.tz)
    return replace(entry, scheduled_at=at, scheduled=replace(entry.scheduled, scheduled_at=at))


def _create(session: Session, entry: PlanEntry, actor: str, now: datetime) -> PlanEntry:
    if _latest_id(session, entry.identity) != entry.replaces:
        return _raced(entry, "another apply created it first")
    if entry.slot is not None:
        entry = _in_next_slot(session, entry, now)
    scheduled = entry.scheduled
    assert scheduled is not None
    status = states.AWAITING if entry.approval is not None else states.SCHEDULED
    row = PostRow(idempotency_key=new_idempotency_key(), campaign_id=entry.campaign,
                  announcement=entry.announcement, account=entry.account, attempts=0, journal={},
                  generation=_generation(session, entry.replaces), reason=waiting_reason(entry.approval),
                  status=status, created_at=now, updated_at=now, **row_values(scheduled))
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        if _latest_id(session, entry.identity) == entry.replaces:
            raise  # not a racing apply's post: something else is wrong, and nothing is written
        return _raced(entry, "another apply created it first")  # its row stands
    detail = {"reason": why} if (why := entry.reason or row.reason) else None
    log(session, row.id, "created", actor=actor, to_status=status, now=now, detail=detail)
    return replace(entry, post_id=row.id, status=status, awaiting=status == states.AWAITING)


def row_values(scheduled: ScheduledPost) -> dict[str, Any]:
    """The ledger columns a rendered post decides (everything but identity and state)."""
    return {"kind": scheduled.kind, "platform": scheduled.post.platform,
            "payload": scheduled.post.to_payload(), "digest": scheduled.digest,
            "scheduled_at": scheduled.scheduled_at, "not_before": scheduled.not_before,
            "max_lateness_s": scheduled.max_lateness_s,
            "due_at": due_time(scheduled.scheduled_at, scheduled.not_before)}


def _current(session: Session, post_id: int) -> tuple[str, str] | None:
    """The row's (status, digest), locked against concurrent writers until we commit."""
    found = session.execute(select(PostRow.status, PostRow.digest).where(PostRow.id == post_id)
                            .with_for_update()).first()
    return (found[0], found[1]) if found else None


def _change(session: Session, entry: PlanEntry, actor: str, now: datetime) -> PlanEntry:
    assert entry.post_id is not None and entry.scheduled is not None
    current = _current(session, entry.post_id)
    if current is None or current[0] in states.MAYBE_SENT or current[0] == states.CANCELLED:
        return _raced(entry, f"became {current[0] if current else 'missing'} while applying", current)
    if current[1] != entry.expected_digest:
        return _raced(entry, "was edited by someone else while applying", current)
    values = row_values(entry.scheduled)
    if needs_approval(session, entry.post_id, entry.approval, values):
        target = states.AWAITING
    elif current[0] == states.AWAITING:
        target = states.SCHEDULED  # approved (or no longer under a rule): the engine takes it from here
    else:
        target = status_after_edit(current[0], values["due_at"], now)
    extra: dict[str, Any] = {"lease_until": None}
    if target == states.SCHEDULED:
        extra["reason"] = None
    elif target == states.AWAITING:
        extra["reason"] = waiting_reason(entry.approval)
    again = ["needs approval again"] if target == states.AWAITING != current[0] else []
    if not transition(session, entry.post_id, (current[0],), target, action="changed", actor=actor, now=now,
                      detail={"changes": [*entry.changes, *again]}, **values, **extra):
        return _raced(entry, "moved while applying", current)
    if current[0] == states.QUEUED:
        clear_attempt(session, entry.post_id)
    return replace(entry, status=target, awaiting=target == states.AWAITING)


def needs_approval(session: Session, post_id: int, rule: Policy | None, values: dict[str, Any]) -> bool:
    """Whether the post, as ``values`` will leave it, lacks the approvals its rule asks for (read now,
    in the transaction: an approval given since planning counts)."""
    if rule is None:
        return False
    digest = approval_digest(values["payload"], values["scheduled_at"], values["not_before"], rule)
    return not standing(rule, digest, decisions(session, [post_id])[post_id]).satisfied


def waiting_reason(rule: Policy | None) -> str | None:
    """A waiting post's ``reason``: who may release it, and how."""
    if rule is None:
        return None
    return f"awaiting approval ({rule.describe()}): 'promo review' shows it, 'promo approve' releases it"


def status_after_edit(current: str, due_at: datetime, now: datetime) -> str:
    """An edit re-arms a post: queued and failed go back to scheduled, paused stays paused,
    held is released only if its new time is still ahead."""
    if current == states.PAUSED:
        return states.PAUSED
    if current == states.HELD:
        return states.SCHEDULED if due_at > now else states.HELD
    return states.SCHEDULED


def _cancel(session: Session, entry: PlanEntry, actor: str, now: datetime) -> PlanEntry:
    assert entry.post_id is not None
    current = _current(session, entry.post_id)
    if current is None or current[0] not in states.UNSENT:
        return _raced(entry, f"became {current[0] if current else 'missing'} while applying", current)
    reason = f"{FILE_CANCEL} ({entry.reason})"
    if not transition(session, entry.post_id, (current[0],), states.CANCELLED, action="cancelled",
                      actor=actor, now=now, detail={"reason": reason}, reason=reason, lease_until=None):
        return _raced(entry, "moved while applying", current)
    return replace(entry, status=states.CANCELLED)


def _raced(entry: PlanEntry, why: str, current: tuple[str, str] | None = None) -> PlanEntry:
    status = current[0] if current else entry.status
    return replace(entry, action=LOCKED, status=status, reason=f"not written: {why}")


def _log_applied(session: Session, plan: Plan, entries: Sequence[PlanEntry], actor: str,
                 now: datetime) -> None:
    counts = {action: sum(1 for e in entries if e.action == action) for action in ACTIONS}
    log(session, None, "applied", actor=actor, now=now,
        detail={"campaign": plan.campaign_id, "source": plan.source, "digest": plan.digest, **counts})
