"""A rate-limit block and a credentials flag kept apart on ``account_state``.

Before this, one ``reason`` column held both: ``block()`` overwrote a credentials flag, and a flag
overwrote a block's reason. Now a 429 block is ``blocked_until`` + ``blocked_reason`` (it ends by
itself at ``blocked_until``), and a credentials flag is ``flagged_reason`` + ``flagged_at`` (a
passing ``promo accounts check`` or a successful publish clears it).

Existing reasons are carried over: a row with ``blocked_until`` set held a block's reason, unless
its text is a credentials refusal (a flag that overwrote it); a row without one held a flag.

Revision ID: 0003_account_flags
Revises: 0002_post_generation
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_account_flags"
down_revision = "0002_post_generation"
branch_labels = None
depends_on = None

_A_FLAG = "(blocked_until IS NULL OR reason LIKE '%refused the credentials%')"
_CARRY_OVER = [
    f"UPDATE account_state SET flagged_reason = reason, flagged_at = CURRENT_TIMESTAMP "
    f"WHERE reason IS NOT NULL AND {_A_FLAG}",
    f"UPDATE account_state SET blocked_reason = reason WHERE reason IS NOT NULL AND NOT {_A_FLAG}",
]


def upgrade() -> None:
    with op.batch_alter_table("account_state") as batch:
        batch.add_column(sa.Column("blocked_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("flagged_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
    for statement in _CARRY_OVER:
        op.execute(statement)
    with op.batch_alter_table("account_state") as batch:
        batch.drop_column("reason")


def downgrade() -> None:
    with op.batch_alter_table("account_state") as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=True))
    op.execute("UPDATE account_state SET reason = coalesce(flagged_reason, blocked_reason)")
    with op.batch_alter_table("account_state") as batch:
        batch.drop_column("flagged_at")
        batch.drop_column("flagged_reason")
        batch.drop_column("blocked_reason")
