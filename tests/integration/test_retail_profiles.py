"""Retail / home-PC activation failures over WinRM: retail_proxy, hardware_change, off_network.

The shipped windows-kms.yml (dry run, then --apply) and kms-health.yml against a lab fleet of those
profiles (en-US and ja-JP): each host gets its own diagnosis, no fix is planned or run, and nothing
changes on the lab hosts (never a KMS setting on retail, never an activation request to KMS).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
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

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = {
    "hosts": 6,
    "seed": 3,
    "password": "Lab-Passw0rd!",
    "locales": {"en-US": 50, "ja-JP": 50},
    "latency": "zero",
    "profiles": {"retail_proxy": 34, "hardware_change": 33, "off_network": 33},
    "office": 0,
}
TITLES = {
    "retail_proxy": "Cannot reach Microsoft activation (proxy/firewall)",
    "hardware_change": "Digital license lost after a hardware change",
    "off_network": "Off the corporate network: needs VPN",
}


async def _run(inv: Path, name: str, *, apply: bool = False, **extra: Any) -> dict[str, HostResult]:
    pb = Playbook.load(ROOT / "playbooks" / name)
    hosts = Inventory.load(inv, extra_vars=extra).select(pb.targets)
    result = await run_playbook(pb, hosts, RunOptions(apply=apply), credentials=CredentialResolver())
    return {h.host: h for h in result.hosts}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("retail")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        inv = lab.write_inventory(workdir / "inventory.yml")

        def snap() -> dict[str, Any]:
            async def take() -> dict[str, Any]:
                return {n: copy.deepcopy(dataclasses.asdict(h.state)) for n, h in lab.hosts.items()}

            return lab.call(take)

        before = snap()
        dry = asyncio.run(_run(inv, "windows-kms.yml"))
        health = asyncio.run(_run(inv, "kms-health.yml"))
        applied = asyncio.run(_run(inv, "windows-kms.yml", apply=True, kms_host="kms01.lab.test"))
        after = snap()
        requests = [r for k in lab.kms.values() for r in k.requests if r.activation_id]
        profiles = {h.name: h.profile for h in lab.hosts.values()}
        yield dry, health, applied, before, after, requests, profiles


def _titles(hr: HostResult) -> list[str]:
    return [d.title for d in hr.diagnosis]


def _facts(hr: HostResult) -> dict[str, Any]:
    return dict(hr.facts)


@pytest.mark.parametrize("profile", sorted(TITLES))
def test_profile_diagnosis_and_no_change(runs: Any, profile: str) -> None:
    dry, health, applied, before, after, requests, profiles = runs
    hosts = [n for n, p in profiles.items() if p == profile]
    assert hosts
    for name in hosts:
        for hr in (dry[name], health[name], applied[name]):
            assert hr.verdict == "failed", hr
            assert TITLES[profile] in _titles(hr), (name, _titles(hr))
            assert not hr.planned and not [s for s in hr.steps if s.phase == "fix"], hr
            assert "Firewall between host and KMS" not in _titles(hr)
        assert after[name] == before[name]  # nothing changed on the host
    assert requests == []  # no activation request ever reached the KMS host


def test_evidence_reaches_the_findings(runs: Any) -> None:
    dry, _health, _applied, _before, _after, _requests, profiles = runs
    for name, profile in profiles.items():
        hr, facts = dry[name], _facts(dry[name])
        finding = next(d for d in hr.diagnosis if d.title == TITLES[profile])
        if profile == "retail_proxy":
            assert facts["winhttp"]["proxy"] == "proxy.lab.test:8080"
            assert facts["ms_endpoint"]["reachable"] is False
            assert any("WinHTTP proxy: proxy.lab.test:8080" in e for e in finding.evidence)
            assert "netsh winhttp" in finding.action
        elif profile == "hardware_change":
            iid = facts["iid"]["installation_id"]
            assert len(iid) == 63 and iid.isdigit()
            assert any(iid in e for e in finding.evidence) and "slui 4" in finding.action
        else:
            assert facts["srv"]["error"] == "timeout" and facts["ms_endpoint"]["reachable"] is True
            assert facts["net_profile"]["domain_authenticated"] is False
            assert facts["vpn"]["connected"] is False and "VPN" in finding.action
