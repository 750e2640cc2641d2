"""Findings on a KMS host itself (kms-host-health.yml): its count, port, DNS publishing, sppsvc,
event 12290 volume, and whether its host key (CSVLK) covers the clients' products.

Facts read: `kms_service` (parse slmgr-dlv-host), `sppsvc` (sc-query), `kms_events` (spp-events
of the Key Management Service log). Variables: `client_products` (what the clients run, e.g.
"Windows 11", "Windows Server 2022"), `kms_port`.

Thresholds: "Clients activate if the count is 25 or higher. Servers and volume editions of
Microsoft Office products activate if the count is five or greater." CSVLK scope: the "Activation
versions" tables of https://learn.microsoft.com/en-us/windows-server/get-started/kms-activation-planning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.domains.kms.network import diag

CLIENT_N_POLICY, SERVER_N_POLICY = 25, 5
FACT_KEY = "kms_service"  # the check id whose presence makes a host a KMS host to diagnose

_SERVERS = ("Windows Server 2008", "Windows Server 2008 R2", "Windows Server 2012", "Windows Server 2012 R2")
_WIN_OLD = ("Windows 7", "Windows 8.1")
# CSVLK group (the year in VOLUME_KMS_WSyy) -> Windows products its KMS host activates (the docs'
# tables, editions folded into their product: "Windows 10" covers Enterprise/Pro/Education/LTSC).
CSVLK_PRODUCTS: dict[str, frozenset[str]] = {
    "2025": frozenset({*_SERVERS, *_WIN_OLD, "Windows Server 2016", "Windows Server 2019",
                       "Windows Server 2022", "Windows Server 2025", "Windows 10", "Windows 11"}),
    "2022": frozenset({*_SERVERS, *_WIN_OLD, "Windows Server 2016", "Windows Server 2019",
                       "Windows Server 2022", "Windows 10", "Windows 11"}),
    "2019": frozenset({*_SERVERS, *_WIN_OLD, "Windows Server 2016", "Windows Server 2019", "Windows 10"}),
    "2016": frozenset({*_SERVERS, *_WIN_OLD, "Windows Server 2016", "Windows 10"}),
}  # fmt: skip
_GROUP_RE = re.compile(r"VOLUME_KMS_WS(\d{2})\b", re.IGNORECASE)


def csvlk_group(channel: str | None) -> str | None:
    """`VOLUME_KMS_WS22` -> "2022"; channels without a known group (VOLUME_KMS_C, Office) -> None."""
    m = _GROUP_RE.search(channel or "")
    return f"20{m.group(1)}" if m else None


def is_client_os(product: str) -> bool:
    return not re.search(r"\bserver\b", product, re.IGNORECASE)


def kms_n_policy(client_products: Sequence[str] | None) -> int:
    """The count the host must reach for every listed product: 25 when a client OS is among them."""
    products = list(client_products or [])
    return CLIENT_N_POLICY if not products or any(is_client_os(p) for p in products) else SERVER_N_POLICY


def _diag(cause_id: str, code: str | None, cause: str, action: str, ev: Sequence[str]) -> Diagnosis:
    return diag(cause_id, code, cause, action, False, ev)  # KMS-host findings are never fixed here


def _map(v: Any) -> Mapping[str, Any]:
    return v if isinstance(v, Mapping) else {}


def kmshost_findings(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> list[Diagnosis]:
    """Every problem the KMS host facts show (none: the host is healthy)."""
    host = _map(_map(facts.get(FACT_KEY)).get("kms_host"))
    out: list[Diagnosis] = []
    svc = _map(facts.get("sppsvc"))
    if svc.get("state") and svc.get("state") != "running":
        out.append(_diag(
            "kms_host.service_stopped", None,
            "The Software Protection service (sppsvc) is not running: the KMS host answers no client.",
            "Start it (`net start sppsvc`) and find why it stopped (System log, service recovery).",
            [f"sc query sppsvc: STATE {svc.get('state_code')} {str(svc.get('state')).upper()}"],
        ))  # fmt: skip
    if not host:
        return out
    if not host.get("enabled"):
        out.append(_diag(
            "kms_host.not_kms_host", None,
            "slmgr /dlv shows no KMS host section: no KMS host key (CSVLK) is installed and activated.",
            "Install the CSVLK (slmgr /ipk) and activate it (slmgr /ato), or remove this host from "
            "the KMS hosts.",
            ["slmgr /dlv: no 'Key Management Service is enabled on this machine'"],
        ))  # fmt: skip
        return out
    products = [str(p) for p in variables.get("client_products") or []]
    events = [e for e in _map(facts.get("kms_events")).get("events") or [] if _map(e).get("id") == 12290]
    count, need = host.get("current_count"), kms_n_policy(products)
    if isinstance(count, int) and count < need:
        who = "Windows client editions" if need == CLIENT_N_POLICY else "servers and Office"
        out.append(_diag(
            "kms_host.count_low", "0xC004F038",
            f"The KMS count is {count}, below the {need} that {who} need: its clients fail with "
            "0xC004F038 until enough distinct machines have asked (the host counts those of the last "
            "30 days).",
            "Let more clients contact this host (each request raises the count), or check for cloned "
            "images sharing a CMID (sysprep /generalize); other clients' activation resumes by itself.",
            [f"Current count: {count} (needs {need})", f"event 12290 (requests received): {len(events)}",
             *([f"client products: {', '.join(products)}"] if products else [])],
        ))  # fmt: skip
    if host.get("dns_publishing") is False:
        out.append(_diag(
            "kms_host.not_publishing", None,
            "DNS publishing is disabled: clients that rely on the _vlmcs._tcp SRV record do not find "
            "this host unless the record is kept by hand.",
            "slmgr /sdns (then restart sppsvc), or keep a manual _vlmcs._tcp SRV record for it.",
            ["slmgr /dlv: DNS publishing disabled"],
        ))  # fmt: skip
    port, want = host.get("port"), variables.get("kms_port")
    if isinstance(port, int) and want and str(port) != str(want):
        out.append(_diag(
            "kms_host.port", None,
            f"The KMS host listens on port {port}, not {want}: clients using {want} cannot reach it.",
            f"slmgr /sprt {want} on the host, or point the clients and SRV record at {port}.",
            [f"Listening on Port: {port}"],
        ))  # fmt: skip
    csvlk = _map(host.get("csvlk"))
    status = csvlk.get("license_status")
    if status and status != "licensed":
        # 0xC004F041: "The Software Licensing Service determined that the Key Management Service
        # (KMS) is not activated" (Windows activation error codes, learn.microsoft.com)
        out.append(_diag(
            "kms_host.not_activated", "0xC004F041",
            f"The host key (CSVLK) is installed but not activated ({status}): this KMS host "
            "refuses every client with 0xC004F041.",
            "Activate the KMS host key online (slmgr /ato) or by phone (slmgr /dti, then slmgr /atp), "
            "then restart sppsvc.",
            [f"CSVLK {csvlk.get('channel') or ''}: {status}"],
        ))  # fmt: skip
    group = csvlk_group(csvlk.get("channel"))
    missing = (
        [p for p in products if group and p not in CSVLK_PRODUCTS[group]] if group in CSVLK_PRODUCTS else []
    )
    if missing:
        out.append(_diag(
            "kms_host.csvlk_scope", "0xC004F042",
            f"The host key ({csvlk.get('channel')}, Windows Server {group} group) does not activate "
            f"{', '.join(missing)}: those clients get 0xC004F042.",
            "Install a newer CSVLK on this host (and its KMS update), or activate those products "
            "another way.",
            [f"CSVLK: {csvlk.get('description')}", f"not covered: {', '.join(missing)}"],
        ))  # fmt: skip
    return out
