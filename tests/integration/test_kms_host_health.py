"""kms-host-health.yml over WinRM on the lab's KMS hosts, and a client of a below-threshold host.

kms01 behaves `ok` (count 50); kms02 is `below_threshold` (count starts at 3, grows per client).
The SRV record names kms02, so the fleet's Windows clients (N-policy 25) ask it and fail with
0xC004F038; the host-health run then shows kms02's count (3 + those clients) below 25:
kms_host.count_low with its count; kms01 is compliant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
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

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = {
    "hosts": 4,
    "seed": 11,
    "password": "Lab-Passw0rd!",
    "latency": "zero",
    "kms_hosts": [{"name": "kms01"}, {"name": "kms02", "behaviour": "below_threshold"}],
    "srv_records": ["kms02"],
    "profiles": {"healthy": 100},
    "channels": {"VOLUME_KMSCLIENT": 100},
    "license_states": {"oob_grace": 100},
    "os_versions": {"win10": 50, "win11": 50},
    "office": 0,
}


def _run(inventory: Path, name: str, limit: str | None = None, apply: bool = False) -> dict[str, HostResult]:
    pb = Playbook.load(ROOT / "playbooks" / name)
    inv = Inventory.load(inventory)
    hosts = inv.select(limit or pb.targets)
    options = RunOptions(apply=apply, retries=1, retry_backoff=0.05)
    result = asyncio.run(run_playbook(pb, hosts, options, credentials=CredentialResolver()))
    return {h.host: h for h in result.hosts}


@pytest.fixture(scope="module")
def lab_inv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabThread, Path]]:
    workdir = tmp_path_factory.mktemp("kms_host_health")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        yield lab, lab.write_inventory(workdir / "inventory.yml")


def test_inventory_has_the_kms_hosts_outside_windows(lab_inv: tuple[LabThread, Path]) -> None:
    lab, inv = lab_inv
    children = lab.inventory()["all"]["children"]
    assert sorted(children["kms_hosts"]["hosts"]) == ["KMS01", "KMS02"]
    assert not set(children["kms_hosts"]["hosts"]) & set(children["windows"]["hosts"])
    assert [h.name for h in Inventory.load(inv).select("windows")] == sorted(lab.hosts)


def test_clients_of_a_below_threshold_host_fail_count_too_low(lab_inv: tuple[LabThread, Path]) -> None:
    lab, inv = lab_inv
    results = _run(inv, "windows-kms.yml", apply=True)  # slmgr /ato asks kms02 (the SRV target)
    assert results and all(r.verdict == "failed" for r in results.values()), results
    for r in results.values():
        titles = [d.title for d in r.diagnosis]
        assert "KMS count too low" in titles, (r.host, titles)
        assert any(d.code == "0xC004F038" for d in r.diagnosis)
    asked = [q for q in lab.kms["kms02"].requests if q.activation_id]  # not the TCP 1688 probes
    assert len(asked) == len(lab.hosts) and all(q.answer.startswith("ERR 0xC004F038") for q in asked)
    assert all(q.n_policy == 25 for q in asked)  # Windows 10/11 clients need 25


def test_kms_host_health_diagnoses_the_low_count(lab_inv: tuple[LabThread, Path]) -> None:
    lab, inv = lab_inv
    _run(inv, "windows-kms.yml", apply=True)  # clients ask (again): the count reflects distinct machines only
    results = _run(inv, "kms-host-health.yml")
    assert sorted(results) == ["KMS01", "KMS02"]
    ok, low = results["KMS01"], results["KMS02"]
    assert ok.verdict == "compliant", [(d.title, d.cause) for d in ok.diagnosis]
    assert ok.facts["kms_service"]["kms_host"]["current_count"] == 50
    count = lab.kms["kms02"].current_count
    assert count == 3 + len(lab.hosts) < 25
    host = low.facts["kms_service"]["kms_host"]
    assert host["enabled"] and host["current_count"] == count and host["port"] == 1688
    assert host["dns_publishing"] is True and host["csvlk"]["channel"] == "VOLUME_KMS_WS22"
    assert low.facts["sppsvc"]["state"] == "running"
    asked = [q for q in lab.kms["kms02"].requests if q.activation_id]
    assert len(low.facts["kms_events"]["events"]) == len(asked)
    assert low.verdict == "failed"
    found = {d.cause_id: d for d in low.diagnosis}
    assert set(found) == {"kms_host.count_low"}, found
    assert f"Current count: {count} (needs 25)" in found["kms_host.count_low"].evidence


def test_stopped_service_and_disabled_publishing_are_diagnosed(lab_inv: tuple[LabThread, Path]) -> None:
    lab, inv = lab_inv
    lab.kms["kms01"].dns_publishing = False
    lab.stop_kms("kms01")
    try:
        results = _run(inv, "kms-host-health.yml", limit="KMS01")
    finally:
        lab.kms["kms01"].dns_publishing = True
        lab.start_kms("kms01")
    causes = {d.cause_id for d in results["KMS01"].diagnosis}
    assert causes == {"kms_host.service_stopped", "kms_host.not_publishing"}, causes
