"""slmgr.vbs output: /dli and /dlv (product model), /xpr (expiry), /ato (activation result)."""

from __future__ import annotations

import re
from typing import Any

from . import labels as L
from .common import ParseError, find_code, first_int, looks_like_host, split_host_port, valid_ip
from .text import logical_lines

_TABLE = L.LabelTable(L.SLMGR)
_ERROR_ONLY = L.LabelTable({"error": L.SLMGR["error"]})
# fields that belong to a product (an excerpt starting at one of them still describes one)
_PRODUCT_LABELS = frozenset(L.SLMGR) - {"service_version", "error"}
_WRAPPABLE = frozenset({"name", "description", "error", "notification_reason"})
# `VOLUME_KMSCLIENT channel`; Click-to-Run grace/free SKUs qualify the word: `RETAIL(Grace) channel`
# (real ospp.vbs /dstatus, tests/cases/ospp-dstatus/en-c2r-retail-grace-oob.txt).
_CHANNEL_RE = re.compile(r"([A-Za-z][A-Za-z0-9_\-]*)(?:\(([A-Za-z]+)\))?\s+channel\b", re.IGNORECASE)
_DATE_RE = re.compile(r"\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?)?")

PRODUCT_FIELDS = (
    "name",
    "description",
    "channel",
    "partial_key",
    "license_status",
    "status_reason",
    "remaining_minutes",
    "kms_dns",
    "kms_registered",
    "kms_port",
    "kms_ip",
    "activation_interval_minutes",
    "renewal_interval_minutes",
    "activated_by",
    "ad_activation",
    "avma_host",
)

# Section headers slmgr prints after "Most recent activation information:" (slmgr.vbs
# DisplayKMSClientInformation / DisplayADClientInformation / DisplayAVMAClientInformation).
_SECTIONS = {"kms": L.SLMGR_KMS_SECTION, "ad": L.SLMGR_AD_SECTION, "avma": L.SLMGR_AVMA_SECTION}
_AD_FIELDS = {
    "ao_name": "object_name",
    "ao_dn": "object_dn",
    "ao_pid": "extended_pid",
    "ao_actid": "activation_id",
}


def empty_product() -> dict[str, Any]:
    return dict.fromkeys(PRODUCT_FIELDS)


def channel_of(description: str | None) -> str | None:
    """`Windows(R) Operating System, VOLUME_KMSCLIENT channel` -> `VOLUME_KMSCLIENT`.

    `Office 16, RETAIL(Grace) channel` -> `RETAIL` (the qualifier is `grace_sku`'s business).
    """
    if not description:
        return None
    m = _CHANNEL_RE.search(description)
    return m.group(1).upper().replace("-", "_") if m else None


def is_grace_sku(description: str | None) -> bool:
    """Click-to-Run's placeholder grace SKU: `Office 16, RETAIL(Grace) channel`."""
    m = _CHANNEL_RE.search(description or "")
    return bool(m and (m.group(2) or "").lower() == "grace")


def parse_dli(text: str) -> dict[str, Any]:
    """`slmgr /dli` or `/dlv` -> {"products": [...], "error_code": code of an `Error:` line}."""
    products: list[dict[str, Any]] = []
    ports: list[dict[str, int | None]] = []
    cur: dict[str, Any] | None = None
    error_code: str | None = None
    saw_error = False
    sections: list[set[str]] = []
    for field, value in logical_lines(text, _TABLE, _WRAPPABLE):
        if field == "error":
            saw_error = True
            error_code = error_code or find_code(value)
            continue
        if field == "name":
            cur = empty_product()
            cur["name"] = value or None
            products.append(cur)
            ports.append({"registered": None, "dns": None})
            sections.append(set())
            continue
        if cur is None:
            if field not in _PRODUCT_LABELS:
                continue
            # an excerpt pasted without its `Name:` line: the fields still describe one product
            cur = empty_product()
            products.append(cur)
            ports.append({"registered": None, "dns": None})
            sections.append(set())
        if field is None:
            section = L.find_exact(value, _SECTIONS)
            if section:
                sections[-1].add(section)
            continue
        _assign(cur, ports[-1], field, value)
    if not products and not saw_error:
        raise ParseError("no slmgr product found (expected a 'Name:' line or an 'Error:' line)")
    for product, port, seen in zip(products, ports, sections, strict=True):
        product["kms_port"] = port["registered"] if product["kms_registered"] else port["dns"]
        product["activated_by"] = _activated_by(product, seen)
    return {"products": products, "error_code": error_code}


