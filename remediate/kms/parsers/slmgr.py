"""slmgr.vbs output: /dli and /dlv (product model), /xpr (expiry), /ato (activation result)."""

from __future__ import annotations

import re
from typing import Any

from . import labels as L
from .common import ParseError, find_code, first_int, looks_like_host, split_host_port, valid_ip
from .text import logical_lines

_TABLE = L.LabelTable(L.SLMGR)
_ERROR_ONLY = L.LabelTable({"error": L.SLMGR["error"]})
_WRAPPABLE = frozenset({"name", "description", "error", "notification_reason"})
_CHANNEL_RE = re.compile(r"([A-Za-z][A-Za-z0-9_\-]*)\s+channel\b", re.IGNORECASE)
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
)


def empty_product() -> dict[str, Any]:
    return dict.fromkeys(PRODUCT_FIELDS)


def channel_of(description: str | None) -> str | None:
    """`Windows(R) Operating System, VOLUME_KMSCLIENT channel` -> `VOLUME_KMSCLIENT`."""
    if not description:
        return None
    m = _CHANNEL_RE.search(description)
    return m.group(1).upper().replace("-", "_") if m else None


def parse_dli(text: str) -> dict[str, Any]:
    """`slmgr /dli` or `/dlv` -> {"products": [...], "error_code": code of an `Error:` line}."""
    products: list[dict[str, Any]] = []
    ports: list[dict[str, int | None]] = []
    cur: dict[str, Any] | None = None
    error_code: str | None = None
    saw_error = False
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
            continue
        if field is None or cur is None:
            continue
        _assign(cur, ports[-1], field, value)
    if not products and not saw_error:
        raise ParseError("no slmgr product found (expected a 'Name:' line or an 'Error:' line)")
    for product, port in zip(products, ports, strict=True):
        product["kms_port"] = port["registered"] if product["kms_registered"] else port["dns"]
    return {"products": products, "error_code": error_code}


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
    elif field in ("time_remaining", "volume_expiration", "timebased_expiration"):
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
