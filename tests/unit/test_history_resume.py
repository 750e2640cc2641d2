"""--resume reads the store: one resumer per crashed run, a Ctrl-C'd run's never-started hosts are
run, a changed inventory is refused (on SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import update

from remediate.history.errors import HistoryError
from remediate.history.records import HostRecord, RunInfo, RunMeta
from remediate.history.schema import RunRow
from remediate.history.session import NOT_STARTED, WORKER_LOST, plan_resume
from remediate.history.store import Store
from remediate.inventory.model import Host

DEAD_PID = 2**22 + 12345  # above Linux's pid_max default: no such process


def _meta(**kw: Any) -> RunMeta:
    base = dict(
        kind="sweep", playbook="/pb.yml", playbook_hash="a" * 64, inventory="/inv.yml",
        inventory_hash="b" * 64, pattern=None, mode="dry_run", vars_hash="c" * 64,
        operator="op", controller="ctl", version="0.1.0", host_count=4,
    )  # fmt: skip
    base.update(kw)
    return RunMeta(**base)  # type: ignore[arg-type]


def _hosts(n: int) -> list[Host]:
    return [Host(f"H{i}", {"ansible_host": f"10.0.0.{i}"}, ["windows"]) for i in range(n)]


def _record(run: RunInfo, host: Host, verdict: str, error: str | None = None) -> HostRecord:
    return HostRecord(
        run_id=run.id, host=host.name, address=host.address, inventory=run.inventory,
        verdict=verdict, finished=datetime.now(UTC), error=error,
    )  # fmt: skip


def _crashed(store: Store, meta: RunMeta) -> RunInfo:
    """A run left open by a process that is gone (kill -9)."""
    run = store.start_run(meta)
    with store.engine.begin() as conn:
        conn.execute(
            update(RunRow).where(RunRow.id == run.id).values(pid=DEAD_PID, controller=meta.controller)
        )
    return run


def test_two_resumers_of_one_crashed_run_one_wins(store_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setattr(socket, "gethostname", lambda: "ctl")  # the run's controller is this machine
    store = Store.open(store_db, create=True)
    run = _crashed(store, _meta())
    assert store.run(run.id).status == "crashed"
    store.close()

    barrier = threading.Barrier(2)
    original = Store._infos

    def read_then_wait(self: Store, q: Any) -> list[RunInfo]:
        out = original(self, q)
        if getattr(local, "first", True) and "uuid" in str(q):
            local.first = False
            barrier.wait(timeout=10)  # both have judged the run crashed before either takes it
        return out

    local = threading.local()
    monkeypatch.setattr(Store, "_infos", read_then_wait)
    results: dict[int, str] = {}

    def resumer(n: int) -> None:
        s = Store.open(store_db, create=True)
        try:
            s.start_run(dataclasses.replace(_meta(), uuid=run.uuid))
            results[n] = "took it"
        except HistoryError as e:
            results[n] = f"refused: {e}"
        finally:
            s.close()

    threads = [threading.Thread(target=resumer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results.values())[1] == "took it", results  # before: both took it
    assert sorted(results.values())[0].startswith("refused"), results


def test_resume_runs_the_hosts_ctrl_c_kept_from_starting_and_those_a_lost_worker_left(store_db: str) -> None:
    hosts = _hosts(4)
    store = Store.open(store_db, create=True)
    run = store.start_run(_meta())
    store.record_host(run.id, _record(run, hosts[0], "compliant"))
    store.record_host(run.id, _record(run, hosts[1], "skipped", NOT_STARTED))  # what Ctrl-C records
    store.record_host(run.id, _record(run, hosts[2], "failed", WORKER_LOST + ": no answer"))
    store.finish_run(run.id, status="interrupted", exit_code=130)
    store.close()
    plan = plan_resume(store_db, str(run.id), hosts, meta=_meta())
    assert [h.name for h in plan.todo] == ["H1", "H2", "H3"]  # before: H1 was kept as done
    assert [h.host for h in plan.done] == ["H0"]


def test_resume_refuses_a_changed_inventory(store_db: str) -> None:
    store = Store.open(store_db, create=True)
    run = store.start_run(_meta())
    store.finish_run(run.id, status="interrupted", exit_code=130)
    store.close()
    with pytest.raises(HistoryError, match="inventory contents"):
        plan_resume(store_db, run.uuid, _hosts(4), meta=_meta(inventory_hash="d" * 64))
    with pytest.raises(HistoryError, match="--rerun"):
        plan_resume(store_db, run.uuid, _hosts(4), meta=_meta(rerun="failed@x"))
    assert plan_resume(store_db, run.uuid, _hosts(4), meta=_meta()).todo  # the same plan: accepted


def test_a_rerun_run_keeps_its_pattern_and_records_what_it_reran(store_db: str) -> None:
    store = Store.open(store_db, create=True)
    run = store.start_run(_meta(pattern="tokyo", rerun="failed@1234"))
    got = store.run(run.id)
    store.close()
    assert (got.pattern, got.rerun) == ("tokyo", "failed@1234")


@pytest.mark.parametrize("text", ["800000d", "1000000000", "9999999999999w"])
def test_a_duration_past_a_century_is_a_clear_error(text: str) -> None:
    from remediate.core.errors import ConfigError
    from remediate.history.durations import parse_duration

    with pytest.raises(ConfigError, match="--since"):  # before: OverflowError (a traceback)
        parse_duration(text, option="--since")


def test_histories_stream_each_host_window_after_its_baselines(store_db: str) -> None:
    """drift/forecast/report read one host at a time: its records in the window, after its
    latest record before it and its latest reachable one, never the whole history (before: every
    record of every run, step outputs included, was loaded: 1.1 GB for 2,000 hosts x 60 runs)."""
    store = Store.open(store_db, create=True)
    hosts = _hosts(3)
    runs = []
    for i in range(12):
        run = store.start_run(_meta())
        runs.append(run)
        for h in hosts:
            # H2 is unreachable from run 5 on (a VPN-less home PC)
            verdict = "unreachable" if (h.name == "H2" and i >= 5) else "compliant"
            store.record_host(run.id, _record(run, h, verdict))
        store.finish_run(run.id, status="finished", exit_code=0)
    with store.engine.begin() as conn:  # run i started i days ago... oldest first
        for i, run in enumerate(runs):
            conn.execute(
                update(RunRow).where(RunRow.id == run.id).values(started=datetime(2026, 1, 1 + i, tzinfo=UTC))
            )
    since = datetime(2026, 1, 9, tzinfo=UTC)  # runs 8..11 are in the window
    got = {h[0].host: [r.run_id for r in h] for h in store.histories(since=since)}
    store.close()
    ids = [r.id for r in runs]
    assert got["H0"] == [ids[7], *ids[8:]]  # its last record before the window, then the window
    assert got["H2"] == [ids[4], ids[7], *ids[8:]]  # + its last reachable record (run 4)


def test_a_database_from_a_newer_remediate_is_refused_clearly(store_db: str) -> None:
    from sqlalchemy import text

    store = Store.open(store_db, create=True)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.close()
    for create in (False, True):  # before: alembic's "Can't locate revision" traceback
        with pytest.raises(HistoryError, match="newer than this remediate knows"):
            Store.open(store_db, create=create)


def test_a_short_number_is_a_row_id_never_a_uuid_prefix(store_db: str) -> None:
    store = Store.open(store_db, create=True)
    run = store.start_run(_meta(uuid="99900000-0000-4000-8000-000000000000"))
    try:
        with pytest.raises(HistoryError, match="no run '999'"):  # before: run 1, by its UUID's start
            store.run("999")
        assert store.run(run.uuid[:8]).id == run.id
    finally:
        store.close()
