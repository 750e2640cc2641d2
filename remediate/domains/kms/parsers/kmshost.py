"""A KMS host's own view: `slmgr /dlv` (or /dli) on the KMS host, and `sc query <service>`.

slmgr.vbs prints the KMS host section after the product that holds the CSVLK (slmgr.vbs
DisplayKMSInfo; strings L_MsgKmsEnabled, L_MsgKmsCurrentCount, L_MsgKmsListeningOnPort,
L_MsgKmsDnsPublishingEnabled/Disabled, L_MsgKmsPriNormal/Low, L_MsgKmsCumulativeRequestsFromClients
and L_MsgKmsRequestsWithStatus*). Samples: Microsoft's "Configure a KMS host computer for Office"
(https://learn.microsoft.com/en-us/office/volume-license-activation/configure-a-kms-host-computer-for-office)
and the Volume Activation Technical Reference
(https://learn.microsoft.com/en-us/previous-versions/tn-archive/ff793426(v=technet.10)); see
tests/cases/slmgr-dlv-host. English only: no localized KMS host output was found in public sources.
"""

from __future__ import annotations

import re
from typing import Any

from .common import ParseError
from .slmgr import parse_dli

ENABLED = "key management service is enabled on this machine"
CUMULATIVE = "key management service cumulative requests received from clients"
# label (lower case, without the colon) -> counter name
_COUNTERS = {
    "total requests received": "total",
    "failed requests received": "failed",
    "requests with license status unlicensed": "unlicensed",
    "requests with license status licensed": "licensed",
    "requests with license status initial grace period": "oob_grace",
    "requests with license status license expired or hardware out of tolerance": "oot_grace",
    "requests with license status non-genuine grace period": "non_genuine_grace",
    "requests with license status notification": "notification",
}
_CACHING = {"kms host caching is enabled": True, "kms host caching is disabled": False}
_PUBLISHING = {"dns publishing enabled": True, "dns publishing disabled": False}
_PRIORITY = {"kms priority: normal": "normal", "kms priority: low": "low"}
_INT_RE = re.compile(r"-?\d+")
# `Windows(R) Operating System, VOLUME_KMS_WS22 channel`, `Office 16, VOLUME_KMS channel`
_CSVLK_RE = re.compile(r"\bVOLUME_KMS(?:_[A-Za-z0-9\-]+)?\b", re.IGNORECASE)


def empty_host() -> dict[str, Any]:
    return {
        "enabled": False,
        "current_count": None,
        "port": None,
        "dns_publishing": None,
        "priority": None,
        "host_caching": None,
        "requests": None,
        "csvlk": None,
    }


def parse_dlv_host(text: str) -> dict[str, Any]:
    """`slmgr /dlv` on a KMS host -> the slmgr-dlv facts plus `kms_host` (see empty_host()).

    `kms_host.csvlk` is the product that carries the section: {name, description, channel,
    license_status, partial_key}. A machine that is no KMS host parses with `enabled: false`.
    """
    base = parse_dli(text)
    host = empty_host()
    names: list[str] = []  # `Name:` values in order; the section belongs to the last one seen
    for raw in text.split("\n"):
        line = raw.strip()
        low = " ".join(line.lower().split())
        if not low:
            continue
        if low.startswith("name:"):
            names.append(line.split(":", 1)[1].strip())
        elif low == ENABLED:
            host["enabled"] = True
            host["csvlk"] = _csvlk(base["products"], names)
        elif low.startswith("current count:"):
            host["current_count"] = _int(low)
        elif low.startswith("listening on port:"):
            host["port"] = _int(low)
        elif low in _PUBLISHING:
            host["dns_publishing"] = _PUBLISHING[low]
        elif low in _PRIORITY:
            host["priority"] = _PRIORITY[low]
        elif low in _CACHING:
            host["host_caching"] = _CACHING[low]
        elif low == CUMULATIVE:
            host["requests"] = dict.fromkeys(_COUNTERS.values())
        elif host["requests"] is not None and ":" in low:
            label, _, value = low.partition(":")
            if label.strip() in _COUNTERS:
                host["requests"][_COUNTERS[label.strip()]] = _int(value)
    if host["enabled"] and host["current_count"] is None:
        raise ParseError("KMS host section without a 'Current count:' line")
    return {**base, "kms_host": host}


def _csvlk(products: list[dict[str, Any]], names: list[str]) -> dict[str, Any] | None:
    if not products:
        return None
    p = products[len(names) - 1] if 0 < len(names) <= len(products) else products[-1]
    m = _CSVLK_RE.search(p.get("description") or "")
    return {
        "name": p.get("name"),
        "description": p.get("description"),
        "channel": m.group(0).upper() if m else p.get("channel"),
        "license_status": p.get("license_status"),
        "partial_key": p.get("partial_key"),
    }


def _int(text: str) -> int | None:
    m = _INT_RE.search(text.split(":", 1)[-1])
    return int(m.group(0)) if m else None


# `sc query NAME` (real output in tests/cases/sc-query): STATE : 4  RUNNING
_SC_NAME = re.compile(r"^\s*SERVICE_NAME\s*:\s*(\S+)", re.MULTILINE)
_SC_STATE = re.compile(r"^\s*STATE\s*:\s*(\d+)\s+([A-Z_]+)", re.MULTILINE)
_SC_EXIT = re.compile(r"^\s*WIN32_EXIT_CODE\s*:\s*(\d+)", re.MULTILINE)
_SC_FAILED = re.compile(r"\[SC\]\s+\S+\s+FAILED\s+(\d+)", re.IGNORECASE)


def parse_sc_query(text: str) -> dict[str, Any]:
    """`sc query NAME` -> {"service", "state" ("running"|"stopped"|...), "state_code", "exit_code",
    "error"}; `[SC] EnumQueryServicesStatus:OpenService FAILED 1060:` -> state None, error 1060."""
    failed = _SC_FAILED.search(text)
    if failed:
        return {"service": None, "state": None, "state_code": None, "exit_code": None,
                "error": int(failed.group(1))}  # fmt: skip
    name, state = _SC_NAME.search(text), _SC_STATE.search(text)
    if not name or not state:
        raise ParseError("no SERVICE_NAME / STATE lines (not `sc query` output)")
    exit_code = _SC_EXIT.search(text)
    return {
        "service": name.group(1),
        "state": state.group(2).lower(),
        "state_code": int(state.group(1)),
        "exit_code": int(exit_code.group(1)) if exit_code else None,
        "error": None,
    }
