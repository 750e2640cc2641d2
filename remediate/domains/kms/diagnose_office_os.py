"""Office versions Microsoft does not support on the host's Windows: an informational finding.

Microsoft's support matrix: Office 2013 (Office 15) and Office 2010 (Office 14) are not supported
on Windows 11; Office 2016 and 2019 are supported there but reached the end of support on
October 14, 2025 (https://learn.microsoft.com/deployoffice/endofsupport/resources; Office 2010's
end of support: https://learn.microsoft.com/deployoffice/endofsupport/office-2010-end-support-roadmap).
Never fixed: upgrading Office is a purchase and a deployment, not a remediation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.domains.kms.evidence import as_map, maps
from remediate.domains.kms.network import diag

WINDOWS_11_BUILD = 22000  # Windows 11 21H2 is build 22000; Windows 10 ends at 19045
# Office major version -> the release name; versions not supported on Windows 11 at all
UNSUPPORTED_ON_11 = {"14": "Office 2010", "15": "Office 2013"}
_LICENSE = re.compile(r"^\s*Office (\d{2}),", re.IGNORECASE)  # ospp: "Office 15, OfficeProPlusVL_..."
_PATH = re.compile(r"\\Office(\d{2})\\", re.IGNORECASE)  # ...\Microsoft Office\Office15\ospp.vbs
_BUILD = re.compile(r"^\s*\d+\.\d+\.(\d+)")


def windows_build(facts: Mapping[str, Any]) -> int | None:
    """The Windows build from the cim-os fact (`os`: build, else version "10.0.22631")."""
    os_fact = as_map(facts.get("os"))
    build = os_fact.get("build")
    if isinstance(build, int) and not isinstance(build, bool):
        return build
    version = os_fact.get("version")
    m = _BUILD.match(version) if isinstance(version, str) else None
    return int(m.group(1)) if m else None


def office_majors(facts: Mapping[str, Any]) -> dict[str, str]:
    """Office major version ("14", "15", "16") -> where it was seen (ospp license name or path)."""
    found: dict[str, str] = {}
    for p in maps(as_map(facts.get("office")).get("products")):
        name = str(p.get("license_name") or "")
        if m := _LICENSE.match(name):
            found.setdefault(m.group(1), f"ospp: {name.strip()}")
    paths = facts.get("office_paths")
    for path in paths if isinstance(paths, list) else []:
        if isinstance(path, str) and (m := _PATH.search(path)):
            found.setdefault(m.group(1), f"installed: {path}")
    return found


def office_os_findings(facts: Mapping[str, Any]) -> list[Diagnosis]:
    """One informational finding per Office version not supported on this Windows 11 host."""
    build = windows_build(facts)
    if build is None or build < WINDOWS_11_BUILD:
        return []
    caption = as_map(facts.get("os")).get("caption") or f"Windows build {build}"
    out = []
    for major, where in sorted(office_majors(facts).items()):
        release = UNSUPPORTED_ON_11.get(major)
        if release is None:
            continue
        out.append(
            diag(
                "office.unsupported_on_os",
                None,
                f"{release} (Office {major}) runs on {caption} (build {build}); Microsoft does not "
                f"support {release} on Windows 11.",
                "Informational: upgrade Office to a version supported on this Windows (Microsoft 365 "
                "Apps, Office LTSC 2021/2024); activation fixes are not attempted.",
                False,
                [where, f"OS: {caption} build {build}"],
            )
        )
    return out
