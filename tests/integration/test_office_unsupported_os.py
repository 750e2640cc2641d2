"""kms-health.yml over WinRM flags Office 2013/2010 on Windows 11 (Microsoft's support matrix).

The lab fleet: MSI Office 2013 (Office15) or 2010 (Office14) on every host, half of them Windows 11
(build >= 22000), half Windows 10. Only the Windows 11 hosts get `office.unsupported_on_os`, an
informational finding no fix addresses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediate.core.playbook import Playbook
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = {
    "hosts": 4,
    "seed": 13,
    "password": "Lab-Passw0rd!",
    "latency": "zero",
    "profiles": {"healthy": 100},
    "channels": {"VOLUME_KMSCLIENT": 100},
    "os_versions": {"win10": 50, "win11": 50},
    "office": 100,
    "office_kinds": {"msi": 100},
    "office_versions": {"2013": 50, "2010": 50},
}


@pytest.fixture(scope="module")
def lab_inv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabThread, Path]]:
    workdir = tmp_path_factory.mktemp("office_os")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        yield lab, lab.write_inventory(workdir / "inventory.yml")


def test_kms_health_flags_old_office_on_windows_11(lab_inv: tuple[LabThread, Path]) -> None:
    lab, inv = lab_inv
    pb = Playbook.load(ROOT / "playbooks" / "kms-health.yml")
    hosts = Inventory.load(inv).select(pb.targets)
    run = asyncio.run(run_playbook(pb, hosts, RunOptions(), credentials=CredentialResolver()))
    builds = {name: h.os_build for name, h in ((n, lab.hosts[n].state) for n in lab.hosts)}
    versions = {n: {i.version for i in lab.hosts[n].state.office} for n in lab.hosts}
    assert set().union(*versions.values()) <= {"2010", "2013"}
    assert any(b >= 22000 for b in builds.values()) and any(b < 22000 for b in builds.values())
    for r in run.hosts:
        flagged = [d for d in r.diagnosis if d.cause_id == "office.unsupported_on_os"]
        if builds[r.host] >= 22000:
            assert flagged, (r.host, r.verdict, [d.title for d in r.diagnosis], r.facts.get("os"))
            assert not any(d.automatable for d in flagged)
            assert any(v in flagged[0].cause for v in ("Office 2013", "Office 2010"))
            assert r.facts["os"]["build"] == builds[r.host]
        else:
            assert not flagged, (r.host, [d.title for d in flagged])
