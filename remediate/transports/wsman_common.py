"""What every WS-Man client here shares (native asyncio, pywinrm, pypsrp): the endpoint, the
fault codes the clients act on, the WinRS command line, which winrm client serves a spec, and
the translation of the requests-based libraries' exceptions onto remediate's error tree.

Written once here so each transport is a thin adapter with no copied constants.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from remediate.core.errors import (
    AuthenticationError,
    CertificateError,
    ConnectError,
    ProtocolError,
    TransportError,
    WSManFault,
)
from remediate.core.model import NATIVE_WINRM_AUTH, ConnectionSpec, Shell, wsman_port
from remediate.transports.commandline import powershell_command_line

# WSManFault codes the clients act on (the Code attribute of f:WSManFault in a SOAP fault).
# ERROR_WSMAN_OPERATION_TIMEDOUT (0x80338029): a Receive waited OperationTimeout without output;
# the client polls again. Value: the Windows SDK constant, as published in
# https://docs.rs/windows-sys/latest/windows_sys/Win32/System/RemoteManagement/constant.ERROR_WSMAN_OPERATION_TIMEDOUT.html
OPERATION_TIMEOUT = 2150858793
# 0x8033805B: the shell (or command) id is unknown — deleted by an idle timeout or a service
# restart. Recorded from a real Windows host: tests/fixtures/real-windows-wsman/test_winrs_bad_cmd_id.yml
SHELL_NOT_FOUND = 2150858843


def endpoint(spec: ConnectionSpec) -> tuple[str, int, str]:
    """(address, port, "/path") of the host's WS-Man listener."""
    return spec.address, spec.port or wsman_port(spec.scheme), "/" + spec.path.lstrip("/")


def endpoint_url(spec: ConnectionSpec) -> str:
    address, port, path = endpoint(spec)
    host = f"[{address}]" if ":" in address else address
    return f"{spec.scheme}://{host}:{port}{path}"


def winrs_command(script: str, shell: Shell) -> str:
    """The WinRS command line for one step (WinRS runs it through `cmd.exe /c`)."""
    if shell == "powershell":
        return powershell_command_line(script, bypass=True)
    return script.strip()


def winrm_client(spec: ConnectionSpec) -> Literal["native", "pywinrm"]:
    """Which client serves a winrm spec: the native asyncio one unless the spec needs pywinrm
    (kerberos / credssp / certificate auth) or asks for it (`winrm_client="pywinrm"`, or
    REMEDIATE_WINRM_CLIENT=pywinrm in the environment for a whole-process comparison)."""
    if spec.winrm_client != "auto":
        return spec.winrm_client
    if spec.auth not in NATIVE_WINRM_AUTH or spec.cert_pem:
        return "pywinrm"
    return "pywinrm" if os.environ.get("REMEDIATE_WINRM_CLIENT", "") == "pywinrm" else "native"


@dataclass(frozen=True)
class LibraryErrors:
    """A requests-based WS-Man library's exception classes (pywinrm and pypsrp name them alike)."""

    auth: type[BaseException]  # HTTP 401
    fault: type[BaseException]  # a SOAP fault
    fault_code: Callable[[BaseException], int | None]  # its WSManFault code
    http: type[BaseException]  # another HTTP status (has .code)
    base: type[BaseException]  # anything else the library raises


def translate(exc: BaseException, spec: ConnectionSpec, lib: LibraryErrors) -> TransportError:
    """Map a pywinrm / pypsrp / requests exception onto the transport error tree (no secrets)."""
    import requests  # only the requests-based clients get here

    where = f"{spec.connection} {spec.address}"
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, lib.auth):
        return AuthenticationError(f"{where}: credentials rejected (HTTP 401)", host=spec.host)
    if isinstance(exc, requests.exceptions.SSLError):
        return tls_error(str(exc), spec)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | OSError):
        reach = endpoint_url(spec)
        return ConnectError(f"{where}: cannot reach {reach} ({type(exc).__name__})", host=spec.host)
    if isinstance(exc, lib.fault):
        return wsman_fault(spec, lib.fault_code(exc), str(getattr(exc, "reason", exc)))
    if isinstance(exc, lib.http):
        return ProtocolError(f"{where}: HTTP {getattr(exc, 'code', '?')}", host=spec.host)
    if isinstance(exc, lib.base):
        return ProtocolError(f"{where}: {exc}", host=spec.host)
    return ProtocolError(f"{where}: unexpected {type(exc).__name__}", host=spec.host)


# OpenSSL's texts (X509_verify_cert_error_string, SSL reason codes) as they appear in
# ssl.SSLCertVerificationError / ssl.SSLError and in requests' SSLError wrapping them.
_TLS_CERT_FAILURES = (
    (
        ("hostname mismatch", "doesn't match", "not valid for", "ip address mismatch"),
        "server certificate does not name {address} (hostname mismatch)",
    ),
    (("has expired",), "server certificate has expired"),
    (("not yet valid",), "server certificate is not yet valid (check the clocks)"),
    (
        ("self-signed", "self signed", "unable to get local issuer", "unable to get issuer"),
        "server certificate is signed by an untrusted CA (give its CA: ansible_winrm_ca_trust_path / "
        "ansible_psrp_ca_cert)",
    ),
    (("revoked",), "server certificate has been revoked"),
)
_TLS_VERSION = ("protocol_version", "unsupported_protocol", "no_protocols_available", "version too low")


def tls_error(text: str, spec: ConnectionSpec) -> ConnectError:
    """One message per kind of TLS failure (the native client and the pywinrm/pypsrp path)."""
    where = f"{spec.connection} {spec.address}"
    low = text.lower()
    for needles, message in _TLS_CERT_FAILURES:
        if any(n in low for n in needles):
            return CertificateError(f"{where}: {message.format(address=spec.address)}", host=spec.host)
    if "certificate verify failed" in low:
        return CertificateError(f"{where}: server certificate not trusted", host=spec.host)
    if any(n in low for n in _TLS_VERSION):
        return ConnectError(
            f"{where}: TLS version mismatch (no protocol version both sides accept)", host=spec.host
        )
    if "wrong_version_number" in low or "record layer failure" in low:
        return ConnectError(
            f"{where}: the port did not answer TLS (plain http on an https port?)", host=spec.host
        )
    return ConnectError(f"{where}: TLS handshake failed", host=spec.host)


def wsman_fault(spec: ConnectionSpec, code: int | None, reason: str) -> WSManFault:
    """The WSManFault for a SOAP fault from this host, the same text from every client."""
    shown = f" {code}" if code is not None else ""
    return WSManFault(
        f"{spec.connection} {spec.address}: WS-Man fault{shown}: {reason}",
        code=code,
        reason=reason,
        host=spec.host,
    )
