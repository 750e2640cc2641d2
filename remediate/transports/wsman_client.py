"""A native asyncio WS-Management client: one keep-alive HTTP connection per host, no threads.

Why: with pywinrm each request crosses a thread pool and requests/urllib3 (proxy lookups, header
objects, xmltodict); at 1000 hosts the controller's CPU, not the network, bounded the run
(docs/performance.md). This client speaks the same wire protocol as pywinrm:

- HTTP/1.1 keep-alive, TCP_NODELAY, TLS with the spec's CA bundle (or no validation);
- NTLM in the `Negotiate` header (as pywinrm's requests_ntlm does; pyspnego computes the
  tokens), connection-bound like HTTP.sys: authenticate once with empty POSTs, then every SOAP
  message on that connection is sealed as `multipart/encrypted`
  (MS-WSMV 2.2.9.1.1, "application/HTTP-SPNEGO-session-encrypted");
- Kerberos (auth=kerberos): the same, the context built from the credential's shared ticket
  cache (transports/kerberos.py) for the SPN HTTP/<host name>;
- Basic (with TLS) on every request.

`WSManClient.post(soap)` returns the response envelope, raising `WSManFault` (a ProtocolError,
remediate.core.errors) for SOAP faults and the other transport errors for everything else.
"""

from __future__ import annotations

import asyncio
import base64
import re
import socket
import ssl
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import spnego

from remediate.core import xmlsafe
from remediate.core.errors import AuthenticationError, ConnectError, ProtocolError
from remediate.core.model import NATIVE_WINRM_AUTH, ConnectionSpec
from remediate.transports import kerberos as kerberos_auth
from remediate.transports.ntlm_hash import ntlm_credential
from remediate.transports.wsman_common import endpoint, tls_error, wsman_fault

BOUNDARY = b"--Encrypted Boundary"
SPNEGO_ENCRYPTED = b"application/HTTP-SPNEGO-session-encrypted"
ENCRYPTED_TYPE = (
    'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'
)
SOAP_TYPE = "application/soap+xml;charset=UTF-8"
_NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
# Largest reply body read (Content-Length or chunked). Every request asks for MaxEnvelopeSize
# 153600 (winrs_async.envelope), so an honest reply is far smaller even sealed; a host sending
# more is refused rather than held in memory.
MAX_BODY = 8 * 2**20


