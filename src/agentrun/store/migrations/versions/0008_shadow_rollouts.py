"""Shadow rollouts: an agent's routing may copy requests to the candidate instead of sending
them there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00+00:00

Hand-written to match ``RolloutRow.shadow`` (``tests/store/test_migrations.py`` compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rollouts") as batch:
        # A server default: rows written before shadows existed were plain splits.
        batch.add_column(
            sa.Column("shadow", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("rollouts") as batch:
        batch.drop_column("shadow")
