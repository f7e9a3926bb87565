"""The tables. Times are aware datetimes, stored as UTC and read back aware
(``Stamp``), on SQLite and PostgreSQL alike.

- ``campaigns``      one row per applied campaign file
- ``announcements``  the campaign's records as last applied (``removed`` when dropped from the file)
- ``posts``          the ledger: one row per post per account, idempotency key fixed at creation
- ``events``         append-only log of every transition and action
- ``account_state``  per-account ``blocked_until`` (a 429, ends by itself), credentials flag and
                     rate-limit window, shared by all workers
- ``holds``          active pauses (all / campaign / account)
- ``meta``           small key/value facts (last dispatch time)
- ``processes``      one heartbeat row per live worker and beat (``promo.store.heartbeats``)
- ``account_tokens`` connected accounts' tokens, encrypted (``promo.store.tokens``), with a refresh lease
- ``approvals``      each approval or rejection of a post: who, when, the payload digest and the payload
                     (``promo.store.approvals``)
- ``notifications``  lifecycle notifications for ``[notify.NAME]`` webhooks and their delivery attempts
                     (``promo.store.notifications``)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A post state (``promo.store.states``): ``awaiting_approval`` needs 17 characters. PostgreSQL's
# columns were widened to 32 (0007_approvals); SQLite does not enforce a VARCHAR's length, so its
# files keep the 16 they were created with.
STATE = String(32).with_variant(String(16), "sqlite")



class Stamp(TypeDecorator[datetime]):
    """An aware datetime stored as UTC and read back aware, on every database.

    SQLite keeps no offset, so a value written in another zone would read back shifted: every
    write is converted to UTC here, once, and a naive value is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime written to the store")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)



class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: Stamp()}


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)   # slug from the file
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text, default="")             # file path as applied
    digest: Mapped[str] = mapped_column(String(64), default="")       # sha256 of the file
    applied_at: Mapped[datetime]


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (UniqueConstraint("campaign_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"))
    key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scheduled_at: Mapped[datetime]
    removed: Mapped[bool] = mapped_column(default=False)
    # the approval rule its posts are held to (``promo.store.approvals.Policy``); None: no approval
    approval: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class PostRow(Base):
    """One post for one account: the ledger row the engine moves through its states."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        # the dispatcher's claim: WHERE status = 'scheduled' AND due_at <= :horizon ORDER BY due_at
        Index("ix_posts_status_due_at", "status", "due_at"),
        # one live post per campaign, announcement and account: two applies cannot both create it
        Index("ix_posts_campaign_id_announcement_account_generation",
              "campaign_id", "announcement", "account", "generation", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(ForeignKey("campaigns.id"), default=None)
    announcement: Mapped[str | None] = mapped_column(String(100), default=None)  # key; None for ad hoc
    kind: Mapped[str] = mapped_column(String(64), default="generic")
    account: Mapped[str] = mapped_column(String(100))
    # 0 for the campaign's first row for this announcement and account, +1 for each replacing a cancelled one
    generation: Mapped[int] = mapped_column(default=0, server_default="0")
    platform: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]                       # Post.to_payload(): the exact text and media
    digest: Mapped[str] = mapped_column(String(64))       # sha256 of payload + times, for apply's diff
    status: Mapped[str] = mapped_column(STATE, default="scheduled")
    scheduled_at: Mapped[datetime]                        # when the campaign wants it out
    due_at: Mapped[datetime]                              # when the dispatcher may next claim it
    not_before: Mapped[datetime | None] = mapped_column(default=None)    # embargo
    max_lateness_s: Mapped[int | None] = mapped_column(default=None)     # late-post policy, seconds
    attempt_id: Mapped[str | None] = mapped_column(String(32), default=None)  # fence of the current try
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)   # queued/publishing deadline
    journal: Mapped[dict[str, Any]] = mapped_column(default=dict)        # adapter notes mid-publish
    platform_id: Mapped[str | None] = mapped_column(String(200), default=None)
    url: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)       # last error, readable
    published_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Event(Base):
    """Append-only: never updated, never deleted."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_post_id_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), default=None)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))          # created, claimed, published, cancelled...
    from_status: Mapped[str | None] = mapped_column(STATE, default=None)
    to_status: Mapped[str | None] = mapped_column(STATE, default=None)
    attempt_id: Mapped[str | None] = mapped_column(String(32), default=None)
    actor: Mapped[str] = mapped_column(String(64), default="")  # cli, dispatcher, worker@host, sweeper
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AccountState(Base):
    __tablename__ = "account_state"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
    window_start: Mapped[datetime | None] = mapped_column(default=None)
    window_count: Mapped[int] = mapped_column(default=0)
    blocked_reason: Mapped[str | None] = mapped_column(Text, default=None)  # why blocked_until (a 429)
    flagged_reason: Mapped[str | None] = mapped_column(Text, default=None)  # credentials refused: for a person
    flagged_at: Mapped[datetime | None] = mapped_column(default=None)


