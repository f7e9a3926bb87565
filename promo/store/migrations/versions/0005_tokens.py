"""Connected accounts' tokens, encrypted (issue 14). Placeholder, filled in by its author.

Revision ID: 0005_tokens
Revises: 0004_processes
"""

from __future__ import annotations

revision = "0005_tokens"
down_revision = "0004_processes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
