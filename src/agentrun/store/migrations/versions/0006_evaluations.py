"""Evaluations: each run of a dataset against an agent version, and each case's scored run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:00:00+00:00

Hand-written to match ``EvaluationRow`` and ``EvaluationCaseRow`` (``tests/store/
test_migrations.py`` compares them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", sa.String(), nullable=False),
        sa.Column("agent", sa.String(), nullable=False),
        sa.Column("version", sa.String(), nullable=False),
        sa.Column("dataset", sa.String(), nullable=False),
        sa.Column("dataset_digest", sa.String(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("passed", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("evaluation_id"),
    )
    op.create_index(
        "ix_evaluations_agent_version", "evaluations", ["agent", "version", "dataset_digest"]
    )
    op.create_table(
        "evaluation_cases",
        sa.Column("evaluation_id", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("failure_category", sa.String(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("evaluation_id", "case_id"),
    )


def downgrade() -> None:
    op.drop_table("evaluation_cases")
    op.drop_index("ix_evaluations_agent_version", table_name="evaluations")
    op.drop_table("evaluations")
