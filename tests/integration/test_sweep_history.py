"""Compliance sweeps against the lab, recorded in the history store (SQLite and PostgreSQL):
the faults changed between sweeps show up, exactly, in drift, forecast and the report; a sweep
killed with SIGKILL keeps every host it finished and --resume completes it; a run that cannot
record its history says so in its exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from remediate.history.drift import drift
from remediate.history.forecast import forecast
from remediate.history.render import render_html
from remediate.history.report import build_report
from remediate.history.store import Store
from tests.conftest import LabFactory

PW = "Lab-Passw0rd!"


def _cli(*args: str, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "remediate.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,  # like cron: no terminal
    )


def _sweep(playbook: str, inv: Path, db: str, tmp: Path, name: str) -> subprocess.CompletedProcess[str]:
    r = _cli("sweep", playbook, "-i", str(inv), "--db", db, "--jsonl", str(tmp / f"{name}.jsonl"), cwd=tmp)
    assert r.returncode in (0, 2), r.stdout + r.stderr  # 2: non-compliant hosts found
    assert "recorded as run" in r.stdout, r.stdout
    return r


def _changes(report: Any, host: str, run_after: int) -> dict[str, tuple[Any, Any]]:
    """fact -> (before, after) of the host's drift event ending at run_after."""
    events = [e for e in report.events if e.host == host and e.run_after == run_after]
    assert len(events) <= 1
    return {
        c.fact + (f"[{c.label}]" if c.fact == "codes" else ""): (c.before, c.after)
        for e in events
        for c in e.changes
    }


@pytest.mark.timeout(600)
def test_sweeps_show_exactly_the_faults_changed_between_them(
    lab_factory: LabFactory, tmp_path: Path, store_db: str
) -> None:
    lab = lab_factory(
        {
            "hosts": 6,
            "seed": 3,
            "password": PW,
            "profiles": {"healthy": 100},
            "license_states": {"licensed": 50, "oob_grace": 50},
        }
    )
    inv = lab.write_inventory(tmp_path / "inv.yml")
    unlicensed = {h.name for h in lab.hosts.values() if h.license_state == "oob_grace"}
    licensed = set(lab.hosts) - unlicensed
    assert len(unlicensed) == 3 and len(licensed) == 3

    _sweep("windows-kms.yml", inv, store_db, tmp_path, "s1")  # run 1: the baseline
    kms = next(iter(lab.kms))
    lab.stop_kms(kms)
    _sweep("windows-kms.yml", inv, store_db, tmp_path, "s2")  # run 2: the KMS host is down
    lab.start_kms(kms)
    assert lab.dns.remove_srv() == 1
    _sweep("windows-kms.yml", inv, store_db, tmp_path, "s3")  # run 3: KMS back, its SRV record gone
    skewed = sorted(licensed)[0]
    _sweep("time-sync.yml", inv, store_db, tmp_path, "t1")  # run 4
    lab.hosts[skewed].emulated.state.clock_offset = timedelta(hours=5)
    _sweep("time-sync.yml", inv, store_db, tmp_path, "t2")  # run 5: one clock 5 h off

    store = Store.open(store_db, create=False)
    try:
        runs = store.runs()
        records = store.host_records()
    finally:
        store.close()
    assert [r.id for r in runs] == [5, 4, 3, 2, 1]
    for run in runs:
        assert (run.kind, run.status, run.mode, run.host_count) == ("sweep", "finished", "dry_run", 6)
        assert run.inventory == str(inv.resolve()) and len(run.inventory_hash) == 64
        assert len(run.playbook_hash) == 64 and run.operator and run.controller and run.version
        assert sum(run.counts.values()) == 6
    assert runs[4].playbook_hash == runs[2].playbook_hash != runs[0].playbook_hash
    assert len(records) == 30 and {(r.inventory, r.address) for r in records} == {
        (str(inv.resolve()), h.address) for h in lab.hosts.values()
    }

    now = datetime.now(UTC)
    report = drift(runs, records, now, since=timedelta(days=1))
    for host in licensed:  # licensed: only what the network did, never a verdict
        assert _changes(report, host, 2) == {"kms_port.reachable": (True, False)}
        srv = _changes(report, host, 3)
        assert set(srv) == {"kms_port.reachable", "srv.records"} and srv["srv.records"][1] == []
    for host in unlicensed:
        c2 = _changes(report, host, 2)
        assert c2["verdict"] == ("would_fix", "failed")
        assert c2["kms_port.reachable"] == (True, False)
        assert "0xC004F074" in c2["codes[new diagnosis codes]"][1]
        c3 = _changes(report, host, 3)
        assert "0x8007232B" in c3["codes[new diagnosis codes]"][1] and c3["srv.records"][1] == []
    # the time-sync runs are their own history: one host drifted, by its clock
    time_events = [e for e in report.events if e.run_after == 5]
    assert [e.host for e in time_events] == [skewed], report.to_dict()
    assert not [e for e in report.events if e.run_before in (3,) and e.run_after == 4]

    # between two runs (RUN_A RUN_B): the same as the window's step
    pair = drift(runs, records, now, run_a=1, run_b=2)
    assert {e.host for e in pair.events} == set(lab.hosts)

    fc = forecast(runs, records, now, days=30)
    assert {e.host for e in fc.entries} == unlicensed  # grace runs out; licensed KMS clients renew
    for e in fc.entries:
        assert now < e.expires_at <= now + timedelta(days=30)

    built = build_report(runs, records, now, since=timedelta(days=1))
    assert [(p.run_id, p.total) for p in built.series] == [(i, 6) for i in (1, 2, 3, 4, 5)]
    assert [p.compliant for p in built.series[:3]] == [3, 3, 3]  # grace hosts: would_fix, failed, would_fix
    page = render_html(built)
    assert page.count("<svg") >= 1
    for host in lab.hosts:
        assert host in page


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by the kill
            pass
    return out


