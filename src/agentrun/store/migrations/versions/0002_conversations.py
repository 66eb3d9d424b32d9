"""Conversations: every run's model messages, shared by all workers.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00+00:00

Hand-written to match ``ConversationMessageRow`` (``tests/store/test_migrations.py`` compares the
two). No foreign key to ``runs`` and no index beyond the primary key: see the model's docstring.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_messages",
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "idx"),
    )


def downgrade() -> None:
    op.drop_table("conversation_messages")
