"""Revision 2: the compliance-sweep schema (issue 11).

runs gain a UUID, kind, inventory, hashes, operator, controller, pid, version and a status;
host_results become one row per (run, host, address) with codes, titles, tracked facts, groups,
site and step outcomes; claims is new. Old rows are kept: a run becomes kind "run", status
finished (or interrupted), its unknown hashes ""; each host keeps host, verdict, diagnosis
(as codes/titles), error and duration, with address = host and finished = its run's end.
Row ids are kept, so `--run 3` still names the same run.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from remediate.history.schema import UTCDateTime

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

_BATCH = 1000


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(float(epoch), UTC)


def _create_new() -> tuple[sa.Table, sa.Table]:
    runs = op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("playbook", sa.Text, nullable=False),
        sa.Column("playbook_hash", sa.String(64), nullable=False),
        sa.Column("inventory", sa.Text, nullable=False),
        sa.Column("inventory_hash", sa.String(64), nullable=False),
        sa.Column("pattern", sa.Text, nullable=True),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("vars_hash", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(255), nullable=False),
        sa.Column("controller", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("started", UTCDateTime, nullable=False),
        sa.Column("finished", UTCDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("host_count", sa.Integer, nullable=False),
    )
    op.create_index("ix_runs_started", "runs", ["started"])
    hosts = op.create_table(
        "host_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("inventory", sa.Text, nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("codes", sa.JSON, nullable=False),
        sa.Column("titles", sa.JSON, nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("changed", sa.Boolean, nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.Column("site", sa.String(255), nullable=True),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("finished", UTCDateTime, nullable=False),
        sa.UniqueConstraint("run_id", "host", "address", name="uq_host_results_run_host_address"),
    )
    op.create_index("ix_host_results_host", "host_results", ["host"])
    op.create_index("ix_host_results_inventory_host", "host_results", ["inventory", "host"])
    op.create_index("ix_host_results_finished", "host_results", ["finished"])
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False),
        sa.Column("claimed_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("run_id", "host", "address", name="uq_claims_run_host_address"),
    )
    assert runs is not None and hosts is not None
    return runs, hosts


def upgrade() -> None:
    # The old tables step aside (their index names are reused by the new ones), the new ones are
    # filled from them, then they go. One transaction on both backends (see migrate.py).
    op.drop_index("ix_host_results_run_id", "host_results")
    op.drop_index("ix_host_results_host", "host_results")
    op.rename_table("host_results", "host_results_v1")
    op.rename_table("runs", "runs_v1")
    runs, hosts = _create_new()
    bind = op.get_bind()
    old_runs = sa.table(
        "runs_v1",
        *(sa.column(c) for c in ("id", "playbook", "mode", "started", "finished", "interrupted")),
        *(sa.column(c) for c in ("exit_code", "host_count")),
    )
    old_hosts = sa.table(
        "host_results_v1",
        *(sa.column(c) for c in ("id", "run_id", "host", "verdict", "error", "duration")),
        sa.column("diagnosis", sa.JSON),
    )
    ends: dict[int, datetime] = {}
    batch: list[dict[str, Any]] = []
    for r in bind.execute(sa.select(old_runs).order_by(old_runs.c.id)).mappings():
        started = _when(r["started"]) or datetime.fromtimestamp(0, UTC)
        finished = _when(r["finished"])
        ends[r["id"]] = finished or started
        batch.append(
            {
                "id": r["id"], "uuid": str(uuid.uuid4()), "kind": "run", "playbook": r["playbook"],
                "playbook_hash": "", "inventory": "", "inventory_hash": "", "pattern": None,
                "mode": r["mode"], "vars_hash": "", "operator": "", "controller": "", "pid": None,
                "version": "", "started": started, "finished": finished,
                "status": "interrupted" if r["interrupted"] else "finished",
                "exit_code": r["exit_code"], "host_count": r["host_count"],
            }
        )  # fmt: skip
        if len(batch) >= _BATCH:
            bind.execute(runs.insert(), batch)
            batch = []
    if batch:
        bind.execute(runs.insert(), batch)
    batch = []
    for h in bind.execute(sa.select(old_hosts).order_by(old_hosts.c.id)).mappings():
        diagnosis = h["diagnosis"] or []
        batch.append(
            {
                "run_id": h["run_id"], "host": h["host"], "address": h["host"], "inventory": "",
                "verdict": h["verdict"],
                "codes": [str(d.get("code") or "") for d in diagnosis],
                "titles": [str(d.get("title") or "") for d in diagnosis],
                "facts": {}, "error": h["error"], "changed": False, "groups": [], "site": None,
                "steps": [], "duration": h["duration"] or 0.0,
                "finished": ends.get(h["run_id"], datetime.fromtimestamp(0, UTC)),
            }
        )  # fmt: skip
        if len(batch) >= _BATCH:
            bind.execute(hosts.insert(), batch)
            batch = []
    if batch:
        bind.execute(hosts.insert(), batch)
    op.drop_table("host_results_v1")
    op.drop_table("runs_v1")
    if bind.dialect.name == "postgresql":  # explicit ids were inserted: move the sequence past them
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('runs', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                " FROM runs"
            )
        )


def downgrade() -> None:
    raise NotImplementedError("remediate's history is upgraded only; restore a backup to go back")
