"""Transports: how remediate reaches a host. `make_transport(spec)` picks one by spec.connection.

Client libraries are imported lazily, so a run that only uses ssh never loads pywinrm.
"""

from __future__ import annotations

from remediate.transports.base import ConnectionSpec, Transport


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
        from remediate.transports import fake

        return fake.make_fake_transport(spec)  # type: ignore[attr-defined,no-any-return]
    raise ValueError(f"unknown connection type {spec.connection!r}")


__all__ = ["make_transport"]
