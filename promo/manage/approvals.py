"""Approving what goes out: ``review``, ``approve`` and ``reject``, and who the approver is.

A post under its announcement's approval rule (``promo.store.approvals.Policy``) is created
``awaiting_approval`` and is never claimed there. ``approve`` records one person's approval of the
post's exact payload (its approval digest); once ``min`` different approvers on the list approved
that digest, the post moves to ``scheduled`` and the engine takes it from there. ``reject`` records
a rejection and keeps (or puts back) the post in ``awaiting_approval``, the rejection as its reason:
it stands until the same person approves, or an edit changes the payload. Every decision is a row of
``approvals`` and an event. Each function owns its transaction; a refusal writes nothing.

The approver is ``--as``, else ``PROMO_USER``, else git's ``user.email`` (``resolve_approver``).
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.errors import NotFound, PromoError
from promo.store import states
from promo.store.approvals import (
    APPROVED,
    REJECTED,
    Decision,
    Policy,
    approval_digest,
    decisions,
    policies,
    record,
    standing,
    valid_email,
)
from promo.store.db import transaction
from promo.store.ledger import clear_attempt, log, transition
from promo.store.tables import Campaign, PostRow
from promo.times import iso, show_time, utcnow, zone

__all__ = ["NotAnApprover", "Outcome", "Target", "Waiting", "approve", "reject", "resolve_approver", "review"]
GIT_TIMEOUT_S = 5.0
ASK_FOR_AS = "pass --as EMAIL (or set PROMO_USER)"


class NotAnApprover(PromoError):
    """The person is not on a post's list of approvers (or no approver could be named)."""

    exit_code = 1


@dataclass(frozen=True)
class Target:
    """What a decision is about: a campaign, one announcement of it, or one post."""

    campaign: str | None = None
    announcement: str | None = None
    post_id: int | None = None

    def describe(self) -> str:
        if self.post_id is not None:
            return f"post {self.post_id}"
        return f"{self.campaign}/{self.announcement}" if self.announcement else f"campaign {self.campaign}"


@dataclass(frozen=True)
class Outcome:
    """One post after a decision: its state, who approved its current payload, how many are needed."""

    post_id: int
    campaign: str | None
    announcement: str | None
    account: str
    status: str
    approved: tuple[str, ...]
    needed: int
    already: bool            # this person had already made this decision on this payload: nothing written

    def to_dict(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "campaign": self.campaign, "announcement": self.announcement,
                "account": self.account, "status": self.status, "approved_by": list(self.approved),
                "needed": self.needed, "already": self.already}


# -- who ----------------------------------------------------------------------------------------

def resolve_approver(given: str | None, environ: Mapping[str, str] | None = None, *,
                     timeout: float = GIT_TIMEOUT_S) -> str:
    """The approver's address: ``given`` (``--as``), else ``PROMO_USER``, else ``git config user.email``."""
    environ = os.environ if environ is None else environ
    for source, value in (("--as", given), ("PROMO_USER", environ.get("PROMO_USER"))):
        if value is not None and value.strip():
            return _address(value, source)
    return _address(_git_email(timeout), "git's user.email")


def _address(text: str, source: str) -> str:
    address = text.strip().lower()
    if not valid_email(address):
        raise NotAnApprover(f"{source}: {text.strip()[:80]!r} is not an email address (e.g. alice@studio.com)")
    return address


