"""HTTP authentication and message encryption for the lab's WinRM endpoints, as Windows does it.

- Negotiate (SPNEGO wrapping NTLM, or raw NTLM under the Negotiate/NTLM schemes) accepted with
  pyspnego against *this host's* account. One security context per TCP connection, reused by every
  request on that keep-alive connection (HTTP.sys connection-based auth).
- Kerberos (a raw krb5 AP-REQ under Negotiate or Kerberos) when the lab holds a keytab
  (wire/kerberos.py), for the host's HTTP/<fqdn> principal and its admin account.
- Over HTTP the SOAP bodies travel as `multipart/encrypted` sealed with that context (MS-WSMV
  2.2.9.1.1); unencrypted bodies are refused (AllowUnencrypted=false).
- Basic only over HTTPS; over HTTP it is not offered and gets a 401, as on a default Windows host.

pyspnego's NTLM acceptor reads credentials from the file named by NTLM_USER_FILE, one store per
process. Lab hosts in one process have different passwords, so `_HostNTLM` runs pyspnego's own
acceptor code with two module-level lookups rebound: the credential file check, and the
credential factory, which resolves against the host whose connection is being authenticated.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import functools
import re
import struct
import types
from dataclasses import dataclass, field
from typing import Any

import spnego
import spnego._ntlm as _ntlm
from spnego._context import GSSMech
from spnego._credential import CredentialCache, Password
from spnego._negotiate import NegotiateProxy
from spnego.exceptions import InvalidTokenError, SpnegoError

from remediate.lab.api import EmulatedHost
from remediate.lab.wire import kerberos as lab_kerberos
from remediate.lab.wire.http import HttpRequest, HttpResponse

_BOUNDARY = b"--Encrypted Boundary"
_SPNEGO_PROTOCOL = "application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{_SPNEGO_PROTOCOL}";boundary="Encrypted Boundary"'
SOAP_CONTENT_TYPE = "application/soap+xml;charset=UTF-8"

_current_host: contextvars.ContextVar[EmulatedHost] = contextvars.ContextVar("lab_ntlm_host")


def user_matches(given: str, host: EmulatedHost) -> bool:
    """Account names as Windows accepts them: admin, HOST\\admin, .\\admin, admin@domain."""

    def bare(name: str) -> str:
        return name.rsplit("\\", 1)[-1].split("@", 1)[0].strip().lower()

    return bool(given) and bare(given) == bare(host.username)


def _host_credential(credential: CredentialCache) -> Any:
    """Stands in for spnego._ntlm._NTLMCredential(CredentialCache(user)) inside the acceptor."""
    host = _current_host.get()
    username = credential.username or ""
    if not user_matches(username, host):
        raise InvalidTokenError(context_msg="Unknown user name or bad password")
    return _credential(username, host.password)


@functools.lru_cache(maxsize=4096)
def _credential(username: str, password: str) -> Any:
    # Building one derives the LM hash with pyspnego's pure-Python DES: ~8% of the lab's CPU at
    # 1000 hosts when done per logon. The object is only read by the acceptor, so share it.
    return _ntlm._NTLMCredential(Password(username=username, password=password))


def _rebind(func: Any) -> Any:
    glb = dict(vars(_ntlm))
    glb["_NTLMCredential"] = _host_credential
    glb["_get_credential_file"] = lambda: "lab-host-credentials"
    new = types.FunctionType(func.__code__, glb, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__ = func.__kwdefaults__
    return new


class _HostNTLM(_ntlm.NTLMProxy):
    """pyspnego's NTLM acceptor validating against one emulated host's account."""

    __init__ = _rebind(_ntlm.NTLMProxy.__init__)
    _accept_authenticate = _rebind(_ntlm.NTLMProxy._step_accept_authenticate)

    def _step_accept_authenticate(self, token: bytes, channel_bindings: Any) -> None:
        reset = _current_host.set(self._lab_host)
        try:
            self._accept_authenticate(token, channel_bindings)
        finally:
            _current_host.reset(reset)

    _lab_host: EmulatedHost


def _ntlm_acceptor(host: EmulatedHost) -> _HostNTLM:
    ctx: _HostNTLM = _HostNTLM(usage="accept", protocol="ntlm")
    ctx._lab_host = host
    return ctx


def _negotiate_acceptor(host: EmulatedHost) -> spnego.ContextProxy:
    inner = _ntlm_acceptor(host)
    inner._is_wrapped = True
    return NegotiateProxy(usage="accept", protocol="negotiate", _negotiate_contexts={GSSMech.ntlm: inner})


class AuthError(Exception):
    """The request must be answered with 401."""


@dataclass
class ConnectionAuth:
    """Authentication state of one TCP connection to one host."""

    host: EmulatedHost
    tls: bool
    basic_enabled: bool = True
    _ctx: spnego.ContextProxy | None = field(default=None, repr=False)
    _authenticated: bool = False
    _encrypt: bool = False
    user: str = ""

    def challenge_headers(self) -> list[tuple[str, str]]:
        # A default Windows listener offers Negotiate and Kerberos; Basic only where it is allowed.
        headers = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "Kerberos")]
        if self.tls and self.basic_enabled:
            headers.append(("WWW-Authenticate", 'Basic realm="WSMAN"'))
        return headers

    def unauthorized(self) -> HttpResponse:
        self._ctx = None
        self._authenticated = False
        return HttpResponse(401, self.challenge_headers())

    def authenticate(self, request: HttpRequest) -> tuple[HttpResponse | None, list[tuple[str, str]]]:
        """(401/200 response to send now, or None to go on) and headers for the final response."""
        header = request.header("authorization")
        if header is None:
            if self._authenticated:
                return None, []
            return self.unauthorized(), []
        scheme, _, value = header.strip().partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            return self._basic(value.strip()), []
        if scheme not in ("negotiate", "ntlm", "kerberos"):
            return self.unauthorized(), []
        try:
            token = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return self.unauthorized(), []
        if not token:
            return self.unauthorized(), []
        try:
            if self._ctx is None or self._ctx.complete or _is_first_token(token):
                self._ctx = self._acceptor(token)
                self._authenticated = False
            out = self._ctx.step(token)
        except (SpnegoError, ValueError, KeyError, IndexError, struct.error, TypeError) as exc:
            _ = exc  # never log tokens or credentials
            return self.unauthorized(), []
        out_header = (
            [("WWW-Authenticate", f"{header.split(' ', 1)[0]} {base64.b64encode(out).decode()}")]
            if out
            else []
        )
        if not self._ctx.complete:
            return HttpResponse(401, out_header), []
        if self._ctx.negotiated_protocol == "kerberos" and not user_matches(
            self._ctx.client_principal or "", self.host
        ):
            return self.unauthorized(), []  # a valid ticket, but not for this host's admin account
        self._authenticated = True
        self._encrypt = not self.tls
        self.user = self.host.username
        return None, out_header

    def _acceptor(self, token: bytes) -> spnego.ContextProxy:
        if token.startswith(b"NTLMSSP\x00"):
            return _ntlm_acceptor(self.host)
        if lab_kerberos.enabled() and lab_kerberos.is_kerberos_token(token):
            return lab_kerberos.acceptor(self.host)
        return _negotiate_acceptor(self.host)

    def _basic(self, value: str) -> HttpResponse | None:
        if not self.tls or not self.basic_enabled:
            return self.unauthorized()
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return self.unauthorized()
        if not user_matches(user, self.host) or password != self.host.password:
            return self.unauthorized()
        self._ctx = None
        self._encrypt = False
        self.user = self.host.username
        return None

    # -- message encryption (MS-WSMV 2.2.9.1) ---------------------------------------------------

    def open_body(self, request: HttpRequest) -> bytes:
        """The SOAP bytes of an authenticated request; AuthError when it must be refused."""
        ctype = (request.header("content-type") or "").lower()
        if ctype.startswith("multipart/encrypted"):
            if self._ctx is None or not self._ctx.complete:
                raise AuthError("encrypted body without a security context")
            return self._decrypt(request.body)
        if self._encrypt and request.body:
            raise AuthError("unencrypted message over HTTP (AllowUnencrypted=false)")
        return request.body

    def seal(self, soap: bytes) -> tuple[str, bytes]:
        """(content type, body) for a SOAP response on this connection."""
        if not self._encrypt or self._ctx is None:
            return SOAP_CONTENT_TYPE, soap
        wrapped = self._ctx.wrap_winrm(soap)
        payload = struct.pack("<i", len(wrapped.header)) + wrapped.header + wrapped.data
        body = (
            _BOUNDARY + b"\r\n\tContent-Type: " + _SPNEGO_PROTOCOL.encode() + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(soap)).encode()
            + b"\r\n"
            + _BOUNDARY
            + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + payload
            + _BOUNDARY
            + b"--\r\n"
        )
        return ENCRYPTED_CONTENT_TYPE, body

    def _decrypt(self, body: bytes) -> bytes:
        assert self._ctx is not None
        parts = [p for p in body.split(_BOUNDARY + b"\r\n") if p]
        if len(parts) < 2:
            raise AuthError("malformed multipart/encrypted body")
        message = b""
        for head, payload in zip(parts[0::2], parts[1::2], strict=False):
            m = re.search(rb"Length=(\d+)", head)
            if not m:
                raise AuthError("missing OriginalContent length")
            if payload.endswith(_BOUNDARY + b"--\r\n"):
                payload = payload[: -len(_BOUNDARY + b"--\r\n")]
            payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            if len(payload) < 4:
                raise AuthError("truncated encrypted payload")
            sig_len = struct.unpack("<i", payload[:4])[0]
            if sig_len < 0 or sig_len > len(payload) - 4:
                raise AuthError("bad signature length")
            try:
                plain = self._ctx.unwrap_winrm(payload[4 : 4 + sig_len], payload[4 + sig_len :])
            except SpnegoError as exc:
                raise AuthError("message failed to decrypt") from exc
            if len(plain) != int(m.group(1)):
                raise AuthError("decrypted length mismatch")
            message += plain
        return message


def _is_first_token(token: bytes) -> bool:
    """An NTLM NEGOTIATE (type 1) or SPNEGO NegTokenInit starts a new handshake."""
    if token.startswith(b"NTLMSSP\x00"):
        return token[8:12] == b"\x01\x00\x00\x00"
    return token[:1] == b"\x60"
