"""Estate profiles over the real transports: Office store damage (opt-in repair), Click-to-Run /
Microsoft 365, ADBA, and clones sharing one CMID (a fleet-level finding in the recap and JSON).

One lab fleet goes through windows-kms.yml and office-kms.yml via remediate.app (the wiring the
CLI uses): dry, apply without the opt-in, then apply with repair_office_store=true.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from remediate import app
from remediate.console import Console
from remediate.core.results import HostResult, RunResult
from remediate.engine import RunOptions
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread
from remediate.lab.windows.state import LicenseStatus

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
WINDOWS_KMS = ROOT / "playbooks" / "windows-kms.yml"
OFFICE_KMS = ROOT / "playbooks" / "office-kms.yml"
SPEC: dict[str, Any] = {
    "hosts": 10,
    "seed": 5,
    "password": "Lab-Passw0rd!",
    "latency": "zero",
    "profiles": {"office_store_damage": 20, "office_c2r": 20, "adba": 20, "cloned_cmid": 20},
    "office": 0,
}
State = dict[str, dict[str, Any]]


@dataclass
class Window:
    lab: LabThread
    profiles: dict[str, str]
    before: State
    win_dry: RunResult
    win_json: dict[str, Any]
    office_dry: RunResult
    win_apply: RunResult
    office_apply: RunResult  # without the opt-in
    after_no_opt_in: State
    office_repair_dry: RunResult
    office_repair: RunResult  # repair_office_store=true
    after_repair: State

    def names(self, profile: str) -> list[str]:
        return sorted(n for n, p in self.profiles.items() if p == profile)


def snapshot(lab: LabThread) -> State:
    async def take() -> State:
        return {n: copy.deepcopy(dataclasses.asdict(h.state)) for n, h in lab.hosts.items()}

    return lab.call(take)


def _run(
    inv: Path, playbook: Path, *, apply: bool = False, json_out: Path | None = None, **extra: Any
) -> RunResult:
    targets = app.load(playbook, inv, extra_vars=[f"{k}={v}" for k, v in extra.items()])
    options = RunOptions(apply=apply, retry_backoff=0.05, retries=1)
    return asyncio.run(app.run(targets, options, app.Outputs(json=json_out)))


@pytest.fixture(scope="module")
def window(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Window]:
    work = tmp_path_factory.mktemp("estate")
    with LabThread(FleetSpec.from_dict(SPEC), work) as lab:
        inv = lab.write_inventory(work / "inventory.yml")
        before = snapshot(lab)
        win_dry = _run(inv, WINDOWS_KMS, json_out=work / "win.json")
        office_dry = _run(inv, OFFICE_KMS)
        win_apply = _run(inv, WINDOWS_KMS, apply=True)
        office_apply = _run(inv, OFFICE_KMS, apply=True)
        after_no_opt_in = snapshot(lab)
        repair_dry = _run(inv, OFFICE_KMS, repair_office_store="true")
        repair = _run(inv, OFFICE_KMS, apply=True, repair_office_store="true")
        yield Window(
            lab,
            {n: h.profile for n, h in lab.hosts.items()},
            before,
            win_dry,
            json.loads((work / "win.json").read_text(encoding="utf-8")),
            office_dry,
            win_apply,
            office_apply,
            after_no_opt_in,
            repair_dry,
            repair,
            snapshot(lab),
        )


def by_host(run: RunResult) -> dict[str, HostResult]:
    return {h.host: h for h in run.hosts}


def causes(h: HostResult) -> set[str]:
    return {d.cause_id for d in h.diagnosis if d.cause_id}


def planned(h: HostResult) -> list[str]:
    return [p["id"] for p in h.planned]


def test_nothing_changes_without_the_opt_in(window: Window) -> None:
    assert window.after_no_opt_in == window.before
    for run in (window.win_dry, window.win_apply, window.office_dry, window.office_apply):
        for h in run.hosts:
            assert planned(h) == [], (h.host, h.planned)


def test_office_store_damage_is_diagnosed_and_repaired_only_when_asked(window: Window) -> None:
    names = window.names("office_store_damage")
    assert names
    dry, apply_plain = by_host(window.office_dry), by_host(window.office_apply)
    for n in names:
        d = dry[n]
        assert "office.store_permissions" in causes(d)
        finding = next(x for x in d.diagnosis if x.cause_id == "office.store_permissions")
        assert finding.code == "0x80070005" and not finding.automatable
        assert "repair_office_store=true" in finding.action
        assert d.facts["office_store_acl"]["network_service_full"] is False
        assert d.facts["osppsvc"]["state"] == "stopped"
        assert apply_plain[n].verdict == "failed" and not apply_plain[n].changed
    rdry, repaired = by_host(window.office_repair_dry), by_host(window.office_repair)
    for n in names:
        assert planned(rdry[n]) == ["repair-office-store", "activate-office"]
        assert repaired[n].verdict == "fixed", repaired[n].error
        state = window.after_repair[n]
        assert state["office_store_broken"] is False
        assert all(p["status"] == LicenseStatus.LICENSED for i in state["office"] for p in i["products"])
    # the opt-in touched only the damaged stores
    others = [n for n in window.profiles if n not in names]
    assert all(window.after_repair[n] == window.before[n] for n in others)


def test_c2r_and_m365_are_labelled_and_left_alone(window: Window) -> None:
    dry = by_host(window.office_dry)
    names = window.names("office_c2r")
    assert names
    for n in names:
        assert causes(dry[n]) & {"office.retail_grace", "office.subscription"}, dry[n].diagnosis
        assert not any(c.startswith("kms.") for c in causes(dry[n]))
        assert window.after_repair[n] == window.before[n]


def test_adba_is_labelled_and_gets_no_kms_fix(window: Window) -> None:
    dry = by_host(window.win_dry)
    names = window.names("adba")
    assert names
    for n in names:
        assert window.before[n]["windows"]["activated_by"] == "ad"
        windows = dry[n].facts["license"]["products"][0]
        assert windows["activated_by"] == "ad", windows  # read from slmgr /dli's AD activation lines
        # licensed by AD: compliant, nothing planned; not licensed, it would be labelled (unit tests)
        assert dry[n].verdict == "compliant" or "activation.adba" in causes(dry[n])
        assert planned(by_host(window.win_apply)[n]) == []
        assert window.after_repair[n] == window.before[n]


def test_duplicate_cmid_is_a_fleet_finding_in_json_and_recap(window: Window) -> None:
    clones = window.names("cloned_cmid")
    assert len(clones) >= 2
    cmid = window.before[clones[0]]["client_machine_id"]
    found = [f for f in window.win_dry.fleet_findings if f.code == "kms.duplicate_cmid"]
    assert [sorted(f.hosts) for f in found] == [clones]
    assert cmid in found[0].cause and "sysprep /generalize" in found[0].action
    report = window.win_json["fleet_findings"]
    assert [sorted(f["hosts"]) for f in report if f["code"] == "kms.duplicate_cmid"] == [clones]
    out = io.StringIO()
    Console(out, plain=True).recap(window.win_dry)
    text = out.getvalue()
    assert "FLEET" in text and cmid in text and all(n in text for n in clones)
    # the clones themselves are healthy: one host's facts cannot show it
    assert all(by_host(window.win_dry)[n].verdict == "compliant" for n in clones)
