"""Campaigns as code: ``plan`` diffs a campaign's rendered posts against the ledger; ``apply`` writes it.

A post's identity is (campaign id, announcement key, account). ``plan`` is read-only and sorts every
identity into one of:

- ``created``    new (or back in the file after it was cancelled)
- ``changed``    payload, time, embargo or late-post policy differs: ``changes`` says what
- ``unchanged``  the ledger already has exactly this
- ``cancelled``  no longer in the file (announcement removed or account dropped): its unsent post
- ``locked``     the file differs but the post may already be out (publishing / published /
                 unknown): it is never re-queued, and the plan says so

``apply`` (``promo.planning.apply``) writes the whole plan in one transaction, re-checking each
entry's precondition with a conditional update, and logs every action in the event log. A plan with
nothing to do writes nothing. Change detection is the post's digest (``promo.posts.post_digest``).

An ``at: next-slot`` announcement's post keeps the time its live row already has (a re-apply neither
moves it nor calls it changed); a new one is ``created`` with its account's ``slot`` queue, and apply
picks the slot (``promo.planning.slots``); its time is shown (``when``) as the slot apply would take now
(``expected_at``), never as the loader's stand-in (``NEXT_SLOT``).

An announcement under an approval rule (``promo.store.approvals``) has its posts created
``awaiting_approval``; an entry's ``awaiting`` says whether the post will wait for approval after
apply: its approval digest (the payload; with ``on_time_change``, its times too) lacks enough
approvals. A post whose rule appears, tightens or goes away is ``changed`` even when its digest is
not: it moves into or out of ``awaiting_approval``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from promo.campaigns.timing import is_next_slot
from promo.errors import CampaignError
from promo.planning.slots import MARGIN, SlotQueue, expected_slots
from promo.posts import Post, ScheduledPost
from promo.store import states
from promo.store.approvals import Decision, Policy, approval_digest, decisions, standing
from promo.store.tables import Announcement, Campaign, PostRow
from promo.times import from_storage, iso, show_time, utcnow, zone

CREATED, CHANGED, UNCHANGED, CANCELLED, LOCKED = "created", "changed", "unchanged", "cancelled", "locked"
ACTIONS = (CREATED, CHANGED, UNCHANGED, CANCELLED, LOCKED)
WRITING = frozenset({CREATED, CHANGED, CANCELLED})
# The reason apply gives a post it cancels; such a post comes back if the file brings it back.
FILE_CANCEL = "removed from the campaign file"

Identity = tuple[str | None, str | None, str]


class AnnouncementLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...
    @property
    def scheduled_at(self) -> datetime: ...


class CampaignLike(Protocol):
    """What planning reads of a loaded campaign (``promo.campaigns``)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def source(self) -> Any: ...
    @property
    def digest(self) -> str: ...

    @property
    def announcements(self) -> Sequence[AnnouncementLike]: ...


@dataclass(frozen=True)
class PlanEntry:
    """One post's fate. ``scheduled`` is the file's version (None when cancelled)."""

    action: str
    campaign: str | None
    announcement: str | None
    account: str
    platform: str
    scheduled_at: datetime
    post_id: int | None = None
    status: str | None = None                # ledger status when planned
    changes: tuple[str, ...] = ()
    reason: str = ""
    scheduled: ScheduledPost | None = field(default=None, repr=False, compare=False)
    expected_digest: str | None = None       # the row's digest when planned: apply's precondition
    replaces: int | None = None              # created: the cancelled row it follows
    approval: Policy | None = None           # the rule its announcement holds it to
    awaiting: bool = False                   # after apply it waits for approval
    slot: SlotQueue | None = None            # created at next-slot: apply picks its time from this queue
    expected_at: datetime | None = None      # ... the slot it would take if apply ran when planned

    @property
    def identity(self) -> Identity:
        return (self.campaign, self.announcement, self.account)

    @property
    def slot_pending(self) -> bool:
        """A new next-slot post not written yet: its time is apply's to pick."""
        return is_next_slot(self.scheduled_at)

    def when(self, show: Callable[[datetime], str]) -> str:
        """Its time through ``show``; a pending next-slot post's ``expected_at``, else ``next free slot of ACCOUNT``."""
        if not self.slot_pending:
            return show(self.scheduled_at)
        return show(self.expected_at) if self.expected_at else f"next free slot of {self.account}"

    def to_dict(self, tz: ZoneInfo) -> dict[str, Any]:
        return {"post_id": self.post_id, "campaign": self.campaign, "announcement": self.announcement,
                "account": self.account, "platform": self.platform,
                "scheduled_at": self.when(lambda at: iso(at.astimezone(tz))), "status": self.status,
                "changes": list(self.changes), "reason": self.reason, "awaiting_approval": self.awaiting}


