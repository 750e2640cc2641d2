"""The PowerShell subset: parsing with tree-sitter, cmdlets, 5.1 JSON, errors, -EncodedCommand, exit codes."""

from __future__ import annotations

import base64
import json

import pytest

from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.pwsh_cmdlets import to_json
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState, Product, SppEvent

P1 = (
    'Get-CimInstance -ClassName SoftwareLicensingProduct -Filter "PartialProductKey IS NOT NULL" | '
    "Select-Object -Property Name,Description,ApplicationID,ID,LicenseStatus,LicenseStatusReason,"
    "PartialProductKey,GracePeriodRemaining,ProductKeyChannel,KeyManagementServiceMachine,"
    "KeyManagementServicePort,DiscoveredKeyManagementServiceMachineName,"
    "DiscoveredKeyManagementServiceMachinePort,DiscoveredKeyManagementServiceMachineIpAddress,"
    "VLActivationInterval,VLRenewalInterval | ConvertTo-Json"
)


def host() -> WindowsHost:
    st = HostState(name="WIN-0001", domain="lab.test", dns_server=("127.0.0.1", 9))
    st.windows = Product(
        "Windows(R), Enterprise edition",
        "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        WINDOWS_APP_ID,
        "73111121-5638-40f6-bc11-f1d7b0d64300",
        "VOLUME_KMSCLIENT",
        "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    )
    return WindowsHost(st)


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


async def test_p1_single_object_json_shape() -> None:
    r = await host().run_powershell("$ProgressPreference = 'SilentlyContinue'\n" + P1)
    assert not r.errors and len(r.output) == 1
    text = r.output[0]
    assert text.startswith('{\r\n    "Name":  "Windows(R), Enterprise edition",\r\n')  # 5.1: not wrapped
    obj = json.loads(text)
    assert obj["LicenseStatus"] == 2 and obj["PartialProductKey"] == "2YT43"
    assert obj["KeyManagementServiceMachine"] is None and obj["LicenseStatusReason"] == 0x4004F00D
    assert list(obj)[-1] == "VLRenewalInterval"


async def test_p2_service_and_p5_time() -> None:
    h = host()
    h.state.kms_registered_host = "kms01.lab.test"
    r = await h.run_powershell(
        "Get-CimInstance -ClassName SoftwareLicensingService | Select-Object -Property Version,"
        "KeyManagementServiceMachine,ClientMachineID | ConvertTo-Json; [DateTime]::UtcNow.ToString('o')"
    )
    assert json.loads(r.output[0])["KeyManagementServiceMachine"] == "kms01.lab.test"
    assert r.output[1].endswith("Z") and len(r.output[1].split(".")[1]) == 8  # 7 digits + Z


async def test_p6_events_json_dates() -> None:
    from datetime import UTC, datetime

    h = host()
    h.state.events.append(
        SppEvent(12288, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), "Information", "it's <x>")
    )
    r = await h.run_powershell(
        "Get-WinEvent -FilterHashtable @{LogName='Application'; "
        "ProviderName='Microsoft-Windows-Security-SPP'} -MaxEvents 50 -ErrorAction SilentlyContinue | "
        "Select-Object -Property Id,LevelDisplayName,TimeCreated,Message | ConvertTo-Json"
    )
    assert '"TimeCreated":  "\\/Date(1700000000000)\\/"' in r.output[0]
    assert "it\\u0027s \\u003cx\\u003e" in r.output[0]
    h.state.events.clear()
    r = await h.run_powershell(
        "Get-WinEvent -FilterHashtable @{ProviderName='Microsoft-Windows-Security-SPP'} "
        "-ErrorAction SilentlyContinue"
    )
    assert r.errors == [] and r.output == []


async def test_unknown_cmdlet_error_and_cli_exit_code() -> None:
    h = host()
    r = await h.run_powershell("Get-Foo -Bar 1")
    assert r.errors[0].startswith("The term 'Get-Foo' is not recognized as the name of a cmdlet")
    res = await h.run_command(
        f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encoded('Get-Foo')}", codepage=437
    )
    assert res.rc == 1
    assert res.stderr.startswith(b"Get-Foo : The term 'Get-Foo' is not recognized")
    assert b"FullyQualifiedErrorId : CommandNotFoundException" in res.stderr


