"""The transport contract: one connection per host, reused by every step.

Every transport (winrm, psrp, ssh, fake) implements `Transport`. The types it speaks in
(ConnectionSpec, Shell, CommandResult) live in remediate.core.model; the errors it raises are the
TransportError branch of remediate.core.errors, so the engine can tell an auth failure (never
retried, counted against the credential) from a transient connection failure (retried with
backoff) from a step timeout.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from remediate.core.model import CommandResult, ConnectionSpec, Shell


@runtime_checkable
class Transport(Protocol):
    spec: ConnectionSpec

    async def connect(self) -> None: ...

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult: ...

    async def close(self) -> None: ...
