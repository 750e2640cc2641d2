"""Generic Volume License Keys (GVLKs): which KMS client setup key a product needs.

A GVLK turns a Windows or Office install into a KMS client; it activates nothing by itself. The tables
(Microsoft's published keys, with their sources) live in `gvlk_tables`; this module picks one:

- `gvlk_for_os(edition_id, os_version=..., caption=...)`: Windows, from the EditionID and the OS build.
- `office_gvlk(license_name)`: Office / Project / Visio, from ospp.vbs' LICENSE NAME.
- `gvlk_for(product, edition)`: a named release's table ("windows7", "Windows Server 2022", ...).

Every answer comes from exactly one release's table; an edition that release has no row for gets None,
never another release's key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from remediate.domains.kms.gvlk_tables import RAW_TABLES

TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {name: MappingProxyType(dict(table)) for name, (table, _) in RAW_TABLES.items()}
)
"""Product (release) -> EditionID / Office SKU word -> GVLK."""

SOURCES: Mapping[str, str] = MappingProxyType({name: url for name, (_, url) in RAW_TABLES.items()})
"""Product (release) -> URL of the Microsoft page its table is transcribed from."""

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
    "windowsltsc2019": "windows-ltsc2019",
    "ltsc2019": "windows-ltsc2019",
    "windowsltsc2021": "windows-ltsc2021",
    "ltsc2021": "windows-ltsc2021",
    "windowsltsc2024": "windows-ltsc2024",
    "ltsc2024": "windows-ltsc2024",
    "win7": "windows7",
    "win8": "windows8",
    "win81": "windows81",
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
    "datacenterazureedition": "ServerTurbine",
    "serverdatacenterazureedition": "ServerTurbine",
    "azureedition": "ServerTurbine",
    "groove": "SharePointWorkspace",
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
    """The GVLK for a named release and edition, e.g. gvlk_for("windows7", "Enterprise"); None if unknown.

    product: a TABLES name (windows = 10/11 GA, windows-ltsc2024/2021/2019, windows-ltsb2016/2015,
    windows81/8/7, server2025 ... server2008r2, server-sac/1803/1709, office2024 ... office2010) or an alias
    ("Windows 11", "Windows Server 2022", "Office LTSC 2021", "Windows 8.1"). edition: the EditionID
    (Professional, Enterprise, ServerStandard ...) or a common spelling (Pro, Standard, Datacenter,
    ProPlus, Project Professional ...). To pick the release from a host's facts use `gvlk_for_os`.
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


# --- Windows: release from the OS version -------------------------------------------------------------
# Build numbers: learn.microsoft.com Windows 10/11 and Windows Server release information pages.
_LTSC_EDITIONS = frozenset({"enterprises", "enterprisesn", "iotenterprises"})
_LTSC_BY_BUILD = {
    10240: "windows-ltsb2015",
    14393: "windows-ltsb2016",
    17763: "windows-ltsc2019",
    19044: "windows-ltsc2021",
    26100: "windows-ltsc2024",
}
_SERVER_BY_BUILD = {14393: "server2016", 17763: "server2019", 20348: "server2022", 26100: "server2025"}
# Semi-annual channel servers (EditionID Server<Edition>ACor): 1709, 1803, then 1809 ... 20H2.
_SAC_BY_BUILD = {
    16299: "server1709",
    17134: "server1803",
    17763: "server-sac",
    18362: "server-sac",
    18363: "server-sac",
    19041: "server-sac",
    19042: "server-sac",
}
# NT 6.x: (major, minor) -> the builds of that release and its (client, server) tables.
_NT6 = {
    (6, 1): ((7600, 7601), "windows7", "server2008r2"),
    (6, 2): ((9200,), "windows8", "server2012"),
    (6, 3): ((9600,), "windows81", "server2012r2"),
}
_VERSION_RE = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def parse_os_version(version: str | None) -> tuple[int, int, int] | None:
    """(major, minor, build) from "10.0.19045", "6.1.7601.24546" or "Version 10.0.19045"; else None."""
    m = _VERSION_RE.search(version or "")
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _server_edition(edition_id: str, caption: str | None) -> tuple[bool, str]:
    """(is_server, EditionID as the server tables spell it).

    Server EditionIDs start with "Server"; a bare "Datacenter" counts as server when the caption says
    "Windows Server". Server Core installs of 2008 R2 report Server<Edition>Core and 2016+ may report
    Server<Edition>Cor: same product, same key, so the suffix is dropped ("ACor" marks the semi-annual
    channel and stays).
    """
    ed = edition_id.strip()
    server = ed.lower().startswith("server")
    if not server and caption and "server" in caption.lower() and ed:
        ed, server = "Server" + ed, True
    if server:
        ed = ed.removesuffix("Core")
        if ed.endswith("Cor") and not ed.endswith("ACor"):
            ed = ed.removesuffix("Cor")
    return server, ed


