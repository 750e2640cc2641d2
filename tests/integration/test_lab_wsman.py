"""Real pywinrm / pypsrp clients against the lab WS-Man server over loopback (NTLM, encryption, TLS)."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import winrm
import winrm.protocol
from pypsrp.client import Client
from pypsrp.exceptions import AuthenticationError as PsrpAuthError
from winrm.exceptions import InvalidCredentialsError

from remediate.lab.wire.http import REQUEST_COUNTS
from remediate.lab.wire.tls import LabCA
from remediate.lab.wire.wsman_server import serve_wsman
from tests.integration.lab_helpers import EchoHost, LoopThread, windows_host


@dataclass
class Lab:
    host: EchoHost
    http_port: int
    https_port: int
    ca_path: pathlib.Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    host = EchoHost()
    ca = LabCA.create(tmp_path_factory.mktemp("ca"))
    runner = LoopThread()
    http = runner.run(serve_wsman(host, bind="127.0.0.1", port=0))
    ctx = ca.server_context(["localhost", host.fqdn], ["127.0.0.1"])
    https = runner.run(serve_wsman(host, bind="127.0.0.1", port=0, ssl_context=ctx))
    yield Lab(host, http.sockets[0].getsockname()[1], https.sockets[0].getsockname()[1], ca.ca_path)

    async def shutdown() -> None:
        http.close()
        https.close()

    runner.run(shutdown())
    runner.stop()


def _session(lab: Lab, user: str = "admin", password: str | None = None, **kw: object) -> winrm.Session:
    return winrm.Session(
        f"http://127.0.0.1:{lab.http_port}/wsman",
        auth=(user, password or lab.host.password),
        transport="ntlm",
        **kw,  # type: ignore[arg-type]
    )


def _psrp(lab: Lab, *, https: bool = False, **kw: Any) -> Client:
    """A pypsrp Client for the lab host: Negotiate over HTTP, or over HTTPS validated by the lab CA."""
    target: dict[str, Any] = (
        {"server": "localhost", "port": lab.https_port, "ssl": True, "cert_validation": str(lab.ca_path)}
        if https
        else {"server": "127.0.0.1", "port": lab.http_port, "ssl": False}
    )
    return Client(**{"username": "admin", "password": lab.host.password, "auth": "negotiate", **target, **kw})


def test_pywinrm_run_cmd_ntlm_encrypted(lab: Lab) -> None:
    r = _session(lab).run_cmd("cscript", ["//nologo", "slmgr.vbs", "/dli"])
    assert r.status_code == 0
    # Command + Arguments joined with spaces; default codepage is the host's OEM codepage.
    assert r.std_out == b"echo:cscript //nologo slmgr.vbs /dli|437\r\n"


@pytest.mark.parametrize("user", ["admin", "WIN-TEST01\\admin", ".\\admin", "admin@lab.test", "ADMIN"])
def test_user_name_forms(lab: Lab, user: str) -> None:
    assert _session(lab, user=user).run_cmd("ver").status_code == 0


def test_stderr_and_exit_code(lab: Lab) -> None:
    r = _session(lab).run_cmd("fail")
    assert (r.status_code, r.std_out, r.std_err) == (3, b"", b"it failed\r\n")


def test_wrong_password_is_401(lab: Lab) -> None:
    with pytest.raises(InvalidCredentialsError):
        _session(lab, password="wrong").run_cmd("ver")


def test_wrong_user_is_401(lab: Lab) -> None:
    with pytest.raises(InvalidCredentialsError):
        _session(lab, user="guest").run_cmd("ver")


def test_pywinrm_run_ps_goes_through_winrs(lab: Lab) -> None:
    r = _session(lab).run_ps("Get-Date")
    assert r.status_code == 0
    line, _codepage, _ = lab.host.calls[-1]
    assert line.startswith("powershell -encodedcommand ")


def test_codepage_65001_on_request(lab: Lab) -> None:
    p = winrm.protocol.Protocol(
        f"http://127.0.0.1:{lab.http_port}/wsman",
        transport="ntlm",
        username="admin",
        password=lab.host.password,
    )
    shell = p.open_shell(codepage=65001)
    cmd = p.run_command(shell, "echo", ["héllo"])
    out, _err, rc = p.get_command_output(shell, cmd)
    p.cleanup_command(shell, cmd)
    p.close_shell(shell)
    assert rc == 0 and out.decode("utf-8") == "echo:echo héllo|65001\r\n"


def test_operation_timeout_fault_then_result(lab: Lab) -> None:
    # pywinrm retries Receive on fault 2150858793; the command takes longer than one poll.
    def requests_for(*command: Any) -> int:
        before = REQUEST_COUNTS.get("127.0.0.1", 0)
        r = _session(lab, operation_timeout_sec=1, read_timeout_sec=3).run_cmd(*command)
        assert r.status_code == 0
        return REQUEST_COUNTS["127.0.0.1"] - before

    started = time.monotonic()
    slow = requests_for("sleep", ["1.5"])
    assert time.monotonic() - started >= 1.5
    # One more request than a quick command: the Receive that timed out and was sent again (a
    # server holding the Receive past OperationTimeout would also end within read_timeout_sec).
    assert slow == requests_for("ver") + 1


def test_basic_over_http_is_refused(lab: Lab) -> None:
    s = winrm.Session(
        f"http://127.0.0.1:{lab.http_port}/wsman", auth=("admin", lab.host.password), transport="basic"
    )
    with pytest.raises(InvalidCredentialsError):
        s.run_cmd("ver")


def test_pypsrp_execute_cmd_negotiate_encrypted(lab: Lab) -> None:
    out, err, rc = _psrp(lab).execute_cmd("whoami")
    assert (out, err, rc) == ("echo:whoami|437\r\n", "", 0)


def test_pypsrp_https_basic_validates_lab_ca(lab: Lab) -> None:
    out, _err, rc = _psrp(lab, https=True, auth="basic").execute_cmd("hostname")
    assert rc == 0 and out.startswith("echo:hostname|")


def test_pypsrp_https_negotiate(lab: Lab) -> None:
    assert _psrp(lab, https=True).execute_cmd("ver")[2] == 0


def test_pypsrp_wrong_password(lab: Lab) -> None:
    with pytest.raises(PsrpAuthError):
        _psrp(lab, password="nope").execute_cmd("ver")


@pytest.mark.parametrize(("locale", "encoding"), [("en-US", "cp437"), ("ja-JP", "cp932")])
def test_slmgr_dli_on_windows_host(locale: str, encoding: str) -> None:
    host = windows_host(locale)
    runner = LoopThread()
    try:
        server = runner.run(serve_wsman(host, bind="127.0.0.1", port=0))
        port = server.sockets[0].getsockname()[1]
        s = winrm.Session(
            f"http://127.0.0.1:{port}/wsman", auth=("WIN-0042\\admin", "Lab!pass42"), transport="ntlm"
        )
        r = s.run_cmd(r"cscript //nologo C:\Windows\System32\slmgr.vbs /dli")
        text = r.std_out.decode(encoding)
        assert r.status_code == 0, r.std_err
        assert "VOLUME_KMSCLIENT" in text and "2YT43" in text
    finally:
        runner.stop()


def _raw(port: int, data: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" in b"".join(chunks):
                break
        return b"".join(chunks)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"\x16\x03\x01garbage\r\n\r\n", b"400"),
        (b"POST /wsman HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b"400"),
        (
            b"POST /wsman HTTP/1.1\r\nAuthorization: Negotiate !!!notbase64\r\nConnection: close\r\n\r\n",
            b"401",
        ),
        (
            b"POST /wsman HTTP/1.1\r\nAuthorization: Negotiate TlRMTVNTUAABAAAA\r\nConnection: close\r\n\r\n",
            b"401",
        ),
        (b"POST /wsman HTTP/1.1\r\nAuthorization: Digest x\r\nConnection: close\r\n\r\n", b"401"),
        (b"GET /other HTTP/1.1\r\nConnection: close\r\n\r\n", b"404"),
    ],
)
def test_bad_requests_get_windows_status_and_server_survives(lab: Lab, payload: bytes, status: bytes) -> None:
    reply = _raw(lab.http_port, payload)
    assert reply.split(b" ", 2)[1] == status
    if status == b"401" and b"TlRM" not in payload:
        assert b"WWW-Authenticate: Negotiate" in reply
    assert _session(lab).run_cmd("ver").status_code == 0  # still serving


def test_malformed_soap_over_https_basic_is_schema_fault(lab: Lab) -> None:
    import base64 as b64
    import ssl as ssl_mod

    ctx = ssl_mod.create_default_context(cafile=str(lab.ca_path))
    import socket

    cred = b64.b64encode(f"admin:{lab.host.password}".encode()).decode()
    body = b"<s:Envelope><not-closed>"
    req = (
        f"POST /wsman HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic {cred}\r\n"
        "Content-Type: application/soap+xml;charset=UTF-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", lab.https_port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
            sock.sendall(req)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 500")
    assert b"w:SchemaValidationError" in reply and b'Code="2150858817"' in reply


def test_unencrypted_negotiate_over_http_refused(lab: Lab) -> None:
    with pytest.raises(PsrpAuthError):
        _psrp(lab, encryption="never").execute_cmd("ver")
