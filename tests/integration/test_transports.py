"""winrm and psrp transports against the lab WS-Man server: every winrm case runs with both
winrm clients (the native asyncio one and the pywinrm fallback), psrp with pypsrp.

NTLM over HTTP with message encryption, HTTPS validated against the lab CA (and refused without
it), wrong password, a hanging command stopped at the step deadline, one shell reused by all
steps, a shell the server loses (once: reopened; twice: the step fails with a WSManFault), and
cp932 output from a host that ignores the 65001 request. The asyncio WS-Man client's resend rule
(only when a reused connection closes without an answer byte) against a loopback server.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from remediate.core.errors import (
    AuthenticationError,
    CertificateError,
    CommandTimeout,
    ConnectError,
    ProtocolError,
    TransportError,
    WSManFault,
)
from remediate.core.model import ConnectionSpec
from remediate.core.playbook import Playbook
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.api import ExecResult, PSResult, Stdin
from remediate.lab.wire.psrp import PS_URI, PSRPService
from remediate.lab.wire.soap import ACTION_COMMAND, ACTION_CREATE
from remediate.lab.wire.tls import LabCA
from remediate.lab.wire.winrs import WinRSService
from remediate.lab.wire.wsman_server import serve_wsman
from remediate.transports import make_transport
from remediate.transports.base import Transport
from remediate.transports.wsman_common import SHELL_NOT_FOUND

JA_TEXT = "ライセンスの状態: ライセンスされています"
PASSWORD = "S3cret!pw"


class ScriptedHost:
    """A tiny EmulatedHost for protocol tests; records calls and cancellations."""

    name = "WIN-0002"
    fqdn = "win-0002.lab.test"
    username = "admin"
    password = PASSWORD

    def __init__(self, oem: int = 437, *, ignore_codepage: bool = False) -> None:
        self._oem = oem
        self.ignore_codepage = ignore_codepage  # like a host whose console stays in its OEM codepage
        self.commands: list[tuple[str, int]] = []
        self.cancelled = asyncio.Event()

    @property
    def oem_codepage(self) -> int:
        return self._oem

    async def _hang(self) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        self.commands.append((command_line, codepage))
        cp = self._oem if self.ignore_codepage else codepage
        enc = "utf-8" if cp == 65001 else f"cp{cp}"
        if command_line == "hang":
            await self._hang()
        if command_line == "ja":
            return ExecResult(0, (JA_TEXT + "\r\n").encode(enc), b"")
        if command_line.startswith("powershell.exe "):
            script = base64.b64decode(command_line.rsplit(" ", 1)[1]).decode("utf-16-le")
            if script == "hang":
                await self._hang()
            return ExecResult(0, f"ps:{script}\r\n".encode(enc), b"")
        if command_line.startswith("echo "):
            return ExecResult(0, command_line[5:].encode(enc) + b"\r\n", b"")
        err = f"'{command_line.split()[0]}' is not recognized as an internal or external command,\r\n"
        return ExecResult(1, b"", err.encode(enc))

    async def run_powershell(self, script: str) -> PSResult:
        if script == "hang":
            await self._hang()
        if script.startswith("throw "):
            return PSResult(errors=[script[6:]])
        return PSResult(output=[f"out:{script}", JA_TEXT])


@dataclass
class Lab:
    host: ScriptedHost
    port: int
    tls_port: int
    ca: LabCA
    creates: list[str]  # resource URIs of every WS-Man Create the server handled


@pytest.fixture
def creates(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Count shell / runspace pool creations server-side by wrapping the lab's WinRS and PSRP services."""
    seen: list[str] = []
    for service in (WinRSService, PSRPService):
        original = service.handle

        async def counting(self: Any, req: Any, ctx: Any, _original: Any = original) -> bytes:
            if req.action == ACTION_CREATE:
                seen.append(req.resource_uri)
            return await _original(self, req, ctx)  # type: ignore[no-any-return]

        monkeypatch.setattr(service, "handle", counting)
    yield seen


@pytest.fixture
def host_kwargs() -> dict[str, Any]:
    return {}  # overridden by parametrize for hosts with another console


@pytest.fixture
async def lab(tmp_path: Path, creates: list[str], host_kwargs: dict[str, Any]) -> AsyncIterator[Lab]:
    host = ScriptedHost(**host_kwargs)
    ca = LabCA.create(tmp_path / "ca")
    plain = await serve_wsman(host, bind="127.0.0.1", port=0, ssl_context=None)
    tls = await serve_wsman(
        host, bind="127.0.0.1", port=0, ssl_context=ca.server_context(["localhost"], ["127.0.0.1"])
    )
    yield Lab(host, _port(plain), _port(tls), ca, creates)
    for server in (plain, tls):
        server.close()
    await asyncio.gather(plain.wait_closed(), tls.wait_closed(), return_exceptions=True)


