"""Teams: which run called a run as a tool, and the run at the top of its team.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00+00:00

Rows written before teams existed hold NULL in both (a run's next hand-over fills them) and
count as their own root. ``root_run_id`` is indexed: ``agentrun report`` gathers each team's
runs by it. Hand-written to match ``RunRow`` (``tests/store/test_migrations.py`` compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("parent_run_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("root_run_id", sa.String(), nullable=True))
    op.create_index("ix_runs_root_run_id", "runs", ["root_run_id"])


def downgrade() -> None:
    op.drop_index("ix_runs_root_run_id", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("root_run_id")
        batch.drop_column("parent_run_id")
