"""Each KMS fault profile's diagnosis and outcome: the shipped playbooks, the real engine, pywinrm.

One lab fleet (every fault profile, en-US, ja-JP and zh-CN, zero latency) goes through what an admin
does in a change window: windows-kms.yml and office-kms.yml dry, then --apply. The fixture runs
that sequence once and snapshots every host's state between runs; each test then checks one
profile against both the engine's verdicts and what really changed on the lab hosts.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from remediate.core.playbook import Playbook
from remediate.core.results import HostResult, RunResult
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabHost, LabThread
from remediate.lab.windows.state import LicenseStatus

pytestmark = pytest.mark.timeout(120)  # covers the module fixture: the whole change window

ROOT = Path(__file__).resolve().parents[2]
WINDOWS_KMS = ROOT / "playbooks" / "windows-kms.yml"
OFFICE_KMS = ROOT / "playbooks" / "office-kms.yml"

# 25 hosts, 4 % each: 2 of most faults, 3 non_vl_key (RETAIL and MAK), 8 healthy.
SPEC: dict[str, Any] = {
    "hosts": 25,
    "seed": 21,
    "password": "Lab-Passw0rd!",
    "locales": {"en-US": 40, "ja-JP": 40, "zh-CN": 20},
    "latency": "zero",
    "kms_hosts": [{"name": "kms01"}],
    "srv_records": ["kms01"],
    "profiles": {
        "kms_unreachable": 8,
        "no_srv": 8,
        "wrong_kms_host": 8,
        "non_vl_key": 12,
        "office_unactivated": 8,
        "broken_store": 8,
        "clock_skew": 8,
        "winrm_down": 4,
        "auth_fail": 4,
    },
    "office": 40,
}
KMS_HOST = "kms01.lab.test"
# The lab's non-VL editions: Windows 10 Pro (RETAIL) and Enterprise N (VOLUME_MAK). Their KMS client
# keys as Microsoft publishes them ("KMS client activation and product keys", learn.microsoft.com
# /windows-server/get-started/kms-client-activation-keys).
PUBLISHED_GVLK = {"RETAIL": "W269N-WFGWX-YVC9B-4J6C9-T83GX", "VOLUME_MAK": "DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4"}
OFFICE_FIXABLE = ("office_unactivated", "no_srv", "wrong_kms_host")
UNFIXABLE = {
    "kms_unreachable": "Firewall between host and KMS",
    "broken_store": "License store damaged",
    "clock_skew": "Clock skew",
}

State = dict[str, dict[str, Any]]


@dataclass
class Change:
    """Results of the change window and every host's state around each step of it."""

    lab: LabThread
    before: State
    win_dry: dict[str, HostResult]
    win_dry_gvlk: dict[str, HostResult]
    office_dry: dict[str, HostResult]
    after_dry: State
    win_apply_no_gvlk: dict[str, HostResult]  # --limit lab_non_vl_key, without allow_gvlk
    after_no_gvlk: State
    win_apply: dict[str, HostResult]
    after_win_apply: State
    office_apply: dict[str, HostResult]
    after_office_apply: State
    profiles: dict[str, str] = field(default_factory=dict)
    activations_after_dry: list[str] = field(default_factory=list)  # client FQDNs kms01 served
    activations: list[str] = field(default_factory=list)
    win_dry_over: dict[str, dict[str, HostResult]] = field(default_factory=dict)  # psrp, ssh

    def hosts(self, profile: str) -> list[LabHost]:
        found = self.lab.hosts_with(profile)
        assert found, f"the fleet has no {profile} host"
        return found


def snapshot(lab: LabThread) -> State:
    async def take() -> State:
        return {n: copy.deepcopy(dataclasses.asdict(h.state)) for n, h in lab.hosts.items()}

    return lab.call(take)


def activations(lab: LabThread) -> list[str]:
    """Client FQDNs of the activation requests kms01 received (a TCP probe sends none)."""
    return [r.client_fqdn for k in lab.kms.values() for r in k.requests if r.activation_id]