def _port(server: Any) -> int:
    if hasattr(server, "port"):
        return int(server.port)
    return int(server.sockets[0].getsockname()[1])


def spec(lab: Lab, connection: str, **kw: Any) -> ConnectionSpec:
    base: dict[str, Any] = {
        "host": "win-0002",
        "address": "127.0.0.1",
        "port": lab.port,
        "user": "admin",
        "password": PASSWORD,
        "connection": connection,
        "auth": "ntlm",
        "message_encryption": "always",
        "connect_timeout": 5.0,
        "operation_timeout": 5.0,
    }
    base.update(kw)
    return ConnectionSpec(**base)


def https(lab: Lab, connection: str, **kw: Any) -> ConnectionSpec:
    return spec(
        lab, connection, scheme="https", port=lab.tls_port, auth="basic", message_encryption="never", **kw
    )


# --- winrm, with each client ---------------------------------------------------------------------
WINRM_CLASSES = {"native": "AsyncWinRMTransport", "pywinrm": "PyWinRMTransport"}


@pytest.fixture(params=sorted(WINRM_CLASSES))
def client(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def winrm(s: ConnectionSpec, client: str) -> Transport:
    """The winrm transport for `s` through `client`, checked to be that client's class."""
    t = make_transport(dataclasses.replace(s, winrm_client=client))  # type: ignore[arg-type]
    assert type(t).__name__ == WINRM_CLASSES[client]
    return t


async def test_winrm_ntlm_encrypted_steps_reuse_one_shell(lab: Lab, client: str) -> None:
    t = winrm(spec(lab, "winrm"), client)
    await t.connect()
    try:
        r1 = await t.run("echo hello", shell="cmd", timeout=10)
        r2 = await t.run("Write-Output 'a \"b\" $x'", shell="powershell", timeout=10)
        r3 = await t.run("nosuch /x", shell="cmd", timeout=10)
        r4 = await t.run("ja", shell="cmd", timeout=10)
    finally:
        await t.close()
    assert (r1.rc, r1.stdout, r1.stderr) == (0, "hello\r\n", "")
    assert r2.rc == 0 and r2.stdout == "ps:Write-Output 'a \"b\" $x'\r\n"
    assert r3.rc == 1 and "'nosuch' is not recognized" in r3.stderr
    assert r4.stdout == JA_TEXT + "\r\n"  # we asked for 65001 and the host honoured it
    assert lab.creates == ["http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"]
    assert {cp for _, cp in lab.host.commands} == {65001}
    ps_line = lab.host.commands[1][0]
    assert ps_line.startswith(
        "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "
    )


async def test_winrm_https_validates_against_the_lab_ca(lab: Lab, client: str) -> None:
    t = winrm(https(lab, "winrm", ca_path=str(lab.ca.ca_path)), client)
    await t.connect()
    assert (await t.run("echo tls", shell="cmd", timeout=10)).stdout == "tls\r\n"
    await t.close()
    untrusted = winrm(https(lab, "winrm"), client)
    with pytest.raises(CertificateError):
        await untrusted.connect()
    skip = winrm(https(lab, "winrm", cert_validation=False), client)
    await skip.connect()
    await skip.close()


async def test_winrm_wrong_password_is_an_auth_error(lab: Lab, client: str) -> None:
    t = winrm(spec(lab, "winrm", password="Wr0ng-pass"), client)
    with pytest.raises(AuthenticationError) as info:
        await t.connect()
    assert "Wr0ng-pass" not in str(info.value) and "Wr0ng-pass" not in repr(t)


async def test_winrm_hanging_command_times_out_at_the_deadline(lab: Lab, client: str) -> None:
    t = winrm(spec(lab, "winrm"), client)
    await t.connect()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await t.run("hang", shell="cmd", timeout=1.0)
    assert time.monotonic() - started < 2.0
    await asyncio.wait_for(lab.host.cancelled.wait(), 3)  # Signal terminate reached the host
    assert (await t.run("echo after", shell="cmd", timeout=10)).stdout == "after\r\n"
    await t.close()
    assert len(lab.creates) == 1


@pytest.mark.parametrize("host_kwargs", [{"oem": 932, "ignore_codepage": True}])
async def test_winrm_cp932_output_with_override(lab: Lab, client: str) -> None:
    t = winrm(spec(lab, "winrm", output_encoding="cp932"), client)
    await t.connect()
    assert (await t.run("ja", shell="cmd", timeout=10)).stdout == JA_TEXT + "\r\n"
    await t.close()


async def test_winrm_refused_port_is_a_connect_error(lab: Lab, client: str) -> None:
    t = winrm(spec(lab, "winrm", port=1), client)
    with pytest.raises(ConnectError) as info:
        await t.connect()
    assert not isinstance(info.value, CertificateError)


@pytest.fixture
def lose_shells(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the lab lose the shell (as a WinRM service restart does) on the next `n[0]` Commands:
    the server forgets every shell, so the Command gets fault 2150858843 (shell not found)."""
    left = [0]
    original = WinRSService.handle

    async def losing(self: WinRSService, req: Any, ctx: Any) -> bytes:
        if req.action == ACTION_COMMAND and left[0] > 0:
            left[0] -= 1
            self.shells.clear()
        return await original(self, req, ctx)

    monkeypatch.setattr(WinRSService, "handle", losing)
    return left


async def test_winrm_shell_lost_once_is_reopened(lab: Lab, client: str, lose_shells: list[int]) -> None:
    t = winrm(spec(lab, "winrm"), client)
    await t.connect()
    lose_shells[0] = 1
    try:
        assert (await t.run("echo back", shell="cmd", timeout=10)).stdout == "back\r\n"
    finally:
        await t.close()
    assert len(lab.creates) == 2  # the first shell, then the one opened after the fault


async def test_winrm_shell_lost_twice_is_a_wsman_fault(lab: Lab, client: str, lose_shells: list[int]) -> None:
    """Lost again right after reopening: a WSManFault, which is a TransportError (the engine records
    the step) and says which fault it was."""
    t = winrm(spec(lab, "winrm"), client)
    await t.connect()
    lose_shells[0] = 2
    try:
        with pytest.raises(ProtocolError) as info:
            await t.run("echo back", shell="cmd", timeout=10)
    finally:
        await t.close()
    assert isinstance(info.value, WSManFault) and isinstance(info.value, TransportError)
    assert info.value.code == SHELL_NOT_FOUND and info.value.host == "win-0002"
    assert str(info.value).startswith("winrm 127.0.0.1: WS-Man fault 2150858843: ")


async def test_engine_records_the_step_when_the_shell_is_lost_twice(
    lab: Lab, client: str, lose_shells: list[int], tmp_path: Path
) -> None:
    """A host whose shell is lost on every Command fails with the check recorded and its error."""
    (tmp_path / "inv.yml").write_text(
        "all:\n  hosts:\n    win-0002:\n"
        f"      ansible_host: 127.0.0.1\n      ansible_port: {lab.port}\n      ansible_winrm_scheme: http\n"
        f"      ansible_user: admin\n      ansible_password: {PASSWORD}\n"
        f"      ansible_winrm_transport: ntlm\n      remediate_winrm_client: {client}\n"
    )
    (tmp_path / "pb.yml").write_text(
        "name: echo\ntargets: all\nchecks:\n  - id: hello\n    shell: cmd\n    run: echo hello\n"
    )
    lose_shells[0] = 1000
    hosts = Inventory.load(tmp_path / "inv.yml").select("all")
    res = await run_playbook(
        Playbook.load(tmp_path / "pb.yml"),
        hosts,
        RunOptions(retry_backoff=0.05),
        credentials=CredentialResolver(),
    )
    (hr,) = res.hosts
    assert hr.verdict == "failed", hr
    assert [s.id for s in hr.steps] == ["hello"]
    step = hr.steps[0]
    assert step.passed is False and step.error is not None and "WS-Man fault 2150858843" in step.error


# --- psrp ------------------------------------------------------------------------------------


async def test_psrp_negotiate_encrypted_powershell_and_cmd(lab: Lab) -> None:
    t = make_transport(spec(lab, "psrp", auth="negotiate"))
    await t.connect()
    try:
        ok = await t.run("Get-Date", shell="powershell", timeout=10)
        bad = await t.run("throw Boom happened", shell="powershell", timeout=10)
        c1 = await t.run("echo one", shell="cmd", timeout=10)
        c2 = await t.run("echo two", shell="cmd", timeout=10)
    finally:
        await t.close()
    assert (ok.rc, ok.stdout, ok.stderr) == (0, f"out:Get-Date\n{JA_TEXT}", "")
    assert bad.rc == 1 and "Boom happened" in bad.stderr
    assert (c1.stdout, c2.stdout) == ("one\r\n", "two\r\n")
    # one runspace pool and one WinRS shell for all four steps
    assert lab.creates == [PS_URI, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"]


async def test_psrp_https_basic_with_lab_ca(lab: Lab) -> None:
    t = make_transport(https(lab, "psrp", ca_path=str(lab.ca.ca_path)))
    await t.connect()
    assert (await t.run("Get-Date", shell="powershell", timeout=10)).rc == 0
    await t.close()
    with pytest.raises(CertificateError):
        await make_transport(https(lab, "psrp")).connect()


async def test_psrp_wrong_password_is_an_auth_error(lab: Lab) -> None:
    t = make_transport(spec(lab, "psrp", auth="negotiate", password="Wr0ng-pass"))
    with pytest.raises(AuthenticationError) as info:
        await t.connect()
    assert "Wr0ng-pass" not in str(info.value)


async def test_psrp_hanging_pipeline_times_out(lab: Lab) -> None:
    t = make_transport(spec(lab, "psrp", auth="negotiate"))
    await t.connect()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await t.run("hang", shell="powershell", timeout=1.0)
    assert time.monotonic() - started < 2.5
    await asyncio.wait_for(lab.host.cancelled.wait(), 3)  # the pipeline stop reached the host
    assert (await t.run("Get-Date", shell="powershell", timeout=10)).rc == 0  # the pool survives
    with pytest.raises(CommandTimeout):
        await t.run("hang", shell="cmd", timeout=1.0)
    await t.close()


@pytest.mark.parametrize("connection", ["winrm", "psrp"])
async def test_real_ja_host_slmgr_reads_in_utf8(connection: str) -> None:
    """The lab's ja-JP WindowsHost honours codepage 65001: Japanese arrives readable, no override."""
    from remediate.lab.windows.host import WindowsHost
    from remediate.lab.windows.state import HostState, Product

    st = HostState(name="WIN-0042", domain="lab.test", locale="ja-JP", password="Lab!pass42")
    st.windows = Product(
        "Windows(R), Enterprise edition",
        "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        "55c92734-d682-4d71-983e-d6ec3f16059f",
        "73111121-5638-40f6-bc11-f1d7b0d64300",
        "VOLUME_KMSCLIENT",
        "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    )
    server = await serve_wsman(WindowsHost(st), bind="127.0.0.1", port=0)
    try:
        t = make_transport(
            ConnectionSpec(
                host="win-0042",
                address="127.0.0.1",
                port=_port(server),
                user="admin",
                password="Lab!pass42",
                connection=connection,  # type: ignore[arg-type]
                auth="ntlm",
                connect_timeout=5,
            )
        )
        await t.connect()
        r = await t.run(r"cscript //nologo C:\Windows\System32\slmgr.vbs /dli", shell="cmd", timeout=10)
        await t.close()
    finally:
        server.close()
    assert r.rc == 0, r.stderr
    assert "ライセンスの状態:" in r.stdout and "2YT43" in r.stdout


# -- the asyncio WS-Man client's resend rule, against a real loopback HTTP server ---------------

_EMPTY_ENVELOPE = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'


async def _keepalive_server(second: str) -> tuple[asyncio.Server, list[list[bytes]]]:
    """HTTP/1.1 server that answers a connection's first request, then for the second one:
    `drop` closes the idle connection unanswered, `hang` never answers, `partial` closes after
    half a status line. Returns the server and, per connection, the request bodies it read."""
    seen: list[list[bytes]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mine: list[bytes] = []
        seen.append(mine)
        try:
            while True:
                if mine and second == "drop":  # idle keep-alive timeout: close before reading more
                    return
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                mine.append(await reader.readexactly(length))
                if len(mine) == 2 and second == "hang":
                    await asyncio.sleep(3600)
                if len(mine) == 2 and second == "partial":
                    writer.write(b"HTTP/1.1 200")
                    await writer.drain()
                    return
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/soap+xml;charset=UTF-8\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(_EMPTY_ENVELOPE), _EMPTY_ENVELOPE)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), seen


def _client(server: asyncio.Server) -> Any:
    from remediate.transports.wsman_client import WSManClient

    return WSManClient(
        ConnectionSpec(
            host="h", address="127.0.0.1", port=_port(server), user="u", password="p",
            auth="basic", connect_timeout=5,
        )
    )  # fmt: skip


async def test_wsman_client_resends_once_when_an_idle_connection_closes_unanswered() -> None:
    server, seen = await _keepalive_server("drop")
    client = _client(server)
    try:
        await client.post(b"<first/>")
        await asyncio.sleep(0.05)  # the server has closed the idle connection by now
        root = await client.post(b"<second/>")
    finally:
        client.close()
        server.close()
    assert root.tag.endswith("Envelope")
    # the second request went out again on a fresh connection, exactly once
    assert seen == [[b"<first/>"], [b"<second/>"]]


@pytest.mark.parametrize("second", ["hang", "partial"])
async def test_wsman_client_never_resends_after_a_timeout_or_a_partial_answer(second: str) -> None:
    server, seen = await _keepalive_server(second)
    client = _client(server)
    try:
        await client.post(b"<first/>")
        with pytest.raises(ConnectError, match="connection lost"):
            await client.post(b"<command/>", timeout=0.3)
        await asyncio.sleep(0.05)
    finally:
        client.close()
        server.close()
    # the server may have run the command: it saw it once and no second connection was opened
    assert seen == [[b"<first/>", b"<command/>"]]
