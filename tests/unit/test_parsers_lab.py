"""The parsers read what the lab's emulated hosts print (same real formats, several locales)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from remediate.kms.parsers import parse
from remediate.lab.host import WindowsHost
from remediate.lab.state import (
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
