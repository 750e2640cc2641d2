"""The PowerShell remoting endpoint (resource URI .../powershell/Microsoft.PowerShell).

WS-Man carries PSRP fragments (MS-PSRP 3.1.5.3): Create holds the pool's opening messages in
creationXml, Command holds a CreatePipeline, Receive returns queued fragments as `stdout` streams.
psrpcore's ServerRunspacePool / ServerPipeline do the PSRP state machine; this module only moves
bytes between WS-Man and psrpcore and runs each pipeline's script through the emulated host.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from psrpcore import ServerPipeline, ServerRunspacePool
from psrpcore._payload import PSRPPayload, StreamType
from psrpcore.types import ErrorCategory, ErrorCategoryInfo, ErrorRecord, NETException, PSInvocationState

from remediate.lab.api import EmulatedHost, PSResult
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
    WSManRequest,
    fault_schema,
    fault_timed_out,
    fault_unknown_command,
    new_id,
)

log = logging.getLogger(__name__)

PS_URI = "http://schemas.microsoft.com/powershell/Microsoft.PowerShell"
_NS_PS = "{http://schemas.microsoft.com/powershell}"
_PIPE_ONLY = {"out-string", "out-default", "out-null", "out-host"}  # formatting tails, not emulated


@dataclass
class _Pipe:
    pipeline: ServerPipeline
    task: asyncio.Task[None] | None = None


@dataclass
class _Pool:
    pool: ServerRunspacePool
    pipes: dict[str, _Pipe] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


def _feed(pool: ServerRunspacePool, data: bytes, pipeline_id: uuid.UUID | None) -> None:
    pool.receive_data(PSRPPayload(data, StreamType.default, pipeline_id))
    try:
        while pool.next_event() is not None:
            pass
    except Exception as exc:  # psrpcore raises several types for bad fragments
        log.debug("bad PSRP data: %r", exc)
        raise fault_schema() from exc


def _message_pipeline_id(fragment: bytes) -> uuid.UUID:
    """The PID of the first message (MS-PSRP 2.2.1: 21-byte fragment header, then the message)."""
    if len(fragment) < 21 + 40:
        raise fault_schema()
    return uuid.UUID(bytes_le=fragment[21 + 24 : 21 + 40])


def _quote(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def script_of(metadata: Any) -> str:
    """The script text of a PSRP pipeline (psrpcore PowerShell), minus pypsrp's Out-String tail."""
    statements: list[str] = []
    current: list[str] = []
    for cmd in getattr(metadata, "commands", []) or []:
        text = str(cmd.command_text)
        params = list(cmd.parameters)
        if cmd.is_script:
            current.append(text)
        elif text.lower() == "invoke-expression" and params:
            current.append(str(params[0][1]))
        elif text.lower() in _PIPE_ONLY:
            pass
        else:
            parts = [text]
            for name, value in params:
                parts += [f"-{name}"] if name else []
                parts += [_quote(value)] if value is not None else []
            current.append(" ".join(parts))
        if cmd.end_of_statement and current:
            statements.append(" | ".join(current))
            current = []
    if current:
        statements.append(" | ".join(current))
    return "\n".join(statements)


def _error_record(message: str) -> ErrorRecord:
    exc = NETException(Message=message)
    return ErrorRecord(
        Exception=exc,
        CategoryInfo=ErrorCategoryInfo(Category=ErrorCategory.NotSpecified, Reason="RuntimeException"),
        FullyQualifiedErrorId="RuntimeException",
    )


