"""What WinRS cmd shells and PSRP runspace pools share: the WS-Man verbs on a shell resource,
who is asking, and the pieces of the response envelopes both shell kinds build."""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Generic, TypeVar
from xml.sax.saxutils import escape

from remediate.lab.wire.soap import (
    ACTION_COMMAND,
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_RECEIVE,
    ACTION_SEND,
    ACTION_SIGNAL,
    NS_RSP,
    WSManRequest,
    envelope,
    fault_action_not_supported,
    fault_schema,
    fault_unknown_shell,
)

RSP = f"{{{NS_RSP}}}"  # ElementTree prefix of the shell namespace
STATE_DONE = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"

T = TypeVar("T")


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: filled by the server from the HTTP connection and the auth result."""

    owner: str
    client_ip: str
    machine: str  # the Machine attribute of faults (the address the client used)


def reply(req: WSManRequest, body: str) -> bytes:
    """The `<action>Response` envelope answering `req`; `body` is the inner XML of s:Body."""
    return envelope(req.action + "Response", req.message_id, body)


def body_element(req: WSManRequest, path: str) -> ET.Element:
    """The element at `path` in the request's s:Body; the schema fault when it is missing."""
    el = req.body.find(path) if req.body is not None else None
    if el is None:
        raise fault_schema()
    return el


def b64_field(text: str | None) -> bytes:
    """The bytes of a base64 element (rsp:Stream, rsp:Arguments); the schema fault when invalid."""
    try:
        return base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise fault_schema() from exc


def shell_created(req: WSManRequest, ctx: RequestContext, uri: str, shell_id: str, details: str) -> bytes:
    """The Create response: ResourceCreated, then rsp:Shell with `details` after ClientIP."""
    return reply(
        req,
        f"<x:ResourceCreated><a:Address>{escape(req.to)}</a:Address><a:ReferenceParameters>"
        f"<w:ResourceURI>{uri}</w:ResourceURI><w:SelectorSet>"
        f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
        f'</x:ResourceCreated><rsp:Shell xmlns:rsp="{NS_RSP}"><rsp:ShellId>{shell_id}</rsp:ShellId>'
        f"<rsp:ResourceUri>{uri}</rsp:ResourceUri><rsp:Owner>{escape(ctx.owner)}</rsp:Owner>"
        f"<rsp:ClientIP>{escape(ctx.client_ip)}</rsp:ClientIP>{details}"
        "<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>"
        "</rsp:Shell>",
    )


class ShellService(Generic[T]):
    """Dispatches Create / Command / Send / Receive / Signal / Delete to one shell kind."""

    shells: dict[str, T]

    def _key(self, shell_id: str) -> str:
        return shell_id

    async def handle(self, req: WSManRequest, ctx: RequestContext) -> bytes:
        if req.action == ACTION_CREATE:
            return self._create(req, ctx)
        shell_id = self._key(req.shell_id or "")
        entry = self.shells.get(shell_id)
        if entry is None:
            raise fault_unknown_shell(req.shell_id or "")
        if req.action == ACTION_DELETE:
            self._delete(shell_id)
            return reply(req, "")
        if req.action == ACTION_COMMAND:
            return self._command(req, entry)
        if req.action == ACTION_SEND:
            return self._send(req, entry)
        if req.action == ACTION_RECEIVE:
            return await self._receive(req, entry)
        if req.action == ACTION_SIGNAL:
            return self._signal(req, entry)
        raise fault_action_not_supported(req.action)

    def close(self) -> None:
        for shell_id in list(self.shells):
            self._delete(shell_id)

    # -- per shell kind -------------------------------------------------------------------------
    def _create(self, req: WSManRequest, ctx: RequestContext) -> bytes:
        raise NotImplementedError

    def _command(self, req: WSManRequest, entry: T) -> bytes:
        raise NotImplementedError

    def _send(self, req: WSManRequest, entry: T) -> bytes:
        raise NotImplementedError

    async def _receive(self, req: WSManRequest, entry: T) -> bytes:
        raise NotImplementedError

    def _signal(self, req: WSManRequest, entry: T) -> bytes:
        raise NotImplementedError

    def _delete(self, shell_id: str) -> None:
        raise NotImplementedError
