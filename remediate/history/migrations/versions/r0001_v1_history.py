"""Revision 1: the history schema of remediate 0.1 (remediate/output/store.py), exactly.

A database that code made (tables, no alembic_version) is stamped at this revision before the
upgrade, so its rows go through revision 2's migration.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("playbook", sa.String(300), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("started", sa.Float, nullable=False),
        sa.Column("finished", sa.Float, nullable=True),
        sa.Column("interrupted", sa.Boolean, nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=False),
        sa.Column("host_count", sa.Integer, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_table(
        "host_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("diagnosis", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration", sa.Float, nullable=False),
    )
    op.create_index("ix_host_results_run_id", "host_results", ["run_id"])
    op.create_index("ix_host_results_host", "host_results", ["host"])


def downgrade() -> None:
    op.drop_table("host_results")
    op.drop_table("runs")