class PSRPService(ShellService[_Pool]):
    """Runspace pools of one emulated host."""

    def __init__(self, host: EmulatedHost) -> None:
        self.host = host
        self.shells: dict[str, _Pool] = {}

    def _key(self, shell_id: str) -> str:
        return shell_id.upper()  # pypsrp may send the id in another case than Create returned

    def _create(self, req: WSManRequest, ctx: RequestContext) -> bytes:
        shell = body_element(req, f"{RSP}Shell")
        creation = shell.find(f"{_NS_PS}creationXml")
        if creation is None:
            raise fault_schema()
        shell_id = (shell.get("ShellId") or new_id()).upper()
        pool = ServerRunspacePool()
        _feed(pool, b64_field(creation.text), None)
        self.shells[shell_id] = _Pool(pool)
        inputs = escape(shell.findtext(f"{RSP}InputStreams") or "stdin pr")
        outputs = escape(shell.findtext(f"{RSP}OutputStreams") or "stdout")
        details = (
            "<rsp:ProcessId>4242</rsp:ProcessId>"
            f"<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>{inputs}</rsp:InputStreams>"
            f"<rsp:OutputStreams>{outputs}</rsp:OutputStreams><rsp:MaxIdleTimeOut>PT2147483.647S</rsp:MaxIdleTimeOut>"
            f"<rsp:Locale>{escape(req.locale)}</rsp:Locale><rsp:DataLocale>{escape(req.locale)}</rsp:DataLocale>"
            "<rsp:CompressionMode>NoCompression</rsp:CompressionMode><rsp:ProfileLoaded>Yes</rsp:ProfileLoaded>"
            "<rsp:Encoding>UTF8</rsp:Encoding><rsp:BufferMode>Block</rsp:BufferMode><rsp:State>Connected</rsp:State>"
        )
        return shell_created(req, ctx, PS_URI, shell_id, details)

    def _command(self, req: WSManRequest, entry: _Pool) -> bytes:
        line = body_element(req, f"{RSP}CommandLine")
        command_id = (line.get("CommandId") or new_id()).upper()
        data = b64_field(line.findtext(f"{RSP}Arguments"))
        # pypsrp writes the PSRP PID in a different byte order than the WS-Man CommandId, so the
        # pipeline is keyed by what the PSRP message itself says.
        pipeline = ServerPipeline(entry.pool, _message_pipeline_id(data))
        _feed(entry.pool, data, pipeline.pipeline_id)
        pipe = _Pipe(pipeline)
        entry.pipes[command_id] = pipe
        if pipeline.metadata is not None:
            pipeline.start()
            pipe.task = asyncio.ensure_future(self._run(pipe, entry, script_of(pipeline.metadata)))
        xml = f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"
        return reply(req, xml)

    async def _run(self, pipe: _Pipe, entry: _Pool, script: str) -> None:
        pipeline = pipe.pipeline
        try:
            result = await self.host.run_powershell(script)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("emulated host %s failed on PowerShell: %r", self.host.name, exc)
            result = PSResult(errors=[f"lab: emulator error: {exc}"])
        for item in result.output:
            pipeline.write_output(item)
        # Each error is an ErrorRecord; the last one fails the pipeline, which is what makes
        # pypsrp's `had_errors` true (it only looks at the Failed state).
        for message in result.errors[:-1]:
            pipeline.write_error(NETException(Message=message), ErrorCategoryInfo(Reason="RuntimeException"))
        if result.errors:
            pipeline._change_state(PSInvocationState.Failed, error=_error_record(result.errors[-1]))
        else:
            pipeline.complete()
        entry.changed.set()

    def _drain(self, entry: _Pool, attr: str) -> str:
        xml = ""
        while (payload := entry.pool.data_to_send()) is not None:
            xml += f'<rsp:Stream Name="stdout"{attr}>{base64.b64encode(payload.data).decode()}</rsp:Stream>'
        return xml

    async def _receive(self, req: WSManRequest, entry: _Pool) -> bytes:
        desired = body_element(req, f"{RSP}Receive/{RSP}DesiredStream")
        command_id = (desired.get("CommandId") or "").upper()
        if not command_id:  # runspace pool output (opening, state changes)
            if not entry.pool._send_buffer:
                entry.changed.clear()
                try:
                    await asyncio.wait_for(entry.changed.wait(), max(req.operation_timeout, 0.0))
                except TimeoutError:
                    raise fault_timed_out() from None
            xml = self._drain(entry, "")
            return reply(req, f"<rsp:ReceiveResponse>{xml}</rsp:ReceiveResponse>")
        pipe = entry.pipes.get(command_id)
        if pipe is None:
            raise fault_unknown_command()
        if pipe.task is not None:
            done, _ = await asyncio.wait({pipe.task}, timeout=max(req.operation_timeout, 0.0))
            if not done:
                raise fault_timed_out()
        attr = f' CommandId="{command_id}"'
        xml = self._drain(entry, attr)
        if pipe.pipeline.state != PSInvocationState.Running:
            xml += f'<rsp:CommandState{attr} State="{STATE_DONE}">'
            xml += "<rsp:ExitCode>0</rsp:ExitCode></rsp:CommandState>"
            entry.pipes.pop(command_id, None)
            entry.pool.pipeline_table.pop(pipe.pipeline.pipeline_id, None)
        return reply(req, f"<rsp:ReceiveResponse>{xml}</rsp:ReceiveResponse>")

    def _send(self, req: WSManRequest, entry: _Pool) -> bytes:
        send = body_element(req, f"{RSP}Send")
        for stream in send.iterfind(f"{RSP}Stream"):
            _feed(entry.pool, b64_field(stream.text), None)
        entry.changed.set()
        return reply(req, "<rsp:SendResponse/>")

    def _signal(self, req: WSManRequest, entry: _Pool) -> bytes:
        sig = body_element(req, f"{RSP}Signal")
        pipe = entry.pipes.pop((sig.get("CommandId") or "").upper(), None)
        if pipe is None:
            raise fault_unknown_command()
        if pipe.task is not None:
            pipe.task.cancel()
        entry.pool.pipeline_table.pop(pipe.pipeline.pipeline_id, None)
        return reply(req, "<rsp:SignalResponse/>")

    def _delete(self, shell_id: str) -> None:
        entry = self.shells.pop(shell_id, None)
        if entry is not None:
            for pipe in entry.pipes.values():
                if pipe.task is not None:
                    pipe.task.cancel()