def _git_email(timeout: float) -> str:
    git = shutil.which("git")
    if git is None:
        raise NotAnApprover(f"no approver named and git is not installed to read user.email: {ASK_FOR_AS}")
    try:
        done = subprocess.run([git, "config", "user.email"], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise NotAnApprover(f"'git config user.email' did not answer in {timeout:g} s: {ASK_FOR_AS}") from None
    except OSError as exc:
        raise NotAnApprover(f"cannot run git to read user.email ({exc.strerror}): {ASK_FOR_AS}") from None
    email = done.stdout.strip()
    if done.returncode != 0 or not email:
        raise NotAnApprover(f"no approver named and git has no user.email: {ASK_FOR_AS}")
    return email


# -- deciding -----------------------------------------------------------------------------------

def approve(engine: Engine, target: Target, approver: str, *, note: str = "",
            now: datetime | None = None) -> list[Outcome]:
    """Approve the posts of ``target`` that wait (or, for one post, that post) as ``approver``.

    NotAnApprover, with nothing written, if ``approver`` is not on every chosen post's list.
    """
    now = now or utcnow()
    with transaction(engine) as session:
        chosen = _chosen(session, target, (states.AWAITING,), "approve")
        _check_approver(chosen, approver)
        return [_approve_one(session, row, rule, approver, note, now) for row, rule in chosen]


def reject(engine: Engine, target: Target, approver: str, *, note: str = "",
           now: datetime | None = None) -> list[Outcome]:
    """Reject the unsent posts of ``target`` as ``approver``: each waits in ``awaiting_approval``
    (even one already approved and scheduled) until that person approves it or its payload changes."""
    now = now or utcnow()
    with transaction(engine) as session:
        chosen = _chosen(session, target, tuple(states.UNSENT), "reject")
        _check_approver(chosen, approver)
        return [_reject_one(session, row, rule, approver, note, now) for row, rule in chosen]


Chosen = list[tuple[PostRow, Policy]]


def _chosen(session: Session, target: Target, wanted: Sequence[str], verb: str) -> Chosen:
    """The target's posts in ``wanted`` states under a rule, locked; one post must be under a rule."""
    if target.post_id is not None:
        return _one_post(session, target, wanted, verb)
    if session.get(Campaign, target.campaign) is None:
        raise NotFound(f"no campaign {target.campaign!r} ('promo queue --all' lists the campaigns' posts)")
    rules = policies(session, target.campaign or "")
    if target.announcement is not None and target.announcement not in rules:
        raise NotFound(f"campaign {target.campaign} has no announcement {target.announcement!r} "
                       f"(it has: {', '.join(sorted(rules)) or 'none'})")
    query = select(PostRow).where(PostRow.campaign_id == target.campaign, PostRow.status.in_(list(wanted)))
    if target.announcement is not None:
        query = query.where(PostRow.announcement == target.announcement)
    rows = session.scalars(query.order_by(PostRow.due_at, PostRow.id).with_for_update())
    return [(row, rule) for row in rows if (rule := rules.get(row.announcement or "")) is not None]


def _one_post(session: Session, target: Target, wanted: Sequence[str], verb: str) -> Chosen:
    row = session.scalars(select(PostRow).where(PostRow.id == target.post_id).with_for_update()).first()
    if row is None:
        raise NotFound(f"no post with id {target.post_id} ('promo queue --all' lists them)")
    if target.campaign is not None and row.campaign_id != target.campaign:
        raise PromoError(f"post {row.id} is not in campaign {target.campaign} (it is in {row.campaign_id or 'none'})")
    rule = policies(session, row.campaign_id).get(row.announcement or "") if row.campaign_id else None
    if rule is None:
        raise PromoError(f"post {row.id} needs no approval: its announcement has no approval rule")
    if row.status not in wanted:
        raise PromoError(f"cannot {verb} post {row.id}: it is {row.status} ('promo show {row.id}' shows why)")
    return [(row, rule)]


def _check_approver(chosen: Chosen, approver: str) -> None:
    for row, rule in chosen:
        if not rule.allows(approver):
            raise NotAnApprover(f"{approver} is not an approver of {row.campaign_id}/{row.announcement} "
                                f"(approvers: {', '.join(rule.approvers)}): pass --as with one of them; "
                                "nothing was written")


def _decide(session: Session, row: PostRow, rule: Policy, approver: str, verdict: str, note: str,
            now: datetime) -> tuple[list[Decision], bool]:
    """Record ``verdict`` on the post's current digest unless it is already this person's latest
    decision on it; returns every decision on the post after, and whether it was already so."""
    digest = approval_digest(row.payload, row.scheduled_at, row.not_before, rule)
    found = decisions(session, [row.id])[row.id]
    mine = [d for d in found if d.digest == digest and d.approver == approver]
    if mine and mine[-1].decision == verdict:
        return found, True
    decision = Decision(row.id, approver, verdict, digest, dict(row.payload), row.scheduled_at, note, now)
    record(session, decision)
    return [*found, decision], False


def _approve_one(session: Session, row: PostRow, rule: Policy, approver: str, note: str,
                 now: datetime) -> Outcome:
    found, already = _decide(session, row, rule, approver, APPROVED, note, now)
    digest = approval_digest(row.payload, row.scheduled_at, row.not_before, rule)
    stands = standing(rule, digest, found)
    if not already:
        detail = _detail(approver, digest, note, stands.approved, rule.min)
        if row.status == states.AWAITING and stands.satisfied:
            transition(session, row.id, (states.AWAITING,), states.SCHEDULED, action="approved",
                       actor=approver[:64], now=now, detail=detail, reason=None)
        else:
            log(session, row.id, "approved", actor=approver[:64], now=now, detail=detail)
    session.refresh(row)
    return _outcome(row, stands.approved, rule.min, already)


def _reject_one(session: Session, row: PostRow, rule: Policy, approver: str, note: str,
                now: datetime) -> Outcome:
    found, already = _decide(session, row, rule, approver, REJECTED, note, now)
    digest = approval_digest(row.payload, row.scheduled_at, row.not_before, rule)
    if not already or row.status != states.AWAITING:
        reason = (f"rejected by {approver}" + (f": {note}" if note else "") +
                  f"; edit the campaign and apply, or 'promo approve --post {row.id} --as {approver}'")
        status = row.status
        transition(session, row.id, (status,), states.AWAITING, action="rejected", actor=approver[:64], now=now,
                   detail=_detail(approver, digest, note, (), rule.min), reason=reason, lease_until=None)
        if status == states.QUEUED:
            clear_attempt(session, row.id)
    session.refresh(row)
    return _outcome(row, standing(rule, digest, found).approved, rule.min, already)


def after_move(session: Session, row: PostRow, target: str, at: datetime) -> str:
    """Where a post moved to ``at`` by hand goes: it keeps waiting for approval, and a rule that says
    ``on_time_change`` sends it back to wait unless its new time is approved too."""
    if row.status == states.AWAITING:
        return states.AWAITING
    rule = policies(session, row.campaign_id).get(row.announcement or "") if row.campaign_id else None
    if rule is None or not rule.on_time_change:
        return target
    digest = approval_digest(row.payload, at, row.not_before, rule)
    return target if standing(rule, digest, decisions(session, [row.id])[row.id]).satisfied else states.AWAITING


def _detail(approver: str, digest: str, note: str, approved: Sequence[str], needed: int) -> dict[str, Any]:
    counted = f" ({len(approved)} of {needed})" if approved else ""
    return {"approver": approver, "digest": digest, "note": note, "approved_by": list(approved),
            "needed": needed, "reason": f"{approver}{counted}" + (f": {note}" if note else "")}


def _outcome(row: PostRow, approved: Sequence[str], needed: int, already: bool) -> Outcome:
    return Outcome(row.id, row.campaign_id, row.announcement, row.account, row.status, tuple(approved), needed,
                   already)


# -- review -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """One post waiting for approval, as ``promo review`` shows it."""

    post_id: int
    campaign: str | None
    announcement: str | None
    account: str
    platform: str
    scheduled_at: datetime
    zone: ZoneInfo
    text: str                                # the whole payload as lines (``payload_lines``)
    rule: str                                # ``2 of alice@studio.com, bob@studio.com``
    approved: tuple[str, ...]                # who approved this exact payload so far
    rejected: tuple[Decision, ...]           # rejections of it that stand
    last_approved: Decision | None           # the latest approval of this post (of any payload), if any
    diff: tuple[str, ...]                    # unified diff from that payload to this one (none: the same)

    def to_dict(self) -> dict[str, Any]:
        last = self.last_approved
        return {"post_id": self.post_id, "campaign": self.campaign, "announcement": self.announcement,
                "account": self.account, "platform": self.platform,
                "scheduled_at": iso(self.scheduled_at.astimezone(self.zone)), "text": self.text, "rule": self.rule,
                "approved_by": list(self.approved), "rejected": [d.to_dict() for d in self.rejected],
                "last_approved": last.to_dict() if last else None, "diff": list(self.diff)}


def payload_lines(payload: Mapping[str, Any], at: datetime, tz: ZoneInfo) -> list[str]:
    """A payload as the lines a reviewer reads and a diff compares: time, each part's text, media, link."""
    lines = [f"time: {show_time(at, tz)}"]
    for number, part in enumerate(payload.get("parts") or ()):
        lines.append("text:" if number == 0 else f"reply {number}:")
        lines += str(part.get("text", "")).splitlines() or [""]
        lines += [f"media: {m.get('path')}" + (f" (alt: {m['alt']})" if m.get("alt") else "")
                  for m in part.get("media") or ()]
    if payload.get("link"):
        lines.append(f"link: {payload['link']}")
    return lines


def waiting_view(row: PostRow, rule: Policy | None, found: Sequence[Decision], tz: ZoneInfo) -> Waiting:
    """``row`` (awaiting approval) with where its payload stands, and the diff since its last approval."""
    rule = rule or Policy()
    digest = approval_digest(row.payload, row.scheduled_at, row.not_before, rule)
    stands = standing(rule, digest, found)
    now_lines = payload_lines(row.payload, row.scheduled_at, tz)
    approvals = [d for d in found if d.decision == APPROVED]
    last = approvals[-1] if approvals else None
    diff: tuple[str, ...] = ()
    if last is not None and last.digest != digest:
        before = payload_lines(last.payload, last.scheduled_at, tz)
        diff = tuple(difflib.unified_diff(before, now_lines, lineterm="", n=2,
                                          fromfile=f"approved by {last.approver} {show_time(last.at, tz)}",
                                          tofile="now"))
    return Waiting(row.id, row.campaign_id, row.announcement, row.account, row.platform, row.scheduled_at, tz,
                   "\n".join(now_lines), rule.describe(), stands.approved, stands.rejected, last, diff)

def review(engine: Engine, campaign: str | None = None) -> list[Waiting]:
    """Every post waiting for approval (of ``campaign``), soonest first, with what changed since the
    payload it last had approved."""
    with transaction(engine) as session:
        query = select(PostRow).where(PostRow.status == states.AWAITING)
        if campaign is not None:
            if session.get(Campaign, campaign) is None:
                raise NotFound(f"no campaign {campaign!r} ('promo queue --all' lists the campaigns' posts)")
            query = query.where(PostRow.campaign_id == campaign)
        rows = list(session.scalars(query.order_by(PostRow.due_at, PostRow.id)))
        found = decisions(session, [row.id for row in rows])
        names = {row.campaign_id for row in rows if row.campaign_id}
        zones = dict(session.execute(select(Campaign.id, Campaign.timezone)
                                     .where(Campaign.id.in_(names))).tuples().all())
        rules = {name: policies(session, name) for name in names}
    return [waiting_view(row, rules.get(row.campaign_id or "", {}).get(row.announcement or ""), found[row.id],
                         zone(zones.get(row.campaign_id or "", "UTC")))
            for row in rows]
