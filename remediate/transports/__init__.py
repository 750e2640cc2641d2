"""Transports: how remediate reaches a host. `make_transport(spec)` picks one by spec.connection.

Client libraries are imported lazily, so a run that only uses ssh never loads pywinrm.
"""

from __future__ import annotations

from remediate.core.model import ConnectionSpec
from remediate.transports.base import Transport
from remediate.transports.commandline import powershell_command_line


def make_transport(spec: ConnectionSpec) -> Transport:
    """A new, unconnected transport for one host (call `await t.connect()` before `run`)."""
    if spec.connection == "winrm":
        from remediate.transports.wsman_common import winrm_client

        if winrm_client(spec) == "native":
            from remediate.transports.winrs_async import AsyncWinRMTransport

            return AsyncWinRMTransport(spec)
        from remediate.transports.winrm import PyWinRMTransport

        return PyWinRMTransport(spec)
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
