"""Replay the requests recorded against a real Windows host into the lab's WS-Man handler and
compare each response with the recorded one element by element.

Ignored: IDs (UUIDs normalised), base64 payloads of streams (host output), Owner / ClientIP /
ProcessId / ActivityId values and the fault Machine attribute. Consecutive rsp:Stream elements
with the same Name/End are collapsed on both sides (Windows chunks output arbitrarily). The host's
output and exit code are taken from the recorded response, so only the server's shape is tested.
"""

from __future__ import annotations

import asyncio
import base64
import pathlib
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import yaml

from remediate.lab.api import ExecResult, PSResult, Stdin
from remediate.lab.wire.shellservice import RSP, RequestContext
from remediate.lab.wire.soap import NS_RSP
from remediate.lab.wire.wsman_server import HostEndpoint

# A copy of shared/fixtures/real-windows-wsman (pypsrp test suite, MIT; LICENSE.pypsrp beside it)
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "real-windows-wsman"
WINRS = [
    "test_winrs_standard.yml",
    "test_winrs_stderr_rc.yml",
    "test_winrs_send.yml",
    "test_winrs_environment.yml",
    "test_winrs_extra_opts.yml",
    "test_winrs_noprofile.yml",
    "test_winrs_no_cmd_shell.yml",
    "test_winrs_unicode.yml",
    "test_winrs_bad_cmd_id.yml",
    "test_winrs_operation_timeout.yml",
    "test_winrs_open_already_opened.yml",
    "test_winrs_fail_poll_process.yml",
    "test_client_execute_cmd.yml",
    "test_client_execute_cmd_environment.yml",
]
PSRP = ["test_client_execute_ps.yml", "test_client_execute_ps_failure.yml", "test_psrp_open_runspace.yml"]
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
_IGNORE_TEXT = {"Stream", "Owner", "ClientIP", "ProcessId", "Variable"}
# Windows versions differ on p:ActivityId in response headers (some fixtures have it, some not).
_OPTIONAL = {"ActivityId"}


class ReplayHost:
    """Returns the output recorded in the fixture; each command waits until the driver releases it."""

    name = "WIN-REPLAY"
    fqdn = "win-replay.lab.test"
    username = "vagrant"
    password = "unused"
    oem_codepage = 437

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.next_result = ExecResult(0, b"", b"")
        self.next_ps = PSResult(output=["x"])

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        await self.release.wait()
        return self.next_result

    async def run_powershell(self, script: str) -> PSResult:
        await self.release.wait()
        return self.next_ps


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _collapse(children: list[ET.Element]) -> list[ET.Element]:
    out: list[ET.Element] = []
    for child in children:
        if (
            out
            and _local(child.tag) == "Stream"
            and out[-1].tag == child.tag
            and out[-1].get("Name") == child.get("Name")
            and out[-1].get("End") == child.get("End")
        ):
            continue
        out.append(child)
    return out


def shape(el: ET.Element) -> Any:
    name = _local(el.tag)
    attrs = {
        k: ("*" if k == "Machine" or name == "Variable" else _UUID.sub("ID", v)) for k, v in el.attrib.items()
    }
    children = _collapse([c for c in el if _local(c.tag) not in _OPTIONAL])
    text = "" if name in _IGNORE_TEXT or children else _UUID.sub("ID", (el.text or "").strip())
    return (el.tag, attrs, text, [shape(c) for c in children])


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two shapes differ, for a readable assertion message."""
    here = f"{path}/{_local(a[0])}"
    if a[:3] != b[:3]:
        return f"{here}: {a[:3]} != {b[:3]}"
    if len(a[3]) != len(b[3]):
        return f"{here}: children {[_local(c[0]) for c in a[3]]} != {[_local(c[0]) for c in b[3]]}"
    for ca, cb in zip(a[3], b[3], strict=True):
        diff = first_difference(ca, cb, here)
        if diff:
            return diff
    return None


def _expected_output(resp: ET.Element) -> ExecResult:
    streams = {"stdout": b"", "stderr": b""}
    for s in resp.iter(f"{RSP}Stream"):
        streams[s.get("Name", "stdout")] = streams.get(s.get("Name", "stdout"), b"") + base64.b64decode(
            s.text or ""
        )
    rc = resp.findtext(f".//{RSP}ExitCode") or "0"
    return ExecResult(int(rc), streams["stdout"], streams["stderr"])


def _replay(name: str) -> int:
    messages = yaml.safe_load((FIXTURES / name).read_text(encoding="utf-8"))["messages"]
    host = ReplayHost()
    if "failure" in name or "failed" in name:
        host.next_ps = PSResult(errors=["The term 'Get-ServiceTypo' is not recognized"])
    endpoint = HostEndpoint(host)
    ctx = RequestContext(owner="vagrant", client_ip="127.0.0.1", machine="127.0.0.1")
    id_map: dict[str, str] = {}
    compared = 0

    async def run() -> None:
        nonlocal compared
        pool_receives = 0
        for msg in messages:
            request: str = msg["request"]
            for old, new in id_map.items():
                request = request.replace(old, new)
            request = re.sub(r"<wsman:OperationTimeout>[^<]*<", "<wsman:OperationTimeout>PT0.05S<", request)
            expected = ET.fromstring(msg["response"].encode("utf-8"))
            is_fault = expected.find(".//{http://www.w3.org/2003/05/soap-envelope}Fault") is not None
            timed_out = is_fault and "TimedOut" in msg["response"]
            if "CommandState/Running" in msg["response"]:
                continue  # partial output of a running command: host output is atomic in the lab
            if "ReceiveResponse" in msg["response"] and not is_fault:
                host.next_result = _expected_output(expected)
                host.release.set()
            elif timed_out:
                host.release.clear()
            pool_receive = "powershell" in request and "<rsp:DesiredStream>" in request
            if pool_receive and pool_receives:
                # Windows splits the pool's opening messages over Receives; the lab sends them at once.
                continue
            pool_receives += pool_receive
            status, body = await endpoint.dispatch(request.encode("utf-8"), ctx)
            actual = ET.fromstring(body)
            assert status == (500 if is_fault else 200), body
            req_id = re.search(r"<wsa:MessageID>([^<]+)<", request)
            assert req_id and actual.findtext(
                ".//{http://schemas.xmlsoap.org/ws/2004/08/addressing}RelatesTo"
            ) == req_id.group(1)
            # Learn the server-generated ids so later requests address the lab's objects.
            for tag in ("ShellId", "CommandId"):
                e_id, a_id = expected.findtext(f".//{RSP}{tag}"), actual.findtext(f".//{RSP}{tag}")
                if e_id and a_id and e_id != a_id:
                    id_map[e_id] = a_id
            diff = first_difference(shape(actual), shape(expected))
            assert diff is None, f"{name}: response {messages.index(msg)}: {diff}"
            compared += 1
        endpoint.close()

    asyncio.run(run())
    return compared


@pytest.mark.parametrize("name", WINRS)
def test_winrs_fixture_shapes(name: str) -> None:
    assert _replay(name) >= 2


@pytest.mark.parametrize("name", PSRP)
def test_psrp_fixture_shapes(name: str) -> None:
    assert _replay(name) >= 2


def test_shape_detects_a_difference() -> None:
    a = ET.fromstring(f'<r xmlns:rsp="{NS_RSP}"><rsp:CommandState State="Done"/></r>')
    b = ET.fromstring(f'<r xmlns:rsp="{NS_RSP}"><rsp:CommandState State="Running"/></r>')
    assert shape(a) != shape(b)
