"""Transports: how remediate reaches a host. `make_transport(spec)` picks one by spec.connection.

Client libraries are imported lazily, so a run that only uses ssh never loads pywinrm.
"""

from __future__ import annotations

import base64

from remediate.transports.base import ConnectionSpec, Transport


def powershell_command_line(script: str, *, bypass: bool = False) -> str:
    """The powershell.exe line that runs `script` unchanged: -EncodedCommand takes base64 of
    UTF-16LE, so no quoting has to survive cmd.exe. `bypass` adds -ExecutionPolicy Bypass.
    """
    encoded = base64.b64encode(script.encode("utf-16-le")).decode("ascii")
    policy = "-ExecutionPolicy Bypass " if bypass else ""
    return f"powershell.exe -NoProfile -NonInteractive {policy}-EncodedCommand {encoded}"


def make_transport(spec: ConnectionSpec) -> Transport:
    """A new, unconnected transport for one host (call `await t.connect()` before `run`)."""
    if spec.connection == "winrm":
        from remediate.transports.winrm import WinRMTransport

        return WinRMTransport(spec)
    if spec.connection == "psrp":
        from remediate.transports.psrp import PSRPTransport

        return PSRPTransport(spec)
    if spec.connection == "ssh":
        from remediate.transports.ssh import SSHTransport

        return SSHTransport(spec)
    if spec.connection == "fake":
        from remediate.transports.fake import FakeTransport

        return FakeTransport(spec)  # a fresh FakeFleet; tests use FakeFleet.factory instead
    raise ValueError(f"unknown connection type {spec.connection!r}")


__all__ = ["make_transport", "powershell_command_line"]