def _activated_by(p: dict[str, Any], sections: set[str]) -> str | None:
    """`ad` / `avma` when slmgr shows that section, `kms` when the KMS client section names a KMS."""
    if "ad" in sections:
        return "ad"
    if "avma" in sections or (p["channel"] == "VIRTUAL_MACHINE_ACTIVATION" and p["avma_host"]):
        return "avma"
    kms_seen = p["kms_registered"] or p["kms_dns"] or p["kms_ip"]
    if "kms" in sections and kms_seen:
        return "kms"
    return None


def _assign(p: dict[str, Any], ports: dict[str, int | None], field: str, value: str) -> None:
    if field == "description":
        p["description"] = value or None
        p["channel"] = channel_of(value)
    elif field == "partial_key":
        p["partial_key"] = value if re.fullmatch(r"[0-9A-Za-z]{5}", value) else None
    elif field == "license_status":
        p["license_status"] = L.match_prefix(value, L.SLMGR_STATUS)
    elif field == "notification_reason":
        p["status_reason"] = find_code(value)
    elif field in ("time_remaining", "volume_expiration", "timebased_expiration", "avma_expiration"):
        p["remaining_minutes"] = first_int(value)
    elif field in ("kms_registered", "kms_dns"):
        host, port = split_host_port(value)
        if looks_like_host(host):
            p[field] = host
            ports["registered" if field == "kms_registered" else "dns"] = port
    elif field == "kms_ip":
        p["kms_ip"] = valid_ip(value)
    elif field == "activation_interval":
        p["activation_interval_minutes"] = first_int(value)
    elif field == "renewal_interval":
        p["renewal_interval_minutes"] = first_int(value)
    elif field in _AD_FIELDS:
        ad = p["ad_activation"] = p["ad_activation"] or dict.fromkeys(_AD_FIELDS.values())
        ad[_AD_FIELDS[field]] = value or None
    elif field == "avma_host":
        p["avma_host"] = value if looks_like_host(value) else None


def parse_xpr(text: str) -> dict[str, Any]:
    """`slmgr /xpr` -> {"products": [{"name", "permanent", "expires", "expiry"}]}.

    Real shape: a product line ending in a colon, then an indented status sentence
    ("The machine is permanently activated." / "Volume activation will expire 5/1/2024 ...").
    """
    products: list[dict[str, Any]] = []
    error_code: str | None = None
    pending_name: str | None = None
    saw_error = False
    for field, line in logical_lines(text, _ERROR_ONLY):
        if field == "error":
            saw_error = True
            error_code = error_code or find_code(line)
            continue
        if L.contains_any(line, L.XPR_PERMANENT):
            products.append({"name": pending_name, "permanent": True, "expires": False, "expiry": None})
        elif L.contains_any(line, L.XPR_EXPIRES):
            m = _DATE_RE.search(line)
            expiry = m.group(0) if m else None
            products.append({"name": pending_name, "permanent": False, "expires": True, "expiry": expiry})
        elif L.contains_any(line, L.XPR_NOT_ACTIVATED):
            products.append({"name": pending_name, "permanent": False, "expires": False, "expiry": None})
        else:
            pending_name = line.rstrip(":：").strip() or None
            continue
        pending_name = None
    if not products and not saw_error:
        raise ParseError("no slmgr /xpr status line found")
    return {"products": products, "error_code": error_code}


def parse_ato(text: str) -> dict[str, Any]:
    """`slmgr /ato` -> {"success": bool, "error_code": "0x..." | None}."""
    success = False
    saw_error = False
    error_code: str | None = None
    for field, line in logical_lines(text, _ERROR_ONLY, {"error"}):
        if field == "error":
            saw_error = True
            error_code = error_code or find_code(line)
        elif field is None and L.contains_any(line, L.ATO_SUCCESS):
            success = True
    if saw_error:
        return {"success": False, "error_code": error_code}
    if success:
        return {"success": True, "error_code": None}
    raise ParseError("no slmgr /ato result found (neither a success line nor an 'Error:' line)")
