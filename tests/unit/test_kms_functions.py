"""The template functions the KMS playbooks reason with, and the lab's reg.exe they rely on."""

from __future__ import annotations

import asyncio

from remediate.core.parsing import parse
from remediate.domains.kms import functions as f
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.state import HostState

SRV = {
    "records": [
        {"target": "kms02.corp.", "port": 1700, "priority": 10, "weight": 0},
        {"target": "kms01.corp.", "port": 1688, "priority": 0, "weight": 100},
    ],
    "error": None,
}


def test_current_kms_prefers_registered_then_best_srv_record() -> None:
    assert f.kms_current({"srv": SRV}) == "kms01.corp"
    assert f.kms_target_port({"srv": SRV}) == 1688
    facts = {"srv": SRV, "kms_config": {"kms_registered": "old.corp", "kms_port": 1699}}
    assert f.kms_current(facts) == "old.corp" and f.kms_target_port(facts) == 1699
    # slmgr /dli as the fallback source of the registered host
    assert f.kms_registered({"license": {"products": [{"kms_registered": "x.corp"}]}}) == "x.corp"


def test_target_falls_back_to_kms_host_only_when_nothing_is_known() -> None:
    assert f.kms_target({}, "kms.corp") == "kms.corp"
    assert f.kms_target({"srv": {"records": [], "error": "nxdomain"}}, "") is None
    assert f.kms_target({"srv": SRV}, "kms.corp") == "kms01.corp"
    assert f.kms_target_port({}, 1688) == 1688


def test_missing_facts_read_as_unknown_never_raise() -> None:
    for facts in ({}, {"srv": None, "license": None, "kms_config": None}, {"license": {"products": []}}):
        assert f.kms_current(facts) is None
        assert f.kms_reachable(facts, "kms.corp") is False
        assert f.office_kms_current(facts) is None


def test_reachable_reads_any_tcp_test_by_name() -> None:
    facts = {
        "kms_port": {"reachable": False, "computer_name": "old.corp"},
        "new_kms_port": {"reachable": True, "computer_name": "KMS02.corp."},
    }
    assert f.kms_reachable(facts, "kms02.corp") is True
    assert f.kms_reachable(facts, "old.corp") is False
    assert f.kms_reachable(facts, None) is False


def test_gvlk_for_product_uses_the_os_build_for_server_editions() -> None:
    ent = "Windows(R), Enterprise edition"
    assert f.gvlk_for_product(ent, "10.0.19045") == "NPPR9-FWDCX-D2C8J-H872K-2YT43"
    assert f.gvlk_for_product(ent) is None  # no OS version: never a guess
    assert (
        f.gvlk_for_product("Windows(R), ServerStandard edition", "10.0.20348")
        == "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"
    )
    assert f.gvlk_for_product("Windows(R), ServerStandard edition", "10.0.17763") != f.gvlk_for_product(
        "Windows(R), ServerStandard edition", "10.0.20348"
    )
    assert f.gvlk_for_product("no edition here") is None


def test_office_current_prefers_sethst_value() -> None:
    facts = {"srv": SRV, "office": {"products": [{"kms_machine": "okms.corp", "kms_port": 1690}]}}
    assert f.office_kms_current(facts) == "okms.corp" and f.office_kms_target_port(facts) == 1690


def test_reg_exe_round_trip_and_parse() -> None:
    host = WindowsHost(HostState(name="W1", domain="lab.test"))
    key = '"HKLM\\SOFTWARE\\remediate\\kms-host-set"'

    def run(line: str) -> tuple[int, str, str]:
        r = asyncio.run(host.run_command(line, codepage=65001))
        return r.rc, r.stdout.decode(), r.stderr.decode()

    rc, out, err = run(f"reg query {key}")
    assert rc == 1 and "unable to find" in err and parse("reg-query", out) == {"key": None, "values": {}}
    assert run(f'reg add {key} /v PreviousKmsHost /t REG_SZ /d "old.corp" /f')[0] == 0
    assert run(f'reg add {key} /v PreviousKmsPort /t REG_SZ /d "" /f')[0] == 0
    rc, out, _ = run(f"reg query {key}")
    assert rc == 0
    assert parse("reg-query", out)["values"] == {"PreviousKmsHost": "old.corp", "PreviousKmsPort": ""}
    assert run(f'reg add {key} /v PreviousKmsHost /d "new" ')[0] == 1  # exists, no /f: not overwritten
    assert run(f"reg delete {key} /f")[0] == 0
    assert run(f"reg query {key}")[0] == 1
