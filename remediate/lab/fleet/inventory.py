"""The lab's Ansible-compatible YAML inventory (what `remediate lab up --inventory-out` writes).

Shape (ansible-inventory reads it unmodified):

    all:
      children:
        windows:
          hosts:
            WIN-0001: {ansible_host: 127.41.7.50, ansible_port: 5985, lab_profile: healthy,
                       lab_channel: VOLUME_KMSCLIENT, lab_license_state: licensed, lab_os: win10,
                       lab_office: msi, ...}
          vars: {ansible_user: admin, ansible_password: ..., ansible_connection: winrm,
                 ansible_winrm_transport: ntlm, ansible_winrm_scheme: http, kms_host: ..., ...}
        locale_en_us: {hosts: {WIN-0001: {}}}
        lab_healthy: {hosts: {WIN-0001: {}}}
        lab_channel_volume_kmsclient: {hosts: {WIN-0001: {}}}
        kms_hosts:                     # the KMS hosts' Windows faces; not in `windows`
          hosts: {KMS01: {ansible_host: 127.41.7.10, lab_profile: kms_host, lab_kms_port: 1688, ...}}
          vars: {the same connection vars as windows}

lab_office is the Office kind (msi, c2r_retail, c2r_volume, m365) or `none`.

auth_fail hosts carry their own (wrong) `ansible_password`. The file holds passwords: it is
written with mode 0600.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class InventoryHost:
    name: str
    address: str
    winrm_port: int
    https_port: int
    ssh_port: int | None
    profile: str
    locale: str
    password: str  # what the inventory gives for this host (wrong for auth_fail)
    fqdn: str
    channel: str = "VOLUME_KMSCLIENT"  # the Windows product's channel
    license_state: str = "licensed"
    os_release: str = "win10"
    office_kind: str | None = None


def group_name(prefix: str, value: str) -> str:
    """`locale_ja_jp`, `lab_kms_unreachable`: Ansible group names are identifiers."""
    return prefix + "_" + "".join(c if c.isalnum() else "_" for c in value.lower())


def build_inventory(
    hosts: Iterable[InventoryHost],
    *,
    user: str,
    password: str,
    ca_path: Path | None,
    kms_host: str,
    kms_port: int,
    domain: str,
    known_hosts: Path | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    kms_hosts: Iterable[InventoryHost] = (),
) -> dict[str, Any]:
    host_vars: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, dict[str, Any]]] = {}
    for h in sorted(hosts, key=lambda h: h.name):
        host_vars[h.name] = _host_vars(h, password)
        groups.setdefault(group_name("locale", h.locale), {})[h.name] = {}
        groups.setdefault(group_name("lab", h.profile), {})[h.name] = {}
        groups.setdefault(group_name("lab_channel", h.channel), {})[h.name] = {}
    win_vars: dict[str, Any] = {
        "ansible_user": user,
        "ansible_password": password,
        "ansible_connection": "winrm",
        "ansible_winrm_transport": "ntlm",
        "ansible_winrm_scheme": "http",
        "ansible_winrm_server_cert_validation": "validate",
        "kms_host": kms_host,
        "kms_port": kms_port,
        "lab_domain": domain,
    }
    if ca_path is not None:
        win_vars["ansible_winrm_ca_trust_path"] = str(ca_path)
        win_vars["ansible_psrp_ca_cert"] = str(ca_path)  # the same CA when switched to psrp over https
    if known_hosts is not None:
        win_vars["remediate_ssh_known_hosts"] = str(known_hosts)
    win_vars.update(extra_vars or {})
    children: dict[str, Any] = {"windows": {"hosts": host_vars, "vars": win_vars}}
    kms = {h.name: _host_vars(h, password) for h in sorted(kms_hosts, key=lambda h: h.name)}
    if kms:
        kms_vars = {k: v for k, v in win_vars.items() if k not in ("kms_host", "kms_port")}
        children["kms_hosts"] = {"hosts": kms, "vars": kms_vars}
    for name in sorted(groups):
        children[name] = {"hosts": groups[name]}
    return {"all": {"children": children}}


def _host_vars(h: InventoryHost, password: str) -> dict[str, Any]:
    hv: dict[str, Any] = {
        "ansible_host": h.address,
        "ansible_port": h.winrm_port,
        "remediate_https_port": h.https_port,
        "lab_profile": h.profile,
        "lab_locale": h.locale,
        "lab_fqdn": h.fqdn,
        "lab_channel": h.channel,
        "lab_license_state": h.license_state,
        "lab_os": h.os_release,
        "lab_office": h.office_kind or "none",
    }
    if h.ssh_port is not None:
        hv["remediate_ssh_port"] = h.ssh_port
    if h.password != password:
        hv["ansible_password"] = h.password
    return hv


def write_inventory(inventory: Mapping[str, Any], path: Path) -> Path:
    """Write atomically (tmp + rename) with mode 0600: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# Written by `remediate lab up`: an emulated fleet on loopback. Holds passwords.\n")
        yaml.safe_dump(dict(inventory), fh, sort_keys=False, default_flow_style=False, allow_unicode=True)
    os.replace(tmp, path)
    return path
