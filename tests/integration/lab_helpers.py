"""Helpers shared by the lab protocol tests (WS-Man, PSRP, SSH): a scripted host and a loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from remediate.lab.api import ExecResult, PSResult, Stdin
from remediate.lab.windows.host import WindowsHost
from remediate.lab.windows.state import HostState, Product

T = TypeVar("T")


@dataclass
class EchoHost:
    """Test-local EmulatedHost: echoes command lines, honours the codepage, can be slow."""

    name: str = "WIN-TEST01"
    fqdn: str = "win-test01.lab.test"
    username: str = "admin"
    password: str = "S3cret!pass"
    codepage_default: int = 437
    calls: list[tuple[str, int, bool]] = field(default_factory=list)

    @property
    def oem_codepage(self) -> int:
        return self.codepage_default

    async def run_command(
        self, command_line: str, *, codepage: int, stdin: Stdin | None = None, skip_cmd_shell: bool = False
    ) -> ExecResult:
        self.calls.append((command_line, codepage, skip_cmd_shell))
        if "sleep" in command_line:
            await asyncio.sleep(float(command_line.split()[-1]))
        if "fail" in command_line:
            return ExecResult(rc=3, stdout=b"", stderr=b"it failed\r\n")
        if "stdin" in command_line and stdin is not None:
            data = await stdin.read_all()
            return ExecResult(rc=0, stdout=b"got:" + data, stderr=b"")
        encoding = {65001: "utf-8", 437: "cp437", 932: "cp932"}.get(codepage, "cp437")
        text = f"echo:{command_line}|{codepage}\r\n"
        return ExecResult(rc=0, stdout=text.encode(encoding, "replace"), stderr=b"")

    async def run_powershell(self, script: str) -> PSResult:
        if "Write-Error" in script:
            return PSResult(output=["partial"], errors=["boom one", "boom two"])
        return PSResult(output=[f"ps:{script}", "line2"])


class LoopThread:
    """An event loop in a background thread, for servers driven by blocking clients.

    (remediate.lab.runtime.LabThread does this for a whole fleet; these tests serve one host.)
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def stop(self) -> None:
        async def cancel_all() -> None:
            # Keep-alive client connections outlive Server.close(); end their tasks cleanly.
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


def windows_host(locale: str) -> WindowsHost:
    """The lab's real WindowsHost (WIN-0042, admin / Lab!pass42) with a VL Windows product."""
    st = HostState(name="WIN-0042", domain="lab.test", locale=locale, password="Lab!pass42")
    st.windows = Product(
        "Windows(R), Enterprise edition",
        "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
        "55c92734-d682-4d71-983e-d6ec3f16059f",
        "73111121-5638-40f6-bc11-f1d7b0d64300",
        "VOLUME_KMSCLIENT",
        "NPPR9-FWDCX-D2C8J-H872K-2YT43",
    )
    return WindowsHost(st)
