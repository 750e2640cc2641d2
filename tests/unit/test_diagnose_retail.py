"""Online-activation findings (diagnose_retail.py) through the KMS diagnoser."""

from __future__ import annotations

from typing import Any

from remediate.domains.kms.diagnose import diagnose


def _retail(reason: str | None) -> dict[str, Any]:
    p = {"name": "Windows(R), Professional edition", "channel": "RETAIL", "license_status": "notification",
         "status_reason": reason}  # fmt: skip
    return {"license": {"products": [p]}}


def test_retry_later_is_not_a_fault() -> None:
    (d,) = diagnose(_retail("0x801901F7"), [])
    assert d.cause_id == "activation.retry_later" and d.title.startswith("Retry later") and not d.automatable


def test_proxy_evidence_turns_retail_into_no_internet() -> None:
    f = _retail(None) | {
        "activation": {"success": False, "error_code": "0x80072EE7"},
        "winhttp": {"proxy": "proxy:8080", "bypass": None, "direct": False},
        "ms_endpoint": {"computer_name": "activation-v2.sls.microsoft.com", "reachable": False},
    }
    (d,) = diagnose(f, [])
    assert d.cause_id == "activation.no_internet" and "netsh winhttp" in d.action
    # the code alone (no proxy, no endpoint test) stays the plain retail finding
    plain = diagnose(_retail(None) | {"activation": {"success": False, "error_code": "0x80072EE7"}}, [])
    assert plain[0].cause_id == "activation.retail"


def test_off_network_only_when_not_domain_authenticated() -> None:
    kms = {"name": "Windows(R), Enterprise edition", "channel": "VOLUME_KMSCLIENT",
           "license_status": "notification", "status_reason": "0xC004F074"}  # fmt: skip
    base = {
        "license": {"products": [kms]},
        "srv": {"records": [], "error": "timeout"},
        "ms_endpoint": {"computer_name": "activation-v2.sls.microsoft.com", "reachable": True},
        "vpn": {"connections": [{"name": "Corp VPN", "connected": False}], "connected": False},
    }
    home = base | {"net_profile": {"categories": ["Private"], "domain_authenticated": False}}
    assert [d.cause_id for d in diagnose(home, [])] == ["kms.off_network"]
    office = base | {"net_profile": {"categories": ["DomainAuthenticated"], "domain_authenticated": True}}
    assert [d.cause_id for d in diagnose(office, [])] == ["kms.dns_failed"]
