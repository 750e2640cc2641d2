"""cmd.exe semantics, slmgr/ospp output and state changes, driven through WindowsHost.run_command."""

from __future__ import annotations

import asyncio

import pytest

from remediate.lab.host import WindowsHost
from remediate.lab.state import OFFICE_APP_ID, WINDOWS_APP_ID, HostState, OfficeInstall, Product

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
