"""Revision 3: runs.rerun, what a `--rerun` run re-ran ("failed@<uuid of the run it read>").

Before it the rerun set was written into the pattern column, which `--resume` then read as a
host pattern (and the user's own --limit was lost). Existing rows get NULL.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("rerun", sa.String(80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("rerun")
