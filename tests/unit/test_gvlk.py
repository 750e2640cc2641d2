"""GVLK tables and the per-host choice: release from the OS build, edition from the EditionID / ospp name."""

from __future__ import annotations

import asyncio

import pytest

from remediate.domains.kms import gvlk
from remediate.domains.kms.functions import gvlk_for_product
from remediate.domains.kms.gvlk import (
    ALL_GVLKS,
    KEY_RE,
    SOURCES,
    TABLES,
    channel_of,
    edition_from_name,
    gvlk_for,
    gvlk_for_os,
    office_gvlk,
    office_release,
    product_of,
    windows_release,
)
from remediate.lab.windows.slmgr import lookup_key, run_slmgr
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState

# One Win32_OperatingSystem.Version per Windows table; server-sac/1803/1709 hosts report Server<Ed>ACor.
RELEASE_VERSION = {
    "windows": "10.0.19045",
    "windows-ltsc2024": "10.0.26100",
    "windows-ltsc2021": "10.0.19044",
    "windows-ltsc2019": "10.0.17763",
    "windows-ltsb2016": "10.0.14393",
    "windows-ltsb2015": "10.0.10240",
    "windows81": "6.3.9600",
    "windows8": "6.2.9200",
    "windows7": "6.1.7601",
    "server2025": "10.0.26100",
    "server2022": "10.0.20348",
    "server2019": "10.0.17763",
    "server2016": "10.0.14393",
    "server-sac": "10.0.18363",
    "server1803": "10.0.17134",
    "server1709": "10.0.16299",
    "server2012r2": "6.3.9600",
    "server2012": "6.2.9200",
    "server2008r2": "6.1.7600",
}
SAC = {"server-sac", "server1803", "server1709"}
WINDOWS_CASES = [
    (release, edition, key)
    for release, table in TABLES.items()
    if not release.startswith("office")
    for edition, key in table.items()
]
OFFICE_CASES = [
    (release, sku, key)
    for release, table in TABLES.items()
    if release.startswith("office")
    for sku, key in table.items()
]


def test_every_key_is_5x5_and_every_table_has_a_source() -> None:
    for product, table in TABLES.items():
        assert table, product
        assert SOURCES[product].startswith("https://learn.microsoft.com/"), product
        for edition, key in table.items():
            assert KEY_RE.match(key), (product, edition, key)


def test_keys_are_shared_only_where_microsoft_lists_one_key_for_several_releases() -> None:
    # One row of Microsoft's table covers Windows 11 LTSC 2024 / Windows 10 LTSC 2021 / 2019.
    shared_ok = {"windows-ltsc2024", "windows-ltsc2021", "windows-ltsc2019"}
    seen: dict[str, set[str]] = {}
    for product, table in TABLES.items():
        for key in table.values():
            seen.setdefault(key, set()).add(product)
    for key, products in seen.items():
        assert len(products) == 1 or products <= shared_ok, (key, products)
    assert len(seen) == len(ALL_GVLKS)


def test_every_windows_table_is_reachable_from_an_os_version() -> None:
    assert {r for r, _, _ in WINDOWS_CASES} == set(RELEASE_VERSION)


@pytest.mark.parametrize(("release", "edition", "key"), WINDOWS_CASES)
def test_each_release_and_edition_gets_its_own_tables_key(release: str, edition: str, key: str) -> None:
    edition_id = edition + "ACor" if release in SAC else edition
    assert windows_release(edition_id, os_version=RELEASE_VERSION[release]) == release
    assert gvlk_for_os(edition_id, os_version=RELEASE_VERSION[release]) == key


@pytest.mark.parametrize(("release", "sku", "key"), OFFICE_CASES)
def test_each_office_release_and_sku_from_its_license_name(release: str, sku: str, key: str) -> None:
    n = {"office2010": "14", "office2013": "15", "office2016": "16"}.get(release) or release[-2:]
    name = {
        "14": f"Office 14, Office{sku}-KMS_Client edition",
        "15": f"Office 15, Office{sku}VL_KMS_Client edition",
        "16": f"Office 16, Office16{sku}VL_KMS_Client edition",
    }.get(n, f"Office {n}, Office{n}{sku}20{n}VL_KMS_Client_AE edition")
    assert office_release(name) == (release, sku)
    assert office_gvlk(name) == key


