"""What the activation domain's tracked facts mean over time: drift rules and licence expiries.

Timing (Microsoft, "KMS Activation Timing and Discovery",
http://technet.microsoft.com/sk-sk/library/ff793418.aspx): a KMS activation lasts 180 days and
the client renews every Renewal Interval minutes (default 10,080 = 7 days), a sliding window
that restarts at each renewal; "If 180 days passes without successful reactivation, the client
transitions into Out of Tolerance (OOT) Grace", and when a grace period ends without activation
the product enters Notification (SoftwareLicensingProduct.LicenseStatus 5,
https://learn.microsoft.com/en-us/previous-versions/windows/desktop/sppwmi/softwarelicensingproduct).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediate.core.tracking import ChangeRule, Expiry

KMS_VALIDITY_MINUTES = 180 * 24 * 60  # 259200: the KMS activation validity interval
KMS_RENEWAL_MINUTES = 7 * 24 * 60  # 10080: the default renewal interval
KMS_CLIENT = "VOLUME_KMSCLIENT"
GRACE_STATES = frozenset({"oob_grace", "oot_grace", "non_genuine_grace", "extended_grace"})

_PRODUCT_FIELDS = {"channel": "channel", "license_status": "license status"}

CHANGE_RULES: dict[str, ChangeRule] = {
    "license.products": ChangeRule(
        "Windows licence",
        key="name",
        fields={**_PRODUCT_FIELDS, "partial_key": "product key", "kms_registered": "KMS host"},
    ),
    "office.products": ChangeRule(
        "Office licence",
        key="license_name",
        fields={**_PRODUCT_FIELDS, "partial_key": "product key", "kms_machine": "KMS host"},
    ),
    "kms_config.kms_registered": ChangeRule("KMS host"),
    "kms_config.client_machine_id": ChangeRule("client machine id (CMID)"),
    "srv.records": ChangeRule("_vlmcs._tcp SRV records"),
    "kms_port.reachable": ChangeRule("KMS port reachable"),
}


def _products(facts: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    value = facts.get(path)
    return [p for p in value if isinstance(p, Mapping)] if isinstance(value, list) else []


def _expiry(p: Mapping[str, Any], name_field: str) -> Expiry | None:
    remaining = p.get("remaining_minutes")
    status = p.get("license_status")
    name = p.get(name_field) or p.get("name") or "?"
    channel = p.get("channel")
    if status == "notification" or status == "unlicensed":
        return Expiry(str(name), channel, status, 0, next_state=status)  # out already
    if not isinstance(remaining, int) or isinstance(remaining, bool) or remaining <= 0:
        return None  # permanent (retail, MAK, OEM: no countdown) or unknown
    if status == "licensed":
        kms = channel == KMS_CLIENT
        renewal = p.get("renewal_interval_minutes")
        return Expiry(
            str(name),
            channel,
            status,
            remaining,
            validity_minutes=KMS_VALIDITY_MINUTES if kms else None,
            renewal_minutes=(renewal if isinstance(renewal, int) and renewal > 0 else KMS_RENEWAL_MINUTES)
            if kms
            else None,
            next_state="oot_grace" if kms else "notification",
        )
    if status in GRACE_STATES:
        return Expiry(str(name), channel, status, remaining, next_state="notification")
    return None


def expiries(facts: Mapping[str, Any]) -> list[Expiry]:
    """Windows (slmgr / CIM product model) and Office (ospp /dstatus) products with a clock."""
    out = [_expiry(p, "name") for p in _products(facts, "license.products")]
    out += [_expiry(p, "license_name") for p in _products(facts, "office.products")]
    return [e for e in out if e is not None]
