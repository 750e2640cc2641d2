"""Contract between the lab's protocol servers (WS-Man, PSRP, SSH) and its emulated hosts.

The servers know protocols, not Windows; the hosts know Windows, not protocols. A server calls
`EmulatedHost.run_command` for WinRS / SSH commands and `run_powershell` for PSRP pipelines.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class ExecResult:
    rc: int
    stdout: bytes  # already encoded as the console would write it (shell codepage)
    stderr: bytes


@dataclass
class PSResult:
    """Result of a PSRP pipeline: each output object rendered as text, one per item."""

    output: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # error record messages (had_errors = bool(errors))


class Stdin:
    """Bytes the client sends with WinRS Send; `end=True` closes the stream."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._closed = False
        self._event = asyncio.Event()

    def feed(self, data: bytes, end: bool = False) -> None:
        self._buf += data
        if end:
            self._closed = True
        self._event.set()

    def close(self) -> None:
        self.feed(b"", end=True)

    @property
    def closed(self) -> bool:
        return self._closed

    async def read_all(self) -> bytes:
        while not self._closed:
            self._event.clear()
            await self._event.wait()
        return bytes(self._buf)


class EmulatedHost(Protocol):
    name: str  # NetBIOS computer name, e.g. "WIN-0001"
    fqdn: str  # e.g. "win-0001.lab.test"
    username: str  # local admin account the lab accepts
    password: str

    @property
    def oem_codepage(self) -> int:
        """Console codepage when the client asks for none: 437 en-US, 932 ja-JP, 936 zh-CN."""
        ...

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        """Run a WinRS/SSH command line (WinRS joins Command and Arguments with spaces).

        Without skip_cmd_shell the line runs as `cmd.exe /c <line>`. May take a while (latency
        profile, real DNS/TCP). Cancellation (WinRS Signal terminate) must be honoured.
        """
        ...

    async def run_powershell(self, script: str) -> PSResult:
        """Run a PowerShell script through PSRP (pipeline output as text items)."""
        ...
