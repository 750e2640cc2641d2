"""Windows releases and editions the lab fleet can emulate: version, caption, slmgr names, SKU ids.

Sources (each string below follows one of them):
- Win32_OperatingSystem.Caption: "Microsoft Windows 7 Enterprise " with the trailing space Windows 7 /
  Server 2008 R2 print (https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem);
  "Microsoft Windows Server 2008 R2 Standard " (trailing space) and the Windows 10 LTSB/LTSC captions
  "Microsoft Windows 10 Enterprise 2016 LTSB", "Microsoft Windows 10 Enterprise LTSC", "Microsoft
  Windows 11 Enterprise LTSC" as inventory scripts compare them (public scripts matching Caption /
  systeminfo "OS Name"). Windows 8.1 / 10 / 11 / Server 2012+ captions follow "Microsoft Windows
  <release> <edition>" ("Microsoft Windows 10 Pro", "Microsoft Windows Server 2012 R2 Standard"); the
  Home-edition spellings ("Home Single Language") follow that pattern and are unverified.
- slmgr /dli "Name" / "Description": Windows 7 "Windows(R) 7, Enterprise edition" / "Windows Operating
  System - Windows(R) 7, VOLUME_KMSCLIENT channel" and Server 2008 R2 "Windows Server(R),
  ServerEnterprise edition" / "Windows Operating System - Windows Server(R), ... channel" (TechNet
  "Managing License States", https://learn.microsoft.com/previous-versions/tn-archive/ff793426(v=technet.10);
  KB 4487266 https://learn.microsoft.com/troubleshoot/windows-client/licensing-and-activation/activation-failures-not-genuine-notifications-volume-licensed-kms-client).
  Windows 8 / Server 2012 and later: "Windows(R), ServerStandard edition" / "Windows(R) Operating
  System, VOLUME_KMSCLIENT channel" (Checkmk's win_license test captures of Server 2012 and Windows 10,
  tests/unit/checks/test_win_license.py).
- KMS client SKU (activation) ids: KB 4487266 (Windows 7 Enterprise ae2ee509-...) and the public KMS
  database py-kms/KmsDataBase.xml (Py-KMS-Organization/py-kms), whose ids for Windows 10/11 Enterprise
  and Server 2019/2022 Standard match the ones slmgr prints in the outputs cited in fleet_hosts.py.
  SKUs of other channels (MAK, RETAIL, OEM, AVMA) have no public id list: `activation_id` derives a
  stable uuid5 for them.
- AVMA keys: https://learn.microsoft.com/windows-server/get-started/automatic-vm-activation ("AVMA keys").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

KMS = "VOLUME_KMSCLIENT"
# slmgr /dlv shows "VIRTUAL_MACHINE_ACTIVATION" in the Description line of an AVMA-activated guest
# (https://learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/error-0xc004fd02-activate-windows-vm).
AVMA_CHANNEL = "VIRTUAL_MACHINE_ACTIVATION"

# EditionID -> the word Caption prints for it ("Professional" -> "Microsoft Windows 10 Pro").
_CAPTION_WORD = {
    "Core": "Home",
    "CoreSingleLanguage": "Home Single Language",
    "Professional": "Pro",
    "ProfessionalWorkstation": "Pro for Workstations",
    "Education": "Education",
    "ProfessionalEducation": "Pro Education",
    "Enterprise": "Enterprise",
    "EnterpriseN": "Enterprise N",
    "EnterpriseS": "Enterprise LTSC",
    "ServerStandard": "Standard",
    "ServerEnterprise": "Enterprise",
    "ServerDatacenter": "Datacenter",
}
EDITIONS: tuple[str, ...] = tuple(_CAPTION_WORD)
HOME_EDITIONS = frozenset({"Core", "CoreSingleLanguage"})  # no GVLK, never volume-licensed
# Windows 10 / 11 editions, the default (Enterprise) first
_CLIENT = ("Enterprise", "Core", "CoreSingleLanguage", "Professional", "ProfessionalWorkstation",
           "Education", "ProfessionalEducation", "EnterpriseN")  # fmt: skip
_SERVER = ("ServerStandard", "ServerDatacenter")


@dataclass(frozen=True)
class OsRelease:
    name: str  # the spec's name: win10, server2012r2 ...
    version: str  # Win32_OperatingSystem.Version
    caption: str  # "Microsoft Windows 10" (+ " " + edition word)
    editions: tuple[str, ...]  # valid EditionIDs; the first is the default
    gvlk_product: str  # product name for remediate.domains.kms.gvlk.gvlk_for
    naming: str = "modern"  # slmgr name style: modern | win7 | server2008r2
    adba: bool = True  # Active Directory-based activation: Windows 8 / Server 2012 and later
    avma: bool = False  # AVMA guest: Windows Server 2012 R2 and later Standard/Datacenter
    trailing_space: bool = False  # Windows 7 / Server 2008 R2 captions end with a space

    @property
    def is_server(self) -> bool:
        return self.editions[0].startswith("Server")

    def os_caption(self, edition: str) -> str:
        if self.name.startswith(("ltsb", "ltsc")):
            return self.caption + (" " if self.trailing_space else "")
        # Windows 7 spells the edition out: "Microsoft Windows 7 Professional " (Win32_OperatingSystem doc)
        word = edition if self.naming == "win7" else _CAPTION_WORD[edition]
        if self.name == "win81" and edition in HOME_EDITIONS:  # "Windows 8.1", "Windows 8.1 Single Language"
            word = word.removeprefix("Home").strip()
        text = f"{self.caption} {word}".rstrip()
        return text + (" " if self.trailing_space else "")

    def product_name(self, edition: str) -> str:
        if self.naming == "win7":
            return f"Windows(R) 7, {edition} edition"
        if self.naming == "server2008r2":
            return f"Windows Server(R), {edition} edition"
        return f"Windows(R), {edition} edition"

    def description(self, channel: str) -> str:
        if self.naming == "win7":
            return f"Windows Operating System - Windows(R) 7, {channel} channel"
        if self.naming == "server2008r2":
            return f"Windows Operating System - Windows Server(R), {channel} channel"
        return f"Windows(R) Operating System, {channel} channel"


_R = OsRelease
_W7: dict[str, Any] = {"naming": "win7", "adba": False, "trailing_space": True}
_S8: dict[str, Any] = {"naming": "server2008r2", "adba": False, "trailing_space": True}
OS_RELEASES: dict[str, OsRelease] = {
    r.name: r
    for r in (
        _R("win7", "6.1.7601", "Microsoft Windows 7", ("Enterprise", "Professional"), "windows7", **_W7),
        _R("win81", "6.3.9600", "Microsoft Windows 8.1",
           ("Enterprise", "Professional", "Core", "CoreSingleLanguage"), "windows81"),
        _R("win10", "10.0.19045", "Microsoft Windows 10", _CLIENT, "windows"),
        _R("win11", "10.0.22631", "Microsoft Windows 11", _CLIENT, "windows"),
        _R("win11-24h2", "10.0.26100", "Microsoft Windows 11",
           _CLIENT, "windows"),
        _R("ltsb2015", "10.0.10240", "Microsoft Windows 10 Enterprise 2015 LTSB", ("EnterpriseS",),
           "windows-ltsb2015"),
        _R("ltsb2016", "10.0.14393", "Microsoft Windows 10 Enterprise 2016 LTSB", ("EnterpriseS",),
           "windows-ltsb2016"),
        _R("ltsc2019", "10.0.17763", "Microsoft Windows 10 Enterprise LTSC", ("EnterpriseS",), "windows"),
        _R("ltsc2021", "10.0.19044", "Microsoft Windows 10 Enterprise LTSC", ("EnterpriseS",), "windows"),
        _R("ltsc2024", "10.0.26100", "Microsoft Windows 11 Enterprise LTSC", ("EnterpriseS",), "windows"),
        _R("server2008r2", "6.1.7601", "Microsoft Windows Server 2008 R2",
           ("ServerStandard", "ServerEnterprise", "ServerDatacenter"), "server2008r2", **_S8),
        _R("server2012", "6.2.9200", "Microsoft Windows Server 2012", _SERVER, "server2012"),
        _R("server2012r2", "6.3.9600", "Microsoft Windows Server 2012 R2", _SERVER, "server2012r2",
           avma=True),
        _R("server2016", "10.0.14393", "Microsoft Windows Server 2016", _SERVER, "server2016", avma=True),
        _R("server2019", "10.0.17763", "Microsoft Windows Server 2019", _SERVER, "server2019", avma=True),
        _R("server2022", "10.0.20348", "Microsoft Windows Server 2022", _SERVER, "server2022", avma=True),
        # Server 2025 is left out of AVMA: the AVMA key table cited above stops at Server 2022.
        _R("server2025", "10.0.26100", "Microsoft Windows Server 2025", _SERVER, "server2025"),
    )
}  # fmt: skip
OS_NAMES: tuple[str, ...] = tuple(OS_RELEASES)
# The legacy fleet's mix (fleet_hosts.WINDOWS_EDITIONS weights): the OS mix when `os_versions:` is absent.
DEFAULT_OS_MIX = {"win10": 40, "win11": 30, "server2022": 20, "server2019": 10}

# KMS client (VOLUME_KMSCLIENT) SKU ids: (release, EditionID) -> SKU id (sources in the module doc).
_WIN10_SKUS = {
    "Professional": "2de67392-b7a7-462a-b1ca-108dd189f588",
    "ProfessionalWorkstation": "82bbc092-bc50-4e16-8e18-b74fc486aec3",
    "Education": "e0c42288-980c-4788-a014-c080d2e1926e",
    "ProfessionalEducation": "3f1afc82-f8ac-4f6c-8005-1d233e606eee",
    "Enterprise": "73111121-5638-40f6-bc11-f1d7b0d64300",
    "EnterpriseN": "e272e3e2-732f-4c65-a8f0-484747d0d947",
}
KMS_SKU_IDS: dict[tuple[str, str], str] = {
    ("win7", "Professional"): "b92e9980-b9d5-4821-9c94-140f632f6312",
    ("win7", "Enterprise"): "ae2ee509-1b34-41c0-acb7-6d4650168915",
    ("win81", "Professional"): "c06b6981-d7fd-4a35-b7b4-054742b7af67",
    ("win81", "Enterprise"): "81671aaf-79d1-4eb1-b004-8cbbe173afea",
    **{(rel, e): sku for rel in ("win10", "win11", "win11-24h2") for e, sku in _WIN10_SKUS.items()},
    ("ltsb2015", "EnterpriseS"): "7b51a46c-0c04-4e8f-9af4-8496cca90d5e",
    ("ltsb2016", "EnterpriseS"): "2d5a5a60-3040-48bf-beb0-fcd770c20ce0",
    ("ltsc2019", "EnterpriseS"): "32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee",
    ("ltsc2021", "EnterpriseS"): "32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee",
    # LTSC 2024 shares the LTSC 2019/2021 GVLK (domains/kms/gvlk.py); its SKU id is assumed shared too.
    ("ltsc2024", "EnterpriseS"): "32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee",
    ("server2008r2", "ServerStandard"): "68531fb9-5511-4989-97be-d11a0f55633f",
    ("server2008r2", "ServerEnterprise"): "620e2b3d-09e7-42fd-802a-17a13652fe7a",
    ("server2008r2", "ServerDatacenter"): "7482e61b-c589-4b7f-8ecc-46d455ac3b87",
    ("server2012", "ServerStandard"): "f0f5ec41-0d55-4732-af02-440a44a3cf0f",
    ("server2012", "ServerDatacenter"): "d3643d60-0c42-412d-a7d6-52e6635327f6",
    ("server2012r2", "ServerStandard"): "b3ca044e-a358-4d68-9883-aaa2941aca99",
    ("server2012r2", "ServerDatacenter"): "00091344-1ea4-4f37-b789-01750ba6988c",
    ("server2016", "ServerStandard"): "8c1c5410-9f39-4805-8c9d-63a07706358f",
    ("server2016", "ServerDatacenter"): "21c56779-b449-4d20-adfc-eece0e1ad74b",
    ("server2019", "ServerStandard"): "de32eafd-aaee-4662-9444-c1befb41bde2",
    ("server2019", "ServerDatacenter"): "34e1ae55-27f8-4950-8877-7a03be5fb181",
    ("server2022", "ServerStandard"): "9bd77860-9b31-4b7b-96ad-2564017315bf",
    ("server2022", "ServerDatacenter"): "ef6cfc9f-8c5d-44ac-9aad-de6a2ea0ae03",
    ("server2025", "ServerStandard"): "7dc26449-db21-4e09-ba37-28f2958506a6",
    ("server2025", "ServerDatacenter"): "c052f164-cdf6-409a-a0cb-853ba0f0f55a",
}
# Published AVMA keys (automatic-vm-activation, "AVMA keys"): (release, EditionID) -> key.
AVMA_KEYS: dict[tuple[str, str], str] = {
    ("server2012r2", "ServerDatacenter"): "Y4TGP-NPTV9-HTC2H-7MGQ3-DV4TW",
    ("server2012r2", "ServerStandard"): "DBGBW-NPF86-BJVTX-K3WKJ-MTB6V",
    ("server2016", "ServerDatacenter"): "TMJ3Y-NTRTM-FJYXT-T22BY-CWG3J",
    ("server2016", "ServerStandard"): "C3RCX-M6NRP-6CXC9-TW2F2-4RHYD",
    ("server2019", "ServerDatacenter"): "H3RNG-8C32Q-Q8FRX-6TDXV-WMBMW",
    ("server2019", "ServerStandard"): "TNK62-RXVTB-4P47B-2D623-4GF74",
    ("server2022", "ServerDatacenter"): "W3GNR-8DDXR-2TFRP-H8P33-DV9BG",
    ("server2022", "ServerStandard"): "YDFWN-MJ9JR-3DYRK-FXXRW-78VHK",
}


def activation_id(release: str, edition: str, channel: str) -> str:
    """The SKU id slmgr prints as Activation ID: the public one for KMS clients, else a stable uuid5.

    Microsoft publishes no list of MAK / RETAIL / OEM / AVMA SKU ids; the lab makes one up per
    (release, edition, channel) so that the same host always shows the same id.
    """
    if channel == KMS and (release, edition) in KMS_SKU_IDS:
        return KMS_SKU_IDS[(release, edition)]
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"remediate-lab-sku:{release}:{edition}:{channel}"))


def release_of(version: str, edition: str) -> str:
    """The release name of a legacy fleet host (10.0.17763 is LTSC 2019 or Server 2019 by edition)."""
    server = edition.startswith("Server")
    for rel in OS_RELEASES.values():
        if rel.version == version and rel.is_server == server and (edition in rel.editions or not server):
            if not server and rel.name.startswith(("ltsb", "ltsc")) != (edition == "EnterpriseS"):
                continue
            return rel.name
    return "unknown"