class ReplyTooLarge(Exception):
    """The reply body passed MAX_BODY; the connection is dropped unread."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


def ssl_context(spec: ConnectionSpec) -> ssl.SSLContext | None:
    if spec.scheme != "https":
        return None
    if not spec.cert_validation:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=spec.ca_path) if spec.ca_path else ssl.create_default_context()


class WSManClient:
    """One host's WS-Man endpoint over one authenticated connection (re-established if dropped)."""

    def __init__(self, spec: ConnectionSpec) -> None:
        if spec.auth not in NATIVE_WINRM_AUTH:
            raise ValueError(f"auth {spec.auth!r} needs the pywinrm transport")
        self.spec = spec
        self.host, self.port, self.path = endpoint(spec)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ctx: spnego.ContextProxy | None = None
        self._lock = asyncio.Lock()
        self._where = f"winrm {spec.address}"
        self.encrypt = spec.auth != "basic" and (
            spec.message_encryption == "always"
            or (spec.message_encryption == "auto" and spec.scheme == "http")
        )

    def __repr__(self) -> str:
        return f"WSManClient({self.host}:{self.port}, auth={self.spec.auth})"

    # -- connection --------------------------------------------------------------------------
    async def _open(self) -> None:
        if self.spec.auth == "kerberos":
            kerberos_auth.spn_host(self.spec)  # an IP fails here, before connecting
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=ssl_context(self.spec)),
                self.spec.connect_timeout,
            )
        except ssl.SSLError as exc:  # SSLCertVerificationError included: verify_message in str()
            raise tls_error(str(exc), self.spec) from None
        except (OSError, TimeoutError) as exc:
            raise ConnectError(
                f"{self._where}: cannot reach {self.host}:{self.port} ({type(exc).__name__})",
                host=self.spec.host,
            ) from None
        sock = self._writer.get_extra_info("socket") if self._writer is not None else None
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.spec.auth != "basic":
            await self._ntlm_handshake()

    async def _ntlm_handshake(self) -> None:
        spec = self.spec
        kerberos = spec.auth == "kerberos"
        if kerberos:
            # The credential's shared ccache (one logon per credential, not per host); the
            # context then asks the KDC for HTTP/<host>: blocking calls, so off the event loop.
            ccache = kerberos_auth.TICKETS.cached(spec.user or "", spec.password or "")
            if ccache is None:
                ccache = await asyncio.to_thread(kerberos_auth.TICKETS.get, spec)
            ctx = kerberos_auth.client_context(spec, ccache)
        else:
            cred: Any = spec.user or ""  # an NTLMHash: its hashes are not recomputed per host
            if spec.password is not None:
                cred = ntlm_credential(spec.user or "", spec.password)
            ctx = spnego.client(cred, spec.password, hostname=self.host, service="http", protocol="ntlm")
        token = await self._step(ctx, None, kerberos)
        while True:
            resp = await self._roundtrip(
                b"", {"Authorization": f"Negotiate {base64.b64encode(token or b'').decode()}"}
            )
            challenge = _auth_token(resp.headers.get("www-authenticate", ""))
            if resp.status == 200:
                if not ctx.complete and challenge is not None:
                    await self._step(ctx, challenge, kerberos)  # Kerberos: the server's AP-REP
                break
            if resp.status != 401 or challenge is None or ctx.complete:
                break
            token = await self._step(ctx, challenge, kerberos)
        if resp.status == 401:
            raise AuthenticationError(f"{self._where}: credentials rejected (HTTP 401)", host=spec.host)
        if resp.status != 200:
            raise ProtocolError(f"{self._where}: HTTP {resp.status} during authentication", host=spec.host)
        if not ctx.complete:
            raise AuthenticationError(
                f"{self._where}: the server did not complete authentication", host=spec.host
            )
        self._ctx = ctx

    async def _step(self, ctx: spnego.ContextProxy, token: bytes | None, kerberos: bool) -> bytes | None:
        try:
            return await asyncio.to_thread(ctx.step, token) if kerberos else ctx.step(token)
        except spnego.exceptions.SpnegoError as exc:
            # e.g. no service principal HTTP/<host> in the realm, or a clock skew
            raise AuthenticationError(
                f"{self._where}: {self.spec.auth} authentication failed: {exc.message}", host=self.spec.host
            ) from None

    @property
    def connected(self) -> bool:
        return self._writer is not None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
        self._ctx = None

    # -- one request/response ----------------------------------------------------------------
    async def _roundtrip(
        self, body: bytes, headers: dict[str, str], timeout: float | None = None
    ) -> Response:
        assert self._reader is not None and self._writer is not None
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "User-Agent: Python WinRM client",
        ]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        try:
            # asyncio.timeout, not wait_for: no extra Task per request (3.11's wait_for wraps one)
            async with asyncio.timeout(timeout or self.spec.connect_timeout):
                return await self._read_response()
        except ReplyTooLarge:
            self.close()
            raise ProtocolError(
                f"{self._where}: reply larger than {MAX_BODY} bytes (MaxEnvelopeSize asked: 153600)",
                host=self.spec.host,
            ) from None
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            self.close()
            # Closed before a single response byte: the server dropped an idle keep-alive connection
            # and never saw the request, so sending it again cannot run a command twice.
            unanswered = (isinstance(exc, asyncio.IncompleteReadError) and not exc.partial) or isinstance(
                exc, ConnectionResetError | BrokenPipeError
            )
            raise ConnectError(
                f"{self._where}: connection lost ({type(exc).__name__})",
                host=self.spec.host,
                unanswered=unanswered,
            ) from None

    async def _read_response(self) -> Response:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        first, *rest = head.decode("latin-1").split("\r\n")
        parts = first.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise OSError("bad HTTP status line")
        headers: dict[str, str] = {}
        for line in rest:
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while size := _chunk_size(await self._reader.readuntil(b"\r\n")):
                if len(body) + size > MAX_BODY:
                    raise ReplyTooLarge  # checked before reading: a huge chunk is never buffered
                body += await self._reader.readexactly(size + 2)
                del body[-2:]
            while await self._reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
        else:
            length_text = headers.get("content-length", "0")
            if not length_text.isdigit():
                raise OSError("bad Content-Length")
            length = int(length_text)
            if length > MAX_BODY:
                raise ReplyTooLarge
            body = bytearray(await self._reader.readexactly(length))
        if "close" in headers.get("connection", "").lower():
            self.close()
        return Response(int(parts[1]), headers, bytes(body))

    # -- SOAP --------------------------------------------------------------------------------
    async def post(self, soap: bytes, *, timeout: float | None = None) -> ET.Element:
        """Send one SOAP envelope; the parsed response envelope. `timeout`: seconds to wait for it."""
        async with self._lock:
            for attempt in (0, 1):
                fresh = self._writer is None
                if fresh:
                    await self._open()
                try:
                    resp = await self._exchange(soap, timeout)
                except ConnectError as exc:
                    # Resend only on a reused connection that closed without answering; a timeout
                    # or a partial answer may mean the request ran (a Command must never run twice).
                    if fresh or attempt or not exc.unanswered:
                        raise
                    continue
                break
        return self._parse(resp)

    async def _exchange(self, soap: bytes, timeout: float | None) -> Response:
        headers: dict[str, str] = {}
        if self.spec.auth == "basic":
            cred = f"{self.spec.user or ''}:{self.spec.password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        if self.encrypt:
            headers["Content-Type"] = ENCRYPTED_TYPE
            body = self._seal(soap)
        else:
            headers["Content-Type"] = SOAP_TYPE
            body = soap
        try:
            return await self._roundtrip(body, headers, timeout)
        except asyncio.CancelledError:
            self.close()  # a half-read response would desynchronise the connection
            raise

    def _parse(self, resp: Response) -> ET.Element:
        if resp.status == 401:
            self.close()
            raise AuthenticationError(f"{self._where}: credentials rejected (HTTP 401)", host=self.spec.host)
        body = resp.body
        if resp.headers.get("content-type", "").lower().startswith("multipart/encrypted"):
            body = self._unseal(body)
        if resp.status not in (200, 400, 500):
            raise ProtocolError(f"{self._where}: HTTP {resp.status}", host=self.spec.host)
        try:
            root = xmlsafe.parse(body)  # DTDs and entities refused wherever they appear
        except xmlsafe.XMLForbidden:
            raise ProtocolError(
                f"{self._where}: reply carries a DTD or entity declaration", host=self.spec.host
            ) from None
        except ET.ParseError:
            raise ProtocolError(
                f"{self._where}: HTTP {resp.status}, unusable reply", host=self.spec.host
            ) from None
        fault = root.find("s:Body/s:Fault", _NS)
        if fault is not None:
            detail = fault.find("s:Detail/f:WSManFault", _NS)
            code = int(detail.attrib["Code"]) if detail is not None and "Code" in detail.attrib else None
            reason = fault.findtext("s:Reason/s:Text", "(no reason)", _NS).strip()
            raise wsman_fault(self.spec, code, reason)
        if resp.status != 200:
            raise ProtocolError(f"{self._where}: HTTP {resp.status}", host=self.spec.host)
        return root

    # -- message encryption (MS-WSMV 2.2.9.1.1) ----------------------------------------------
    def _seal(self, soap: bytes) -> bytes:
        assert self._ctx is not None
        w = self._ctx.wrap_winrm(soap)
        return (
            BOUNDARY + b"\r\n\tContent-Type: " + SPNEGO_ENCRYPTED + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(soap)).encode()
            + b"\r\n" + BOUNDARY + b"\r\n\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(w.header)) + w.header + w.data + BOUNDARY + b"--\r\n"
        )  # fmt: skip

    def _unseal(self, body: bytes) -> bytes:
        if self._ctx is None:
            raise ProtocolError(
                f"{self._where}: encrypted reply without a security context", host=self.spec.host
            )
        parts = [p for p in body.split(BOUNDARY + b"\r\n") if p]
        out = b""
        for head, payload in zip(parts[0::2], parts[1::2], strict=False):
            m = re.search(rb"Length=(\d+)", head)
            payload = payload.removesuffix(BOUNDARY + b"--\r\n")
            payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            (sig_len,) = struct.unpack("<i", payload[:4])
            try:
                plain = self._ctx.unwrap_winrm(payload[4 : 4 + sig_len], payload[4 + sig_len :])
            except spnego.exceptions.SpnegoError:
                raise ProtocolError(f"{self._where}: reply failed to decrypt", host=self.spec.host) from None
            if m is None or len(plain) != int(m.group(1)):
                raise ProtocolError(f"{self._where}: encrypted length mismatch", host=self.spec.host)
            out += plain
        return out


def _chunk_size(line: bytes) -> int:
    try:
        return int(line.split(b";")[0].strip(), 16)
    except ValueError:
        raise OSError("bad chunk size") from None


def _auth_token(header: str) -> bytes | None:
    """The token of a `WWW-Authenticate: Negotiate <b64>` (or NTLM) challenge."""
    for item in header.split(","):
        scheme, _, value = item.strip().partition(" ")
        if scheme.lower() in ("negotiate", "ntlm") and value.strip():
            return base64.b64decode(value.strip())
    return None
