"""The failures pywinrm and pypsrp share (both sit on requests), mapped onto the transport tree."""

from __future__ import annotations

import requests

from remediate.transports.base import (
    AuthenticationError,
    CertificateError,
    ConnectError,
    ConnectionSpec,
    TransportError,
)


def translate_http(
    exc: BaseException,
    spec: ConnectionSpec,
    *,
    where: str,
    auth_errors: tuple[type[BaseException], ...],
    reach: str,
) -> TransportError | None:
    """A TransportError for auth / TLS / network failures; None when `exc` is library-specific."""
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, auth_errors):
        return AuthenticationError(f"{where}: credentials rejected (HTTP 401)", host=spec.host)
    if isinstance(exc, requests.exceptions.SSLError):
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
            return CertificateError(f"{where}: server certificate not trusted", host=spec.host)
        return ConnectError(f"{where}: TLS handshake failed", host=spec.host)
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout | OSError):
        return ConnectError(f"{where}: cannot reach {reach} ({type(exc).__name__})", host=spec.host)
    return None
