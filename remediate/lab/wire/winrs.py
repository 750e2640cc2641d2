"""WinRS cmd shells (resource URI .../windows/shell/cmd): Create, Command, Send, Receive, Signal, Delete.

Each Command runs `host.run_command(...)` as an asyncio task. Receive waits up to the request's
OperationTimeout for it and answers with the recorded Windows shape (data streams, End markers,
CommandState Done + ExitCode), or the TimedOut fault 2150858793 so the client polls again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from remediate.lab.api import EmulatedHost, ExecResult, Stdin
from remediate.lab.wire.shellservice import (
    RSP,
    STATE_DONE,
    RequestContext,
    ShellService,
    b64_field,
    body_element,
    reply,
    shell_created,
)
from remediate.lab.wire.soap import (
    WSManFault,
    WSManRequest,
    fault_file_not_found,
    fault_invalid_parameter,
    fault_timed_out,
    fault_unknown_command,
    new_id,
    parse_duration,
)

log = logging.getLogger(__name__)

CMD_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd"
# CommandState while output remains to be received; the reply shape pywinrm documents in
# winrm/protocol.py (`<rsp:CommandState CommandId="..." State=".../CommandState/Running"/>`).
STATE_RUNNING = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running"
# Raw output bytes per Receive reply: base64 of it (4/3) stays under the MaxEnvelopeSize 153600
# clients ask for, so a long output arrives over several Receives as from a real WinRS shell.
RECEIVE_BYTES = 96 * 1024


@dataclass
class _Command:
    task: asyncio.Task[ExecResult]
    stdin: Stdin
    sent_out: int = 0  # output bytes already sent by earlier Receives
    sent_err: int = 0


@dataclass
class _Shell:
    codepage: int
    commands: dict[str, _Command] = field(default_factory=dict)


def _bool_option(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def _format_idle(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


class WinRSService(ShellService[_Shell]):
    """The cmd shell plugin of one emulated host."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self.shells: dict[str, _Shell] = {}

    # -- operations ---------------------------------------------------------------------------

    def _create(self, req: WSManRequest, ctx: RequestContext) -> bytes:
        body = body_element(req, f"{RSP}Shell")
        codepage_opt = req.options.get("WINRS_CODEPAGE", "").strip()
        codepage = int(codepage_opt) if codepage_opt.isdigit() else self.host.oem_codepage
        shell_id = new_id()
        self.shells[shell_id] = _Shell(codepage=codepage)
        extras = ""
        env = body.find(f"{RSP}Environment")
        if env is not None:
            extras += (
                "<rsp:Environment>"
                + "".join(
                    f"<rsp:Variable Name={quoteattr(v.get('Name', ''))}>{escape(v.text or '')}</rsp:Variable>"
                    for v in env.iterfind(f"{RSP}Variable")
                )
                + "</rsp:Environment>"
            )
        workdir = body.findtext(f"{RSP}WorkingDirectory")
        if workdir:
            extras += f"<rsp:WorkingDirectory>{escape(workdir)}</rsp:WorkingDirectory>"
        idle = parse_duration(body.findtext(f"{RSP}IdleTimeOut"), 7200.0)
        inputs = escape(body.findtext(f"{RSP}InputStreams") or "stdin")
        outputs = escape(body.findtext(f"{RSP}OutputStreams") or "stdout stderr")
        details = (
            f"{extras}<rsp:IdleTimeOut>{_format_idle(idle)}</rsp:IdleTimeOut>"
            f"<rsp:InputStreams>{inputs}</rsp:InputStreams><rsp:OutputStreams>{outputs}</rsp:OutputStreams>"
        )
        return shell_created(req, ctx, CMD_URI, shell_id, details)

    def _command(self, req: WSManRequest, shell: _Shell) -> bytes:
        line_el = body_element(req, f"{RSP}CommandLine")
        parts = [line_el.findtext(f"{RSP}Command") or ""]
        parts += [a.text or "" for a in line_el.iterfind(f"{RSP}Arguments")]
        line = " ".join(p for p in parts if p)
        command_id = (line_el.get("CommandId") or new_id()).upper()
        skip_cmd = _bool_option(req.options.get("WINRS_SKIP_CMD_SHELL"))
        if skip_cmd and "\\" not in parts[0] and "/" not in parts[0]:
            raise fault_file_not_found()  # without cmd.exe, CreateProcess needs the full path
        stdin = Stdin()
        coro = self.host.run_command(line, codepage=shell.codepage, stdin=stdin, skip_cmd_shell=skip_cmd)
        shell.commands[command_id] = _Command(asyncio.ensure_future(coro), stdin)
        xml = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return reply(req, xml)

    def _send(self, req: WSManRequest, shell: _Shell) -> bytes:
        send = body_element(req, f"{RSP}Send")
        for stream in send.iterfind(f"{RSP}Stream"):
            cmd = shell.commands.get((stream.get("CommandId") or "").upper())
            if cmd is None:
                raise fault_unknown_command()
            cmd.stdin.feed(b64_field(stream.text), end=_bool_option(stream.get("End")))
        return reply(req, "<rsp:SendResponse/>")

    async def _receive(self, req: WSManRequest, shell: _Shell) -> bytes:
        desired = req.body.find(f"{RSP}Receive/{RSP}DesiredStream") if req.body is not None else None
        if desired is None or not desired.get("CommandId"):
            raise fault_invalid_parameter()  # what the cmd plugin says to a Receive without CommandId
        command_id = (desired.get("CommandId") or "").upper()
        cmd = shell.commands.get(command_id)
        if cmd is None:
            raise fault_unknown_command()
        done, _ = await asyncio.wait({cmd.task}, timeout=max(req.operation_timeout, 0.0))
        if not done:
            raise fault_timed_out()
        result = self._result(cmd.task)
        attr = f'CommandId="{command_id}"'
        budget = len(result.stdout) + len(result.stderr) if self._hostile() else RECEIVE_BYTES
        out = result.stdout[cmd.sent_out : cmd.sent_out + budget]
        err = result.stderr[cmd.sent_err : cmd.sent_err + max(0, budget - len(out))]
        cmd.sent_out += len(out)
        cmd.sent_err += len(err)
        xml = "<rsp:ReceiveResponse>"
        for name, data in (("stdout", out), ("stderr", err)):
            if data:
                xml += f'<rsp:Stream Name="{name}" {attr}>{base64.b64encode(data).decode()}</rsp:Stream>'
        if cmd.sent_out < len(result.stdout) or cmd.sent_err < len(result.stderr):
            xml += f'<rsp:CommandState {attr} State="{STATE_RUNNING}"/></rsp:ReceiveResponse>'
            return reply(req, xml)
        xml += f'<rsp:Stream Name="stdout" {attr} End="true"></rsp:Stream>'
        xml += f'<rsp:Stream Name="stderr" {attr} End="true"></rsp:Stream>'
        xml += f'<rsp:CommandState {attr} State="{STATE_DONE}"><rsp:ExitCode>{result.rc}</rsp:ExitCode>'
        xml += "</rsp:CommandState></rsp:ReceiveResponse>"
        return reply(req, xml)

    def _hostile(self) -> bool:
        """HostState.ignore_max_envelope: the whole output in one reply, whatever its size."""
        return bool(getattr(getattr(self.host, "state", None), "ignore_max_envelope", False))

    def _result(self, task: asyncio.Task[ExecResult]) -> ExecResult:
        if task.cancelled():
            return ExecResult(rc=-1073741510, stdout=b"", stderr=b"")  # STATUS_CONTROL_C_EXIT
        exc = task.exception()
        if exc is not None:
            log.error("emulated host %s failed: %r", self.host.name, exc)
            return ExecResult(rc=1, stdout=b"", stderr=f"lab: emulator error: {exc}\r\n".encode())
        return task.result()

    def _signal(self, req: WSManRequest, shell: _Shell) -> bytes:
        sig = body_element(req, f"{RSP}Signal")
        cmd = shell.commands.pop((sig.get("CommandId") or "").upper(), None)
        if cmd is None:
            raise fault_unknown_command()
        cmd.task.cancel()  # terminate and ctrl_c both end the emulated process
        return reply(req, "<rsp:SignalResponse/>")

    def _delete(self, shell_id: str) -> None:
        shell = self.shells.pop(shell_id, None)
        if shell is not None:
            for cmd in shell.commands.values():
                cmd.task.cancel()


__all__ = ["CMD_URI", "RequestContext", "WSManFault", "WinRSService"]
