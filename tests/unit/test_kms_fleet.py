"""Fleet-level findings of the KMS domain over hand-made host results."""

from __future__ import annotations

from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.core.results import HostResult, RunResult
from remediate.domains.kms.fleet import fleet_findings


def host(name: str, verdict: str = "compliant", diag: str | None = None, **facts: Any) -> HostResult:
    d = [Diagnosis(None, diag, "c", "a", False, (), cause_id=diag)] if diag else []
    return HostResult(name, verdict, facts=facts, diagnosis=d)  # type: ignore[arg-type]


def test_duplicate_cmid_names_every_host_and_roundtrips_in_json() -> None:
    hosts = [host(n, kms_config={"client_machine_id": "AB-1" if n != "c" else "x"}) for n in "abcd"]
    found = fleet_findings(hosts)
    assert [(f.code, f.hosts) for f in found] == [("kms.duplicate_cmid", ("a", "b", "d"))]
    run = RunResult("p", "dry_run", 0.0, hosts=hosts, fleet_findings=found)
    assert RunResult.from_dict(run.to_dict()).fleet_findings == found


def test_registered_host_that_no_client_resolves() -> None:
    dead = {"reachable": False, "computer_name": "oldkms.corp.test", "remote_address": None}
    hosts = [
        host(n, "failed", kms_config={"kms_registered": "oldkms.corp.test:1688"}, kms_port=dead) for n in "ab"
    ]
    hosts.append(host("c", kms_config={"kms_registered": "kms01.corp.test"}, kms_port={"reachable": True}))
    found = fleet_findings(hosts)
    assert [(f.code, f.hosts) for f in found] == [("kms.registered_host_missing", ("a", "b"))]
    assert "NXDOMAIN" in found[0].cause
    # one client answering is enough to say the host lives
    alive = dict(dead, reachable=True)
    hosts.append(host("d", kms_config={"kms_registered": "oldkms.corp.test"}, kms_port=alive))
    assert fleet_findings(hosts) == []


def test_a_site_whose_hosts_all_fail_the_same_way() -> None:
    hosts = [host(f"pc{i}.branch.corp.test", "failed", "kms.no_srv") for i in range(3)]
    hosts += [host("pc9.hq.corp.test", "failed", "kms.no_srv"), host("pc8.hq.corp.test", "compliant")]
    found = fleet_findings(hosts)
    assert [(f.code, len(f.hosts)) for f in found] == [("kms.site_failing", 3)]
    assert "branch.corp.test" in found[0].cause
