"""The model types every layer shares: how to reach a host, which shell runs a step, what came back.

They live at the bottom so core (playbook, render), inventory (which builds specs), transports
(which consume them) and the engine all import them from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from remediate.core.capture import DEFAULT_MAX_OUTPUT

Shell = Literal["powershell", "cmd", "sh"]
Connection = Literal["winrm", "psrp", "ssh", "fake"]
WinRMClient = Literal["auto", "native", "pywinrm"]
WINRM_CLIENTS: tuple[WinRMClient, ...] = ("auto", "native", "pywinrm")
# Auth methods remediate's native WS-Man client speaks (kerberos needs the `kerberos` extra:
# pyspnego's gssapi + krb5 bindings); the rest (credssp, certificate) go through pywinrm.
NATIVE_WINRM_AUTH = ("ntlm", "negotiate", "basic", "kerberos")

# WS-Management listener ports (winrm quickconfig / Enable-PSRemoting defaults):
# https://learn.microsoft.com/en-us/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
WSMAN_HTTP_PORT = 5985
WSMAN_HTTPS_PORT = 5986


def wsman_port(scheme: str) -> int:
    """The default WS-Man port for a scheme: 5986 for https, 5985 for http."""
    return WSMAN_HTTPS_PORT if scheme == "https" else WSMAN_HTTP_PORT


@dataclass(frozen=True)
class CommandResult:
    rc: int
    stdout: str
    stderr: str
    elapsed: float  # seconds, measured by the transport
    # stream name -> bytes dropped from its middle (core/capture.py); empty when nothing was cut
    truncated: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionSpec:
    """Everything a transport needs to reach one host. Built by the inventory layer."""

    host: str  # inventory name
    address: str  # ansible_host or name
    port: int | None = None  # None: transport default (5985/5986/22)
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    connection: Connection = "winrm"
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
    # winrm only: the asyncio client ("native"), pywinrm, or "auto" (native unless the auth needs pywinrm)
    winrm_client: WinRMClient = "auto"
    # Kerberos: the host name in the service principal (HTTP/<name>) when `address` is not it, e.g.
    # an IP or a tunnel (ansible_winrm_kerberos_hostname_override / ansible_psrp_negotiate_hostname_override)
    kerberos_host: str | None = None
    # bytes kept per output stream of one step (head + tail); inventory `remediate_max_output`
    max_output: int = DEFAULT_MAX_OUTPUT