async def _run(
    inventory: Path, playbook: Path, *, apply: bool = False, limit: str | None = None, **extra: Any
) -> dict[str, HostResult]:
    pb = Playbook.load(playbook)
    inv = Inventory.load(inventory, extra_vars=extra)
    hosts = inv.select(pb.targets if limit is None else f"{pb.targets}:&{limit}")
    options = RunOptions(apply=apply, retry_backoff=0.05, retries=1)
    result: RunResult = await run_playbook(pb, hosts, options, credentials=CredentialResolver())
    return {h.host: h for h in result.hosts}


@pytest.fixture(scope="module")
def change(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Change]:
    workdir = tmp_path_factory.mktemp("kms_profiles")
    with LabThread(FleetSpec.from_dict(SPEC), workdir) as lab:
        inv = lab.write_inventory(workdir / "inventory.yml")
        before = snapshot(lab)
        win_dry = asyncio.run(_run(inv, WINDOWS_KMS))
        over = {c: asyncio.run(_run(inv, WINDOWS_KMS, ansible_connection=c)) for c in ("psrp", "ssh")}
        win_dry_gvlk = asyncio.run(_run(inv, WINDOWS_KMS, allow_gvlk=True))
        office_dry = asyncio.run(_run(inv, OFFICE_KMS))
        after_dry = snapshot(lab)
        activations_after_dry = activations(lab)
        no_gvlk = asyncio.run(_run(inv, WINDOWS_KMS, apply=True, limit="lab_non_vl_key"))
        after_no_gvlk = snapshot(lab)
        win_apply = asyncio.run(_run(inv, WINDOWS_KMS, apply=True, allow_gvlk=True))
        after_win_apply = snapshot(lab)
        office_apply = asyncio.run(_run(inv, OFFICE_KMS, apply=True))
        after_office_apply = snapshot(lab)
        yield Change(
            lab,
            before,
            win_dry,
            win_dry_gvlk,
            office_dry,
            after_dry,
            no_gvlk,
            after_no_gvlk,
            win_apply,
            after_win_apply,
            office_apply,
            after_office_apply,
            {n: h.profile for n, h in lab.hosts.items()},
            activations_after_dry,
            activations(lab),
            over,
        )


def titles(hr: HostResult) -> list[str]:
    return [d.title for d in hr.diagnosis]


def steps(hr: HostResult, phase: str) -> list[str]:
    return [s.id for s in hr.steps if s.phase == phase]


def planned(hr: HostResult) -> list[str]:
    return [p["id"] for p in hr.planned]


def changed(a: State, b: State) -> set[str]:
    return {n for n in a if a[n] != b[n]}


# ---- the whole fleet ---------------------------------------------------------------------------
def test_dry_runs_change_nothing_anywhere(change: Change) -> None:
    assert change.after_dry == change.before
    assert change.after_no_gvlk == change.before  # refusing to install a GVLK changed nothing either
    assert change.activations_after_dry == []  # no activation request reached the KMS host


def _mak(change: Change, name: str) -> bool:
    return bool(change.before[name]["windows"]["channel"] == "VOLUME_MAK")


def test_apply_changes_exactly_the_fixable_hosts(change: Change) -> None:
    fixable = {h.name for p in ("no_srv", "wrong_kms_host") for h in change.hosts(p)}
    fixable |= {h.name for h in change.hosts("non_vl_key") if _mak(change, h.name)}  # never RETAIL
    assert changed(change.before, change.after_win_apply) == fixable
    # Office: the office_unactivated hosts, and Office on the hosts whose KMS path was broken
    office = {h.name for p in OFFICE_FIXABLE for h in change.hosts(p) if h.state.office}
    assert {h.name for h in change.hosts("office_unactivated")} <= office
    assert changed(change.after_win_apply, change.after_office_apply) == office
    assert all(change.office_apply[n].verdict == "fixed" for n in office)


