"""Connected accounts' tokens, encrypted (issue 14): the ``account_tokens`` table.

``secret`` holds a Fernet token (``promo.store.tokens``) of the access and refresh tokens and the
platform's extras; nothing in it is readable without ``PROMO_SECRET_KEY``. The other columns are
what ``promo accounts`` shows (scopes, expiry, status) and the refresh lease.

Revision ID: 0005_tokens
Revises: 0004_processes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_tokens"
down_revision = "0004_processes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_tokens",
        sa.Column("account", sa.String(100), primary_key=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False, server_default=""),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifetime_s", sa.Integer(), nullable=True),
        sa.Column("refreshable", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("status", sa.String(16), nullable=False, server_default="connected"),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account", name="pk_account_tokens"),
    )


def downgrade() -> None:
    op.drop_table("account_tokens")
