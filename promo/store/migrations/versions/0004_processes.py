"""Live processes: one heartbeat row per worker and beat (issue 12). Placeholder, filled in by its author.

Revision ID: 0004_processes
Revises: 0003_account_flags
"""

from __future__ import annotations

revision = "0004_processes"
down_revision = "0003_account_flags"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
