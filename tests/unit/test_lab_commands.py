"""cmd.exe semantics, slmgr/ospp output and state changes, driven through WindowsHost.run_command."""

from __future__ import annotations

import asyncio

import pytest

from remediate.lab.network.kms import KmsListener
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.products import windows_names
from remediate.lab.windows.state import (
    OFFICE_APP_ID,
    WINDOWS_APP_ID,
    HostState,
    LicenseStatus,
    OfficeInstall,
    Product,
)

SLMGR = r"cscript //nologo %SystemRoot%\System32\slmgr.vbs"


def host(locale: str = "en-US") -> WindowsHost:
    st = HostState(name="WIN-0001", domain="lab.test", locale=locale, dns_server=("127.0.0.1", 9))
    st.windows = Product(
        "Windows(R), Enterprise edition",
        "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        WINDOWS_APP_ID,
        "73111121-5638-40f6-bc11-f1d7b0d64300",
        "VOLUME_KMSCLIENT",
        "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    )
    office = Product(
        "Office 16, Office16ProPlusVL_KMS_Client edition",
        "Office 16, VOLUME_KMSCLIENT channel",
        OFFICE_APP_ID,
        "d450596f-894d-49e0-966a-fd39ed4c4c64",
        "VOLUME_KMSCLIENT",
        "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99",
    )
    st.office = [OfficeInstall("2016", 32, products=[office])]
    return WindowsHost(st)


async def run(h: WindowsHost, line: str, codepage: int = 437) -> tuple[int, str, str]:
    r = await h.run_command(line, codepage=codepage)
    return r.rc, r.stdout.decode("cp437"), r.stderr.decode("cp437")


async def test_unknown_command_is_9009_with_real_text_and_lab_note() -> None:
    rc, out, err = await run(host(), "ipconfig /all")
    assert rc == 9009 and out == ""
    assert err.startswith(
        "'ipconfig' is not recognized as an internal or external command,\r\n"
        "operable program or batch file.\r\n"
    )
    assert "not emulated by the lab" in err


async def test_operators_quotes_escapes_and_variables() -> None:
    h = host()
    rc, out, _ = await run(h, 'echo %COMPUTERNAME% ^& "a & b" & echo %ProgramFiles(x86)% & echo %NOPE%')
    assert out == 'WIN-0001 & "a & b"\r\nC:\\Program Files (x86)\r\n%NOPE%\r\n'
    rc, out, _ = await run(h, "nosuch >nul 2>&1 || echo fallback && echo chained")
    assert out == "fallback\r\nchained\r\n" and rc == 0
    rc, out, _ = await run(h, "exit /b 7 & echo never")
    assert rc == 7 and out == ""
    rc, out, _ = await run(h, 'cmd.exe /c "echo inner & exit /b 2"')
    assert rc == 2 and out == "inner\r\n"


async def test_chcp_switches_encoding_mid_line() -> None:
    h = host("ja-JP")
    r = await h.run_command(f"chcp 65001 >nul & {SLMGR} /dli", codepage=932)
    assert "ライセンスの状態".encode() in r.stdout
    r = await h.run_command("chcp", codepage=932)
    assert r.stdout.decode("cp932") == "現在のコード ページ: 932\r\n"


async def test_banner_only_without_nologo_and_missing_script() -> None:
    h = host()
    _, out, _ = await run(h, r"cscript %SystemRoot%\System32\slmgr.vbs /dli")
    assert out.startswith("Microsoft (R) Windows Script Host Version 5.812\r\n")
    _, out, _ = await run(h, f"{SLMGR} /dli")
    assert out.startswith("\r\nName: Windows(R), Enterprise edition\r\n")
    rc, out, _ = await run(h, "cscript //nologo slmgr.vbs /dli")
    assert rc == 1 and 'Input Error: Can not find script file "C:\\Users\\admin\\slmgr.vbs".' in out


async def test_skms_ckms_ipk_change_state() -> None:
    h = host()
    rc, out, _ = await run(h, f"{SLMGR} /skms kms9.lab.test:1700")
    assert rc == 0 and h.state.kms_registered_host == "kms9.lab.test" and h.state.kms_registered_port == 1700
    await run(h, f"{SLMGR} /skms kms8.lab.test")
    assert h.state.kms_registered_port is None
    await run(h, f"{SLMGR} /ckms")
    assert h.state.kms_registered_host is None
    rc, out, _ = await run(h, f"{SLMGR} /ipk AAAAA-BBBBB-CCCCC-DDDDD-EEEEE")
    assert "Error: 0xC004F050 The Software Licensing Service reported that the product key is invalid" in out
    rc, out, _ = await run(h, f"{SLMGR} /ipk W269N-WFGWX-YVC9B-4J6C9-T83GX")  # Pro key on Enterprise
    assert "0xC004F069" in out and "slui.exe 0x2a 0xC004F069" in out
    h.state.windows = None
    rc, out, _ = await run(h, f"{SLMGR} /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43")
    assert rc == 0 and "Installed product key NPPR9-FWDCX-D2C8J-H872K-2YT43 successfully." in out
    assert h.state.windows is not None and h.state.windows.partial_key == "2YT43"


async def test_dlv_and_xpr_layout() -> None:
    h = host()
    _, out, _ = await run(h, f"{SLMGR} /dlv")
    lines = out.split("\r\n")
    assert lines[0] == "Software licensing service version: 10.0.19045.1"
    assert "Product Key Channel: Volume:GVLK" in lines and "License Status: Initial grace period" in lines
    _, out, _ = await run(h, f"{SLMGR} /xpr")
    assert out.startswith("Windows(R), Enterprise edition:\r\n    Initial grace period ends ")


async def test_ospp_paths_and_settings() -> None:
    h = host()
    ospp = r'cscript //nologo "C:\Program Files (x86)\Microsoft Office\Office16\ospp.vbs"'
    _, out, _ = await run(h, f"{ospp} /sethst:kms01.lab.test & {ospp} /setprt:1689")
    assert out.count("Successfully applied setting.") == 2
    _, out, _ = await run(h, f"{ospp} /dstatus")
    assert "KMS machine registry override defined: kms01.lab.test:1689" in out
    assert "LICENSE STATUS:  ---OOB_GRACE---" in out
    rc, out, _ = await run(
        h, r'cscript //nologo "C:\Program Files\Microsoft Office\Office16\ospp.vbs" /dstatus'
    )
    assert rc == 1 and "Can not find script file" in out  # 32-bit Office lives under Program Files (x86)


async def test_latency_and_hang() -> None:
    h = host()
    h.state.latency = {"slmgr": 0.05}
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await run(h, f"{SLMGR} /dli")
    assert loop.time() - t0 >= 0.05
    h.state.hang = True
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(h.run_command("echo hi", codepage=437), 0.05)


def test_password_never_in_repr() -> None:
    h = host()
    h.state.password = "S3cret!"
    assert "S3cret" not in repr(h) and "S3cret" not in repr(h.state)


# ---- channels, OS versions, ADBA, AVMA ---------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _product(channel: str, status: LicenseStatus, **kw: object) -> Product:
    p = Product(
        "Windows(R), Enterprise edition",
        f"Windows(R) Operating System, {channel} channel",
        WINDOWS_APP_ID,
        "73111121-5638-40f6-bc11-f1d7b0d64300",
        channel,
        "XGVPP-NMH47-7TTHJ-W3FW7-8HV2C",
        status=status,
        status_reason=0,
        grace_minutes=0,
    )
    for k, v in kw.items():
        setattr(p, k, v)
    return p


async def test_ipk_gvlk_then_ato_turns_a_retail_product_into_a_kms_client() -> None:
    h = host()
    h.state.windows = _product("RETAIL", LicenseStatus.LICENSED, activated_by="online")
    rc, out, _ = await run(h, f"{SLMGR} /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43")
    p = h.state.windows
    assert rc == 0 and p is not None and p.channel == "VOLUME_KMSCLIENT" and p.activated_by is None
    assert (p.status, p.status_reason) == (LicenseStatus.NOTIFICATION, 0xC004F056)
    _, out, _ = await run(h, f"{SLMGR} /dli")
    assert "License Status: Notification\r\nNotification Reason: 0xC004F056.\r\n" in out
    assert "Please use slmgr.vbs /ato to activate" in out
    kms = KmsListener("kms01.lab.test", "127.0.0.1", _free_port())
    await kms.start()
    try:
        rc, out, _ = await run(h, f"{SLMGR} /skms 127.0.0.1:{kms.port} & {SLMGR} /ato")
    finally:
        await kms.stop()
    assert "Product activated successfully." in out
    assert p.status == LicenseStatus.LICENSED and p.activated_by == "kms"


async def test_ipk_on_windows_7_and_2008_r2_uses_their_names_and_grace() -> None:
    h = host()
    h.state.os_version, h.state.windows = "6.1.7601", None
    await run(h, f"{SLMGR} /ipk NPPR9-FWDCX-D2C8J-H872K-2YT43")  # an Enterprise GVLK the lab knows
    p = h.state.windows
    assert p is not None and p.name == "Windows(R) 7, Enterprise edition"
    assert p.description == "Windows Operating System - Windows(R) 7, VOLUME_KMSCLIENT channel"
    assert p.status == LicenseStatus.OOB_GRACE and p.grace_minutes == 43200
    _, out, _ = await run(h, f"{SLMGR} /dli")
    assert "License Status: Initial grace period\r\nTime remaining: 43200 minute(s) (30 day(s))" in out
    assert windows_names("6.1.7601", "ServerEnterprise", "VOLUME_KMSCLIENT") == (
        "Windows Server(R), ServerEnterprise edition",
        "Windows Operating System - Windows Server(R), VOLUME_KMSCLIENT channel",
    )
    assert (
        windows_names("6.3.9600", "ServerStandard", "VOLUME_KMSCLIENT")[0]
        == "Windows(R), ServerStandard edition"
    )


@pytest.mark.parametrize(
    ("channel", "label"), [("RETAIL", "Retail"), ("OEM_DM", "OEM:DM"), ("VOLUME_MAK", "Volume:MAK")]
)
async def test_permanently_licensed_channels_show_no_expiry_and_no_kms_section(
    channel: str, label: str
) -> None:
    h = host()
    h.state.windows = _product(channel, LicenseStatus.LICENSED, activated_by="online")
    _, dli, _ = await run(h, f"{SLMGR} /dli")
    assert dli.endswith("Partial Product Key: 8HV2C\r\nLicense Status: Licensed\r\n\r\n\r\n")
    _, dlv, _ = await run(h, f"{SLMGR} /dlv")
    assert f"Product Key Channel: {label}\r\n" in dlv and "Validation URL: https://" in dlv
    assert "Key Management Service" not in dlv and "expiration" not in dlv
    _, xpr, _ = await run(h, f"{SLMGR} /xpr")
    assert "The machine is permanently activated." in xpr


async def test_ad_activated_client_prints_the_activation_object() -> None:
    h = host()
    h.state.windows = _product(
        "VOLUME_KMSCLIENT", LicenseStatus.LICENSED, activated_by="ad", grace_minutes=259200
    )
    _, out, _ = await run(h, f"{SLMGR} /dli")
    assert (
        "Configured Activation Type: All\r\n\r\nMost recent activation information:\r\n"
        "AD Activation client information\r\n    Activation Object name: Lab ADBA\r\n"
        "    AO DN: CN=Lab ADBA,CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,"
        "DC=lab,DC=test\r\n    AO extended PID: "
    ) in out
    assert "Key Management Service client information" not in out


async def test_avma_guest_shows_vm_activation_lines_and_fails_without_a_host() -> None:
    h = host()
    avma = "VIRTUAL_MACHINE_ACTIVATION"
    h.state.windows = _product(avma, LicenseStatus.LICENSED, activated_by="avma", grace_minutes=10080)
    _, out, _ = await run(h, f"{SLMGR} /dli")
    assert "Description: Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel" in out
    assert "Automatic VM activation expiration: 10080 minute(s) (7 day(s))\r\nGuest IAID: " in out
    assert "Automatic VM Activation client information\r\n    Host machine name: HV-HOST01\r\n" in out
    h.state.windows = _product(avma, LicenseStatus.NOTIFICATION, status_reason=0xC004FD02)
    rc, out, _ = await run(h, f"{SLMGR} /ato")
    assert "Error: 0xC004FD02" in out and rc == -1073414910


async def test_ospp_click_to_run_grace_sku_and_m365() -> None:
    h = host()
    inst = h.state.office[0]
    inst.kind = "c2r"
    inst.products.insert(
        0,
        Product(
            "Office 16, Office16O365ProPlusR_Grace edition",
            "Office 16, RETAIL(Grace) channel",
            OFFICE_APP_ID,
            "3ad61e22-e4fe-497f-bdb1-3e51bd872173",
            "RETAIL",
            "XXXXX-XXXXX-XXXXX-XXXXX-VMFTK",
            status=LicenseStatus.OOB_GRACE,
            status_reason=0x4004F00C,
            grace_minutes=7195,
        ),
    )
    ospp = r'cscript //nologo "C:\Program Files (x86)\Microsoft Office\Office16\ospp.vbs"'
    _, out, _ = await run(h, f"{ospp} /dstatus")
    assert "LICENSE DESCRIPTION: Office 16, RETAIL(Grace) channel\r\n" in out
    assert "REMAINING GRACE: 4 days  (7195 minute(s) before expiring)\r\n" in out
    _, out, _ = await run(h, f"{ospp} /act")
    grace_block = out.split("Installed product key detected")[1]
    assert (
        "ERROR CODE: 0xC004F017\r\n"
        "ERROR DESCRIPTION: The Software Licensing Service reported that the license is not installed.\r\n"
        in grace_block
    )
    inst.kind = "m365"
    _, out, _ = await run(h, f"{ospp} /dstatus")
    assert "<No installed product keys detected>" in out and "LICENSE NAME" not in out
