"""The lab's DNS server: authoritative for the lab domain, UDP and TCP, records mutable at runtime.

Built on dnslib's wire format with our own asyncio sockets so one server can listen on several
addresses, each with its own *view* (split-horizon): a view overrides A records, which is how a
firewalled site resolves the KMS host to an address where nothing listens while the SRV record
still exists. Answers behave like a Windows DNS server authoritative for the zone: AA set,
NXDOMAIN (with the SOA) for names that do not exist, NOERROR/no data for names that exist with
another type, SRV answers carry the targets' A records in the additional section, and PTR
records exist for every lab address (nslookup's "Server:" line asks for the server's own PTR).

Sized for bursts (10,000 hosts querying at once, issue 12): every answer is O(1) in the zone size
(a reverse index for PTR, counted ancestors for empty non-terminals; both were scans of every
name, so a 5,000-host burst saturated the loop), and the UDP socket asks for a large receive
buffer so a burst queues in the kernel instead of being dropped (a dropped query is a client
timeout: `srv: timeout`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import cast

from dnslib import NS, PTR, QTYPE, RCODE, RR, SOA, SRV, A, DNSHeader, DNSRecord

log = logging.getLogger(__name__)

DEFAULT_VIEW = "default"
ANSWERS_MAX = 4096  # cached answers (LabDns.handle); hosts with their own names evict the oldest
UDP_LIMIT = 512  # classic DNS over UDP; larger answers are truncated (TC) and retried over TCP
# Receive buffer asked for each UDP socket: ~4 MB holds a few thousand queued queries (the kernel
# caps it at net.core.rmem_max; Linux's default, 208 KB, held about 250 and dropped the rest).
UDP_RCVBUF = 4 * 1024 * 1024


@dataclass(frozen=True)
class SrvRecord:
    target: str
    port: int = 1688
    priority: int = 0
    weight: int = 0


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


def _ancestors(name: str) -> list[str]:
    """`a.b.c` -> [`b.c`, `c`]: the names that have `name` as a descendant."""
    parts = name.split(".")
    return [".".join(parts[i:]) for i in range(1, len(parts))]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, dns: LabDns, view: str) -> None:
        self.dns, self.view = dns, view
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RCVBUF)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.dns.handle(data, self.view, udp=True)
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class LabDns:
    """Zone `domain` (and its subdomains) plus reverse lookups for the lab addresses."""

    def __init__(self, domain: str, *, ttl: int = 600, server_name: str | None = None) -> None:
        self.domain = _norm(domain)
        self.ttl = ttl
        self.server_name = _norm(server_name or f"dc01.{self.domain}")
        self._a: dict[str, dict[str, list[str]]] = {DEFAULT_VIEW: {}}  # view -> name -> addresses
        self._srv: dict[str, list[SrvRecord]] = {}
        # indexes kept by add_a/add_srv/remove_srv so answers never scan the zone
        self._ptr: dict[str, dict[str, list[str]]] = {DEFAULT_VIEW: {}}  # view -> address -> names
        self._inner: dict[str, Counter[str]] = {DEFAULT_VIEW: Counter()}  # view -> ancestor -> uses
        self._srv_inner: Counter[str] = Counter()
        self._udp: list[asyncio.DatagramTransport] = []
        self._tcp: list[asyncio.Server] = []
        self.listening: list[tuple[str, int, str]] = []  # (ip, port, view)
        self.queries = 0
        # Packed answers by (view, transport, query bytes after the ID): a fleet asks the same few
        # questions (the SRV record, the KMS host, the server's PTR) once per host, and parsing,
        # answering and packing each was ~8% of the lab's CPU. Any record change empties it.
        self._answers: OrderedDict[tuple[object, ...], bytes] = OrderedDict()

    # -- records ---------------------------------------------------------------------------------
    @property
    def srv_name(self) -> str:
        return f"_vlmcs._tcp.{self.domain}"

    def add_a(self, name: str, address: str, *, view: str = DEFAULT_VIEW) -> None:
        ipaddress.IPv4Address(address)  # validate
        self._answers.clear()
        n = _norm(name)
        names = self._a.setdefault(view, {})
        if n not in names:
            self._inner.setdefault(view, Counter()).update(_ancestors(n))
        addrs = names.setdefault(n, [])
        if address not in addrs:
            addrs.append(address)
            self._ptr.setdefault(view, {}).setdefault(address, []).append(n)

    def add_srv(
        self, target: str, port: int = 1688, *, priority: int = 0, weight: int = 0, name: str | None = None
    ) -> None:
        """Publish `target:port` under `name` (default `_vlmcs._tcp.<domain>`)."""
        self._answers.clear()
        rec = SrvRecord(_norm(target), port, priority, weight)
        key = _norm(name or self.srv_name)
        if key not in self._srv:
            self._srv_inner.update(_ancestors(key))
        recs = self._srv.setdefault(key, [])
        if rec not in recs:
            recs.append(rec)

    def remove_srv(self, target: str | None = None, *, name: str | None = None) -> int:
        """Remove the SRV records for `target` (None: all of them) under `name`; returns the count."""
        self._answers.clear()
        key = _norm(name or self.srv_name)
        recs = self._srv.get(key, [])
        keep = [r for r in recs if target is not None and r.target != _norm(target)]
        if keep:
            self._srv[key] = keep
        elif self._srv.pop(key, None) is not None:
            self._srv_inner.subtract(_ancestors(key))
            self._srv_inner += Counter()  # drop the names no record is under any more
        return len(recs) - len(keep)

    def srv_records(self, name: str | None = None) -> list[SrvRecord]:
        return list(self._srv.get(_norm(name or self.srv_name), []))

    def resolve_a(self, name: str, view: str = DEFAULT_VIEW) -> list[str]:
        """A records of `name` as seen from `view` (a view's entry hides the default one)."""
        n = _norm(name)
        if n in self._a.get(view, {}):
            return list(self._a[view][n])
        return list(self._a[DEFAULT_VIEW].get(n, []))

    # -- server ----------------------------------------------------------------------------------
    async def listen(self, ip: str, port: int = 53, *, view: str = DEFAULT_VIEW) -> int:
        """Serve UDP and TCP on (ip, port); port 0 picks a free port (the same for both). Returns it."""
        loop = asyncio.get_running_loop()
        for _attempt in range(20):
            udp, _proto = await loop.create_datagram_endpoint(lambda: _Udp(self, view), local_addr=(ip, port))
            actual = udp.get_extra_info("sockname")[1]
            try:
                tcp = await asyncio.start_server(
                    lambda r, w: self._serve_tcp(r, w, view), ip, actual, reuse_address=True
                )
            except OSError:
                udp.close()
                if port:  # a fixed port is taken over TCP: give up, the caller falls back
                    raise
                continue
            self._udp.append(udp)
            self._tcp.append(tcp)
            self._a.setdefault(view, {})
            self.listening.append((ip, actual, view))
            return int(actual)
        raise OSError(f"no free port for DNS on {ip}")

    async def close(self) -> None:
        for udp in self._udp:
            udp.close()
        for tcp in self._tcp:
            tcp.close()
        for tcp in self._tcp:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tcp.wait_closed(), 2.0)
        self._udp, self._tcp, self.listening = [], [], []

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, view: str) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), 30)
                data = await reader.readexactly(struct.unpack("!H", head)[0])
                reply = self.handle(data, view, udp=False)
                if reply is None:
                    break
                writer.write(struct.pack("!H", len(reply)) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    # -- answers ---------------------------------------------------------------------------------
    def handle(self, data: bytes, view: str, *, udp: bool) -> bytes | None:
        """Answer one wire-format query (None: unparseable, dropped like Windows does)."""
        # The answer is a function of the zone and the query but for the ID it echoes.
        key = (view, udp, self.domain, self.server_name, self.ttl, bytes(data[2:]))
        cached = self._answers.get(key)
        if cached is not None and len(data) >= 2:
            self.queries += 1
            self._answers.move_to_end(key)
            return data[:2] + cached
        try:
            query = DNSRecord.parse(data)
        except Exception:  # malformed packet: no answer
            return None
        self.queries += 1
        reply = self.answer(query, view)
        packed: bytes = reply.pack()
        if udp and len(packed) > UDP_LIMIT:
            reply = DNSRecord(DNSHeader(id=query.header.id, qr=1, aa=1, ra=1, rd=query.header.rd, tc=1))
            reply.add_question(query.q)
            packed = reply.pack()
        self._answers[key] = bytes(packed[2:])
        if len(self._answers) > ANSWERS_MAX:
            self._answers.popitem(last=False)
        return packed

    def answer(self, query: DNSRecord, view: str = DEFAULT_VIEW) -> DNSRecord:
        reply = query.reply(ra=1, aa=1)
        if not query.questions:
            reply.header.rcode = RCODE.FORMERR
            return reply
        qname = str(query.q.qname)
        name, qtype = _norm(qname), query.q.qtype
        if name.endswith(".in-addr.arpa"):
            return self._answer_ptr(reply, name, view)
        if name != self.domain and not name.endswith("." + self.domain):
            outside = self.resolve_a(name, view)  # the lab's few Internet names (network/internet.py)
            if outside and qtype in (QTYPE.A, QTYPE.ANY):
                reply.header.aa = 0  # a recursive answer, not from this zone
                for ip in outside:
                    reply.add_answer(RR(qname, QTYPE.A, rdata=A(ip), ttl=self.ttl))
                return reply
            reply.header.rcode = RCODE.SERVFAIL  # offline lab: no forwarder reachable
            reply.header.aa = 0
            return reply
        found = False
        addrs = self.resolve_a(name, view)
        if addrs:
            found = True
            if qtype in (QTYPE.A, QTYPE.ANY):
                for ip in addrs:
                    reply.add_answer(RR(qname, QTYPE.A, rdata=A(ip), ttl=self.ttl))
        srvs = self._srv.get(name, [])
        if srvs:
            found = True
            if qtype in (QTYPE.SRV, QTYPE.ANY):
                for s in srvs:
                    rdata = SRV(priority=s.priority, weight=s.weight, port=s.port, target=s.target + ".")
                    reply.add_answer(RR(qname, QTYPE.SRV, rdata=rdata, ttl=self.ttl))
                    for ip in self.resolve_a(s.target, view):
                        reply.add_ar(RR(s.target + ".", QTYPE.A, rdata=A(ip), ttl=self.ttl))
        if name == self.domain:
            found = True
            if qtype in (QTYPE.SOA, QTYPE.ANY):
                reply.add_answer(RR(qname, QTYPE.SOA, rdata=self._soa(), ttl=3600))
            if qtype in (QTYPE.NS, QTYPE.ANY):
                reply.add_answer(RR(qname, QTYPE.NS, rdata=NS(self.server_name + "."), ttl=3600))
        if not found and self._has_descendant(name, view):
            found = True  # empty non-terminal such as _tcp.lab.test
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
        if not reply.rr:  # NXDOMAIN or no data: the SOA goes in the authority section
            reply.add_auth(RR(self.domain + ".", QTYPE.SOA, rdata=self._soa(), ttl=3600))
        return reply

    def _soa(self) -> SOA:
        return SOA(
            mname=self.server_name + ".",
            rname=f"hostmaster.{self.domain}.",
            times=(1, 900, 600, 86400, 3600),
        )

    def _has_descendant(self, name: str, view: str) -> bool:
        inner = self._inner.get(view)
        return (
            self._inner[DEFAULT_VIEW][name] > 0
            or (inner is not None and inner[name] > 0)
            or (self._srv_inner[name] > 0)
        )

    def _answer_ptr(self, reply: DNSRecord, name: str, view: str) -> DNSRecord:
        parts = name[: -len(".in-addr.arpa")].split(".")
        ip = ".".join(reversed(parts))
        names = list(self._ptr[DEFAULT_VIEW].get(ip, []))
        names += [n for n in self._ptr.get(view, {}).get(ip, []) if n not in names]
        for n in names:
            reply.add_answer(RR(name + ".", QTYPE.PTR, rdata=PTR(n + "."), ttl=self.ttl))
        if not names:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply
