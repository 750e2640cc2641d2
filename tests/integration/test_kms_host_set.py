"""kms-host-set.yml over real WinRM: move hosts to a new KMS host, record the old one, roll back."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from remediate.core.playbook import Playbook
from remediate.core.results import RunResult
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "kms-host-set.yml"


def _run(inv_path: Path, apply: bool, **extra: Any) -> RunResult:
    inv = Inventory.load(inv_path, extra_vars=extra)
    pb = Playbook.load(PLAYBOOK)
    opts = RunOptions(apply=apply, forks=10)
    return asyncio.run(run_playbook(pb, inv.select("windows"), opts, credentials=CredentialResolver()))


def test_move_then_rollback_restores_each_hosts_own_setting(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory(
        {
            "hosts": 4,
            "password": "Lab-Passw0rd!",
            "kms_hosts": [{"name": "kms01"}, {"name": "kms02"}],
            "srv_records": ["kms01"],
            "profiles": {"healthy": 50, "wrong_kms_host": 50},
        }
    )
    inv = tmp_path / "inv.yml"
    lab.lab.write_inventory(inv)
    before = {n: (h.state.kms_registered_host, h.state.kms_registered_port) for n, h in lab.hosts.items()}
    assert {v[0] for v in before.values()} == {None, "oldkms.lab.test"}

    dry = _run(inv, False, new_kms_host="kms02.lab.test")
    assert {h.verdict for h in dry.hosts} == {"would_fix"}
    assert {
        n: (h.state.kms_registered_host, h.state.kms_registered_port) for n, h in lab.hosts.items()
    } == before

    moved = _run(inv, True, new_kms_host="kms02.lab.test")
    assert {h.verdict for h in moved.hosts} == {"fixed"}, [(h.host, h.error) for h in moved.hosts]
    for h in lab.hosts.values():
        assert h.state.kms_registered_host == "kms02.lab.test"
        assert h.state.windows is not None and h.state.windows.status == 1  # /ato against kms02 worked
    assert _run(inv, False, new_kms_host="kms02.lab.test").exit_code() == 0  # idempotent

    back = _run(inv, True, rollback=True)
    assert {h.verdict for h in back.hosts} == {"fixed"}
    after = {n: (h.state.kms_registered_host, h.state.kms_registered_port) for n, h in lab.hosts.items()}
    assert {n: v[0] for n, v in after.items()} == {n: v[0] for n, v in before.items()}
    assert all(
        not h.state.registry.get("HKEY_LOCAL_MACHINE\\SOFTWARE\\remediate\\kms-host-set")
        for h in lab.hosts.values()
    )
    assert _run(inv, False, rollback=True).exit_code() == 0  # nothing left to roll back


def test_unreachable_new_kms_host_is_never_set(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory({"hosts": 2, "password": "Lab-Passw0rd!", "profiles": {"healthy": 100}})
    inv = tmp_path / "inv.yml"
    lab.lab.write_inventory(inv)
    result = _run(inv, True, new_kms_host="oldkms.lab.test")  # has an A record, nothing listens
    assert {h.verdict for h in result.hosts} == {"failed"}
    assert all(h.state.kms_registered_host is None and not h.state.registry for h in lab.hosts.values())
