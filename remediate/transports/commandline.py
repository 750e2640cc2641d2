"""Command lines the Windows transports send (WinRS and OpenSSH both run them through cmd.exe)."""

from __future__ import annotations

import base64


def powershell_command_line(script: str, *, bypass: bool = False) -> str:
    """The powershell.exe line that runs `script` unchanged: -EncodedCommand takes base64 of
    UTF-16LE, so no quoting has to survive cmd.exe. `bypass` adds -ExecutionPolicy Bypass.
    """
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    policy = "-ExecutionPolicy Bypass " if bypass else ""
    return f"powershell.exe -NoProfile -NonInteractive {policy}-EncodedCommand {encoded}"