@pytest.mark.timeout(600)
def test_kill_9_keeps_every_finished_host_and_resume_completes(
    lab_factory: LabFactory, tmp_path: Path, store_db: str
) -> None:
    lab = lab_factory(
        {"hosts": 12, "seed": 5, "password": PW, "profiles": {"healthy": 60, "slow": 40}, "slow_seconds": 0.4}
    )
    lab_hosts = set(lab.hosts)
    inv = lab.write_inventory(tmp_path / "inv.yml")
    jsonl = tmp_path / "killed.jsonl"
    cmd = [sys.executable, "-m", "remediate.cli", "sweep", "kms-health.yml", "-i", str(inv)]
    proc = subprocess.Popen(
        [*cmd, "--db", store_db, "--jsonl", str(jsonl), "--forks", "2"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while len(_lines(jsonl)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finished = {x["host"] for x in _lines(jsonl)}
    assert len(finished) >= 3

    store = Store.open(store_db, create=False)
    try:
        (run,) = store.runs()
        recorded = {r.host for r in store.host_records(run_id=run.id)}
    finally:
        store.close()
    assert run.status == "crashed" and run.exit_code is None
    assert finished <= recorded, "a host in the JSONL file is missing from the store"
    assert recorded < lab_hosts, "the kill came after the last host"

    r = _cli(
        *cmd[3:],
        "--db",
        store_db,
        "--resume",
        str(run.id),
        "--jsonl",
        str(tmp_path / "r.jsonl"),
        cwd=tmp_path,
    )
    assert r.returncode in (0, 2), r.stdout + r.stderr
    resumed = {x["host"] for x in _lines(tmp_path / "r.jsonl")}
    assert resumed == lab_hosts - recorded  # only the hosts the killed sweep had not finished

    store = Store.open(store_db, create=False)
    try:
        (again,) = store.runs()
        records = store.host_records(run_id=run.id)
    finally:
        store.close()
    assert (again.id, again.uuid, again.status, again.kind) == (run.id, run.uuid, "finished", "sweep")
    assert sorted(x.host for x in records) == sorted(lab_hosts)  # every host once
    assert again.exit_code == r.returncode

    # a finished run has nothing to resume: refused, nothing run
    r = _cli(*cmd[3:], "--db", store_db, "--resume", str(run.id), cwd=tmp_path)
    assert r.returncode == 1 and "nothing to resume" in r.stderr, r.stderr


@pytest.mark.timeout(300)
def test_a_run_that_cannot_record_exits_with_bit_8_after_its_other_outputs(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory({"hosts": 2, "seed": 4, "password": PW, "profiles": {"healthy": 100}})
    inv = lab.write_inventory(tmp_path / "inv.yml")
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    out = tmp_path / "run.json"
    r = _cli(
        "sweep",
        "kms-health.yml",
        "-i",
        str(inv),
        "--db",
        str(blocker / "h.db"),
        "--json",
        str(out),
        cwd=tmp_path,
    )
    assert r.returncode & 8, (r.returncode, r.stderr)  # exit 0 before: cron lost its history silently
    assert "history" in r.stderr and "not recorded" in r.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["hosts"], "the other outputs are still written"
