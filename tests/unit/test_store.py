"""The history store (remediate/history/store.py) on SQLite and PostgreSQL (store_db runs each
test on both): runs opened first and closed last, hosts written one by one, filters, prune,
claims, the derived crashed status, and reads that never create anything."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from remediate.history.records import HostRecord, RunMeta
from remediate.history.schema import RunRow
from remediate.history.store import HistoryError, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def meta(**kw: Any) -> RunMeta:
    base: dict[str, Any] = {
        "kind": "sweep", "playbook": "windows-kms.yml", "playbook_hash": "p" * 64,
        "inventory": "/inv/prod.yml", "inventory_hash": "i" * 64, "pattern": None, "mode": "dry_run",
        "vars_hash": "v" * 64, "operator": "ops", "controller": "ctl01", "version": "0.1.0",
        "host_count": 2,
    }  # fmt: skip
    return RunMeta(**{**base, **kw})


def host(run_id: int, name: str, verdict: str = "compliant", **kw: Any) -> HostRecord:
    kw.setdefault("address", name.lower() + ".corp")
    kw.setdefault("inventory", "/inv/prod.yml")
    kw.setdefault("finished", datetime.now(UTC))
    return HostRecord(run_id=run_id, host=name, verdict=verdict, **kw)


def set_started(store: Store, run_id: int, when: datetime) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(RunRow).where(RunRow.id == run_id).values(started=when))


@pytest.fixture
def store(store_db: str) -> Any:
    s = Store.open(store_db, create=True)
    yield s
    s.close()


def test_run_lifecycle_and_hosts(store: Store) -> None:
    run = store.start_run(meta())
    assert run.status == "running" and run.finished is None and run.exit_code is None
    assert len(run.uuid) == 36 and run.kind == "sweep" and run.inventory == "/inv/prod.yml"
    facts = {"license.products": [{"name": "Windows", "status": "Notification"}], "kms.port": 1688}
    store.record_host(
        run.id,
        host(run.id, "WIN-1", "failed", codes=("0xC004F074",), titles=("KMS unreachable",), facts=facts,
             error="rc=1", changed=True, groups=("windows", "paris"), site="paris", duration=1.5),
    )  # fmt: skip
    store.record_host(run.id, host(run.id, "WIN-2"))
    assert store.recorded_hosts(run.id) == {("WIN-1", "win-1.corp"), ("WIN-2", "win-2.corp")}
    store.finish_run(run.id, status="finished", exit_code=2)
    got = store.run(run.id)
    assert got.status == "finished" and got.exit_code == 2 and got.finished is not None
    assert got.counts == {"failed": 1, "compliant": 1} and got.host_count == 2
    first = store.host_records(run_id=run.id)[0]
    assert first.host == "WIN-1" and first.codes == ("0xC004F074",) and first.facts == facts
    assert first.groups == ("windows", "paris") and first.site == "paris" and first.changed
    assert first.error == "rc=1" and first.duration == 1.5 and first.finished.tzinfo is not None


def test_run_by_id_uuid_and_prefix(store: Store) -> None:
    a = store.start_run(meta())
    assert store.run(a.id).uuid == a.uuid
    assert store.run(str(a.id)).id == a.id
    assert store.run(a.uuid).id == a.id and store.run(a.uuid[:8].upper()).id == a.id
    with pytest.raises(HistoryError, match="no run '999'"):
        store.run(999)
    with pytest.raises(HistoryError, match="no run"):
        store.run("zz%")


def test_same_host_name_in_two_inventories_kept_apart(store: Store) -> None:
    run = store.start_run(meta())
    store.record_host(run.id, host(run.id, "WIN-0004", inventory="/inv/a.yml", address="10.0.0.4"))
    store.record_host(run.id, host(run.id, "WIN-0004", "failed", inventory="/inv/b.yml", address="10.1.0.4"))
    assert [r.verdict for r in store.host_records(inventory="/inv/b.yml")] == ["failed"]
    assert len(store.host_records(host="WIN-0004")) == 2


def test_record_host_again_replaces(store: Store) -> None:
    run = store.start_run(meta())
    store.record_host(run.id, host(run.id, "WIN-1", "unreachable"))
    store.record_host(run.id, host(run.id, "WIN-1", "compliant"))  # a retried worker task
    assert [r.verdict for r in store.host_records(run_id=run.id)] == ["compliant"]


def test_steps_cut_per_stream(store_db: str) -> None:
    store = Store.open(store_db, create=True, step_bytes=100)
    run = store.start_run(meta())
    step = {"id": "license", "phase": "check", "rc": 0, "stdout": "é" * 1000, "stderr": "short"}
    store.record_host(run.id, host(run.id, "WIN-1", steps=(step,)))
    [got] = store.host_records(run_id=run.id)[0].steps
    assert got["stderr"] == "short" and got["rc"] == 0
    kept, note = got["stdout"].split("\n")
    assert kept == "é" * 50 and "1900 more bytes not stored" in note
    store.close()


def test_filters_and_order(store: Store) -> None:
    old = store.start_run(meta(kind="run", inventory="/inv/lab.yml"))
    mid = store.start_run(meta(playbook="other.yml"))
    new = store.start_run(meta())
    set_started(store, old.id, T0 - timedelta(days=10))
    set_started(store, mid.id, T0 - timedelta(days=3))
    set_started(store, new.id, T0)
    for r in (old, mid, new):
        store.record_host(r.id, host(r.id, "WIN-1", inventory=store.run(r.id).inventory))
    assert [r.id for r in store.runs()] == [new.id, mid.id, old.id]
    assert [r.id for r in store.runs(limit=1)] == [new.id]
    assert [r.id for r in store.runs(since=T0 - timedelta(days=5))] == [new.id, mid.id]
    assert [r.id for r in store.runs(kind="run")] == [old.id]
    assert [r.id for r in store.runs(inventory="/inv/lab.yml")] == [old.id]
    assert [r.id for r in store.runs(playbook="other.yml")] == [mid.id]
    assert [h.run_id for h in store.host_records(host="WIN-1")] == [old.id, mid.id, new.id]
    assert [h.run_id for h in store.host_records(since=T0 - timedelta(days=5))] == [mid.id, new.id]
    assert [h.run_id for h in store.host_records(inventory="/inv/lab.yml")] == [old.id]


def test_prune(store: Store) -> None:
    old = store.start_run(meta())
    new = store.start_run(meta())
    set_started(store, old.id, T0 - timedelta(days=200))
    store.record_host(old.id, host(old.id, "WIN-1"))
    assert store.claim(old.id, "WIN-1", "win-1.corp", "w1")
    store.record_host(new.id, host(new.id, "WIN-1"))
    assert store.prune(T0 - timedelta(days=180)) == 1
    assert [r.id for r in store.runs()] == [new.id]
    assert [h.run_id for h in store.host_records()] == [new.id]
    assert store.prune(T0 - timedelta(days=180)) == 0


def test_claim_once_under_contention(store: Store) -> None:
    run = store.start_run(meta())
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        wins.append(store.claim(run.id, "WIN-1", "10.0.0.1", f"worker-{i}"))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert store.claim(run.id, "WIN-1", "10.0.0.2", "worker-0")  # another address: its own claim


def test_crashed_status(store_db: str) -> None:
    import socket

    store = Store.open(store_db, create=True, stale_after=timedelta(minutes=30))
    here = store.start_run(meta(controller=socket.gethostname()))
    assert store.run(here.id).status == "running"  # this process is alive
    with store.engine.begin() as conn:  # a pid that does not exist (above pid_max)
        conn.execute(update(RunRow).where(RunRow.id == here.id).values(pid=2**22 + 7))
    assert store.run(here.id).status == "crashed"
    away = store.start_run(meta(controller="another-controller"))
    assert store.run(away.id).status == "running"  # started just now
    set_started(store, away.id, datetime.now(UTC) - timedelta(hours=2))
    assert store.run(away.id).status == "crashed"  # no host for 2 h
    store.record_host(away.id, host(away.id, "WIN-1"))
    assert store.run(away.id).status == "running"  # a host written just now
    store.finish_run(here.id, status="interrupted", exit_code=130)
    assert store.run(here.id).status == "interrupted"
    store.close()


def test_resume_reopens_the_run(store: Store) -> None:
    first = store.start_run(meta(controller="elsewhere"))
    store.record_host(first.id, host(first.id, "WIN-1"))
    with pytest.raises(HistoryError, match="still running"):
        store.start_run(meta(uuid=first.uuid, controller="elsewhere"))
    store.finish_run(first.id, status="interrupted", exit_code=130)
    again = store.start_run(meta(uuid=first.uuid))
    assert again.id == first.id and again.status == "running" and again.exit_code is None
    assert store.recorded_hosts(again.id) == {("WIN-1", "win-1.corp")}
    assert len(store.runs()) == 1


def test_finish_unknown_run(store: Store) -> None:
    with pytest.raises(HistoryError, match="no run 42"):
        store.finish_run(42, status="finished", exit_code=0)


def test_read_never_creates_sqlite(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="no history database at /nonexistent/dir/x.db"):
        Store.open("sqlite:////nonexistent/dir/x.db", create=False)
    assert not os.path.exists("/nonexistent")
    missing = tmp_path / "sub" / "h.db"
    with pytest.raises(HistoryError, match="no history database"):
        Store.open(str(missing), create=False)
    assert not (tmp_path / "sub").exists()
    missing.parent.mkdir()
    missing.touch()  # a file with no tables: still nothing recorded, and none are created
    with pytest.raises(HistoryError, match="has no remediate history"):
        Store.open(str(missing), create=False)
    assert missing.stat().st_size == 0


def test_read_never_creates_postgresql(pg_cluster: Any) -> None:
    pg_cluster.sql("CREATE DATABASE empty_read")
    with pytest.raises(HistoryError, match="has no remediate history"):
        Store.open(pg_cluster.url("empty_read"), create=False)
    s = Store.open(pg_cluster.url("empty_read"), create=True)
    assert s.runs() == []  # created now: the read above left no half schema behind
    s.close()
    with pytest.raises(HistoryError, match="cannot open the history database"):
        Store.open(pg_cluster.url("no_such_db"), create=False)


def test_create_then_read(store_db: str) -> None:
    w = Store.open(store_db, create=True)
    run = w.start_run(meta())
    w.close()
    r = Store.open(store_db, create=False)
    assert r.run(run.uuid).id == run.id
    r.close()
