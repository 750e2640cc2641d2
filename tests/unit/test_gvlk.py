"""GVLK tables: format, well-known keys against Microsoft's docs, normalization."""

from __future__ import annotations

import pytest

from remediate.kms import gvlk
from remediate.kms.gvlk import ALL_GVLKS, KEY_RE, TABLES, channel_of, edition_from_name, gvlk_for, product_of


def test_every_key_is_5x5() -> None:
    for product, table in TABLES.items():
        assert table, product
        for edition, key in table.items():
            assert KEY_RE.match(key), (product, edition, key)


def test_no_key_is_shared_across_products_except_documented_ones() -> None:
    seen: dict[str, str] = {}
    for product, table in TABLES.items():
        for edition, key in table.items():
            assert key not in seen, f"{key} in {seen.get(key)} and {product}/{edition}"
            seen[key] = f"{product}/{edition}"
    assert len(seen) == len(ALL_GVLKS)


# Keys copied from learn.microsoft.com (kms-client-activation-keys; office gvlks).
@pytest.mark.parametrize(
    ("product", "edition", "key"),
    [
        ("windows", "Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43"),
        ("windows", "Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("Windows 11", "Pro", "W269N-WFGWX-YVC9B-4J6C9-T83GX"),
        ("windows10", "Education", "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2"),
        ("windows", "EnterpriseS", "M7XTQ-FN8P6-TTKYV-9D4CC-J462D"),
        ("windows-ltsb2016", "EnterpriseS", "DCPHK-NFMTC-H88MJ-PFHPY-QJ4BJ"),
        ("server2025", "ServerStandard", "TVRH6-WHNXV-R9WG3-9XRFY-MY832"),
        ("server2022", "ServerStandard", "VDYBN-27WPP-V4HQT-9VMD4-VMK7H"),
        ("Windows Server 2022", "Datacenter", "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"),
        ("Microsoft Windows(R) Server 2022", "ServerDatacenter", "WX4NM-KYWYW-QJJR4-XV3QB-6VM33"),
        ("server2019", "ServerDatacenter", "WMDGN-G9PQG-XVVXX-R3X43-63DFG"),
        ("server2016", "Standard", "WC2BQ-8NRM3-FDDYY-2BFGV-KHKQY"),
        ("server-sac", "ServerDatacenter", "6NMRW-2C8FM-D24W7-TQWMY-CWH2D"),
        ("office2024", "ProPlus", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"),
        ("office2021", "ProPlus", "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH"),
        ("Office LTSC 2021", "Visio Professional", "KNH8D-FGHT4-T8RK3-CTDYJ-K2HT4"),
        ("office2019", "ProPlus", "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP"),
        ("office2016", "ProPlus", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"),
        ("office2016", "Project Professional", "YG9NW-3K39V-2T3HJ-93F3Q-G83KT"),
    ],
)
def test_known_keys(product: str, edition: str, key: str) -> None:
    assert gvlk_for(product, edition) == key


@pytest.mark.parametrize(
    ("product", "edition"),
    [
        ("windows", "Home"),  # no volume edition, no GVLK
        ("office2024", "Publisher"),  # Microsoft lists no GVLK for Publisher LTSC 2024
        ("office2016", "Nonsense"),
        ("server2030", "ServerStandard"),
        ("linux", "Enterprise"),
    ],
)
def test_unknown_combinations_give_none(product: str, edition: str) -> None:
    assert gvlk_for(product, edition) is None


def test_server_edition_is_not_a_client_edition() -> None:
    # "Standard" means ServerStandard only for server products; Windows client has no Standard.
    assert gvlk_for("windows", "Standard") is None
    assert gvlk_for("office2019", "Standard") == "6NWWJ-YQWMR-QKGCB-6TMB3-9D9HK"


def test_channel_of() -> None:
    assert channel_of("NPPR9-FWDCX-D2C8J-H872K-2YT43") == "VOLUME_KMSCLIENT"
    assert channel_of(" nppr9-fwdcx-d2c8j-h872k-2yt43 ") == "VOLUME_KMSCLIENT"
    assert channel_of("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE") is None


def test_product_of_and_edition_from_name() -> None:
    assert product_of("VDYBN-27WPP-V4HQT-9VMD4-VMK7H") == ("server2022", "ServerStandard")
    assert product_of("AAAAA-BBBBB-CCCCC-DDDDD-EEEEE") is None
    assert edition_from_name("Windows(R), Enterprise edition") == "Enterprise"
    assert edition_from_name("Windows(R), ServerDatacenter edition") == "ServerDatacenter"
    office = "Office 16, Office16ProPlusVL_KMS_Client edition"
    assert edition_from_name(office) == "Office16ProPlusVL_KMS_Client"
    assert edition_from_name("garbage") is None


def test_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        gvlk.TABLES["windows"]["Enterprise"] = "x"  # type: ignore[index]
