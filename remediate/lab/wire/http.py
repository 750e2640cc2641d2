"""Minimal asyncio HTTP/1.1 server core for the lab's WS-Management endpoints.

Keep-alive by default (one `ConnectionHandler` per TCP connection, so connection-scoped state such
as an NTLM security context lives as long as the connection, as with HTTP.sys), TCP_NODELAY,
Content-Length or chunked request bodies. Garbage gets a 400 and the connection is closed; a
handler exception gets a 500. Nothing a client sends can stop the server.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Protocol

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
CHUNK_BYTES = 16 * 1024  # size of each chunk of a chunked response
IDLE_TIMEOUT = 120.0  # HTTP.sys IdleConnectionTimeout default
# Open connections per listener; past it new ones are closed at once (one slowloris client
# opened 5,050 before). Module-level so a test can lower it.
MAX_CONNECTIONS = 1024
SERVER_HEADER = "Microsoft-HTTPAPI/2.0"  # what WinRM (HTTP.sys) sends
# Benchmarks: requests served per local address (cheap dict increment), and an emulated network
# round-trip time added before each response (0: loopback as is).
REQUEST_COUNTS: dict[str, int] = {}
ROUND_TRIP_SECONDS = 0.0


class BadRequest(Exception):
    """The bytes on the wire are not a usable HTTP/1.1 request."""


@dataclass
class HttpRequest:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    @property
    def keep_alive(self) -> bool:
        conn = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


_DATE: tuple[int, str] = (0, "")


def http_date() -> str:
    """The Date header (RFC 7231 IMF-fixdate): seconds resolution, so formatted once a second."""
    global _DATE
    now = time.time()
    if int(now) != _DATE[0]:
        _DATE = (int(now), email.utils.formatdate(now, usegmt=True))
    return _DATE[1]


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False
    chunked: bool = False  # Transfer-Encoding: chunked (HostState.http_chunked, tests of clients)

    def encode(self, *, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        lines.append(f"Server: {SERVER_HEADER}")
        lines.append(f"Date: {http_date()}")
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
        else:
            lines.append(f"Content-Length: {len(self.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not self.chunked:
            return head + self.body
        parts = [head]
        for i in range(0, len(self.body), CHUNK_BYTES):
            piece = self.body[i : i + CHUNK_BYTES]
            parts += [f"{len(piece):x}\r\n".encode(), piece, b"\r\n"]
        parts.append(b"0\r\n\r\n")
        return b"".join(parts)


@dataclass(frozen=True)
class ConnectionInfo:
    peer_ip: str
    local_ip: str
    local_port: int
    tls: bool


class ConnectionHandler(Protocol):
    async def handle(self, request: HttpRequest) -> HttpResponse: ...

    def close(self) -> None: ...


HandlerFactory = Callable[[ConnectionInfo], ConnectionHandler]


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")  # latin-1 maps every byte: no decode error
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isalpha() or not parts[2].startswith("HTTP/1."):
        raise BadRequest("bad request line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line")
        headers.append((name, value.strip()))
    return parts[0].upper(), parts[1], parts[2], headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        try:
            size_line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as exc:  # a 64 KiB size line
            raise BadRequest("chunk size line too long") from exc
        digits = size_line.split(b";")[0].strip()
        # hex digits only: int() would also take "-5", "+5" or "0x5", and a negative size crashed
        if not digits or len(digits) > 16 or digits.strip(b"0123456789abcdefABCDEF"):
            raise BadRequest("bad chunk size")
        size = int(digits, 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY_BYTES:
            raise BadRequest("body too large")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("bad chunk terminator")


async def read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one request; None on a clean EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise BadRequest("truncated header") from exc
    except asyncio.LimitOverrunError as exc:
        raise BadRequest("header too large") from exc
    method, target, version, headers = _parse_head(head[:-4].lstrip(b"\r\n"))
    request = HttpRequest(method, target, version, headers)
    if "chunked" in (request.header("transfer-encoding") or "").lower():
        request.body = await _read_chunked(reader)
        return request
    length_text = request.header("content-length") or "0"
    if not length_text.isdigit() or int(length_text) > MAX_BODY_BYTES:
        raise BadRequest("bad content-length")
    request.body = await reader.readexactly(int(length_text))
    return request


def _bad_request() -> HttpResponse:
    # HTTP.sys answers malformed requests itself with a small HTML page and closes.
    body = b"<h1>Bad Request</h1>"
    return HttpResponse(400, [("Content-Type", "text/html; charset=us-ascii")], body, close=True)


async def _serve_connection(
    factory: HandlerFactory, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
    peer = writer.get_extra_info("peername") or ("", 0)
    local = writer.get_extra_info("sockname") or ("", 0)
    info = ConnectionInfo(
        str(peer[0]), str(local[0]), int(local[1]), writer.get_extra_info("sslcontext") is not None
    )
    handler = factory(info)
    try:
        while True:
            try:
                # asyncio.timeout, not wait_for: no extra Task per request (3.11's wait_for wraps one)
                async with asyncio.timeout(IDLE_TIMEOUT):
                    request = await read_request(reader)
            except BadRequest as exc:
                log.debug("bad HTTP request from %s: %s", info.peer_ip, exc)
                writer.write(_bad_request().encode(keep_alive=False))
                await writer.drain()
                return
            if request is None:
                return
            REQUEST_COUNTS[info.local_ip] = REQUEST_COUNTS.get(info.local_ip, 0) + 1
            try:
                response = await handler.handle(request)
            except Exception:  # a handler bug must not take the listener down
                log.exception("WS-Man handler failed")
                response = HttpResponse(500, close=True)
            keep = request.keep_alive and not response.close
            if ROUND_TRIP_SECONDS > 0:
                await asyncio.sleep(ROUND_TRIP_SECONDS)
            writer.write(response.encode(keep_alive=keep))
            await writer.drain()
            if not keep:
                return
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
        return
    finally:
        handler.close()
        writer.close()


async def serve_http(
    factory: HandlerFactory, *, bind: str, port: int, ssl_context: ssl.SSLContext | None = None
) -> asyncio.Server:
    """Listen on bind:port; each accepted connection gets `factory(info)` as its handler."""

    active = 0

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal active
        if active >= MAX_CONNECTIONS:
            log.debug("connection cap %d reached on port %d: closing a new connection", MAX_CONNECTIONS, port)
            writer.close()
            return
        active += 1
        try:
            await _serve_connection(factory, reader, writer)
        except asyncio.CancelledError:  # lab shutdown; returning keeps asyncio's callback quiet
            writer.close()
        except Exception:  # pragma: no cover - last line of defence
            log.exception("connection crashed")
        finally:
            active -= 1

    return await asyncio.start_server(
        on_connect, bind, port, ssl=ssl_context, limit=MAX_HEADER_BYTES, reuse_address=True, backlog=128
    )