def test_every_verdict_is_the_profiles(change: Change) -> None:
    want_dry = {
        "healthy": "compliant",
        "office_unactivated": "compliant",
        "kms_unreachable": "failed",
        "no_srv": "would_fix",
        "wrong_kms_host": "would_fix",
        "non_vl_key": "failed",
        "broken_store": "failed",
        "clock_skew": "failed",
        "winrm_down": "unreachable",
        "auth_fail": "unreachable",
    }
    want_apply = {**want_dry, "no_srv": "fixed", "wrong_kms_host": "fixed", "non_vl_key": "fixed"}
    for name, profile in change.profiles.items():
        assert change.win_dry[name].verdict == want_dry[profile], (profile, change.win_dry[name])
        want = "failed" if profile == "non_vl_key" and not _mak(change, name) else want_apply[profile]
        assert change.win_apply[name].verdict == want, (profile, change.win_apply[name])


@pytest.mark.parametrize("connection", ["psrp", "ssh"])
def test_same_findings_over_psrp_and_ssh(change: Change, connection: str) -> None:
    """The same fleet read over another transport gives the same facts, verdicts and diagnoses."""
    other = change.win_dry_over[connection]
    for name, profile in change.profiles.items():
        a, b = change.win_dry[name], other[name]
        if profile == "winrm_down" and connection == "ssh":  # only WinRM is down: SSH still answers
            assert b.verdict == "compliant", b
            continue
        if profile in ("winrm_down", "auth_fail"):
            assert a.verdict == b.verdict == "unreachable"
            continue
        assert (b.verdict, titles(b), b.planned) == (a.verdict, titles(a), a.planned), (profile, b)
        for check in ("license", "kms_config", "srv", "kms_port"):  # ja-JP cp932 text included
            assert b.facts.get(check) == a.facts.get(check), (name, check)


def test_ja_jp_hosts_parse(change: Change) -> None:
    ja = [
        n
        for n, h in change.lab.hosts.items()
        if h.state.locale == "ja-JP" and h.profile not in ("winrm_down", "auth_fail", "broken_store")
    ]
    assert len(ja) >= 5
    for name in ja:
        product = change.win_dry[name].facts["license"]["products"][0]
        assert product["license_status"] in ("licensed", "notification", "unlicensed", "oob_grace"), product
        assert product["channel"] in ("VOLUME_KMSCLIENT", "RETAIL", "VOLUME_MAK"), product
    licensed = [n for n in ja if change.profiles[n] in ("healthy", "office_unactivated")]
    assert licensed and all(
        change.win_dry[n].facts["license"]["products"][0]["license_status"] == "licensed" for n in licensed
    )


# ---- per profile -------------------------------------------------------------------------------
def test_healthy_is_compliant_and_untouched(change: Change) -> None:
    for h in change.hosts("healthy"):
        for run in (change.win_dry, change.win_apply, change.office_dry, change.office_apply):
            assert run[h.name].verdict == "compliant", run[h.name]
            assert steps(run[h.name], "fix") == [] and run[h.name].planned == []
        assert change.after_office_apply[h.name] == change.before[h.name]


@pytest.mark.parametrize("profile", sorted(UNFIXABLE))
def test_unfixable_fails_with_diagnosis_and_no_activation(change: Change, profile: str) -> None:
    for h in change.hosts(profile):
        for run in (change.win_dry, change.win_dry_gvlk, change.win_apply):
            hr = run[h.name]
            assert hr.verdict == "failed", hr
            assert titles(hr)[0] == UNFIXABLE[profile], titles(hr)
            assert hr.planned == [] and steps(hr, "fix") == []  # no /skms, no /ato
        assert h.state.fqdn not in change.activations  # the KMS host never heard from it
        assert change.after_office_apply[h.name] == change.before[h.name]


def test_kms_unreachable_evidence_is_the_network(change: Change) -> None:
    for h in change.hosts("kms_unreachable"):
        hr = change.win_dry[h.name]
        assert hr.facts["kms_port"]["reachable"] is False  # Test-NetConnection from the host
        assert hr.facts["srv"]["records"]  # the SRV record exists: not a DNS problem
        assert hr.facts["license"]["products"][0]["status_reason"] == "0xC004F074"
        assert (h.state.windows is not None) and h.state.windows.status == LicenseStatus.NOTIFICATION


