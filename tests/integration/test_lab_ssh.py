"""The lab SSH server and the ssh transport, with the real asyncssh client over loopback."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from remediate.core.errors import AuthenticationError, CertificateError, CommandTimeout, ConnectError
from remediate.core.model import ConnectionSpec
from remediate.lab.api import ExecResult, PSResult, Stdin
from remediate.lab.wire.ssh_server import serve_ssh
from remediate.transports import make_transport
from tests.integration.lab_helpers import windows_host

JA_TEXT = "ライセンスの状態: ライセンスされています"


class ScriptedHost:
    """A tiny EmulatedHost: answers a few command lines, records what it was asked."""

    name = "WIN-0001"
    fqdn = "win-0001.lab.test"
    username = "admin"
    password = "S3cret!pw"

    def __init__(self, oem: int = 437) -> None:
        self._oem = oem
        self.calls: list[tuple[str, int]] = []
        self.cancelled = asyncio.Event()

    @property
    def oem_codepage(self) -> int:
        return self._oem

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        self.calls.append((command_line, codepage))
        enc = f"cp{codepage}" if codepage != 65001 else "utf-8"
        if command_line == "hang":
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if command_line == "ja":
            return ExecResult(0, (JA_TEXT + "\r\n").encode(enc), b"")
        if command_line.startswith("powershell.exe -NoProfile -NonInteractive -EncodedCommand "):
            script = base64.b64decode(command_line.rsplit(" ", 1)[1]).decode("utf-16-le")
            return ExecResult(0, f"ps:{script}\r\n".encode(enc), b"")
        if command_line.startswith("echo "):
            return ExecResult(0, command_line[5:].encode(enc) + b"\r\n", b"")
        return ExecResult(
            1,
            b"",
            f"'{command_line.split()[0]}' is not recognized as an internal or external command,\r\n".encode(
                enc
            ),
        )

    async def run_powershell(self, script: str) -> PSResult:
        return PSResult(output=[script])


@pytest.fixture
def host_key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519")


@pytest.fixture
async def lab(host_key: asyncssh.SSHKey) -> AsyncIterator[tuple[ScriptedHost, int]]:
    host = ScriptedHost(oem=932)
    acceptor = await serve_ssh(host, bind="127.0.0.1", port=0, host_keys=[host_key])
    yield host, acceptor.get_port()
    acceptor.close()
    await acceptor.wait_closed()


def spec(port: int, **kw: object) -> ConnectionSpec:
    base: dict[str, object] = {
        "host": "win-0001",
        "address": "127.0.0.1",
        "port": port,
        "user": "admin",
        "password": ScriptedHost.password,
        "connection": "ssh",
        "cert_validation": False,
        "connect_timeout": 5.0,
    }
    base.update(kw)
    return ConnectionSpec(**base)  # type: ignore[arg-type]


async def test_cmd_and_powershell_steps_share_one_connection(lab: tuple[ScriptedHost, int]) -> None:
    host, port = lab
    t = make_transport(spec(port))
    await t.connect()
    try:
        r1 = await t.run("echo hello", shell="cmd", timeout=5)
        r2 = await t.run("Get-Date | Out-String; 'a \"b\" $x'", shell="powershell", timeout=5)
        r3 = await t.run("nosuch /x", shell="cmd", timeout=5)
    finally:
        await t.close()
    assert (r1.rc, r1.stdout, r1.stderr) == (0, "hello\r\n", "")
    assert r2.stdout == "ps:Get-Date | Out-String; 'a \"b\" $x'\r\n"
    assert r3.rc == 1 and "'nosuch' is not recognized" in r3.stderr
    # Windows OpenSSH runs exec requests in the OEM codepage console
    assert [c for _, c in host.calls] == [932, 932, 932]
    assert host.calls[0][0] == "echo hello"


async def test_cp932_output_is_readable(lab: tuple[ScriptedHost, int]) -> None:
    _, port = lab
    for encoding in ("cp932", None):  # explicit override, then the OEM guess
        t = make_transport(spec(port, output_encoding=encoding))
        await t.connect()
        r = await t.run("ja", shell="cmd", timeout=5)
        await t.close()
        assert r.stdout == JA_TEXT + "\r\n"


@pytest.mark.parametrize("user", ["admin", "ADMIN", "WIN-0001\\admin", ".\\admin", "admin@lab.test"])
async def test_windows_user_name_forms(lab: tuple[ScriptedHost, int], user: str) -> None:
    _, port = lab
    t = make_transport(spec(port, user=user))
    await t.connect()
    assert (await t.run("echo ok", shell="cmd", timeout=5)).stdout == "ok\r\n"
    await t.close()


@pytest.mark.parametrize(("user", "password"), [("admin", "wrong"), ("OTHER\\admin", ScriptedHost.password)])
async def test_bad_credentials_are_an_auth_error(
    lab: tuple[ScriptedHost, int], user: str, password: str
) -> None:
    _, port = lab
    t = make_transport(spec(port, user=user, password=password))
    with pytest.raises(AuthenticationError) as info:
        await t.connect()
    assert password not in str(info.value) and password not in repr(t)


async def test_hanging_command_times_out_and_is_stopped(lab: tuple[ScriptedHost, int]) -> None:
    host, port = lab
    t = make_transport(spec(port))
    await t.connect()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        await t.run("hang", shell="cmd", timeout=0.5)
    assert time.monotonic() - started < 2
    await asyncio.wait_for(host.cancelled.wait(), 2)  # the server stopped the command
    # the connection survives a timed-out step
    assert (await t.run("echo again", shell="cmd", timeout=5)).stdout == "again\r\n"
    await t.close()


async def test_known_hosts_validation(
    lab: tuple[ScriptedHost, int], host_key: asyncssh.SSHKey, tmp_path: Path
) -> None:
    _, port = lab
    good = tmp_path / "known_hosts"
    good.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    t = make_transport(spec(port, cert_validation=True, ssh_known_hosts=str(good)))
    await t.connect()
    assert (await t.run("echo trusted", shell="cmd", timeout=5)).rc == 0
    await t.close()

    other = asyncssh.generate_private_key("ssh-ed25519")
    bad = tmp_path / "known_hosts_bad"
    bad.write_text(f"[127.0.0.1]:{port} {other.export_public_key().decode()}")
    t = make_transport(spec(port, cert_validation=True, ssh_known_hosts=str(bad)))
    with pytest.raises(CertificateError):
        await t.connect()


async def test_refused_port_is_a_connect_error() -> None:
    t = make_transport(spec(1))
    with pytest.raises(ConnectError) as info:
        await t.connect()
    assert not isinstance(info.value, AuthenticationError)


@pytest.mark.parametrize("encoding", ["cp932", None])
async def test_real_ja_host_slmgr_over_ssh(host_key: asyncssh.SSHKey, encoding: str | None) -> None:
    """The lab's WindowsHost writes cp932 on a ja-JP console; the transport makes it readable."""
    host = windows_host("ja-JP")
    acceptor = await serve_ssh(host, bind="127.0.0.1", port=0, host_keys=[host_key])
    try:
        t = make_transport(
            spec(acceptor.get_port(), user="WIN-0042\\admin", password="Lab!pass42", output_encoding=encoding)
        )
        await t.connect()
        r = await t.run(r"cscript //nologo C:\Windows\System32\slmgr.vbs /dli", shell="cmd", timeout=10)
        await t.close()
    finally:
        acceptor.close()
    assert r.rc == 0, r.stderr
    assert "ライセンスの状態:" in r.stdout and "2YT43" in r.stdout
