"""Template functions the KMS playbooks use in `when`, `expect` and `run`.

They read facts by the names of the facts contract (license, kms_config, srv, kms_port, os) and
never raise on missing facts: a missing fact reads as "unknown" (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from remediate.kms import gvlk
from remediate.kms.evidence import host_name, tcp_reach

_BUILD_TO_SERVER = {14393: "server2016", 17763: "server2019", 20348: "server2022", 26100: "server2025"}


def _get(obj: Any, *path: str | int) -> Any:
    for key in path:
        if obj is None:
            return None
        if isinstance(key, int):
            obj = obj[key] if isinstance(obj, list | tuple) and len(obj) > key else None
        else:
            obj = obj.get(key) if isinstance(obj, Mapping) else None
    return obj


def _srv_first(facts: Mapping[str, Any]) -> tuple[str | None, int | None]:
    records = _get(facts, "srv", "records") or []
    if not records:
        return None, None
    best = sorted(records, key=lambda r: (r.get("priority") or 0, -(r.get("weight") or 0)))[0]
    return (best.get("target") or "").rstrip(".") or None, best.get("port")


def kms_registered(facts: Mapping[str, Any]) -> str | None:
    """The KMS host set with `slmgr /skms` (CIM SoftwareLicensingService, else slmgr /dli)."""
    registered = _get(facts, "kms_config", "kms_registered")
    value = registered or _get(facts, "license", "products", 0, "kms_registered")
    return str(value) if value else None


def kms_current(facts: Mapping[str, Any]) -> str | None:
    """The KMS host Windows would contact now: the registered one, else the SRV target."""
    return kms_registered(facts) or _srv_first(facts)[0]


def kms_target(facts: Mapping[str, Any], fallback: str | None = None) -> str | None:
    """The host to test on the KMS port: the current KMS host, else `fallback` (the kms_host var)."""
    return kms_current(facts) or (fallback or None)


def kms_target_port(facts: Mapping[str, Any], default: int = 1688) -> int:
    if kms_registered(facts):
        port = _get(facts, "kms_config", "kms_port") or _get(facts, "license", "products", 0, "kms_port")
        return int(port or default)
    srv_host, srv_port = _srv_first(facts)
    return int(srv_port or default) if srv_host else int(default)


def kms_reachable(facts: Mapping[str, Any], name: str | None) -> bool:
    """Did a TCP test from the host (any Test-NetConnection fact) reach `name`?"""
    host = host_name(name)
    return host is not None and tcp_reach(facts).get(host) is True


def office_kms_current(facts: Mapping[str, Any]) -> str | None:
    """The KMS host Office would contact: /sethst value from ospp /dstatus, else the SRV target."""
    for product in _get(facts, "office", "products") or []:
        machine = product.get("kms_machine")
        if machine:
            return str(machine)
    return _srv_first(facts)[0]


def office_kms_target(facts: Mapping[str, Any], fallback: str | None = None) -> str | None:
    return office_kms_current(facts) or (fallback or None)


def office_kms_target_port(facts: Mapping[str, Any], default: int = 1688) -> int:
    for product in _get(facts, "office", "products") or []:
        if product.get("kms_machine"):
            return int(product.get("kms_port") or default)
    srv_host, srv_port = _srv_first(facts)
    return int(srv_port or default) if srv_host else int(default)


def os_product(version: str | None) -> str:
    """GVLK product family from the OS version: server builds map to their release, else windows."""
    m = re.search(r"10\.0\.(\d+)", version or "")
    build = int(m.group(1)) if m else 0
    return _BUILD_TO_SERVER.get(build, "windows")


def gvlk_for_product(name: str | None, os_version: str | None = None) -> str | None:
    """The GVLK for slmgr's product name ("Windows(R), Enterprise edition") on this OS version."""
    edition = gvlk.edition_from_name(name or "")
    if not edition:
        return None
    product = os_product(os_version) if edition.lower().startswith("server") else "windows"
    return gvlk.gvlk_for(product, edition)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "kms_registered": kms_registered,
    "kms_current": kms_current,
    "kms_target": kms_target,
    "kms_target_port": kms_target_port,
    "kms_reachable": kms_reachable,
    "office_kms_current": office_kms_current,
    "office_kms_target": office_kms_target,
    "office_kms_target_port": office_kms_target_port,
    "gvlk_for_product": gvlk_for_product,
}
