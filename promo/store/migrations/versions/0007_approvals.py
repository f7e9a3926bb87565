"""Approvals bound to the payload (issue 16): the ``approvals`` table, ``announcements.approval``
and room for the ``awaiting_approval`` state.

- ``approvals``: one row per person's decision (approved or rejected) on one post's payload, with
  the approval digest and the payload decided on.
- ``announcements.approval``: the approval rule the announcement's posts are held to (JSON; NULL
  for none), written by ``promo apply``.
- ``posts.status``, ``events.from_status`` and ``events.to_status`` widen from 16 to 32 characters
  on PostgreSQL (``awaiting_approval`` is 17; widening a VARCHAR rewrites nothing there). SQLite
  does not enforce a VARCHAR's length: its columns are left as they are (``tables.STATE``), since
  rebuilding ``posts`` would break ``events``' foreign key.

Revision ID: 0007_approvals
Revises: 0005_tokens
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_approvals"
down_revision = "0005_tokens"
branch_labels = None
depends_on = None

_STATES = (("posts", "status", False), ("events", "from_status", True), ("events", "to_status", True))


def upgrade() -> None:
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("approver", sa.String(254), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name="fk_approvals_post_id_posts"),
    )
    op.create_index("ix_approvals_post_id_id", "approvals", ["post_id", "id"])
    with op.batch_alter_table("announcements") as batch:
        batch.add_column(sa.Column("approval", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for table, column, nullable in _STATES:
            op.alter_column(table, column, type_=sa.String(32), existing_type=sa.String(16),
                            existing_nullable=nullable)


def downgrade() -> None:
    # an unapproved post must not be sent by a promo that knows no approvals: held, for a person
    op.execute("UPDATE posts SET status = 'held', reason = 'awaiting approval when promo was downgraded' "
               "WHERE status = 'awaiting_approval'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE events SET from_status = 'held' WHERE from_status = 'awaiting_approval'")
        op.execute("UPDATE events SET to_status = 'held' WHERE to_status = 'awaiting_approval'")
        for table, column, nullable in _STATES:
            op.alter_column(table, column, type_=sa.String(16), existing_type=sa.String(32),
                            existing_nullable=nullable)
    with op.batch_alter_table("announcements") as batch:
        batch.drop_column("approval")
    op.drop_index("ix_approvals_post_id_id", table_name="approvals")
    op.drop_table("approvals")