@pytest.mark.parametrize("profile", ["no_srv", "wrong_kms_host"])
def test_kms_path_fixed_by_set_kms_and_activate(change: Change, profile: str) -> None:
    for h in change.hosts(profile):
        dry = change.win_dry[h.name]
        assert planned(dry) == ["set-kms", "activate"], dry
        assert dry.planned[0]["describe"].endswith(f"-> {KMS_HOST}:1688")
        hr = change.win_apply[h.name]
        assert steps(hr, "fix") == ["set-kms", "activate"]
        assert steps(hr, "verify") == ["license"]
        assert hr.facts["license"]["products"][0]["license_status"] == "licensed"
        assert (h.state.kms_registered_host, h.state.kms_registered_port) == (KMS_HOST, 1688)
        assert h.state.fqdn in change.activations  # kms01 really served this host
        assert h.state.windows is not None and h.state.windows.status == LicenseStatus.LICENSED
    titles_seen = {t for h in change.hosts(profile) for t in titles(change.win_dry[h.name])}
    want = "No KMS SRV record" if profile == "no_srv" else "Registered KMS host is wrong or decommissioned"
    assert want in titles_seen


def test_non_vl_key_needs_allow_gvlk(change: Change) -> None:
    hosts = change.hosts("non_vl_key")
    channels = {change.before[h.name]["windows"]["channel"] for h in hosts}
    assert channels == {"RETAIL", "VOLUME_MAK"}
    for h in hosts:
        for hr in (change.win_dry[h.name], change.win_apply_no_gvlk[h.name]):
            assert hr.verdict == "failed" and steps(hr, "fix") == [], hr
            want = "MAK key not activated" if _mak(change, h.name) else "Retail/OEM Windows not activated"
            assert any(t.startswith(want) for t in titles(hr)), hr
        if not _mak(change, h.name):  # RETAIL: never a GVLK, whatever the admin allowed
            for hr in (change.win_dry_gvlk[h.name], change.win_apply[h.name]):
                assert hr.verdict == "failed" and hr.planned == [] and steps(hr, "fix") == [], hr
            assert change.after_win_apply[h.name] == change.before[h.name]
            continue
        assert planned(change.win_dry_gvlk[h.name]) == ["install-gvlk", "activate"]
        hr = change.win_apply[h.name]
        assert hr.verdict == "fixed" and steps(hr, "fix") == ["install-gvlk", "activate"], hr
        assert hr.facts["license"]["products"][0]["channel"] == "VOLUME_KMSCLIENT"
        win = h.state.windows
        assert win is not None and win.channel == "VOLUME_KMSCLIENT" and win.status == LicenseStatus.LICENSED
        assert win.product_key == PUBLISHED_GVLK[change.before[h.name]["windows"]["channel"]]
        assert h.state.fqdn in change.activations


def test_office_unactivated_fixed_by_office_kms(change: Change) -> None:
    for h in change.hosts("office_unactivated"):
        dry = change.office_dry[h.name]
        assert dry.verdict == "would_fix" and "activate-office" in planned(dry), dry
        hr = change.office_apply[h.name]
        assert hr.verdict == "fixed", hr
        assert "activate-office" in steps(hr, "fix") and steps(hr, "verify") == ["office"]
        products = [p for inst in h.state.office for p in inst.products]
        assert products and all(p.status == LicenseStatus.LICENSED for p in products)
        assert change.win_apply[h.name].verdict == "compliant"  # Windows itself was fine


def test_office_on_unfixable_hosts_is_not_activated(change: Change) -> None:
    with_office = [h for p in UNFIXABLE for h in change.hosts(p) if h.state.office]
    for h in with_office:
        hr = change.office_apply[h.name]
        assert hr.verdict == "failed" and steps(hr, "fix") == [], hr
        assert hr.diagnosis


@pytest.mark.parametrize("profile", ["winrm_down", "auth_fail"])
def test_unreachable_profiles(change: Change, profile: str) -> None:
    for h in change.hosts(profile):
        for run in (change.win_dry, change.win_apply, change.office_apply):
            hr = run[h.name]
            assert hr.verdict == "unreachable" and hr.steps == [], hr
        err = change.win_dry[h.name].error or ""
        assert ("authentication failed" if profile == "auth_fail" else "connection failed") in err
        assert "Lab-Passw0rd" not in err