@dataclass(frozen=True)
class AnnouncementState:
    key: str
    kind: str
    fields: dict[str, Any]
    scheduled_at: datetime
    approval: dict[str, Any] | None = None   # Policy.to_json(), or None


AnnouncementOp = tuple[str, AnnouncementState]


@dataclass(frozen=True)
class Plan:
    """What applying a campaign would do. ``campaign_op`` / ``announcement_ops`` are the row writes."""

    campaign_id: str
    name: str
    timezone: str
    source: str
    digest: str
    entries: tuple[PlanEntry, ...]
    campaign_op: str | None = None                                   # insert / update / None
    announcement_ops: tuple[AnnouncementOp, ...] = ()  # (insert | update | remove, state)

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)

    def by_action(self, action: str) -> list[PlanEntry]:
        return [e for e in self.entries if e.action == action]

    @property
    def writes(self) -> bool:
        """Whether applying this plan changes anything at all."""
        return bool(self.campaign_op or self.announcement_ops
                    or any(e.action in WRITING for e in self.entries))

    def counts(self) -> dict[str, int]:
        return {action: len(self.by_action(action)) for action in ACTIONS}

    def summary(self) -> str:
        return summarize(self.counts())

    def to_dict(self) -> dict[str, Any]:
        return entries_dict(self.campaign_id, self.entries, self.zone, self.summary())


@dataclass(frozen=True)
class ApplyResult:
    """What apply wrote: the plan's entries with their post ids, raced ones moved to ``locked``."""

    plan: Plan
    entries: tuple[PlanEntry, ...]
    wrote: bool

    def by_action(self, action: str) -> list[PlanEntry]:
        return [e for e in self.entries if e.action == action]

    def summary(self) -> str:
        return summarize({action: len(self.by_action(action)) for action in ACTIONS})

    def to_dict(self) -> dict[str, Any]:
        return entries_dict(self.plan.campaign_id, self.entries, self.plan.zone, self.summary())


def summarize(counts: Mapping[str, int]) -> str:
    """``3 new, 1 changed, 0 cancelled, 12 unchanged`` (``, 1 locked`` when there are any)."""
    text = (f"{counts.get(CREATED, 0)} new, {counts.get(CHANGED, 0)} changed, "
            f"{counts.get(CANCELLED, 0)} cancelled, {counts.get(UNCHANGED, 0)} unchanged")
    return text + (f", {counts[LOCKED]} locked" if counts.get(LOCKED) else "")


def entries_dict(campaign: str, entries: Sequence[PlanEntry], tz: ZoneInfo, summary: str) -> dict[str, Any]:
    shown: dict[str, Any] = {"campaign": campaign, "summary": summary}
    for action in ACTIONS:
        shown[action] = [e.to_dict(tz) for e in entries if e.action == action]
    return shown


# -- plan ----------------------------------------------------------------------------------------

# A recurring announcement's occurrence not in the file's window that plan leaves alone (past, or past
# the horizon): called with the row's announcement key and time (``promo.planning.campaign``).
Keep = Callable[[str, datetime], bool]


