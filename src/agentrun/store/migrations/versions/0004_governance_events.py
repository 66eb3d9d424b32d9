"""Governance events: every policy decision and every refused review decision of a run.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 00:00:00+00:00

Hand-written to match ``GovernanceEventRow`` (``tests/store/test_migrations.py`` compares the two).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "governance_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("checkpoint", sa.String(), nullable=True),
        sa.Column("verdict", sa.String(), nullable=True),
        sa.Column("rule_id", sa.String(), nullable=True),
        sa.Column("policy_id", sa.String(), nullable=True),
        sa.Column("policy_version", sa.String(), nullable=True),
        sa.Column("policy_digest", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("tool", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
            name="fk_governance_events_run_id",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("run_id", "event_id", name="uq_governance_events_run_event"),
    )


def downgrade() -> None:
    op.drop_table("governance_events")
