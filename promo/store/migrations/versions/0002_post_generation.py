"""One live post per campaign, announcement and account: ``posts.generation`` and a unique index.

A campaign's post for one account is numbered by ``generation``: 0 for the first row, and one more
for each row that replaces a cancelled one. ``(campaign_id, announcement, account, generation)`` is
unique, so two ``promo apply`` runs racing to create the same post cannot both insert it (the loser
reports it as created by the other). Existing rows are numbered in id order, so a store that
already holds a doubled post still upgrades. Ad hoc posts (no campaign) are never constrained.

Revision ID: 0002_post_generation
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_post_generation"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

_NUMBER_IN_ID_ORDER = """
UPDATE posts SET generation = (
    SELECT count(*) FROM posts AS older
    WHERE older.campaign_id = posts.campaign_id AND older.announcement = posts.announcement
      AND older.account = posts.account AND older.id < posts.id)
WHERE campaign_id IS NOT NULL
"""


def upgrade() -> None:
    op.add_column("posts", sa.Column("generation", sa.Integer(), server_default="0", nullable=False))
    op.execute(_NUMBER_IN_ID_ORDER)
    op.drop_index("ix_posts_campaign_id_announcement_account", table_name="posts")
    op.create_index("ix_posts_campaign_id_announcement_account_generation", "posts",
                    ["campaign_id", "announcement", "account", "generation"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_posts_campaign_id_announcement_account_generation", table_name="posts")
    op.create_index("ix_posts_campaign_id_announcement_account", "posts",
                    ["campaign_id", "announcement", "account"], unique=False)
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("generation")