def plan(engine: Engine, campaign: CampaignLike, posts: Sequence[ScheduledPost], *,
         keep: Keep | None = None, slots: Mapping[str, SlotQueue] | None = None,
         now: datetime | None = None) -> Plan:
    """Compare a campaign's rendered posts with the ledger. Reads only.

    ``keep``: rows (and announcement records) outside the file's window it says to keep are neither
    cancelled nor removed: a recurring announcement's past occurrences, and those past the horizon.
    ``slots``: each account's queue, for ``at: next-slot`` announcements (``slot_queues``); each new
    next-slot post gets the slot apply would take at ``now`` (default: the current time)."""
    tz = zone(campaign.timezone)
    wanted = _index(campaign, posts)
    with Session(engine) as session:
        rows: dict[Identity, PostRow] = {}
        for row in session.scalars(select(PostRow).where(PostRow.campaign_id == campaign.id)
                                   .order_by(PostRow.id)):
            rows[(row.campaign_id, row.announcement, row.account)] = row  # the latest row wins
        stored_campaign = session.get(Campaign, campaign.id)
        stored = {a.key: a for a in session.scalars(
            select(Announcement).where(Announcement.campaign_id == campaign.id))}
        campaign_op = _campaign_op(campaign, stored_campaign)
        if keep is not None:
            stored = {k: a for k, a in stored.items() if not keep(k, a.scheduled_at)}
            rows = {i: r for i, r in rows.items() if i in wanted or not keep(r.announcement or "", r.scheduled_at)}
        announcement_ops = _announcement_ops(campaign, stored)
        rules = {a.key: rule_of(a) for a in campaign.announcements}
        found = decisions(session, [row.id for row in rows.values() if rules.get(row.announcement or "")])
        queued = {a.key for a in campaign.announcements if is_next_slot(a.scheduled_at)}
        entries = [_approval(_entry(identity, post, rows.get(identity), tz,
                                    (slots or {}).get(identity[2]) if identity[1] in queued else None),
                             rows.get(identity), rules.get(post.announcement or ""), found)
                   for identity, post in wanted.items()]
        file_keys = {a.key for a in campaign.announcements}
        entries += [gone for identity, row in rows.items() if identity not in wanted
                    if (gone := _gone(row, file_keys)) is not None]
        entries = _expect_slots(session, entries, now or utcnow())
    return Plan(campaign.id, campaign.name, campaign.timezone, str(campaign.source), campaign.digest,
                tuple(entries), campaign_op, tuple(announcement_ops))


def _expect_slots(session: Session, entries: list[PlanEntry], now: datetime) -> list[PlanEntry]:
    """Each new next-slot post with the slot apply would take now, after the posts before it (read-only)."""
    writing = [e for e in entries if e.action in (CREATED, CHANGED)]
    found = expected_slots(session, [(e.account, e.slot if e.slot_pending else None, e.scheduled_at)
                                     for e in writing], now + MARGIN)
    expected = {e.identity: at for e, at in zip(writing, found, strict=True) if at is not None}
    return [replace(e, expected_at=expected.get(e.identity)) if e.slot_pending else e for e in entries]


def _index(campaign: CampaignLike, posts: Sequence[ScheduledPost]) -> dict[Identity, ScheduledPost]:
    wanted: dict[Identity, ScheduledPost] = {}
    for post in posts:
        identity = (campaign.id, post.announcement, post.post.account)
        if identity in wanted:
            raise CampaignError(f"announcement {post.announcement!r} has two posts for account "
                                f"{post.post.account!r}", file=str(campaign.source), field="accounts")
        wanted[identity] = post
    return wanted


def _campaign_op(campaign: CampaignLike, stored: Any) -> str | None:
    if stored is None:
        return "insert"
    now = (campaign.name, campaign.timezone, str(campaign.source), campaign.digest)
    return None if now == (stored.name, stored.timezone, stored.source, stored.digest) else "update"


def _announcement_ops(campaign: CampaignLike, stored: Mapping[str, Any]) -> list[AnnouncementOp]:
    ops: list[AnnouncementOp] = []
    for item in campaign.announcements:
        rule = rule_of(item)
        state = AnnouncementState(item.key, item.kind, json_safe(dict(item.fields)), item.scheduled_at,
                                  rule.to_json() if rule else None)
        row = stored.get(item.key)
        if row is None:
            ops.append(("insert", state))
        elif (row.kind, row.fields, row.scheduled_at, row.removed, row.approval) != (
                state.kind, state.fields, state.scheduled_at, False, state.approval):
            ops.append(("update", state))
    file_keys = {a.key for a in campaign.announcements}
    for key, row in stored.items():
        if key not in file_keys and not row.removed:
            gone = AnnouncementState(key, row.kind, row.fields, row.scheduled_at)
            ops.append(("remove", gone))
    return ops


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """Fields as the JSON column will hand them back (dates become ISO text)."""
    return dict(json.loads(json.dumps(value, sort_keys=True, default=_json_default)))


def _json_default(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) and value.tzinfo else str(value)


