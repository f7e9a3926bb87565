"""The initial schema: campaigns, announcements, the post ledger, its event log, account state,
holds and meta. Written out by hand to match ``promo.store.tables`` exactly (a test compares them).

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    _campaigns()
    _announcements()
    _posts()
    _events()
    _engine_state()


def _campaigns() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("applied_at", Stamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaigns"),
    )


def _announcements() -> None:
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", Stamp, nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"],
                                name="fk_announcements_campaign_id_campaigns"),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
        sa.UniqueConstraint("campaign_id", "key", name="uq_announcements_campaign_id_key"),
    )


def _posts() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("campaign_id", sa.String(length=100), nullable=True),
        sa.Column("announcement", sa.String(length=100), nullable=True),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", Stamp, nullable=False),
        sa.Column("due_at", Stamp, nullable=False),
        sa.Column("not_before", Stamp, nullable=True),
        sa.Column("max_lateness_s", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", Stamp, nullable=True),
        sa.Column("journal", sa.JSON(), nullable=False),
        sa.Column("platform_id", sa.String(length=200), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("published_at", Stamp, nullable=True),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("updated_at", Stamp, nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], name="fk_posts_campaign_id_campaigns"),
        sa.PrimaryKeyConstraint("id", name="pk_posts"),
        sa.UniqueConstraint("idempotency_key", name="uq_posts_idempotency_key"),
    )
    op.create_index("ix_posts_campaign_id_announcement_account", "posts",
                    ["campaign_id", "announcement", "account"], unique=False)
    op.create_index("ix_posts_status_due_at", "posts", ["status", "due_at"], unique=False)


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=True),
        sa.Column("at", Stamp, nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("attempt_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name="fk_events_post_id_posts"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_post_id_id", "events", ["post_id", "id"], unique=False)


def _engine_state() -> None:
    op.create_table(
        "account_state",
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("blocked_until", Stamp, nullable=True),
        sa.Column("window_start", Stamp, nullable=True),
        sa.Column("window_count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account", name="pk_account_state"),
    )
    op.create_table(
        "holds",
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("created_at", Stamp, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "value", name="pk_holds"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )


def downgrade() -> None:
    for table in ("meta", "holds", "account_state", "events", "posts", "announcements", "campaigns"):
        op.drop_table(table)
