"""diagnose_kmshost: thresholds (25 client / 5 server), CSVLK coverage, and the KMS diagnoser's routing."""

from __future__ import annotations

from typing import Any

from remediate.domains.kms.diagnose import diagnose
from remediate.domains.kms.diagnose_kmshost import csvlk_group, kms_n_policy, kmshost_findings


def _facts(count: int, channel: str = "VOLUME_KMS_WS22", **host: Any) -> dict[str, Any]:
    kms_host = {
        "enabled": True, "current_count": count, "port": 1688, "dns_publishing": True,
        "csvlk": {"channel": channel, "description": f"Windows(R) Operating System, {channel} channel"},
        **host,
    }  # fmt: skip
    return {"kms_service": {"products": [], "kms_host": kms_host}, "sppsvc": {"state": "running"}}


def test_threshold_is_25_with_a_client_os_else_5() -> None:
    assert kms_n_policy(["Windows 11", "Windows Server 2022"]) == 25
    assert kms_n_policy(["Windows Server 2019", "Windows Server 2022"]) == 5
    assert kms_n_policy([]) == 25
    servers = {"client_products": ["Windows Server 2022"]}
    assert kmshost_findings(_facts(7), servers) == []
    assert [d.cause_id for d in kmshost_findings(_facts(4), servers)] == ["kms_host.count_low"]
    assert [d.cause_id for d in kmshost_findings(_facts(7), {"client_products": ["Windows 11"]})] == [
        "kms_host.count_low"
    ]


def test_csvlk_scope_follows_the_microsoft_table() -> None:
    assert csvlk_group("VOLUME_KMS_WS19") == "2019" and csvlk_group("VOLUME_KMS_C") is None
    found = kmshost_findings(_facts(50, "VOLUME_KMS_WS19"), {"client_products": ["Windows 10", "Windows 11"]})
    assert [(d.cause_id, d.code) for d in found] == [("kms_host.csvlk_scope", "0xC004F042")]
    assert "not covered: Windows 11" in found[0].evidence
    assert kmshost_findings(_facts(50, "VOLUME_KMS_WS22"), {"client_products": ["Windows 11"]}) == []
    assert kmshost_findings(_facts(50, "VOLUME_KMS_C"), {"client_products": ["Windows 11"]}) == []


def test_port_publishing_and_not_a_host() -> None:
    found = kmshost_findings(_facts(50, port=1700, dns_publishing=False), {"kms_port": 1688})
    assert {d.cause_id for d in found} == {"kms_host.port", "kms_host.not_publishing"}
    plain = {"kms_service": {"products": [], "kms_host": {"enabled": False}}}
    assert [d.cause_id for d in kmshost_findings(plain, {})] == ["kms_host.not_kms_host"]


def test_kms_diagnoser_routes_kms_host_facts() -> None:
    assert [d.cause_id for d in diagnose(_facts(3), [])] == ["kms_host.count_low"]


def test_a_kms_host_whose_own_key_is_not_activated() -> None:
    facts = _facts(30)
    facts["kms_service"]["kms_host"]["csvlk"]["license_status"] = "notification"
    found = kmshost_findings(facts, {})
    assert [(d.cause_id, d.code) for d in found] == [("kms_host.not_activated", "0xC004F041")]
    facts["kms_service"]["kms_host"]["csvlk"]["license_status"] = "licensed"
    assert kmshost_findings(facts, {}) == []