# Keys checked by hand against learn.microsoft.com kms-client-activation-keys and the Office GVLK pages.
@pytest.mark.parametrize(
    ("edition", "version", "key"),
    [
        ("Enterprise", "6.1.7601", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"),  # Windows 7 Enterprise
        ("ServerStandard", "6.3.9600", "D2N9P-3P6X9-2R39C-7RTCD-MDVJX"),  # Server 2012 R2 Standard
        ("EnterpriseS", "10.0.14393", "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ"),  # LTSB 2016
        ("EnterpriseSN", "10.0.14393", "QFFDN-GRT3P-VKWWX-X7T3R-8B639"),
        ("EnterpriseS", "10.0.10240", "WNMTR-4C88C-JK8YV-HQ7T2-76DF9"),  # LTSB 2015
        ("EnterpriseS", "10.0.17763", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),  # LTSC 2019
        ("EnterpriseS", "10.0.19044", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),  # LTSC 2021
        ("EnterpriseS", "10.0.26100", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),  # Windows 11 LTSC 2024
        ("Professional", "6.3.9600", "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9"),  # Windows 8.1 Pro
        ("Professional", "6.2.9200", "NG4HW-VH26C-733KW-K6F98-J8CK4"),  # Windows 8 Pro
        ("Professional", "10.0.10240", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),  # Windows 10 1507 Pro
        ("Enterprise", "10.0.26100", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),  # Windows 11 24H2
        ("ServerStandard", "10.0.14393", "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY"),
        ("ServerDatacenter", "10.0.17763", "WMDGN-G9PQG-XVVXX-R3X43-63DFG"),  # LTSC, not SAC 1809
        ("ServerDatacenterACor", "10.0.17763", "6NMRW-2C8FM-D24W7-TQWMY-CWH2D"),  # SAC 1809
        ("ServerTurbine", "10.0.20348", "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV"),  # 2022 Azure Edition
        ("ServerStandard", "10.0.26100", "TVRH6-WHNXV-R9WG3-9XRFY-MY832"),
        ("ServerStandardCore", "6.1.7601", "YC6KT-GKW9T-YTKYR-T4X34-R7VHC"),  # 2008 R2 Server Core
        ("ServerEnterprise", "6.1.7601.24546", "489J6-VHDMP-X63PK-3K798-CPX3Y"),  # 4-part version
        ("ServerSolution", "6.2.9200", "HTDQM-NBMMG-KGYDT-2DTKT-J2MPV"),  # 2012 Essentials
    ],
)
def test_known_keys_by_edition_and_version(edition: str, version: str, key: str) -> None:
    assert gvlk_for_os(edition, os_version=version) == key


def test_windows_81_pro_never_gets_the_windows_10_key() -> None:
    assert gvlk_for_os("Professional", os_version="6.3.9600") != TABLES["windows"]["Professional"]


def test_caption_tells_a_server_from_a_client_when_the_edition_lacks_the_prefix() -> None:
    caption = "Microsoft Windows Server 2022 Datacenter"
    assert (
        gvlk_for_os("Datacenter", os_version="10.0.20348", caption=caption) == "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"
    )
    assert gvlk_for_os("Datacenter", os_version="10.0.20348") is None  # no client edition "Datacenter"
    caption = "Microsoft Windows Server 2008 R2 Enterprise"
    assert (
        gvlk_for_os("Enterprise", os_version="6.1.7601", caption=caption) == "489J6-VHDMP-X63PK-3K798-CPX3Y"
    )


@pytest.mark.parametrize(
    ("edition", "version"),
    [
        ("Core", "10.0.19045"),  # Home
        ("CoreN", "10.0.22631"),
        ("CoreSingleLanguage", "10.0.26100"),
        ("CoreCountrySpecific", "6.3.9600"),
        ("Core", "6.2.9200"),
        ("HomePremium", "6.1.7601"),
        ("Ultimate", "6.1.7601"),
        ("Education", "6.3.9600"),  # no Education before Windows 10
        ("EnterpriseS", "10.0.19045"),  # LTSC edition on a non-LTSC build
        ("EnterpriseS", "10.0.22631"),
        ("IoTEnterpriseS", "10.0.17763"),  # Microsoft lists the IoT key for LTSC 2021 / 2024 only
        ("ServerSolution", "10.0.20348"),  # no 2022 Essentials row
        ("ServerTurbine", "10.0.17763"),
        ("ServerStandard", "10.0.19045"),  # not a server build
        ("ServerStandardACor", "10.0.20348"),  # SAC ended with 20H2
        ("Enterprise", "10.0.9841"),  # pre-release build
        ("Enterprise", "6.1.9600"),  # version and build disagree
        ("Enterprise", "6.0.6002"),  # Vista is not in scope
        ("Enterprise", "garbage"),
        ("Enterprise", ""),
        ("", "10.0.19045"),
    ],
)
def test_no_published_key_gives_none(edition: str, version: str) -> None:
    assert gvlk_for_os(edition, os_version=version) is None


def test_no_os_version_gives_none_never_a_guess() -> None:
    for edition in ("Professional", "Enterprise", "EnterpriseS", "Education", "ServerStandard"):
        assert gvlk_for_os(edition, os_version=None) is None
        assert gvlk_for_product(f"Windows(R), {edition} edition") is None


# The playbook call: gvlk_for_product(facts.license.products[0].name, facts.os.version, facts.os.caption).
# These two failed on the old code (LTSB 2016 got the LTSC 2019 key, Windows 7 the Windows 10 key).
def test_ltsb2016_host_gets_the_ltsb2016_key() -> None:
    name, version = "Windows(R), EnterpriseS edition", "10.0.14393"
    assert gvlk_for_product(name, version) == "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ"


def test_windows7_host_gets_the_windows7_key() -> None:
    # slmgr /dlv on Windows 7 (KB 4487266): "Name: Windows(R) 7, Enterprise edition".
    name, version = "Windows(R) 7, Enterprise edition", "6.1.7601"
    assert (
        gvlk_for_product(name, version, "Microsoft Windows 7 Enterprise") == "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"
    )


def test_gvlk_for_product_server_2008r2_name() -> None:
    name = "Windows Server(R), ServerStandard edition"
    assert gvlk_for_product(name, "6.1.7601") == "YC6KT-GKW9T-YTKYR-T4X34-R7VHC"
    assert gvlk_for_product("no edition here", "10.0.19045") is None


@pytest.mark.parametrize(
    ("name", "release", "key"),
    [
        ("Office 16, Office16ProPlusVL_KMS_Client edition", "office2016", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"),
        (
            "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition",
            "office2019",
            "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP",
        ),
        (
            "Office 21, Office21ProPlus2021VL_KMS_Client_AE edition",
            "office2021",
            "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH",
        ),
        (
            "Office 24, Office24ProPlus2024VL_KMS_Client_AE edition",
            "office2024",
            "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB",
        ),
        ("Office 15, OfficeProPlusVL_KMS_Client edition", "office2013", "YC7DK-G2NP3-2QQC3-J6H88-GVGXT"),
        ("Office 14, OfficeProPlus-KMS_Client edition", "office2010", "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB"),
        ("Office 15, OfficeStandardVL_KMS_Client edition", "office2013", "KBKQT-2NMXY-JJWGP-M62JB-92CD4"),
        ("Office 15, OfficeVisioProVL_KMS_Client edition", "office2013", "C2FG9-N6J68-H8BTJ-BW3QX-RM3B3"),
        ("Office 16, Office16VisioProVL_KMS_Client edition", "office2016", "PD3PC-RHNGV-FXJ29-8JK7D-RJRJK"),
        ("Office 16, Office16ProjectProVL_KMS_Client edition", "office2016", "YG9NW-3K39V-2T3HJ-93F3Q-G83KT"),
        (
            "Office 21, Office21Standard2021VL_KMS_Client_AE edition",
            "office2021",
            "KDX7X-BNVR8-TXXGX-4Q7Y8-78VT3",
        ),
        (
            "Office 16, Office16SkypeforBusinessVL_KMS_Client edition",
            "office2016",
            "869NQ-FJ69K-466HW-QYCP2-DDBV6",
        ),
        (
            "Office 16, Office16StandardVL_MAK edition",
            "office2016",
            "JNRGM-WHDWX-FJJG3-K47QV-DRTFM",
        ),  # VL MAK
        (
            "LICENSE NAME: Office 16, Office16ProPlusVL_KMS_Client edition",
            "office2016",
            "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
        ),
    ],
)
def test_office_license_names(name: str, release: str, key: str) -> None:
    assert office_release(name) is not None and office_release(name)[0] == release  # type: ignore[index]
    assert office_gvlk(name) == key


@pytest.mark.parametrize(
    "name",
    [
        "Office 16, Office16O365ProPlusR_Grace edition",
        "Office 21, Office21ProPlus2021R_Grace edition",
        "Office 15, OfficeO365ProPlusR_Subscription1 edition",
        "Office 16, Office16ProPlusR_Retail edition",
        "Office 19, Office19ProPlus2019MSDNR_Retail edition",
        "Office 16, Office16VisioProR_Retail edition",
        "Office 24, Office24Publisher2024VL_KMS_Client_AE edition",  # no Publisher LTSC 2024 GVLK
        "Office 19, Office19ProPlus2021VL_KMS_Client_AE edition",  # version and year disagree
        "Office 17, Office17ProPlusVL_KMS_Client edition",
        "Windows(R), Enterprise edition",
        "",
    ],
)
def test_office_non_volume_or_unknown_names_give_none(name: str) -> None:
    assert office_gvlk(name) is None


@pytest.mark.parametrize(
    ("product", "edition", "key"),
    [
        ("windows", "Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
        ("Windows 11", "Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("windows-ltsc2019", "EnterpriseS", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),
        ("windows-ltsb2016", "EnterpriseS", "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ"),
        ("Windows 8.1", "Pro", "GCRJD-8NW9H-F2CDX-CCM8D-9D6T9"),
        ("Windows 7", "Enterprise", "33PXH-7Y6KF-2VJC9-XBBR8-HVTHH"),
        ("Windows Server 2012 R2", "Standard", "D2N9P-3P6X9-2R39C-7RTCD-MDVJX"),
        ("Windows Server 2008 R2", "Web", "6TPJF-RBVHG-WBW2R-86QPH-6RTM4"),
        ("Windows Server 2022", "Datacenter Azure Edition", "NTBV8-9K7Q8-V27C6-M2BTV-KHMXV"),
        ("Microsoft Windows(R) Server 2022", "ServerDatacenter", "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"),
        ("server-sac", "ServerDatacenter", "6NMRW-2C8FM-D24W7-TQWMY-CWH2D"),
        ("Office LTSC 2021", "Visio Professional", "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4"),
        ("office2013", "Lync", "2MG3G-3BNTT-3MFW9-KDQW3-TCK7R"),
        ("office2010", "Visio Premium", "D9DWC-HPYVV-JGF4P-BTWQB-WX8BJ"),
    ],
)
def test_gvlk_for_named_release(product: str, edition: str, key: str) -> None:
    assert gvlk_for(product, edition) == key


@pytest.mark.parametrize(
    ("product", "edition"),
    [
        ("windows", "Home"),
        ("windows", "EnterpriseS"),  # the LTSC key lives in the LTSC tables only
        ("windows", "Standard"),  # Standard means ServerStandard only for server products
        ("windows7", "Education"),
        ("office2024", "Publisher"),
        ("office2016", "Nonsense"),
        ("server2030", "ServerStandard"),
        ("linux", "Enterprise"),
    ],
)
def test_gvlk_for_unknown_combinations_give_none(product: str, edition: str) -> None:
    assert gvlk_for(product, edition) is None


def test_channel_product_of_and_edition_from_name() -> None:
    assert channel_of(" nppr9-fwdcx-d2c8j-h872k-2yt43 ") == "VOLUME_KMSCLIENT"
    assert channel_of("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE") is None
    assert product_of("VDYBN-27WPP-V4HQT-9VMD4-VMK7H") == ("server2022", "ServerStandard")
    assert product_of("33PXH-7Y6KF-2VJC9-XBBR8-HVTHH") == ("windows7", "Enterprise")
    assert product_of("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE") is None
    assert edition_from_name("Windows(R) 7, Enterprise edition") == "Enterprise"
    assert edition_from_name("Windows Server(R), ServerStandard edition") == "ServerStandard"
    assert (
        edition_from_name("Office 16, Office16ProPlusVL_KMS_Client edition") == "Office16ProPlusVL_KMS_Client"
    )
    assert edition_from_name("garbage") is None


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        gvlk.TABLES["windows"]["Enterprise"] = "x"  # type: ignore[index]


# --- the lab's slmgr /ipk accepts every published Windows GVLK ----------------------------------------
@pytest.mark.parametrize(("release", "edition", "key"), WINDOWS_CASES)
def test_lab_lookup_key_knows_every_windows_gvlk(release: str, edition: str, key: str) -> None:
    info = lookup_key(key.lower())
    assert info is not None and info.application_id == WINDOWS_APP_ID and info.channel == "VOLUME_KMSCLIENT"
    assert info.edition == (product_of(key) or ("", ""))[1]


@pytest.mark.parametrize(
    ("edition", "version", "name", "description"),
    [
        (
            "Enterprise",
            "6.1.7601",
            "Windows(R) 7, Enterprise edition",
            "Windows Operating System - Windows(R) 7, VOLUME_KMSCLIENT channel",
        ),
        (
            "ServerStandard",
            "6.1.7601",
            "Windows Server(R), ServerStandard edition",
            "Windows Operating System - Windows Server(R), VOLUME_KMSCLIENT channel",
        ),
        (
            "ServerStandard",
            "6.3.9600",
            "Windows(R), ServerStandard edition",
            "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        ),
    ],
)
def test_lab_ipk_installs_the_release_gvlk(edition: str, version: str, name: str, description: str) -> None:
    state = HostState(name="WIN-0007", domain="lab.test", os_version=version, edition_id=edition)
    key = gvlk_for_os(edition, os_version=version)
    assert key is not None
    rc, _ = asyncio.run(run_slmgr(state, ["/ipk", key]))
    assert rc == 0 and state.windows is not None
    assert (state.windows.name, state.windows.description, state.windows.channel) == (
        name,
        description,
        "VOLUME_KMSCLIENT",
    )
