"""KMS host stand-in: a real TCP listener speaking the lab's one-line activation handshake.

The real KMS protocol is MS-RPC over TCP 1688; the lab replaces the payload with one line each way
while keeping the network behaviour real (a stopped listener refuses connections, a silent one
makes the client time out):

    client -> `ACTIVATE <activation_id> <client_fqdn> [<n_policy>]\\r\\n`
    server -> `OK <kms_epid> [<count>]\\r\\n` | `ERR 0xXXXXXXXX [<count>]\\r\\n`, then closes.

N-policy is the minimum count the client needs: 25 for Windows client editions, 5 for servers and
Office ("Clients activate if the count is 25 or higher. Servers and volume editions of Microsoft
Office products activate if the count is five or greater", and the host counts unique machines of
the past 30 days, keeping the 50 most recent:
https://learn.microsoft.com/en-us/windows-server/get-started/kms-activation-planning). A request
without one is taken as a client edition's (25).

Behaviours: ok, count_too_low (always 0xC004F038), not_supported (0xC004F042), drop (reads the
request and never answers: the client's 3 s timeout turns it into 0xC004F074, like a firewall
dropping replies), below_threshold (a real count: it starts at `initial_count` and grows by one per
new client; a client whose N-policy is above it gets 0xC004F038, like a KMS host just deployed).

The listener is also the KMS host's own state as its Windows face shows it (lab/fleet/kmshosts.py):
`current_count`, `port`, `dns_publishing`, `low_priority`, `counters()`, `running` (sppsvc).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, get_args

log = logging.getLogger(__name__)

KmsBehaviour = Literal["ok", "count_too_low", "not_supported", "drop", "below_threshold"]
KMS_BEHAVIOURS: tuple[str, ...] = get_args(KmsBehaviour)

ERR_COUNT_TOO_LOW = 0xC004F038  # the KMS count is below the product's N-policy
ERR_NOT_SUPPORTED = 0xC004F042  # this KMS host cannot activate that product
ERR_INVALID_REQUEST = 0x8007000D  # ERROR_INVALID_DATA: the request line did not parse
READ_TIMEOUT = 10.0  # a client that never sends its line is dropped after this
CLIENT_N_POLICY, SERVER_N_POLICY = 25, 5
MAX_COUNT = 50  # the host keeps the 50 most recent client machine ids


@dataclass(frozen=True)
class KmsRequest:
    activation_id: str
    client_fqdn: str
    peer: str
    answer: str  # the line sent back, without CRLF ("" when dropped)
    n_policy: int = CLIENT_N_POLICY
    when: datetime = field(default_factory=lambda: datetime.now(UTC))


class KmsListener:
    """One KMS host: `await start()` listens on (address, port); `await stop()` refuses again."""

    def __init__(
        self,
        name: str,
        address: str,
        port: int = 1688,
        *,
        behaviour: KmsBehaviour = "ok",
        epid: str = "06401-00206-271-298329-03-1033-17763.0000-2542019",
        fqdn: str | None = None,
        initial_count: int | None = None,
    ) -> None:
        if behaviour not in KMS_BEHAVIOURS:
            raise ValueError(f"unknown KMS behaviour {behaviour!r}; expected one of {KMS_BEHAVIOURS}")
        self.name = name
        self.fqdn = fqdn or name
        self.address = address
        self.port = port
        self.behaviour: KmsBehaviour = behaviour  # may be changed at runtime
        self.epid = epid
        self.requests: list[KmsRequest] = []  # every request seen, newest last
        # the count before any lab client asked: a fresh host (3) when below threshold, else full
        low = behaviour in ("below_threshold", "count_too_low")
        self.initial_count = initial_count if initial_count is not None else (3 if low else MAX_COUNT)
        self.clients: dict[str, None] = {}  # unique client machines seen (insertion order)
        self.dns_publishing = True  # slmgr /sdns | /cdns
        self.low_priority = False  # slmgr /cpri | /spri
        self.on_request: list[Callable[[KmsRequest, int], None]] = []  # (request, count) observers
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    def __repr__(self) -> str:
        state = "listening" if self.running else "stopped"
        return f"KmsListener({self.fqdn} {self.address}:{self.port} {self.behaviour} {state})"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._handle, self.address, self.port, reuse_address=True)
        log.debug("KMS %s listening on %s:%d", self.fqdn, self.address, self.port)

    async def stop(self) -> None:
        """Close the listening socket (new connections are refused) and drop open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._conns):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2.0)

    @property
    def current_count(self) -> int:
        """`Current count:` of slmgr /dlv: the starting count plus every new client, at most 50."""
        return min(MAX_COUNT, self.initial_count + len(self.clients))

    def counters(self) -> dict[str, int]:
        """slmgr /dlv's cumulative requests: total and failed (answered with an error)."""
        answered = [r for r in self.requests if r.activation_id]
        return {
            "total": len(answered),
            "failed": sum(1 for r in answered if not r.answer.startswith("OK")),
        }

    def answer_for(self, activation_id: str, n_policy: int = CLIENT_N_POLICY) -> str | None:
        """The reply line for a request under the current behaviour (None: stay silent)."""
        count = self.current_count
        if self.behaviour == "ok":
            return f"OK {self.epid}"
        if self.behaviour == "count_too_low":
            return f"ERR 0x{ERR_COUNT_TOO_LOW:08X}"
        if self.behaviour == "below_threshold":  # these answers carry the count (12289's "Count")
            if count < n_policy:
                return f"ERR 0x{ERR_COUNT_TOO_LOW:08X} {count}"
            return f"OK {self.epid} {count}"
        if self.behaviour == "not_supported":
            return f"ERR 0x{ERR_NOT_SUPPORTED:08X}"
        return None  # drop

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        peer = writer.get_extra_info("peername")
        peer_s = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        try:
            try:
                raw = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
            except (TimeoutError, ConnectionError):
                return
            parts = raw.decode("ascii", "replace").split()
            n_policy = CLIENT_N_POLICY
            if len(parts) not in (3, 4) or parts[0].upper() != "ACTIVATE":
                answer: str | None = f"ERR 0x{ERR_INVALID_REQUEST:08X}"
                aid, client = "", ""
            else:
                aid, client = parts[1], parts[2]
                if len(parts) == 4 and parts[3].isdigit():
                    n_policy = int(parts[3])
                if self.behaviour != "drop":  # the host counts the machine, whatever it answers
                    self.clients.setdefault(client.lower())
                answer = self.answer_for(aid, n_policy)
            req = KmsRequest(aid, client, peer_s, answer or "", n_policy)
            self.requests.append(req)
            if aid:
                for observer in self.on_request:
                    observer(req, self.current_count)
            if answer is None:  # drop: hold the connection open until the client gives up
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(reader.read(), READ_TIMEOUT)
                return
            writer.write(answer.encode("ascii") + b"\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self._conns.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def kms_activate(
    address: str,
    port: int,
    activation_id: str,
    client_fqdn: str,
    timeout: float = 3.0,
    n_policy: int | None = None,
) -> str:
    """Client side of the handshake (the hosts' /ato, tests): the reply line, or OSError / TimeoutError."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection(address, port), timeout)
    try:
        policy = f" {n_policy}" if n_policy is not None else ""
        writer.write(f"ACTIVATE {activation_id} {client_fqdn}{policy}\r\n".encode("ascii"))
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return line.decode("ascii", "replace").strip()
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