async def test_native_commands_and_exit_lastexitcode() -> None:
    h = host()
    h.state.license_store_broken = True
    script = r"cscript //nologo C:\Windows\System32\slmgr.vbs /dli" + "\nexit $LASTEXITCODE"
    res = await h.run_command(f"powershell -EncodedCommand {encoded(script)}", codepage=437)
    assert res.stdout.startswith(b"Error: 0xC004F012 ") and res.rc == 0xC004F012 - 2**32
    r = await h.run_powershell("cmd.exe /c echo hi; exit 4")
    assert r.output == ["hi"]


async def test_utf8_output_encoding_switch() -> None:
    h = host()
    h.state.locale = "ja-JP"
    script = (
        "[Console]::OutputEncoding = [System.Text.Encoding]::UTF8\n"
        + r"cscript //nologo C:\Windows\System32\slmgr.vbs /dli"
    )
    res = await h.run_command(f"powershell -EncodedCommand {encoded(script)}", codepage=932)
    assert "ライセンスの状態".encode() in res.stdout


def test_to_json_array_and_compress() -> None:
    assert (
        to_json([{"a": 1}, {"a": None}])
        == '[\r\n    {\r\n        "a":  1\r\n    },\r\n    {\r\n        "a":  null\r\n    }\r\n]'
    )
    assert to_json({"a": [1, "x"]}, compress=True) == '{"a":[1,"x"]}'


def test_get_childitem_finds_installed_ospp_only() -> None:
    import asyncio

    from remediate.lab.windows.host import WindowsHost
    from remediate.lab.windows.state import HostState, OfficeInstall

    script = (
        "Get-ChildItem -Path 'C:\\Program Files*\\Microsoft Office\\Office1*\\ospp.vbs' "
        "-ErrorAction SilentlyContinue | Select-Object -ExpandProperty FullName"
    )
    st = HostState(name="WIN-1", domain="lab.test", office=[OfficeInstall(version="2016", bitness=32)])
    r = asyncio.run(WindowsHost(st).run_powershell(script))
    assert r.output == ["C:\\Program Files (x86)\\Microsoft Office\\Office16\\ospp.vbs"]
    st.office = [OfficeInstall(version="2013", bitness=64), OfficeInstall(version="LTSC2024", bitness=64)]
    r = asyncio.run(WindowsHost(st).run_powershell(script))
    assert r.output == [
        "C:\\Program Files\\Microsoft Office\\Office15\\ospp.vbs",
        "C:\\Program Files\\Microsoft Office\\Office16\\ospp.vbs",
    ]
    st.office = []
    r = asyncio.run(WindowsHost(st).run_powershell(script))
    assert r.output == [] and r.errors == []
    r = asyncio.run(WindowsHost(st).run_powershell(script.replace(" -ErrorAction SilentlyContinue", "")))
    assert r.output == [] and "does not exist" in r.errors[0]


def test_native_command_with_equals_parameter_runs_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    """PowerShell passes `-type=SRV` to nslookup verbatim (the grammar alone cannot parse it)."""
    import asyncio

    from remediate.lab.windows import activation
    from remediate.lab.windows.host import WindowsHost

    monkeypatch.setattr(activation, "DNS_TIMEOUT", 0.02)  # nothing answers on port 1
    from remediate.lab.windows.state import HostState

    host = WindowsHost(HostState(name="W1", domain="lab.test", dns_server=("127.0.0.1", 1)))
    r = asyncio.run(host.run_powershell("nslookup -type=SRV _vlmcs._tcp.lab.test"))
    i = r.output.index("Server:  UnKnown")  # after the "DNS request timed out." pair, as in real runs
    assert r.output[i + 1] == "Address:  127.0.0.1"
    assert not any("is not recognized" in e for e in r.errors)
