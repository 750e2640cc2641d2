"""ospp.vbs output (Office 2010-2024 volume licensing): /dstatus and /act.

Blocks are separated by a line of 39 dashes; `---Processing---` / `---Exiting---` frame them.
"""

from __future__ import annotations

import re
from typing import Any

from . import labels as L
from .common import ParseError, find_code, looks_like_host, split_host_port
from .slmgr import channel_of, is_grace_sku
from .text import logical_lines

_TABLE = L.LabelTable(L.OSPP)
_WRAPPABLE = frozenset({"license_name", "license_description", "error_description"})
_SEPARATOR = re.compile(r"^-{20,}$")

PRODUCT_FIELDS = (
    "license_name",
    "license_description",
    "channel",
    "grace_sku",
    "license_status",
    "error_code",
    "partial_key",
    "remaining_minutes",
    "kms_machine",
    "kms_port",
)


def _blocks(text: str) -> list[list[tuple[str | None, str]]]:
    blocks: list[list[tuple[str | None, str]]] = [[]]
    for field, value in logical_lines(text, _TABLE, _WRAPPABLE):
        if field is None and _SEPARATOR.match(value):
            blocks.append([])
        else:
            blocks[-1].append((field, value))
    return [b for b in blocks if any(f is not None for f, _ in b)]


def _status(value: str) -> str | None:
    word = value.strip().strip("-").strip()
    return L.match_prefix(word, L.OSPP_STATUS) if word else None


def parse_dstatus(text: str) -> dict[str, Any]:
    """`ospp.vbs /dstatus` -> {"products": [...], "error_code", "no_keys"}.

    `no_keys` is true when ospp printed `<No installed product keys detected>` (Microsoft 365 Apps
    licensed by subscription, or Office not yet licensed): `products` is then empty.
    """
    products: list[dict[str, Any]] = []
    error_code: str | None = None
    for block in _blocks(text):
        fields = {f: v for f, v in block if f is not None}
        if "license_name" not in fields and "license_status" not in fields:
            if "error_code" in fields and error_code is None:  # the whole call failed (e.g. 0xC004F012)
                error_code = find_code(fields["error_code"])
            continue
        p: dict[str, Any] = dict.fromkeys(PRODUCT_FIELDS)
        p["license_name"] = fields.get("license_name") or None
        p["license_description"] = fields.get("license_description") or None
        p["channel"] = channel_of(p["license_description"])
        p["grace_sku"] = is_grace_sku(p["license_description"])
        if "license_status" in fields:
            p["license_status"] = _status(fields["license_status"])
        if "error_code" in fields:
            p["error_code"] = find_code(fields["error_code"])
        key = fields.get("partial_key", "")
        p["partial_key"] = key if re.fullmatch(r"[0-9A-Za-z]{5}", key) else None
        if "remaining_grace" in fields:
            # `29 days  (43194 minute(s) before expiring)` -> minutes, not days
            m = re.search(r"\((\d+)", fields["remaining_grace"])
            p["remaining_minutes"] = int(m.group(1)) if m else None
        # a registry override (/sethst) wins over DNS discovery, as in the Office client
        for source in ("kms_override", "kms_dns"):
            host, port = split_host_port(fields.get(source))
            if looks_like_host(host):
                p["kms_machine"], p["kms_port"] = host, port
                break
        products.append(p)
    no_keys = not products and L.contains_any(text, L.OSPP_NO_KEYS)
    if not products and error_code is None and not no_keys:
        raise ParseError("no ospp.vbs license block found (expected 'LICENSE NAME:' lines)")
    return {"products": products, "error_code": error_code, "no_keys": no_keys}


def parse_act(text: str) -> dict[str, Any]:
    """`ospp.vbs /act` -> {"success", "error_code", "products": [{license_name, success, error_code}],
    "no_keys"}.

    ospp tries every installed key in turn (e.g. a C2R `RETAIL(Grace)` SKU failing 0xC004F017 next
    to a volume SKU): `success` only if every product activated; `error_code` is the first failure.
    """
    products: list[dict[str, Any]] = []
    for block in _blocks(text):
        fields = {f: v for f, v in block if f is not None}
        name = fields.get("license_name") or None
        if "error_code" in fields:
            code = find_code(fields["error_code"])
            products.append({"license_name": name, "success": False, "error_code": code})
        elif any(f is None and L.contains_any(v, L.OSPP_ACT_SUCCESS) for f, v in block):
            products.append({"license_name": name, "success": True, "error_code": None})
    if not products:
        if L.contains_any(text, L.OSPP_NO_KEYS):
            return {"success": False, "error_code": None, "products": [], "no_keys": True}
        raise ParseError("no ospp.vbs /act result found")
    failures = [p for p in products if not p["success"]]
    first = failures[0]["error_code"] if failures else None
    return {"success": not failures, "error_code": first, "products": products, "no_keys": False}
