"""Approvals bound to the payload: the rule a post is held to, what is approved, and who decided.

A post under a rule (``Policy``, kept as JSON on its announcement's row) may be sent only once
``min`` different people (from ``approvers``, when the rule names them) approved its *approval
digest* (``approval_digest``): sha256 of its payload, and of its times too when the rule says
``on_time_change``. Any other edit changes the digest, and the approvals of the old one no longer
count. A rejection of the digest stands until the same person approves it, or the payload changes.

Decisions are rows of ``approvals`` (append-only); each person's latest decision on a digest is
the one that counts (``standing``), so the same person approving twice counts once.

The rule and the digest need no database (``promo preview`` loads campaigns, which carry rules,
without SQLAlchemy): the queries import it where they run.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

APPROVED, REJECTED = "approved", "rejected"
# An address as people type it: local@domain.tld, at most 254 characters (RFC 5321's path limit).
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
MAX_EMAIL = 254


def valid_email(text: str) -> bool:
    return len(text) <= MAX_EMAIL and EMAIL.match(text) is not None


@dataclass(frozen=True)
class Policy:
    """An approval rule: ``min`` different approvers (any of ``approvers``; anyone when empty)."""

    required: bool = True
    approvers: tuple[str, ...] = ()    # lower-case addresses
    min: int = 1
    on_time_change: bool = False       # a new time needs approving again too

    def allows(self, person: str) -> bool:
        return not self.approvers or person.lower() in self.approvers

    def describe(self) -> str:
        """``2 of alice@studio.com, bob@studio.com`` or ``1 approval (anyone)``."""
        if self.approvers:
            return f"{self.min} of {', '.join(self.approvers)}"
        return f"{self.min} approval{'s' if self.min != 1 else ''} (anyone)"

    def to_json(self) -> dict[str, Any]:
        return {"required": self.required, "approvers": list(self.approvers), "min": self.min,
                "on_time_change": self.on_time_change}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> Policy | None:
        """The rule kept on an announcement row; None when there is none, or it is not required."""
        if not value or not value.get("required", True):
            return None
        return cls(True, tuple(value.get("approvers") or ()), int(value.get("min", 1)),
                   bool(value.get("on_time_change", False)))


def approval_digest(payload: Mapping[str, Any], scheduled_at: datetime, not_before: datetime | None,
                    policy: Policy) -> str:
    """What an approval binds to: the payload, and (``on_time_change``) its time and embargo."""
    document: dict[str, Any] = {"payload": payload}
    if policy.on_time_change:
        document["scheduled_at"] = scheduled_at.astimezone(UTC).isoformat()
        document["not_before"] = not_before.astimezone(UTC).isoformat() if not_before else None
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Decision:
    """One row of ``approvals``."""

    post_id: int
    approver: str
    decision: str
    digest: str
    payload: dict[str, Any]
    scheduled_at: datetime
    note: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "decision": self.decision, "digest": self.digest,
                "note": self.note, "at": self.at.isoformat()}


@dataclass(frozen=True)
class Standing:
    """Where one digest stands: who approved it (counted once each), and the rejections standing."""

    approved: tuple[str, ...]
    rejected: tuple[Decision, ...]
    needed: int

    @property
    def satisfied(self) -> bool:
        return len(self.approved) >= self.needed and not self.rejected


def standing(policy: Policy, digest: str, found: Iterable[Decision]) -> Standing:
    """Each person's latest decision on ``digest`` (``found`` oldest first); approvals by people
    no longer on the list do not count."""
    latest: dict[str, Decision] = {}
    for decision in found:
        if decision.digest == digest:
            latest.pop(decision.approver, None)  # keep the order of latest decisions
            latest[decision.approver] = decision
    approved = tuple(person for person, d in latest.items() if d.decision == APPROVED and policy.allows(person))
    rejected = tuple(d for d in latest.values() if d.decision == REJECTED and policy.allows(d.approver))
    return Standing(approved, rejected, policy.min)


def decisions(db: Session | Connection, post_ids: Sequence[int]) -> dict[int, list[Decision]]:
    """Every decision on these posts, oldest first, by post."""
    from sqlalchemy import select

    from promo.store.tables import Approval

    found: dict[int, list[Decision]] = {post_id: [] for post_id in post_ids}
    if not post_ids:
        return found
    rows = db.execute(select(*Approval.__table__.c).where(Approval.post_id.in_(list(post_ids))).order_by(Approval.id))
    for row in rows:
        found[row.post_id].append(Decision(row.post_id, row.approver, row.decision, row.digest, dict(row.payload),
                                           _aware(row.scheduled_at), row.note, _aware(row.at)))
    return found


def record(db: Session | Connection, decision: Decision) -> None:
    """Append one decision."""
    from sqlalchemy import insert

    from promo.store.tables import Approval

    db.execute(insert(Approval).values(
        post_id=decision.post_id, approver=decision.approver, decision=decision.decision, digest=decision.digest,
        payload=decision.payload, scheduled_at=decision.scheduled_at, note=decision.note, at=decision.at))


def policies(db: Session | Connection, campaign: str) -> dict[str, Policy | None]:
    """Each announcement's rule, by key, as last applied."""
    from sqlalchemy import select

    from promo.store.tables import Announcement

    rows = db.execute(select(Announcement.key, Announcement.approval).where(Announcement.campaign_id == campaign))
    return {key: Policy.from_json(value) for key, value in rows}


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
