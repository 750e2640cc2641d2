"""The history tables (schema revision 3; SQLAlchemy 2 typed ORM). Alembic migrations
(migrations/versions/) create and upgrade them; this module is what the store queries.

Times are stored in UTC (UTCDateTime): SQLite keeps them as naive ISO text, PostgreSQL as
timestamptz; both come back timezone-aware UTC. Lists and facts are JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC on every backend (naive input is taken as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        # SQLite's DATETIME is text without an offset: compare UTC to UTC
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # run | sweep
    playbook: Mapped[str] = mapped_column(Text)
    playbook_hash: Mapped[str] = mapped_column(String(64))
    inventory: Mapped[str] = mapped_column(Text)
    inventory_hash: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str | None] = mapped_column(Text, nullable=True)
    rerun: Mapped[str | None] = mapped_column(String(80), nullable=True)  # "failed@<uuid>" (rev 3)
    mode: Mapped[str] = mapped_column(String(16))
    vars_hash: Mapped[str] = mapped_column(String(64))
    operator: Mapped[str] = mapped_column(String(255))
    controller: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[str] = mapped_column(String(64))
    started: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # running (open) | finished | interrupted; "crashed" is never stored: the store derives it
    status: Mapped[str] = mapped_column(String(16))
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    host_count: Mapped[int] = mapped_column(Integer)


class HostRow(Base):
    __tablename__ = "host_results"
    __table_args__ = (
        UniqueConstraint("run_id", "host", "address", name="uq_host_results_run_host_address"),
        Index("ix_host_results_host", "host"),
        Index("ix_host_results_inventory_host", "inventory", "host"),
        Index("ix_host_results_finished", "finished"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255))
    inventory: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(32))
    codes: Mapped[list[str]] = mapped_column(JSON)
    titles: Mapped[list[str]] = mapped_column(JSON)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed: Mapped[bool] = mapped_column(Boolean)
    groups: Mapped[list[str]] = mapped_column(JSON)
    site: Mapped[str | None] = mapped_column(String(255), nullable=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    duration: Mapped[float] = mapped_column(Float)
    finished: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimRow(Base):
    """Which worker fixes a host of a run (issue 12's Celery workers): the first insert wins."""

    __tablename__ = "claims"
    __table_args__ = (UniqueConstraint("run_id", "host", "address", name="uq_claims_run_host_address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    host: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(255))
    worker: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
