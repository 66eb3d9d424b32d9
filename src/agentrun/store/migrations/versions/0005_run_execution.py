"""The execution a run's record belongs to: a run id runs once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 00:00:00+00:00

A second Temporal execution under a finished run's id (a client that allows duplicate workflow
ids) must not run its tools again nor write over the first one's record; PREPARING compares the
execution asking with this column. Rows written before it hold NULL, which a run's next hand-over
fills. Hand-written to match ``RunRow`` (``tests/store/test_migrations.py`` compares the two).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("execution_id", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("execution_id")