class Hold(Base):
    """An active pause. scope is 'all', 'campaign' or 'account'; value is its id ('' for all)."""

    __tablename__ = "holds"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")


class Meta(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountToken(Base):
    """A connected account's tokens: ``secret`` is a Fernet token (``promo.store.tokens``), never plain text.

    The rest is what may be shown: scopes, expiry, status (``connected`` or ``needs-reconnect``).
    ``version`` grows with every write (a process rebuilds its adapter when it changes);
    ``lease_owner``/``lease_until`` let one process at a time refresh the account.
    """

    __tablename__ = "account_tokens"

    account: Mapped[str] = mapped_column(String(100), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    secret: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    lifetime_s: Mapped[int | None] = mapped_column(default=None)
    refreshable: Mapped[bool] = mapped_column(default=False)  # promo can renew it without a person
    status: Mapped[str] = mapped_column(String(16), default="connected")
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    version: Mapped[int] = mapped_column(default=1)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    connected_at: Mapped[datetime]
    refreshed_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime]


class Process(Base):
    """A live worker or beat: upserted every ``interval_s`` seconds, deleted on a clean stop.

    A process killed with SIGKILL leaves its row; it is alive while ``last_seen`` is within
    ``heartbeats.LIVENESS_BEATS`` of its own interval (``heartbeats.alive``).
    """

    __tablename__ = "processes"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)       # worker, beat
    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)
    pid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(255), default="")             # Celery's node name (promo-12@host)
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    interval_s: Mapped[float] = mapped_column(Float)                       # seconds between its beats
    concurrency: Mapped[int | None] = mapped_column(default=None)          # a worker's pool processes
    version: Mapped[str] = mapped_column(String(64), default="")           # promo's version


class Approval(Base):
    """One person's decision on one post's payload: append-only, like ``events``.

    ``digest`` is the approval digest (``promo.store.approvals.approval_digest``): the payload, and
    its times when the rule says ``on_time_change``. ``payload`` and ``scheduled_at`` are what was
    decided on, so ``promo review`` can draw what changed since.
    """

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_post_id_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    approver: Mapped[str] = mapped_column(String(254))                    # an email address, lower case
    decision: Mapped[str] = mapped_column(String(16))                     # approved, rejected
    digest: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    scheduled_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class Notification(Base):
    """One lifecycle notification for one subscription (``[notify.NAME]``): the outbox the beat delivers.

    ``delivery_id`` is the ``webhook-id``, the same on every retry; ``history`` is each attempt
    (``at``, ``status_code``, ``error``, ``next_attempt_at``), the newest last (``promo.store.notifications``).
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("delivery_id"),
        UniqueConstraint("subscription", "event_id", "type"),  # two beats deriving one event write it once
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(64))
    subscription: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(40))                         # post.published, campaign.applied...
    event_id: Mapped[int] = mapped_column(Integer)                        # the events row it was derived from
    payload: Mapped[dict[str, Any]]                                       # {type, timestamp, data}
    status: Mapped[str] = mapped_column(String(16), default="pending")    # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
