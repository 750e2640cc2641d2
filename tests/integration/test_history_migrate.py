"""Upgrading history made by remediate 0.1 and creating a new database from 40 processes at once,
on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, create_engine, inspect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from remediate.history import migrate
from remediate.history.records import HostRecord, RunMeta
from remediate.history.store import Store


# remediate 0.1's model (remediate/output/store.py before issue 11), copied verbatim: its
# create_all made the databases that revision 0001 stands for.
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


def _old_database(url: str) -> None:
    engine = create_engine(url)
    _Base.metadata.create_all(engine)
    diag = [{"code": "0xC004F074", "title": "KMS unreachable"}, {"code": None, "title": "no SRV"}]
    with Session(engine) as s, s.begin():
        s.add_all(
            [
                RunRow(id=1, playbook="Windows KMS", mode="dry_run", started=1700000000.0,
                       finished=1700000060.0, interrupted=False, exit_code=2, host_count=2,
                       counts={"failed": 1, "compliant": 1}),
                RunRow(id=3, playbook="Windows KMS", mode="apply", started=1700100000.0,
                       finished=1700100005.5, interrupted=True, exit_code=130, host_count=1,
                       counts={"fixed": 1}),
            ]
        )  # fmt: skip
        s.flush()
        s.add_all(
            [
                HostRow(run_id=1, host="WIN-1", verdict="failed", diagnosis=diag, error="rc=1", duration=2.0),
                HostRow(run_id=1, host="WIN-2", verdict="compliant", diagnosis=[], error=None, duration=1.0),
                HostRow(run_id=3, host="WIN-1", verdict="fixed", diagnosis=[], error=None, duration=3.0),
            ]
        )
    engine.dispose()


def test_upgrade_from_the_01_schema_keeps_every_row(store_db: str) -> None:
    _old_database(store_db)
    store = Store.open(store_db, create=True)
    runs = store.runs()
    assert [(r.id, r.status, r.exit_code, r.mode, r.kind) for r in runs] == [
        (3, "interrupted", 130, "apply", "run"),
        (1, "finished", 2, "dry_run", "run"),
    ]
    old = runs[1]
    assert old.started == datetime.fromtimestamp(1700000000.0, UTC)
    assert old.finished == datetime.fromtimestamp(1700000060.0, UTC)
    assert old.counts == {"failed": 1, "compliant": 1} and old.host_count == 2
    assert old.playbook_hash == old.inventory_hash == old.vars_hash == "" and len(old.uuid) == 36
    win1 = store.host_records(host="WIN-1")
    assert [(h.run_id, h.verdict) for h in win1] == [(1, "failed"), (3, "fixed")]
    assert win1[0].codes == ("0xC004F074", "") and win1[0].titles == ("KMS unreachable", "no SRV")
    assert win1[0].error == "rc=1" and win1[0].duration == 2.0 and win1[0].address == "WIN-1"
    assert win1[0].finished == old.finished
    assert len(store.host_records()) == 3
    new = store.start_run(RunMeta("run", "pb", "", "/i", "", None, "dry_run", "", "ops", "ctl", "0.2", 1))
    assert new.id == 4  # after the kept ids (PostgreSQL's sequence moved past them)
    with store.engine.connect() as conn:
        assert migrate.current(conn) == migrate.head()
        assert not {"runs_v1", "host_results_v1"} & set(inspect(conn).get_table_names())
    store.close()
    again = Store.open(store_db, create=False)  # at head: opening again changes nothing
    assert len(again.runs()) == 3
    again.close()


def _writer(url: str, go: Any, out: Any) -> None:
    try:
        go.wait(60)  # all 40 open the brand-new database at the same moment
        s = Store.open(url, create=True)
        r = s.start_run(RunMeta("run", "pb", "", "/i", "", None, "dry_run", "", "ops", "ctl", "0.2", 1))
        s.record_host(r.id, HostRecord(r.id, "WIN-1", "WIN-1", "/i", "compliant", datetime.now(UTC)))
        s.finish_run(r.id, status="finished", exit_code=0)
        s.close()
        out.put("")
    except Exception as e:
        out.put(f"{type(e).__name__}: {e}")


def test_forty_processes_create_one_new_database(store_db: str) -> None:
    """remediate 0.1: 17 of 40 failed with `table runs already exists` (issue 11)."""
    ctx = multiprocessing.get_context("fork")  # cheap: the modules are imported already
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(store_db, go, out)) for _ in range(40)]
    for p in procs:
        p.start()
    go.set()
    errors = [out.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(60)
    assert [e for e in errors if e] == []
    store = Store.open(store_db, create=False)
    runs = store.runs()
    assert len(runs) == 40 and {r.status for r in runs} == {"finished"}
    assert len(store.host_records()) == 40
    store.close()


def test_record_host_is_cheap(store_db: str) -> None:
    """1000 hosts, one transaction each (docs/history.md quotes the figures)."""
    store = Store.open(store_db, create=True)
    meta = RunMeta("sweep", "pb", "", "/i", "", None, "dry_run", "", "ops", "ctl", "0.2", 1000)
    run = store.start_run(meta)
    facts = {"license.status": "Licensed", "license.remaining_minutes": 259200, "kms.host": "kms01:1688"}
    step = {"id": "license", "phase": "check", "rc": 0, "passed": True, "stdout": "x" * 2000, "stderr": ""}
    t0 = time.perf_counter()
    for i in range(1000):
        rec = HostRecord(run.id, f"WIN-{i:04d}", f"10.0.{i // 256}.{i % 256}", "/i", "compliant",
                         datetime.now(UTC), codes=("0xC004F074",), titles=("KMS",), facts=facts,
                         groups=("windows",), steps=(step,), duration=1.0)  # fmt: skip
        store.record_host(run.id, rec)
    per_host = (time.perf_counter() - t0) / 1000
    print(f"\nrecord_host on {store.engine.dialect.name}: {per_host * 1000:.2f} ms per host")
    assert len(store.recorded_hosts(run.id)) == 1000
    assert per_host < 0.05  # generous: ~1 ms on SQLite, ~2 ms on PostgreSQL on a CI runner
    store.close()
