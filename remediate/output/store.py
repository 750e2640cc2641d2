"""Run history: one row per run, one per host (verdict, diagnosis, error). SQLAlchemy 2.0.

SQLite by default at $REMEDIATE_DB (a path or a URL) or ~/.local/share/remediate/history.db;
PostgreSQL (or anything SQLAlchemy speaks) by URL, e.g. postgresql+psycopg://user@db/remediate.
Only verdicts, diagnosis codes/titles and redacted error lines are stored: never stdout, facts
or secrets. Scheduled compliance sweeps use this to answer "since when is WIN-0042 failing?".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, create_engine, func, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from remediate.core.results import RunResult


def default_url() -> str:
    env = os.environ.get("REMEDIATE_DB")
    if env:
        return env if "://" in env else f"sqlite:///{Path(env).expanduser()}"
    return f"sqlite:///{Path.home() / '.local/share/remediate/history.db'}"


class _Base(DeclarativeBase):
    pass


class RunRow(_Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    playbook: Mapped[str] = mapped_column(String(300))
    mode: Mapped[str] = mapped_column(String(16))
    started: Mapped[float] = mapped_column(Float)
    finished: Mapped[float | None] = mapped_column(Float, nullable=True)
    interrupted: Mapped[bool] = mapped_column(default=False)
    exit_code: Mapped[int] = mapped_column(Integer)
    host_count: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


class HostRow(_Base):
    __tablename__ = "host_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    diagnosis: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{code, title}]
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    duration: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class RunSummary:
    id: int
    playbook: str
    mode: str
    started: datetime
    duration: float | None
    interrupted: bool
    exit_code: int
    host_count: int
    counts: dict[str, int]


def _summary(r: RunRow) -> RunSummary:
    return RunSummary(
        id=r.id,
        playbook=r.playbook,
        mode=r.mode,
        started=datetime.fromtimestamp(r.started, UTC),
        duration=None if r.finished is None else r.finished - r.started,
        interrupted=r.interrupted,
        exit_code=r.exit_code,
        host_count=r.host_count,
        counts=dict(r.counts),
    )


class Store:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_url()
        parsed = make_url(self.url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url)
        _Base.metadata.create_all(self.engine)

    def __repr__(self) -> str:  # the URL may carry a database password
        return f"Store({make_url(self.url).render_as_string(hide_password=True)!r})"

    def record(self, run: RunResult) -> int:
        """Store one run (already redacted by the engine); returns its id."""
        with Session(self.engine) as s, s.begin():
            row = RunRow(
                playbook=run.playbook,
                mode=run.mode,
                started=run.started,
                finished=run.finished,
                interrupted=run.interrupted,
                exit_code=run.exit_code(),
                host_count=len(run.hosts),
                counts=run.counts(),
            )
            s.add(row)
            s.flush()
            s.add_all(
                HostRow(
                    run_id=row.id,
                    host=h.host,
                    verdict=h.verdict,
                    diagnosis=[{"code": d.code, "title": d.title} for d in h.diagnosis],
                    error=h.error,
                    duration=h.duration,
                )
                for h in run.hosts
            )
            return row.id

    def runs(self, limit: int = 20) -> list[RunSummary]:
        """Most recent first."""
        with Session(self.engine) as s:
            rows = s.scalars(select(RunRow).order_by(RunRow.started.desc(), RunRow.id.desc()).limit(limit))
            return [_summary(r) for r in rows]

    def hosts(self, run_id: int) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(HostRow).where(HostRow.run_id == run_id).order_by(HostRow.host))
            return [
                {
                    "host": r.host,
                    "verdict": r.verdict,
                    "diagnosis": r.diagnosis,
                    "error": r.error,
                    "duration": r.duration,
                }
                for r in rows
            ]

    def host_history(self, host: str, limit: int = 20) -> list[dict[str, Any]]:
        """One host's verdicts across runs, most recent first."""
        with Session(self.engine) as s:
            q = (
                select(HostRow, RunRow)
                .join(RunRow, HostRow.run_id == RunRow.id)
                .where(HostRow.host == host)
                .order_by(RunRow.started.desc())
                .limit(limit)
            )
            return [
                {
                    "run_id": r.id,
                    "playbook": r.playbook,
                    "mode": r.mode,
                    "started": datetime.fromtimestamp(r.started, UTC).isoformat(),
                    "verdict": h.verdict,
                    "diagnosis": h.diagnosis,
                    "error": h.error,
                }
                for h, r in s.execute(q)
            ]

    def count(self) -> int:
        with Session(self.engine) as s:
            return int(s.scalar(select(func.count()).select_from(RunRow)) or 0)

    def close(self) -> None:
        self.engine.dispose()


def dump(summary: RunSummary) -> str:
    return json.dumps({**summary.__dict__, "started": summary.started.isoformat()})
