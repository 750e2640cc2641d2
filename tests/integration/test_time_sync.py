"""time-sync.yml on the lab: clock_skew hosts end `fixed`, then windows-kms.yml activates them.

The change window an admin runs for a KMS failure the product could only explain before (0xC004F06C:
"Clock skew"): windows-kms.yml dry (fails, Clock skew), time-sync.yml dry then --apply (w32time
started or pointed at the domain hierarchy, /resync against the lab DC), windows-kms.yml --apply.
The real engine, pywinrm and the lab's cmd/w32tm emulation, en-US and ja-JP hosts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from remediate.core.playbook import Playbook
from remediate.core.results import HostResult
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread
from remediate.lab.windows.state import LicenseStatus

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
TIME_SYNC = ROOT / "playbooks" / "time-sync.yml"
WINDOWS_KMS = ROOT / "playbooks" / "windows-kms.yml"
SPEC: dict[str, Any] = {
    "hosts": 10,
    "seed": 7,
    "password": "Lab-Passw0rd!",
    "locales": {"en-US": 50, "ja-JP": 50},
    "latency": "zero",
    "kms_hosts": [{"name": "kms01"}],
    "srv_records": ["kms01"],
    "profiles": {"clock_skew": 60},
    "channels": {"VOLUME_KMSCLIENT": 100},
    "office": 0,
}

Results = dict[str, HostResult]


@dataclass
class Window:
    lab: LabThread
    skewed: list[str]  # clock_skew host names
    stopped: list[str]  # of those, the ones whose w32time was stopped (the rest: NoSync)
    kms_before: Results
    time_dry: Results
    time_apply: Results
    time_again: Results
    kms_apply: Results


async def _run(inventory: Path, playbook: Path, *, apply: bool = False, **extra: Any) -> Results:
    pb = Playbook.load(playbook)
    inv = Inventory.load(inventory, extra_vars=extra)
    options = RunOptions(apply=apply, retry_backoff=0.05, retries=1)
    result = await run_playbook(pb, inv.select(pb.targets), options, credentials=CredentialResolver())
    return {h.host: h for h in result.hosts}


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Window]:
    workdir = tmp_path_factory.mktemp("time_sync")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        inv = lab.write_inventory(workdir / "inventory.yml")
        skewed = [h.name for h in lab.hosts_with("clock_skew")]
        stopped = [n for n in skewed if not lab.hosts[n].state.time_service_running]
        yield Window(
            lab,
            skewed,
            stopped,
            asyncio.run(_run(inv, WINDOWS_KMS)),
            asyncio.run(_run(inv, TIME_SYNC)),
            asyncio.run(_run(inv, TIME_SYNC, apply=True)),
            asyncio.run(_run(inv, TIME_SYNC)),
            asyncio.run(_run(inv, WINDOWS_KMS, apply=True)),
        )


def fixes(hr: HostResult) -> list[str]:
    return [s.id for s in hr.steps if s.phase == "fix"]


def test_fleet_has_both_kinds_of_drift_and_both_locales(window: Window) -> None:
    assert len(window.skewed) >= 4
    assert window.stopped and set(window.stopped) != set(window.skewed)  # stopped and NoSync hosts
    assert {window.lab.hosts[n].state.locale for n in window.skewed} == {"en-US", "ja-JP"}


def test_kms_explains_clock_skew_and_points_at_time_sync(window: Window) -> None:
    for name in window.skewed:
        hr = window.kms_before[name]
        assert hr.verdict == "failed" and hr.diagnosis[0].title == "Clock skew", hr
        assert "time-sync.yml" in hr.diagnosis[0].action


def test_dry_run_plans_the_fixes_for_each_cause(window: Window) -> None:
    for name in window.skewed:
        hr = window.time_dry[name]
        assert hr.verdict == "would_fix", hr
        causes = {d.cause_id for d in hr.diagnosis}
        planned = [p["id"] for p in hr.planned]
        assert "time.skew" in causes
        if name in window.stopped:
            assert "time.service_stopped" in causes and hr.facts["status"]["service_running"] is False
            assert planned == ["start-service", "set-domhier", "resync"]
        else:
            assert "time.no_source" in causes and hr.facts["config"]["type"] == "NoSync"
            assert hr.facts["status"]["source"] == "Local CMOS Clock"  # ja-JP labels parsed too
            assert planned == ["set-domhier", "resync"]
    for name, hr in window.time_dry.items():
        if name not in window.skewed:
            assert hr.verdict == "compliant", hr


def test_apply_fixes_the_clock_against_the_lab_dc(window: Window) -> None:
    for name in window.skewed:
        hr = window.time_apply[name]
        assert hr.verdict == "fixed", hr
        assert fixes(hr) == [p["id"] for p in window.time_dry[name].planned]
        state = window.lab.hosts[name].state
        assert state.clock_offset == timedelta(0) and state.time_service_running
        assert state.time_sync_type == "NT5DS"
        assert hr.facts["status"]["source"] == f"dc01.{state.domain}"
        assert abs(hr.facts["clock"]["skew_seconds"]) < 60
        assert window.time_again[name].verdict == "compliant"
    for name, hr in window.time_apply.items():
        if name not in window.skewed:
            assert hr.verdict == "compliant" and fixes(hr) == []


def test_windows_kms_then_activates_them(window: Window) -> None:
    for name in window.skewed:
        hr = window.kms_apply[name]
        assert hr.verdict == "fixed", hr
        assert fixes(hr) == ["activate"]
        win = window.lab.hosts[name].state.windows
        assert win is not None and win.status == LicenseStatus.LICENSED
