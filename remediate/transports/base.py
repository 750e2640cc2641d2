"""The transport contract: one connection per host, reused by every step.

Every transport (winrm, psrp, ssh, fake) implements `Transport`. Errors are raised from the
tree below so the engine can tell an auth failure (never retried, counted against the
credential) from a transient connection failure (retried with backoff) from a step timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

Shell = Literal["powershell", "cmd", "sh"]


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    elapsed: float  # seconds, measured by the transport


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything a transport needs to reach one host. Built by the inventory layer."""

    host: str  # inventory name
    address: str  # ansible_host or name
    port: int | None = None  # None: transport default (5985/5986/22)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    connection: Literal["winrm", "psrp", "ssh", "fake"] = "winrm"
    scheme: Literal["http", "https"] = "http"
    auth: str = "negotiate"  # ntlm | negotiate | kerberos | credssp | basic | certificate
    cert_validation: bool = True  # validate TLS certificates unless the host opts out
    ca_path: str | None = None  # CA bundle to validate the server certificate against
    cert_pem: str | None = None  # client certificate auth
    cert_key_pem: str | None = field(default=None, repr=False)
    message_encryption: Literal["auto", "always", "never"] = "auto"
    codepage: int = 65001  # requested console codepage (WinRS shell option)
    output_encoding: str | None = None  # override decoding (cp932, gbk...) for hosts ignoring 65001
    connect_timeout: float = 30.0
    operation_timeout: float = 20.0  # WS-Man OperationTimeout for each Receive poll
    path: str = "wsman"
    ssh_known_hosts: str | None = None  # None + cert_validation=False: accept any host key
    credential_id: str | None = None  # stable id of the credential, for the lockout guard


class TransportError(Exception):
    """Base of every transport failure."""

    def __init__(self, message: str, *, host: str | None = None) -> None:
        super().__init__(message)
        self.host = host


class AuthenticationError(TransportError):
    """Credentials rejected (HTTP 401, SSH auth failure). Never retried."""


class ConnectError(TransportError):
    """Could not reach the host (refused, DNS, TLS handshake, reset). Transient: retried."""


class CertificateError(ConnectError):
    """TLS certificate validation failed. Not retried: it will not fix itself."""


class CommandTimeout(TransportError):
    """A step exceeded its timeout; the remote command was signalled to stop."""


class ProtocolError(TransportError):
    """The peer answered with something the client cannot use (WS-Man fault, bad reply)."""


@runtime_checkable
class Transport(Protocol):
    spec: ConnectionSpec

    async def connect(self) -> None: ...

    async def run(self, script: str, *, shell: Shell, timeout: float) -> CommandResult: ...

    async def close(self) -> None: ...