def windows_release(edition_id: str, *, os_version: str | None, caption: str | None = None) -> str | None:
    """The TABLES name for this host's release ("windows7", "server2019", "windows-ltsb2016" ...), or None.

    Client editions on 10.0 builds use the general "windows" table except the LTSC editions
    (EnterpriseS, EnterpriseSN, IoTEnterpriseS), which need an LTSC/LTSB build; server editions need a
    known server build. An unknown build or a version that does not match its build gives None.
    """
    parsed = parse_os_version(os_version)
    if parsed is None or not edition_id:
        return None
    major, minor, build = parsed
    server, ed = _server_edition(edition_id, caption)
    if (major, minor) in _NT6:
        builds, client_table, server_table = _NT6[(major, minor)]
        if build not in builds:
            return None
        return server_table if server else client_table
    if (major, minor) != (10, 0):
        return None
    if server:
        return (_SAC_BY_BUILD if ed.endswith("ACor") else _SERVER_BY_BUILD).get(build)
    if ed.lower() in _LTSC_EDITIONS:
        return _LTSC_BY_BUILD.get(build)
    return "windows" if build >= 10240 else None


def gvlk_for_os(edition_id: str, *, os_version: str | None, caption: str | None = None) -> str | None:
    """The GVLK for this exact Windows product, or None when Microsoft publishes none for it.

    edition_id: the EditionID ("Enterprise", "ServerStandard", "EnterpriseS"); os_version: Win32_Operating
    System.Version ("10.0.14393", "6.1.7601"); caption: its Caption, used only to tell server from client
    when the EditionID lacks the "Server" prefix. None for Home/Core editions, unknown builds, a missing
    os_version, or an edition that release's table lacks: the key of another release is never used.
    """
    release = windows_release(edition_id, os_version=os_version, caption=caption)
    if release is None:
        return None
    _, ed = _server_edition(edition_id, caption)
    ed = ed.removesuffix("ACor") if release.startswith("server") else ed
    by_lower = {k.lower(): v for k, v in TABLES[release].items()}
    return by_lower.get(ed.lower())


# --- Office: release and SKU from ospp.vbs' LICENSE NAME ----------------------------------------------
# Real names (ospp.vbs /dstatus, /act outputs on GitHub): "Office 14, OfficeProPlus-KMS_Client edition",
# "Office 15, OfficeProPlusVL_KMS_Client edition", "Office 16, Office16VisioProVL_KMS_Client edition",
# "Office 21, Office21Standard2021VL_KMS_Client_AE edition", "Office 16, Office16StandardVL_MAK edition";
# C2R license files ProjectPro2024VL_KMS_Client_AE-*.xrm-ms. Not volume: "...R_Retail", "...R_Grace",
# "O365...R_Subscription" (the SKU part then holds digits or the channel word is not KMS_Client/MAK).
_OFFICE_RELEASES = {
    "14": "office2010",
    "15": "office2013",
    "16": "office2016",
    "19": "office2019",
    "21": "office2021",
    "24": "office2024",
}
_OFFICE_NAME_RE = re.compile(
    r"^\s*(?:LICENSE NAME:\s*)?Office\s+(\d+)\s*,\s*Office(\d*)([A-Za-z]+?)(20\d\d)?(VL)?([_-])"
    r"(KMS_Client|MAK)(_AE)?\s+edition\s*$",
    re.IGNORECASE,
)


def office_release(license_name: str) -> tuple[str, str] | None:
    """(TABLES name, SKU word) of a volume Office license name, e.g. ("office2019", "ProPlus"); else None."""
    m = _OFFICE_NAME_RE.match(license_name or "")
    if m is None:
        return None
    number, inner, sku, year, vl, sep, _channel, ae = m.groups()
    release = _OFFICE_RELEASES.get(number)
    if release is None:
        return None
    if number == "14":  # Office 2010: Office<Sku>-KMS_Client / -MAK
        shape_ok = not inner and not year and not vl and sep == "-" and not ae
    elif number == "15":  # Office 2013: Office<Sku>VL_KMS_Client
        shape_ok = not inner and not year and bool(vl) and sep == "_" and not ae
    elif number == "16":  # Office 2016: Office16<Sku>VL_KMS_Client
        shape_ok = inner == "16" and not year and bool(vl) and sep == "_" and not ae
    else:  # 2019+: Office19<Sku>2019VL_KMS_Client_AE
        shape_ok = inner == number and year == "20" + number and bool(vl) and sep == "_"
    return (release, sku) if shape_ok else None


def office_gvlk(license_name: str) -> str | None:
    """The GVLK for an Office volume license name from ospp.vbs /dstatus (LICENSE NAME), else None.

    "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition" -> Office 2019 ProPlus' key. KMS client and
    volume MAK names get their release's key (installing it turns a VL MAK install into a KMS client);
    retail, grace and subscription names, unknown releases and SKUs the release's table lacks give None.
    """
    found = office_release(license_name)
    if found is None:
        return None
    release, sku = found
    by_lower = {k.lower(): v for k, v in TABLES[release].items()}
    return by_lower.get(sku.lower())
