"""The parsers read what the lab's emulated hosts print (same real formats, several locales)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from remediate.domains.kms.parsers import parse
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.state import (
    OFFICE_APP_ID,
    WINDOWS_APP_ID,
    HostState,
    LicenseStatus,
    OfficeInstall,
    Product,
)

SLMGR = r"cscript //nologo %SystemRoot%\System32\slmgr.vbs"


def _windows(status: LicenseStatus, reason: int, channel: str = "VOLUME_KMSCLIENT") -> Product:
    return Product(
        name="Windows(R), Enterprise edition",
        description=f"Windows(R) Operating System, {channel} channel",
        application_id=WINDOWS_APP_ID,
        activation_id="73111121-5638-40f6-bc11-f1d7b0d64300",
        channel=channel,
        product_key="NPPR9-FWDCX-D2C8J-H872K-2YT43",
        status=status,
        status_reason=reason,
        grace_minutes=43200,
    )


def _host(locale: str, status: LicenseStatus, reason: int, **kw: object) -> WindowsHost:
    state = HostState(name="WIN-0001", domain="lab.test", locale=locale, **kw)  # type: ignore[arg-type]
    state.windows = _windows(status, reason)
    return WindowsHost(state)


async def _cmd(host: WindowsHost, line: str) -> bytes:
    result = await host.run_command(line, codepage=host.oem_codepage)
    return result.stdout


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "zh-CN"])
@pytest.mark.parametrize(
    ("status", "reason", "word"),
    [
        (LicenseStatus.LICENSED, 0, "licensed"),
        (LicenseStatus.OOB_GRACE, 0x4004F00D, "oob_grace"),
        (LicenseStatus.NOTIFICATION, 0xC004F074, "notification"),
        (LicenseStatus.UNLICENSED, 0xC004F074, "unlicensed"),
    ],
)
async def test_lab_slmgr_dli_and_dlv(locale: str, status: LicenseStatus, reason: int, word: str) -> None:
    host = _host(locale, status, reason, kms_registered_host="kms01.lab.test", kms_registered_port=1688)
    for switch, kind in (("/dli", "slmgr-dli"), ("/dlv", "slmgr-dlv")):
        out = parse(kind, await _cmd(host, f"{SLMGR} {switch}"))
        product = out["products"][0]
        assert product["name"] == "Windows(R), Enterprise edition"
        assert product["channel"] == "VOLUME_KMSCLIENT"
        assert product["partial_key"] == "2YT43"
        assert product["license_status"] == word, (locale, switch)
        if status == LicenseStatus.LICENSED:  # slmgr shows KMS client info only once activated
            assert product["kms_registered"] == "kms01.lab.test"
            assert product["kms_port"] == 1688
            assert product["remaining_minutes"] == 43200
            assert product["activation_interval_minutes"] == 120
            assert product["renewal_interval_minutes"] == 10080
        else:
            assert product["kms_registered"] is None
        if status == LicenseStatus.NOTIFICATION:
            assert product["status_reason"] == "0xC004F074"
        if status == LicenseStatus.OOB_GRACE:
            assert product["remaining_minutes"] == 43200


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "zh-CN"])
async def test_lab_license_store_error(locale: str) -> None:
    host = _host(locale, LicenseStatus.LICENSED, 0, license_store_broken=True)
    out = parse("slmgr-dli", await _cmd(host, f"{SLMGR} /dli"))
    assert out == {"products": [], "error_code": "0xC004F012"}


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "zh-CN"])
async def test_lab_ato_with_kms_port_closed(locale: str) -> None:
    # registered KMS host on a loopback port nobody listens on: connection refused -> 0xC004F074
    kms = {"kms_registered_host": "127.0.0.1", "kms_registered_port": 1}
    host = _host(locale, LicenseStatus.OOB_GRACE, 0x4004F00D, **kms)
    out = parse("slmgr-ato", await _cmd(host, f"{SLMGR} /ato"))
    assert out == {"success": False, "error_code": "0xC004F074"}


async def test_lab_ospp_dstatus() -> None:
    host = _host("en-US", LicenseStatus.LICENSED, 0)
    office = OfficeInstall(version="2016", bitness=64)
    office.products.append(
        Product(
            name="Office 16, Office16ProPlusVL_KMS_Client edition",
            description="Office 16, VOLUME_KMSCLIENT channel",
            application_id=OFFICE_APP_ID,
            activation_id="d450596f-894d-49e0-966a-fd39ed4c4c64",
            channel="VOLUME_KMSCLIENT",
            product_key="XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
            status=LicenseStatus.OOB_GRACE,
            status_reason=0x4004F00C,
        )
    )
    office.kms_host, office.kms_port = "kms01.lab.test", 1688
    host.state.office.append(office)
    line = f'cscript //nologo "{office.office_dir}\\ospp.vbs" /dstatus'
    out = parse("ospp-dstatus", await _cmd(host, line))
    product = out["products"][0]
    assert product["license_status"] == "oob_grace"
    assert product["partial_key"] == "WFG99"
    assert product["error_code"] == "0x4004F00C"
    assert (product["kms_machine"], product["kms_port"]) == ("kms01.lab.test", 1688)


async def test_lab_clock_skew_is_measured() -> None:
    host = _host("en-US", LicenseStatus.LICENSED, 0, clock_offset=timedelta(minutes=-10))
    result = await host.run_powershell("[DateTime]::UtcNow.ToString('o')")
    out = parse("utc-time", "\n".join(result.output))
    assert -610 < out["skew_seconds"] < -590


# ---- channels, ADBA, AVMA, Click-to-Run, Win32_OperatingSystem ------------------------------------
def _lab_product(channel: str, status: LicenseStatus, activated_by: str | None, minutes: int) -> Product:
    p = _windows(status, 0, channel)
    p.activated_by, p.grace_minutes = activated_by, minutes
    if activated_by in ("kms", "ad"):  # the KMS host's / activation object's ePID, as after /ato
        p.kms_pid = "06401-00206-271-298329-03-1033-17763.0000-2542019"
    return p


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "zh-CN"])
@pytest.mark.parametrize(
    ("channel", "activated_by", "minutes", "remaining"),
    [
        ("RETAIL", "online", 0, None),
        ("OEM_DM", "online", 0, None),
        ("VOLUME_MAK", "online", 0, None),
        ("VOLUME_KMSCLIENT", "ad", 259200, 259200),
        ("VOLUME_KMSCLIENT", "kms", 259200, 259200),
        ("VIRTUAL_MACHINE_ACTIVATION", "avma", 10080, 10080),
    ],
)
async def test_lab_channels_and_activation_sources(
    locale: str, channel: str, activated_by: str, minutes: int, remaining: int | None
) -> None:
    host = _host(
        locale, LicenseStatus.LICENSED, 0, kms_registered_host="kms01.lab.test", kms_client_ip="127.0.0.1"
    )
    host.state.windows = _lab_product(channel, LicenseStatus.LICENSED, activated_by, minutes)
    expect_by = None if activated_by == "online" else activated_by
    for switch, kind in (("/dli", "slmgr-dli"), ("/dlv", "slmgr-dlv")):
        product = parse(kind, await _cmd(host, f"{SLMGR} {switch}"))["products"][0]
        assert product["channel"] == channel
        assert product["license_status"] == "licensed"
        assert product["remaining_minutes"] == remaining, (locale, switch)
        assert product["activated_by"] == expect_by, (locale, switch)
        if activated_by == "ad":
            ad = product["ad_activation"]
            assert ad["object_name"] == "Lab ADBA" and ad["object_dn"].endswith("DC=lab,DC=test")
        assert product["avma_host"] == ("HV-HOST01" if activated_by == "avma" else None)
    query = 'Get-CimInstance -ClassName SoftwareLicensingProduct -Filter "PartialProductKey IS NOT NULL"'
    result = await host.run_powershell(query + " | ConvertTo-Json")
    cim = parse("cim-license", "\n".join(result.output))["products"][0]
    assert (cim["channel"], cim["activated_by"]) == (channel, expect_by)


@pytest.mark.parametrize("locale", ["en-US", "ja-JP", "zh-CN"])
async def test_lab_gvlk_install_reads_as_not_activated(locale: str) -> None:
    host = _host(locale, LicenseStatus.LICENSED, 0)
    host.state.windows = _lab_product("RETAIL", LicenseStatus.LICENSED, "online", 0)
    await _cmd(host, f"{SLMGR} /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43")
    product = parse("slmgr-dli", await _cmd(host, f"{SLMGR} /dli"))["products"][0]
    assert (product["channel"], product["license_status"]) == ("VOLUME_KMSCLIENT", "notification")
    assert (product["status_reason"], product["activated_by"]) == ("0xC004F056", None)


async def test_lab_ospp_c2r_grace_and_volume_act_reports_every_product() -> None:
    host = _host("en-US", LicenseStatus.LICENSED, 0, kms_registered_host="127.0.0.1", kms_registered_port=1)
    office = OfficeInstall(version="2016", bitness=64, kind="c2r")
    grace = Product(
        "Office 16, Office16O365ProPlusR_Grace edition",
        "Office 16, RETAIL(Grace) channel",
        OFFICE_APP_ID,
        "3ad61e22-e4fe-497f-bdb1-3e51bd872173",
        "RETAIL",
        "XXXXX-XXXXX-XXXXX-XXXXX-VMFTK",
        status=LicenseStatus.OOB_GRACE,
        status_reason=0x4004F00C,
        grace_minutes=5760,
    )
    volume = Product(
        "Office 16, Office16ProPlusVL_KMS_Client edition",
        "Office 16, VOLUME_KMSCLIENT channel",
        OFFICE_APP_ID,
        "d450596f-894d-49e0-966a-fd39ed4c4c64",
        "VOLUME_KMSCLIENT",
        "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
    )
    office.products += [grace, volume]
    office.kms_host, office.kms_port = "127.0.0.1", 1
    host.state.office.append(office)
    ospp = f'cscript //nologo "{office.office_dir}\\ospp.vbs"'
    status = parse("ospp-dstatus", await _cmd(host, f"{ospp} /dstatus"))
    assert [(p["channel"], p["grace_sku"]) for p in status["products"]] == [
        ("RETAIL", True),
        ("VOLUME_KMSCLIENT", False),
    ]
    assert status["products"][0]["remaining_minutes"] == 5760 and status["no_keys"] is False
    act = parse("ospp-act", await _cmd(host, f"{ospp} /act"))
    assert act["success"] is False and act["error_code"] == "0xC004F017"
    assert [(p["success"], p["error_code"]) for p in act["products"]] == [
        (False, "0xC004F017"),
        (False, "0xC004F074"),
    ]
    office.kind = "m365"
    status = parse("ospp-dstatus", await _cmd(host, f"{ospp} /dstatus"))
    assert status == {"products": [], "error_code": None, "no_keys": True}


@pytest.mark.parametrize(
    ("caption", "version", "edition", "sku", "server"),
    [
        ("Microsoft Windows 10 Enterprise", "10.0.19045", "Enterprise", 4, False),
        ("Microsoft Windows 11 Pro", "10.0.22631", "Professional", 48, False),
        ("Microsoft Windows 7 Enterprise ", "6.1.7601", "Enterprise", 4, False),
        ("Microsoft Windows Server 2012 R2 Datacenter", "6.3.9600", "ServerDatacenter", 8, True),
        ("Microsoft Windows Server 2022 Standard", "10.0.20348", "ServerStandard", 7, True),
    ],
)
async def test_lab_win32_operatingsystem(
    caption: str, version: str, edition: str, sku: int, server: bool
) -> None:
    host = _host(
        "en-US", LicenseStatus.LICENSED, 0, os_caption=caption, os_version=version, edition_id=edition
    )
    result = await host.run_powershell(
        "Get-CimInstance -ClassName Win32_OperatingSystem | "
        "Select-Object -Property Caption,Version,BuildNumber,OperatingSystemSKU,ProductType | ConvertTo-Json"
    )
    text = "\n".join(result.output)
    assert '"BuildNumber":  "' in text  # a string in WMI, as 5.1's ConvertTo-Json prints it
    out = parse("cim-os", text)
    assert out == {
        "caption": caption.strip(),
        "version": version,
        "build": int(version.split(".")[2]),
        "sku": sku,
        "product_type": 3 if server else 1,
        "server": server,
    }
