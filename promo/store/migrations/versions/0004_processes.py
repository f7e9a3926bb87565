"""Live processes: one heartbeat row per worker and beat (issue 12), the ``processes`` table.

Each worker and beat upserts its row every ``heartbeat_interval`` seconds and deletes it on a clean
stop; a process killed with SIGKILL leaves a row whose ``last_seen`` goes stale
(``promo.store.heartbeats``). ``promo status`` and ``promo metrics`` read it.

Revision ID: 0004_processes
Revises: 0003_account_flags
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_processes"
down_revision = "0003_account_flags"
branch_labels = None
depends_on = None

Stamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "processes",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("started_at", Stamp, nullable=False),
        sa.Column("last_seen", Stamp, nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("kind", "hostname", "pid", name="pk_processes"),
    )


def downgrade() -> None:
    op.drop_table("processes")
