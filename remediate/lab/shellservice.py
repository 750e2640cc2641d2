"""What WinRS cmd shells and PSRP runspace pools share: the WS-Man verbs on a shell resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from remediate.lab.soap import (
    ACTION_COMMAND,
    ACTION_CREATE,
    ACTION_DELETE,
    ACTION_RECEIVE,
    ACTION_SEND,
    ACTION_SIGNAL,
    WSManRequest,
    envelope,
    fault_action_not_supported,
    fault_unknown_shell,
)

if TYPE_CHECKING:
    from remediate.lab.winrs import RequestContext

T = TypeVar("T")


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
            return envelope(req.action + "Response", req.message_id, "")
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
