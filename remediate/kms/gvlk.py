"""Generic Volume License Keys (GVLKs): the public KMS client setup keys, per product and edition.

A GVLK turns a Windows or Office install into a KMS client; it activates nothing by itself. The keys
are published by Microsoft on purpose and transcribed here verbatim from:

- Windows / Windows Server: https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys
  (MicrosoftDocs/windowsserverdocs WindowsServerDocs/get-started/kms-client-activation-keys.md)
- Office / Project / Visio: https://learn.microsoft.com/office/volume-license-activation/gvlks
  (MicrosoftDocs/OfficeDocs-DeployOffice office/volume-license-activation/gvlks.md)

Editions are keyed by the Windows `EditionID` (registry HKLM\\...\\CurrentVersion\\EditionID, also the
word in slmgr's "Name: Windows(R), <EditionID> edition"); Office editions by a short SKU word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

WINDOWS_SOURCE = "https://learn.microsoft.com/windows-server/get-started/kms-client-activation-keys"
OFFICE_SOURCE = "https://learn.microsoft.com/office/volume-license-activation/gvlks"

# Windows 10 / 11 semi-annual (general availability) channel; the same key serves both versions.
# EnterpriseS is the LTSC edition id: LTSC 2019, 2021 and Windows 11 LTSC 2024 share one key.
_WINDOWS = {
    "Professional": "W269N-WFGWX-YVC9B-4J6C9-T83GX",
    "ProfessionalN": "MH37W-N47XK-V7XM9-C7227-GCQG9",
    "ProfessionalWorkstation": "NRG8B-VKK3Q-CXVCJ-9G2XF-6Q84J",
    "ProfessionalWorkstationN": "9FNHH-K3HBT-3W4TD-6383H-6XYWF",
    "ProfessionalEducation": "6TP4R-GNPTD-KYYHQ-7B7DP-J447Y",
    "ProfessionalEducationN": "YVWGF-BXNMC-HTQYQ-CPQ99-66QFC",
    "Education": "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2",
    "EducationN": "2WH4N-8QGBV-H22JP-CT43Q-MDWWJ",
    "Enterprise": "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    "EnterpriseN": "DPH2V-TTNVB-4X9Q3-TJR4H-KHJW4",
    "EnterpriseG": "YYVX9-NTFWV-6MDM3-9PT4T-4M68B",
    "EnterpriseGN": "44RPN-FTY23-9VTTB-MP9BX-T84FV",
    "EnterpriseS": "M7XTQ-FN8P6-TTKYV-9D4CC-J462D",
    "EnterpriseSN": "92NFX-8DJQP-P6BBQ-THF9C-7CG2H",
    "IoTEnterpriseS": "KBN8V-HFGQ4-MGXVD-347P6-PDQGT",
}
_WINDOWS_LTSB2016 = {
    "EnterpriseS": "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ",
    "EnterpriseSN": "QFFDN-GRT3P-VKWWX-X7T3R-8B639",
}
_WINDOWS_LTSB2015 = {
    "EnterpriseS": "WNMTR-4C88C-JK8YV-HQ7T2-76DF9",
    "EnterpriseSN": "2F77B-TNFGY-69QQF-B8YKP-D69TJ",
}
# Windows Server LTSC. ServerSolution is the Essentials edition id.
_SERVER2025 = {
    "ServerStandard": "TVRH6-WHNXV-R9WG3-9XRFY-MY832",
    "ServerDatacenter": "D764K-2NDRG-47T6Q-P8T8W-YP6DF",
    "ServerDatacenterAzure": "XGN3F-F394H-FD2MY-PP6FD-8MCRC",
}
_SERVER2022 = {
    "ServerStandard": "VDYBN-27WPP-V4HQT-9VMD4-VMK7H",
    "ServerDatacenter": "WX4NM-KYWYW-QJJR4-XV3QB-6VM33",
    "ServerDatacenterAzure": "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV",
}
_SERVER2019 = {
    "ServerStandard": "N69G4-B89J2-4G8F4-WWYCC-J464C",
    "ServerDatacenter": "WMDGN-G9PQG-XVVXX-R3X43-63DFG",
    "ServerSolution": "WVDHN-86M7X-466P6-VHXV7-YY726",
}
_SERVER2016 = {
    "ServerStandard": "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY",
    "ServerDatacenter": "CB7KF-BWN84-R7R2Y-793K2-8XDDG",
    "ServerSolution": "JCKRF-N37P4-C2D82-9YXRT-4M63B",
}
# Windows Server semi-annual channel, versions 1809, 1903, 1909, 2004, 20H2 (all one key pair).
_SERVER_SAC = {
    "ServerStandard": "N2KJX-J94YW-TQVFB-DG9YT-724CC",
    "ServerDatacenter": "6NMRW-2C8FM-D24W7-TQWMY-CWH2D",
}
_SERVER1803 = {
    "ServerStandard": "PTXN8-JFHJM-4WC78-MPCBR-9W4KR",
    "ServerDatacenter": "2HXDN-KRXHB-GPYC7-YCKFJ-7FVDG",
}
_SERVER1709 = {
    "ServerStandard": "DPCNP-XQFKJ-BJF7R-FRC8D-GF6G4",
    "ServerDatacenter": "6Y6KB-N82V8-D8CQV-23MJW-BWTG6",
}

# Office volume editions. Publisher LTSC 2024 has no GVLK in Microsoft's table (Publisher is retired).
_OFFICE2024 = {
    "ProPlus": "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
    "Standard": "V28N4-JG22K-W66P8-VTMGK-H6HGR",
    "ProjectPro": "FQQ23-N4YCY-73HQ3-FM9WC-76HF4",
    "ProjectStd": "PD3TT-NTHQQ-VC7CY-MFXK3-G87F8",
    "VisioPro": "B7TN8-FJ8V3-7QYCP-HQPMV-YY89G",
    "VisioStd": "JMMVY-XFNQC-KK4HK-9H7R3-WQQTV",
    "Access": "82FTR-NCHR7-W3944-MGRHM-JMCWD",
    "Excel": "F4DYN-89BP2-WQTWJ-GR8YC-CKGJG",
    "Outlook": "D2F8D-N3Q3B-J28PV-X27HD-RJWB9",
    "PowerPoint": "CW94N-K6GJH-9CTXY-MG2VC-FYCWP",
    "SkypeForBusiness": "4NKHF-9HBQF-Q3B6C-7YV34-F64P3",
    "Word": "MQ84N-7VYDM-FXV7C-6K7CC-VFW9J",
}
_OFFICE2021 = {
    "ProPlus": "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH",
    "Standard": "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3",
    "ProjectPro": "FTNWT-C6WBT-8HMGF-K9PRX-QV9H8",
    "ProjectStd": "J2JDC-NJCYY-9RGQ4-YXWMH-T3D4T",
    "VisioPro": "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4",
    "VisioStd": "MJVNY-BYWPY-CWV6J-2RKRT-4M8QG",
    "Access": "WM8YG-YNGDD-4JHDC-PG3F4-FC4T4",
    "Excel": "NWG3X-87C9K-TC7YY-BC2G7-G6RVC",
    "Outlook": "C9FM6-3N72F-HFJXB-TM3V9-T86R9",
    "PowerPoint": "TY7XF-NFRBR-KJ44C-G83KF-GX27K",
    "Publisher": "2MW9D-N4BXM-9VBPG-Q7W6M-KFBGQ",
    "SkypeForBusiness": "HWCXN-K3WBT-WJBKY-R8BD9-XK29P",
    "Word": "TN8H9-M34D3-Y64V9-TR72V-X79KV",
}
_OFFICE2019 = {
    "ProPlus": "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
    "Standard": "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK",
    "ProjectPro": "B4NPR-3FKK7-T2MBV-FRQ4W-PKD2B",
    "ProjectStd": "C4F7P-NCP8C-6CQPT-MQHV9-JXD2M",
    "VisioPro": "9BGNQ-K37YR-RQHF2-38RQ3-7VCBB",
    "VisioStd": "7TQNQ-K3YQQ-3PFH7-CCPPM-X4VQ2",
    "Access": "9N9PT-27V4Y-VJ2PD-YXFMF-YTFQT",
    "Excel": "TMJWT-YYNMB-3BKTF-644FC-RVXBD",
    "Outlook": "7HD7K-N4PVK-BHBCQ-YWQRW-XW4VK",
    "PowerPoint": "RRNCX-C64HY-W2MM7-MCH9G-TJHMQ",
    "Publisher": "G2KWX-3NW6P-PY93R-JXK2T-C9Y9V",
    "SkypeForBusiness": "NCJ33-JHBBY-HTK98-MYCV8-HMKHJ",
    "Word": "PBX3G-NWMT6-Q7XBW-PYJGG-WXD33",
}
_OFFICE2016 = {
    "ProPlus": "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
    "Standard": "JNRGM-WHDWX-FJJG3-K47QV-DRTFM",
    "ProjectPro": "YG9NW-3K39V-2T3HJ-93F3Q-G83KT",
    "ProjectStd": "GNFHQ-F6YQM-KQDGJ-327XX-KQBVC",
    "VisioPro": "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK",
    "VisioStd": "7WHWN-4T7MP-G96JF-G33KR-W8GF4",
    "Access": "GNH9Y-D2J4T-FJHGG-QRVH7-QPFDW",
    "Excel": "9C2PK-NWTVB-JMPW8-BFT28-7FTBF",
    "OneNote": "DR92N-9HTF2-97XKM-XW2WJ-XW3J6",
    "Outlook": "R69KK-NTPKF-7M3Q4-QYBHW-6MT9B",
    "PowerPoint": "J7MQP-HNJ4Y-WJ7YM-PFYGF-BY6C6",
    "Publisher": "F47MM-N3XJP-TQXJ9-BP99D-8K837",
    "SkypeForBusiness": "869NQ-FJ69K-466HW-QYCP2-DDBV6",
    "Word": "WXY84-JN2Q9-RBCCQ-3Q3J3-3PFJ6",
}

TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        name: MappingProxyType(table)
        for name, table in {
            "windows": _WINDOWS,
            "windows-ltsb2016": _WINDOWS_LTSB2016,
            "windows-ltsb2015": _WINDOWS_LTSB2015,
            "server2025": _SERVER2025,
            "server2022": _SERVER2022,
            "server2019": _SERVER2019,
            "server2016": _SERVER2016,
            "server-sac": _SERVER_SAC,
            "server1803": _SERVER1803,
            "server1709": _SERVER1709,
            "office2024": _OFFICE2024,
            "office2021": _OFFICE2021,
            "office2019": _OFFICE2019,
            "office2016": _OFFICE2016,
        }.items()
    }
)
"""Product -> EditionID -> GVLK."""

ALL_GVLKS: frozenset[str] = frozenset(k for t in TABLES.values() for k in t.values())

KEY_RE = re.compile(r"^[0-9A-Z]{5}(-[0-9A-Z]{5}){4}$")

# Product aliases (after lower-casing and dropping spaces, dashes, dots and underscores).
_PRODUCT_ALIASES = {
    "windows": "windows",
    "win": "windows",
    "windows10": "windows",
    "windows11": "windows",
    "win10": "windows",
    "win11": "windows",
    "windowsltsc": "windows",
    "windowsltsc2019": "windows",
    "windowsltsc2021": "windows",
    "windowsltsc2024": "windows",
    "windowsltsb2016": "windows-ltsb2016",
    "ltsb2016": "windows-ltsb2016",
    "windowsltsb2015": "windows-ltsb2015",
    "ltsb2015": "windows-ltsb2015",
    "serversac": "server-sac",
    "serversemiannual": "server-sac",
    "server1809": "server-sac",
    "server1903": "server-sac",
    "server1909": "server-sac",
    "server2004": "server-sac",
    "server20h2": "server-sac",
    "officeltsc2024": "office2024",
    "officeltsc2021": "office2021",
}

# Edition aliases: normalized spelling -> EditionID / Office SKU word.
_EDITION_ALIASES = {
    "pro": "Professional",
    "pron": "ProfessionalN",
    "proworkstation": "ProfessionalWorkstation",
    "proforworkstations": "ProfessionalWorkstation",
    "professionalforworkstations": "ProfessionalWorkstation",
    "proworkstationn": "ProfessionalWorkstationN",
    "proforworkstationsn": "ProfessionalWorkstationN",
    "professionalforworkstationsn": "ProfessionalWorkstationN",
    "proeducation": "ProfessionalEducation",
    "proeducationn": "ProfessionalEducationN",
    "enterpriseltsc": "EnterpriseS",
    "enterpriseltsb": "EnterpriseS",
    "enterprisenltsc": "EnterpriseSN",
    "enterprisenltsb": "EnterpriseSN",
    "iotenterpriseltsc": "IoTEnterpriseS",
    "standard": "ServerStandard",
    "datacenter": "ServerDatacenter",
    "essentials": "ServerSolution",
    "serveressentials": "ServerSolution",
    "datacenterazureedition": "ServerDatacenterAzure",
    "serverdatacenterazureedition": "ServerDatacenterAzure",
    "azureedition": "ServerDatacenterAzure",
    "professionalplus": "ProPlus",
    "projectprofessional": "ProjectPro",
    "projectstandard": "ProjectStd",
    "visioprofessional": "VisioPro",
    "visiostandard": "VisioStd",
    "skype": "SkypeForBusiness",
    "lync": "SkypeForBusiness",
}


def _squash(text: str) -> str:
    return re.sub(r"[\s\-_.:()]+", "", text).lower()


def normalize_product(product: str) -> str | None:
    """Product aliases: "Windows 11" -> "windows", "Windows Server 2022" -> "server2022"."""
    p = _squash(product.lower().replace("(r)", "")).replace("microsoft", "")
    p = p.replace("windowsserver", "server").replace("ws20", "server20")
    if p in TABLES:
        return p
    return _PRODUCT_ALIASES.get(p)


def normalize_edition(product: str, edition: str) -> str | None:
    """Map an edition spelling to the table's key for that product, or None when it has no GVLK."""
    table = TABLES.get(product)
    if table is None:
        return None
    e = _squash(edition)
    for prefix in ("windows", "office"):
        e = e.removeprefix(prefix)
    e = e.removesuffix("edition") if e not in ("datacenterazureedition", "azureedition") else e
    by_lower = {k.lower(): k for k in table}
    if e in by_lower:
        return by_lower[e]
    alias = _EDITION_ALIASES.get(e)
    if alias is None and product.startswith("server") and not e.startswith("server"):
        alias = _EDITION_ALIASES.get("server" + e) or by_lower.get("server" + e)
    return alias if alias in table else None