def _entry(identity: Identity, post: ScheduledPost, row: PostRow | None, tz: ZoneInfo,
           slot: SlotQueue | None = None) -> PlanEntry:
    if slot is not None and row is not None:  # next-slot: the post keeps the slot it has
        post = replace(post, scheduled_at=from_storage(row.scheduled_at))
    base = PlanEntry(CREATED, identity[0], identity[1], identity[2], post.post.platform, post.scheduled_at,
                     scheduled=post, slot=slot)
    if row is None:
        return base
    known = replace(base, post_id=row.id, status=row.status, expected_digest=row.digest)
    same = post.digest == row.digest
    if row.status == states.CANCELLED:
        if same and not (row.reason or "").startswith(FILE_CANCEL):
            return replace(known, action=UNCHANGED)  # a person cancelled it: that sticks
        return replace(known, action=CREATED, post_id=None, replaces=row.id, expected_digest=None,
                       reason=f"replaces cancelled post {row.id}")
    known = replace(known, slot=None)  # an existing row keeps its time
    if same:
        return replace(known, action=UNCHANGED)
    changes = describe_changes(row, post, tz)
    if row.status in states.MAYBE_SENT:
        return replace(known, action=LOCKED, changes=changes,
                       reason=f"already {row.status}: this edit will not be sent")
    return replace(known, action=CHANGED, changes=changes)


def rule_of(announcement: AnnouncementLike) -> Policy | None:
    """The approval rule an announcement of ``promo.campaigns`` carries (None: none, or not required)."""
    rule = getattr(announcement, "approval", None)  # optional: campaigns built by hand may have none
    return rule if isinstance(rule, Policy) and rule.required else None


def _approval(entry: PlanEntry, row: PostRow | None, rule: Policy | None,
              found: Mapping[int, Sequence[Decision]]) -> PlanEntry:
    """Whether the post will wait for approval; an unchanged post whose rule now says otherwise changes."""
    scheduled = entry.scheduled
    if entry.action not in (CREATED, CHANGED, UNCHANGED) or scheduled is None:
        return entry
    waits = False
    if rule is not None:
        digest = approval_digest(scheduled.post.to_payload(), scheduled.scheduled_at, scheduled.not_before, rule)
        known = found.get(entry.post_id, ()) if entry.post_id is not None else ()
        waits = not standing(rule, digest, known).satisfied
    entry = replace(entry, approval=rule, awaiting=waits)
    if entry.action != UNCHANGED or row is None or row.status not in states.UNSENT:
        return entry
    if waits and row.status != states.AWAITING:
        return replace(entry, action=CHANGED, changes=(f"needs approval: {rule.describe() if rule else ''}",))
    if not waits and row.status == states.AWAITING:
        why = "approved" if rule is not None else "approval no longer required"
        return replace(entry, action=CHANGED, changes=(why,))
    return entry


def _gone(row: PostRow, file_keys: set[str]) -> PlanEntry | None:
    if row.status in (states.PUBLISHED, states.CANCELLED):
        return None
    why = "account dropped" if row.announcement in file_keys else "announcement removed"
    entry = PlanEntry(CANCELLED, row.campaign_id, row.announcement, row.account, row.platform,
                      row.scheduled_at, row.id, row.status, reason=why,
                      expected_digest=row.digest)
    if row.status in states.MAYBE_SENT:
        return replace(entry, action=LOCKED, reason=f"{why}, but already {row.status}: cannot cancel")
    return entry


def describe_changes(row: PostRow, post: ScheduledPost, tz: ZoneInfo) -> tuple[str, ...]:
    """What differs between the ledger row and the file, in words: ``time A -> B``, ``text``."""
    changes: list[str] = []
    old_time, new_time = row.scheduled_at, post.scheduled_at
    if old_time != new_time:
        changes.append(f"time {show_time(old_time, tz)} -> {show_time(new_time, tz)}")
    old_nb = row.not_before if row.not_before else None
    if old_nb != post.not_before:
        changes.append(f"not_before {show_time(old_nb, tz)} -> {show_time(post.not_before, tz)}")
    if row.max_lateness_s != post.max_lateness_s:
        changes.append(f"max_lateness {show_seconds(row.max_lateness_s)} -> {show_seconds(post.max_lateness_s)}")
    changes += post.post.differences(Post.from_payload(row.platform, row.account, row.payload))
    return tuple(changes)


def show_seconds(value: int | None) -> str:
    if value is None:
        return "none"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}s"
