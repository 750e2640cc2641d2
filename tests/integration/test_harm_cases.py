"""The applies that did harm before the fix policy, replayed on the lab (states set on the hosts).

- A licensed MAK host whose clock is off, run with allow_gvlk: true, got the GVLK and ended
  unactivated (the clock rule then blocked /ato).
- A RETAIL host that cannot discover KMS got `slmgr /skms` (KMS settings on a retail machine).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from pathlib import Path
from typing import Any

from remediate.core.playbook import Playbook, resolve
from remediate.core.results import HostResult
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread
from remediate.lab.windows.state import LicenseStatus


def _run(inventory: Path, apply: bool, **extra: Any) -> dict[str, HostResult]:
    pb = Playbook.load(resolve("windows-kms.yml"))
    hosts = Inventory.load(inventory, extra_vars=extra).select(pb.targets)
    options = RunOptions(apply=apply, retries=0)
    result = asyncio.run(run_playbook(pb, hosts, options, credentials=CredentialResolver()))
    return {h.host: h for h in result.hosts}


def test_licensed_mak_with_clock_skew_keeps_its_key(tmp_path: Path) -> None:
    spec = FleetSpec.from_dict({"hosts": 2, "seed": 3, "profiles": {"clock_skew": 100}, "office": 0})
    with LabThread(spec, tmp_path) as lab:
        for h in lab.hosts.values():  # a MAK-activated machine, permanently licensed
            w = h.state.windows
            assert w is not None
            w.channel, w.description = "VOLUME_MAK", "Windows(R) Operating System, VOLUME_MAK channel"
            w.status, w.status_reason, w.grace_minutes = LicenseStatus.LICENSED, 0, 0
        before = {n: copy.deepcopy(dataclasses.asdict(h.state.windows)) for n, h in lab.hosts.items()}  # type: ignore[arg-type]
        inv = lab.write_inventory(tmp_path / "inv.yml")
        results = _run(inv, True, allow_gvlk=True)
        for name, h in lab.hosts.items():
            assert dataclasses.asdict(h.state.windows) == before[name]  # type: ignore[arg-type]
            assert [s.id for s in results[name].steps if s.phase == "fix"] == []
            assert results[name].verdict == "failed"  # the clock, explained, not "fixed" by a new key


def test_retail_host_never_gets_kms_settings(tmp_path: Path) -> None:
    spec = FleetSpec.from_dict({"hosts": 2, "seed": 3, "profiles": {"no_srv": 100}, "office": 0})
    with LabThread(spec, tmp_path) as lab:
        for h in lab.hosts.values():  # a shop PC with a retail key, not activated
            w = h.state.windows
            assert w is not None
            w.channel, w.description = "RETAIL", "Windows(R) Operating System, RETAIL channel"
        inv = lab.write_inventory(tmp_path / "inv.yml")
        dry = _run(inv, False, allow_gvlk=True)
        applied = _run(inv, True, allow_gvlk=True)
        for name, h in lab.hosts.items():
            assert h.state.kms_registered_host is None  # no /skms
            assert h.state.windows is not None and h.state.windows.channel == "RETAIL"  # no GVLK
            assert dry[name].planned == [] and applied[name].planned == []
            assert any("Retail" in d.title for d in dry[name].diagnosis), dry[name].diagnosis


def test_json_report_keeps_the_license_contract(tmp_path: Path) -> None:
    """Scripts and dashboards read hosts[].facts.license.products[].{name, channel, license_status}."""
    import json

    from click.testing import CliRunner

    from remediate.cli import main

    spec = {"hosts": 4, "seed": 2, "profiles": {"no_srv": 50}, "channels": {"RETAIL": 25}, "office": 50}
    with LabThread(FleetSpec.from_dict(spec), tmp_path) as lab:
        inv = lab.write_inventory(tmp_path / "inv.yml")
        for book in ("kms-health.yml", "windows-kms.yml"):
            out = tmp_path / f"{book}.json"
            args = ["run", book, "-i", str(inv), "--json", str(out), "--no-history"]
            r = CliRunner().invoke(main, args, catch_exceptions=False)
            assert r.exit_code in (0, 2), r.output
            hosts = json.loads(out.read_text(encoding="utf-8"))["hosts"]
            assert len(hosts) == 4
            for h in hosts:
                (p,) = h["facts"]["license"]["products"]
                state = lab.hosts[h["host"]].state.windows
                assert state is not None
                assert (p["name"], p["channel"]) == (state.name, state.channel), book
                assert p["license_status"] in ("licensed", "notification", "unlicensed", "oob_grace"), book


def test_kms_host_set_leaves_retail_and_mak_alone(tmp_path: Path) -> None:
    spec = {"hosts": 6, "seed": 4, "channels": {"RETAIL": 34, "VOLUME_MAK": 33}, "office": 0}
    with LabThread(FleetSpec.from_dict(spec), tmp_path) as lab:
        inv = lab.write_inventory(tmp_path / "inv.yml")
        before = {n: (h.state.kms_registered_host, h.state.registry.copy()) for n, h in lab.hosts.items()}
        pb = Playbook.load(resolve("kms-host-set.yml"))
        extra = {"new_kms_host": "kms01.lab.test"}
        hosts = Inventory.load(inv, extra_vars=extra).select(pb.targets)
        options = RunOptions(apply=True, retries=0)
        result = asyncio.run(run_playbook(pb, hosts, options, credentials=CredentialResolver()))
        by_channel = {h.host: lab.hosts[h.host].state.windows.channel for h in result.hosts}  # type: ignore[union-attr]
        assert set(by_channel.values()) == {"RETAIL", "VOLUME_MAK", "VOLUME_KMSCLIENT"}
        for h in result.hosts:
            state = lab.hosts[h.host].state
            if by_channel[h.host] == "VOLUME_KMSCLIENT":
                assert h.verdict == "fixed" and state.kms_registered_host == "kms01.lab.test", h
            else:  # compliant: nothing to move, nothing recorded
                assert h.verdict == "compliant" and h.planned == [], h
                assert (state.kms_registered_host, state.registry) == before[h.host]