def gvlk_for(product: str, edition: str) -> str | None:
    """The GVLK for a product and edition, e.g. gvlk_for("windows", "Enterprise"), None if unknown.

    product: windows (10/11 and LTSC 2019+), windows-ltsb2016, windows-ltsb2015, server2016/2019/2022/2025,
    server-sac, office2016/2019/2021/2024 (aliases like "Windows 11", "Windows Server 2022", "Office LTSC
    2021" work). edition: the EditionID (Professional, Enterprise, ServerStandard ...) or a common
    spelling (Pro, Standard, Datacenter, ProPlus, Project Professional ...).
    """
    p = normalize_product(product)
    if p is None:
        return None
    e = normalize_edition(p, edition)
    return TABLES[p][e] if e is not None else None


def channel_of(key: str) -> str | None:
    """ "VOLUME_KMSCLIENT" when `key` is a known GVLK, else None (the channel can't be told from a key)."""
    k = key.strip().upper()
    return "VOLUME_KMSCLIENT" if k in ALL_GVLKS else None


def product_of(key: str) -> tuple[str, str] | None:
    """(product, edition) for a known GVLK, e.g. ("windows", "Enterprise"); the first table wins."""
    k = key.strip().upper()
    for product, table in TABLES.items():
        for edition, gvlk in table.items():
            if gvlk == k:
                return product, edition
    return None


_NAME_EDITION_RE = re.compile(r",\s*([A-Za-z0-9_]+)\s+edition", re.IGNORECASE)


def edition_from_name(name: str) -> str | None:
    """EditionID from slmgr's product name: "Windows(R), ServerStandard edition" -> "ServerStandard"."""
    m = _NAME_EDITION_RE.search(name)
    return m.group(1) if m else None
