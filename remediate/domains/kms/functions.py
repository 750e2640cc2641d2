"""Template functions the KMS playbooks use in `when`, `expect` and `run`.

They read facts by the names of the facts contract (license, kms_config, srv, kms_port, os) and
never raise on missing facts: a missing fact reads as "unknown" (None).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from remediate.domains.kms import gvlk
from remediate.domains.kms.diagnose_kmshost import kms_n_policy
from remediate.domains.kms.evidence import host_name, tcp_reach


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


def os_product(version: str | None, edition: str | None = None, caption: str | None = None) -> str | None:
    """The GVLK table (release) for this OS: "windows7", "server2019", "windows-ltsb2016" ... or None.

    version/caption: Win32_OperatingSystem Version and Caption; edition: the EditionID (server vs client,
    LTSC vs general availability). None when the release is unknown: no table is guessed.
    """
    return gvlk.windows_release(edition or "", os_version=version, caption=caption)


def gvlk_for_product(
    name: str | None, os_version: str | None = None, caption: str | None = None
) -> str | None:
    """The GVLK for slmgr's product name ("Windows(R), Enterprise edition") on this OS version.

    Playbooks call gvlk_for_product(facts.license.products[0].name, facts.os.version, facts.os.caption).
    Without os_version the answer is None: every EditionID's key depends on the release (Professional
    differs on 7 / 8 / 8.1 / 10, EnterpriseS on each LTSB/LTSC, ServerStandard on each server), so the
    key is never guessed.
    """
    edition = gvlk.edition_from_name(name or "")
    if not edition:
        return None
    return gvlk.gvlk_for_os(edition, os_version=os_version, caption=caption)


def office_gvlk(license_name: str | None) -> str | None:
    """The GVLK for ospp's LICENSE NAME ("Office 16, Office16ProPlusVL_KMS_Client edition"), else None."""
    return gvlk.office_gvlk(license_name or "")


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
    "office_gvlk": office_gvlk,
    "kms_n_policy": kms_n_policy,
}
