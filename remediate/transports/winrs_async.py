"""WinRM transport on the native asyncio WS-Man client: one WinRS shell per host, no threads.

The default winrm client. The same WS-Man conversation as pywinrm (winrm.PyWinRMTransport): Create a
cmd shell (codepage 65001, no profile), per step Command -> Receive polls (OperationTimeout
trimmed to the step deadline) -> Signal terminate, Delete at close. Envelopes follow the ones
pywinrm sends (winrm/protocol.py) and MS-WSMV 3.1.4.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

from remediate.core.capture import BoundedBuffer
from remediate.core.errors import CommandTimeout, ConnectError, ProtocolError, WSManFault
from remediate.core.model import CommandResult, ConnectionSpec, Shell
from remediate.transports.decode import decode_capture, truncated_map
from remediate.transports.wsman_client import WSManClient
from remediate.transports.wsman_common import OPERATION_TIMEOUT, SHELL_NOT_FOUND, endpoint_url, winrs_command

CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
SHELL = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
A_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
A_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
A_COMMAND, A_RECEIVE, A_SIGNAL = f"{SHELL}/Command", f"{SHELL}/Receive", f"{SHELL}/Signal"
TERMINATE = f"{SHELL}/signal/terminate"
SIGNAL_ON_CANCEL = 3.0  # seconds a cancelled command's Signal terminate may take
DONE = f"{SHELL}/CommandState/Done"
_NS = {"rsp": SHELL, "s": "http://www.w3.org/2003/05/soap-envelope"}


def envelope(to: str, action: str, body: str, *, shell_id: str | None = None, options: str = "",
             timeout: float = 20.0) -> bytes:  # fmt: skip
    selector = (
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        if shell_id
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" '
        f'xmlns:rsp="{SHELL}"><env:Header>'
        f"<a:To>{escape(to)}</a:To>"
        '<a:ReplyTo><a:Address mustUnderstand="true">'
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:Address></a:ReplyTo>"
        '<w:MaxEnvelopeSize mustUnderstand="true">153600</w:MaxEnvelopeSize>'
        f"<a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
        '<w:Locale mustUnderstand="false" xml:lang="en-US" />'
        '<p:DataLocale mustUnderstand="false" xml:lang="en-US" />'
        f"<w:OperationTimeout>PT{timeout:.3f}S</w:OperationTimeout>"
        f'<w:ResourceURI mustUnderstand="true">{CMD_URI}</w:ResourceURI>'
        f'<a:Action mustUnderstand="true">{action}</a:Action>'
        f"{selector}{options}</env:Header><env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


class AsyncWinRMTransport:
    """`Transport` for connection=winrm with ntlm/negotiate/basic auth (see wsman_common.winrm_client)."""

    def __init__(self, spec: ConnectionSpec) -> None:
        self.spec = spec
        self.client = WSManClient(spec)
        self._to = endpoint_url(spec)
        self._shell_id: str | None = None

    def __repr__(self) -> str:
        return f"AsyncWinRMTransport(host={self.spec.host!r}, endpoint={self._to!r})"

    def _env(self, action: str, body: str, *, shell: bool = True, options: str = "",
             timeout: float | None = None) -> bytes:  # fmt: skip
        return envelope(self._to, action, body, shell_id=self._shell_id if shell else None, options=options,
                        timeout=timeout if timeout is not None else self.spec.operation_timeout)  # fmt: skip

    async def _post(self, soap: bytes, wait: float | None = None) -> ET.Element:
        return await self.client.post(soap, timeout=wait)

    async def connect(self) -> None:
        options = (
            '<w:OptionSet><w:Option Name="WINRS_NOPROFILE">TRUE</w:Option>'
            f'<w:Option Name="WINRS_CODEPAGE">{self.spec.codepage}</w:Option></w:OptionSet>'
        )
        body = (
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams>"
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        )
        root = await self._post(self._env(A_CREATE, body, shell=False, options=options))
        shell_id = next(
            (e.text for e in root.iter() if e.tag.endswith("}ShellId") or e.tag == "ShellId"), None
        )
        if not shell_id:
            shell_id = next(
                (e.text for e in root.iter() if e.tag.endswith("Selector") and e.get("Name") == "ShellId"),
                None,
            )
        if not shell_id:
            raise ProtocolError(
                f"winrm {self.spec.address}: no ShellId in the Create response", host=self.spec.host
            )
        self._shell_id = shell_id.strip()

    async def _command(self, line: str) -> str:
        options = (
            '<w:OptionSet><w:Option Name="WINRS_CONSOLEMODE_STDIN">TRUE</w:Option>'
            '<w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option></w:OptionSet>'
        )
        body = f"<rsp:CommandLine><rsp:Command>{escape(line)}</rsp:Command></rsp:CommandLine>"
        try:
            root = await self._post(self._env(A_COMMAND, body, options=options))
        except WSManFault as fault:
            if fault.code != SHELL_NOT_FOUND:
                raise
            await self.connect()  # the server dropped our shell: open a new one, once
            root = await self._post(self._env(A_COMMAND, body, options=options))
        cid = root.findtext(".//rsp:CommandId", None, _NS)
        if not cid:
            raise ProtocolError(f"winrm {self.spec.address}: no CommandId in the reply", host=self.spec.host)
        return cid.strip()

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult:
        if shell not in ("cmd", "powershell"):
            raise ProtocolError(f"winrm: shell {shell!r} is not available on Windows", host=self.spec.host)
        if self._shell_id is None:
            raise ConnectError("winrm: not connected", host=self.spec.host)
        started = time.monotonic()
        deadline = started + timeout
        cid = await self._command(winrs_command(script, shell))
        # Bounded while receiving: head + tail kept, the rest drained and dropped (core/capture.py).
        out = BoundedBuffer(self.spec.max_output)
        err = BoundedBuffer(self.spec.max_output)
        rc: int | None = None
        cancelled = False
        try:
            receive = (
                f'<rsp:Receive><rsp:DesiredStream CommandId="{cid}">stdout stderr'
                "</rsp:DesiredStream></rsp:Receive>"
            )
            while rc is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandTimeout(f"winrm: step exceeded {timeout:g}s", host=self.spec.host)
                wait = max(0.05, min(self.spec.operation_timeout, remaining))
                try:
                    root = await self._post(
                        self._env(A_RECEIVE, receive, timeout=wait), wait + self.spec.connect_timeout
                    )
                except WSManFault as fault:
                    if fault.code == OPERATION_TIMEOUT:  # nothing yet: poll again
                        continue
                    raise
                for stream in root.iterfind(".//rsp:Stream", _NS):
                    if stream.text:
                        (out if stream.get("Name") == "stdout" else err).append(base64.b64decode(stream.text))
                state = root.find(".//rsp:CommandState", _NS)
                if state is not None and state.get("State") == DONE:
                    rc = int(state.findtext("rsp:ExitCode", "0", _NS))
        except asyncio.CancelledError:
            cancelled = True  # Ctrl-C or the host's budget: the command must not run on
            raise
        finally:
            # Signal terminate: ends a command still running (timeout, cancel) and frees a finished
            # one. A cancel cut a Receive short, so the client dropped that connection: the Signal
            # goes over a new one (the shell lives on the server), within SIGNAL_ON_CANCEL seconds.
            if self.client.connected or cancelled:
                body = f'<rsp:Signal CommandId="{cid}"><rsp:Code>{TERMINATE}</rsp:Code></rsp:Signal>'
                try:
                    signal = self._post(self._env(A_SIGNAL, body))
                    await (asyncio.wait_for(signal, SIGNAL_ON_CANCEL) if cancelled else signal)
                except (ProtocolError, ConnectError, TimeoutError):
                    pass
        stdout, out_dropped = decode_capture(out, self.spec.output_encoding)
        stderr, err_dropped = decode_capture(err, self.spec.output_encoding, stderr=True)
        return CommandResult(
            rc=rc,
            stdout=stdout,
            stderr=stderr,
            elapsed=time.monotonic() - started,
            truncated=truncated_map(stdout=out_dropped, stderr=err_dropped),
        )

    async def close(self) -> None:
        try:
            if self._shell_id is not None and self.client.connected:
                await self._post(self._env(A_DELETE, ""))
        except (ProtocolError, ConnectError):
            pass
        finally:
            self._shell_id = None
            self.client.close()
