"""slmgr /ato and ospp /act against a real DNS server (UDP/TCP on loopback) and a real TCP KMS listener."""

from __future__ import annotations

import base64
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from remediate.domains.kms.events import parse_kms_info
from remediate.lab.network.dns import LabDns
from remediate.lab.network.kms import KmsListener
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
OSPP = r'cscript //nologo "C:\Program Files\Microsoft Office\Office16\ospp.vbs"'
DOMAIN = "lab.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    dns: LabDns
    kms: KmsListener
    dns_port: int

    def host(self, locale: str = "en-US", channel: str = "VOLUME_KMSCLIENT") -> WindowsHost:
        st = HostState(name="WIN-0001", domain=DOMAIN, locale=locale, dns_server=("127.0.0.1", self.dns_port))
        st.windows = Product(
            "Windows(R), Enterprise edition",
            f"Windows(R) Operating System, {channel} channel",
            WINDOWS_APP_ID,
            "73111121-5638-40f6-bc11-f1d7b0d64300",
            channel,
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
        st.office = [OfficeInstall("2016", 64, products=[office])]
        return WindowsHost(st)


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    dns = LabDns(DOMAIN)
    kms = KmsListener("kms01", "127.0.0.1", free_port(), fqdn=f"kms01.{DOMAIN}")
    dns.add_a(f"kms01.{DOMAIN}", "127.0.0.1")
    dns.add_srv(f"kms01.{DOMAIN}", kms.port)
    port = await dns.listen("127.0.0.1", 0)
    await kms.start()
    try:
        yield Lab(dns, kms, port)
    finally:
        await kms.stop()
        await dns.close()


async def run(h: WindowsHost, line: str, codepage: int = 437) -> tuple[int, str]:
    r = await h.run_command(line, codepage=codepage)
    return r.rc, r.stdout.decode({932: "cp932", 65001: "utf-8"}.get(codepage, "cp437"))


async def test_srv_and_listener_up_activates(lab: Lab) -> None:
    h = lab.host()
    rc, out = await run(h, f"{SLMGR} /ato")
    assert rc == 0, out
    assert "Product activated successfully." in out
    assert lab.kms.requests and lab.kms.requests[-1].client_fqdn == "win-0001.lab.test"
    p = h.state.windows
    assert p is not None and p.status == LicenseStatus.LICENSED and p.status_reason == 0
    assert p.grace_minutes == 259200 and p.kms_pid == lab.kms.epid
    assert h.state.kms_discovered == f"kms01.lab.test:{lab.kms.port}"
    assert [e.id for e in h.state.events][-2:] == [12288, 12289]
    sent, done = (parse_kms_info(e.id, e.message) for e in h.state.events[-2:])
    assert sent is not None and sent["hr"] == "0x00000000" and sent["kms_port"] == lab.kms.port
    assert done is not None and done["activated"] is True  # the same Info shape as a real host's events
    assert h.state.cmid in h.state.events[-2].message
    _, dlv = await run(h, f"{SLMGR} /dlv")
    assert f"Client Machine ID (CMID): {h.state.cmid}" in dlv  # one CMID per host
    rc, out = await run(h, f"{SLMGR} /dli")
    assert "License Status: Licensed" in out
    assert f"KMS machine name from DNS: kms01.lab.test:{lab.kms.port}" in out
    assert "KMS machine IP address: 127.0.0.1" in out
    assert "Volume activation expiration: 2591" in out  # 259200 minus the seconds elapsed


async def test_listener_stopped_gives_c004f074(lab: Lab) -> None:
    await lab.kms.stop()
    h = lab.host()
    rc, out = await run(h, f"{SLMGR} /ato")
    assert "Error: 0xC004F074 The Software Licensing Service reported that the computer could not be " in out
    assert rc == 0xC004F074 - 2**32  # WScript.Quit Err.Number: the HRESULT as a signed exit code
    assert h.state.windows is not None and h.state.windows.status_reason == 0xC004F074


async def test_no_srv_and_no_registered_host_gives_8007232b(lab: Lab) -> None:
    lab.dns.remove_srv()
    h = lab.host()
    _rc, out = await run(h, f"{SLMGR} /ato")
    assert "Error: 0x8007232B DNS name does not exist" in out
    r = await h.run_command("nslookup -type=SRV _vlmcs._tcp.lab.test", codepage=437)
    assert b"can't find _vlmcs._tcp.lab.test: Non-existent domain" in r.stderr


async def test_skms_to_dead_host_gives_c004f074_and_ckms_recovers(lab: Lab) -> None:
    h = lab.host()
    rc, out = await run(h, f"{SLMGR} /skms 127.0.0.1:{free_port()}")
    assert rc == 0 and "Key Management Service machine name set to 127.0.0.1:" in out
    rc, out = await run(h, f"{SLMGR} /ato")
    assert "0xC004F074" in out and lab.kms.requests == []
    rc, out = await run(h, f"{SLMGR} /ckms & {SLMGR} /ato")
    assert "Key Management Service machine name cleared successfully." in out
    assert "Product activated successfully." in out and rc == 0


async def test_mak_key_cannot_reach_microsoft(lab: Lab) -> None:
    h = lab.host(channel="VOLUME_MAK")
    _rc, out = await run(h, f"{SLMGR} /ato")
    assert "Error: 0x80072EE7" in out and lab.kms.requests == []


async def test_broken_store_fails_everything_with_c004f012(lab: Lab) -> None:
    h = lab.host()
    h.state.license_store_broken = True
    for opt in ("/dli", "/ato", "/xpr"):
        rc, out = await run(h, f"{SLMGR} {opt}")
        assert out.startswith("Error: 0xC004F012 "), out
        assert rc == 0xC004F012 - 2**32
    rc, out = await run(h, f"{OSPP} /dstatus")
    assert "ERROR CODE: 0xC004F012" in out
    ps = await h.run_powershell("Get-CimInstance -ClassName SoftwareLicensingProduct | ConvertTo-Json")
    assert ps.errors and ps.output == []


async def test_clock_skew_gives_c004f06c(lab: Lab) -> None:
    from datetime import timedelta

    h = lab.host()
    h.state.clock_offset = timedelta(hours=5)
    _rc, out = await run(h, f"{SLMGR} /ato")
    assert "Error: 0xC004F06C" in out and "slui.exe 0x2a 0xC004F06C" in out


async def test_ospp_act_and_sethst(lab: Lab) -> None:
    h = lab.host()
    rc, out = await run(h, f"{OSPP} /act")
    assert "<Product activation successful>" in out and rc == 0
    rc, out = await run(h, f"{OSPP} /dstatus")
    assert "LICENSE STATUS:  ---LICENSED---" in out
    assert "REMAINING GRACE: 179 days" in out or "REMAINING GRACE: 180 days" in out
    await run(h, f"{OSPP} /sethst:127.0.0.1 & {OSPP} /setprt:{free_port()}")
    rc, out = await run(h, f"{OSPP} /act")
    assert "ERROR CODE: 0xC004F074" in out


async def test_ja_jp_output_is_cp932(lab: Lab) -> None:
    h = lab.host(locale="ja-JP")
    await run(h, f"{SLMGR} /ato", codepage=932)
    r = await h.run_command(f"{SLMGR} /dli", codepage=932)
    text = r.stdout.decode("cp932")
    assert "ライセンスの状態: ライセンスされています" in text
    assert "ライセンスの状態".encode("cp932") in r.stdout
    r = await h.run_command(f"chcp 65001 >nul & {SLMGR} /dli", codepage=932)
    assert "ライセンスの状態: ライセンスされています" in r.stdout.decode("utf-8")


async def test_powershell_network_cmdlets(lab: Lab) -> None:
    h = lab.host()
    script = (
        "Resolve-DnsName -Name _vlmcs._tcp.lab.test -Type SRV -DnsOnly -ErrorAction Stop | "
        "Select-Object -Property Name,Type,NameTarget,Port,Priority,Weight | ConvertTo-Json"
    )
    r = await h.run_powershell(script)
    assert not r.errors and '"NameTarget":  "kms01.lab.test"' in r.output[0]
    assert f'"Port":  {lab.kms.port}' in r.output[0]
    r = await h.run_powershell(f"Test-NetConnection -ComputerName kms01.lab.test -Port {lab.kms.port}")
    assert "TcpTestSucceeded : True" in r.output[0]
    await lab.kms.stop()
    enc = base64.b64encode(
        f"Test-NetConnection -ComputerName kms01.lab.test -Port {lab.kms.port}".encode("utf-16-le")
    ).decode()
    res = await h.run_command(f"powershell.exe -NoProfile -EncodedCommand {enc}", codepage=437)
    assert b"WARNING: TCP connect to (127.0.0.1 : " in res.stdout
    assert b"TcpTestSucceeded       : False" in res.stdout
    lab.dns.remove_srv()
    r = await h.run_powershell(script)
    assert r.errors == ["_vlmcs._tcp.lab.test : DNS name does not exist"]


@pytest.mark.parametrize("state", ["grace", "licensed", "broken"])
async def test_dli_round_trips_through_parser(lab: Lab, state: str) -> None:
    parsers = pytest.importorskip("remediate.domains.kms.parsers")
    h = lab.host()
    if state == "licensed":
        await run(h, f"{SLMGR} /ato")
    h.state.license_store_broken = state == "broken"
    r = await h.run_command(f"{SLMGR} /dli", codepage=437)
    facts = parsers.parse("slmgr-dli", r.stdout)
    assert isinstance(facts, dict)
    flat = repr(facts).lower()
    expected = {"grace": "2yt43", "licensed": "licensed", "broken": "c004f012"}[state]
    assert expected in flat, facts
