"""The network side of `slmgr /ato` and `ospp /act`: real DNS SRV discovery and a real TCP KMS handshake.

Discovery follows Windows' KMS client order: the registered host (`/skms`, `/sethst`) if any, else the
`_vlmcs._tcp.<domain>` SRV records from the host's DNS server (dnspython, real UDP with TCP fallback).
The wire handshake (the lab's stand-in for the KMS RPC protocol) is kms.py's, client and server:
connect refused / 3 s timeout -> 0xC004F074.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import random
import socket
import struct
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dns.query
import dns.rcode
import dns.rdatatype
from dnslib import QTYPE, RCODE, DNSHeader, DNSQuestion, DNSRecord

from remediate.lab.network.kms import CLIENT_N_POLICY, SERVER_N_POLICY, kms_activate
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState, LicenseStatus, Product, SppEvent

KMS_DEFAULT_PORT = 1688
CONNECT_TIMEOUT = 3.0
DNS_TIMEOUT = 2.0
CLOCK_TOLERANCE = timedelta(hours=4)  # KMS rejects requests whose timestamp is off by more (0xC004F06C)

E_KMS_UNREACHABLE = 0xC004F074
E_DNS_NAME_NOT_EXIST = 0x8007232B
E_DNS_SERVER_FAILURE = 0x8007232A
E_CLOCK = 0xC004F06C
E_NO_INTERNET = 0x80072EE7  # online (MAK/retail) activation cannot reach Microsoft from the lab
E_LICENSE_STORE = 0xC004F012


@dataclass
class SrvRecord:
    target: str
    port: int
    priority: int
    weight: int


@dataclass
class SrvAnswer:
    """Result of one SRV query: records, additional A records, and how the server answered."""

    rcode: int  # dns.rcode value; NXDOMAIN = 3
    records: list[SrvRecord] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)  # target -> IPv4 from the additional section
    names: list[str] = field(default_factory=list)  # PTR targets
    authoritative: bool = False
    error: str | None = None  # "timeout" when the server did not answer


@dataclass
class ActivationOutcome:
    hresult: int  # 0 on success
    kms_host: str | None = None
    kms_port: int | None = None
    kms_ip: str | None = None
    epid: str | None = None
    discovered: bool = False  # True when the host came from DNS


# The lab hosts' DNS client. It speaks real DNS to the lab's server (UDP, TCP when truncated) with
# dnslib, the library that server answers with: dnspython's message objects and its asyncio
# datagram transport cost ~3x as much per query and were the largest part of the lab's CPU at
# 2,000 hosts (docs/performance.md). dnspython still names the record types (same errors for a
# type it does not know, e.g. `Resolve-DnsName -Type FOO`).
_NO_QUESTION_OK = (RCODE.FORMERR, RCODE.SERVFAIL, RCODE.NOTIMP, RCODE.REFUSED)


def _is_answer(q: DNSRecord, r: DNSRecord) -> bool:
    """dnspython's Message.is_response: same id, a response, same opcode, same question."""
    if r.header.id != q.header.id or not r.header.qr or r.header.opcode != q.header.opcode:
        return False
    if r.header.rcode in _NO_QUESTION_OK and not r.questions:
        return True
    return all(x in r.questions for x in q.questions) and all(x in q.questions for x in r.questions)


async def _udp(wire: bytes, ip: str, port: int, timeout: float) -> bytes:
    """One datagram exchange on an unconnected socket as dnspython's asyncio backend uses (an ICMP
    port unreachable is a timeout, not ECONNREFUSED); an answer from another address is refused."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_sendto(sock, wire, (ip, port))
        async with asyncio.timeout(timeout):
            data, source = await loop.sock_recvfrom(sock, 65535)
    if ipaddress.ip_address(source[0]) != ipaddress.ip_address(ip) or source[1] != port:
        raise dns.query.UnexpectedSource(  # type: ignore[no-untyped-call]
            f"got a response from {source} instead of {(ip, port)}"
        )
    return data


async def _tcp(wire: bytes, ip: str, port: int, timeout: float) -> bytes:
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection(ip, port)
        try:
            writer.write(struct.pack("!H", len(wire)) + wire)
            (size,) = struct.unpack("!H", await reader.readexactly(2))
            return await reader.readexactly(size)
        finally:
            writer.close()


@functools.lru_cache(maxsize=1024)
def _question(name: str, rdtype: str) -> bytes:
    """The packed query for name/rdtype with ID 0 (each query sends its own ID)."""
    qtype = int(dns.rdatatype.from_text(rdtype))  # dnspython's error for a type it does not know
    fqdn = name if name.endswith(".") else name + "."
    return bytes(DNSRecord(DNSHeader(id=0, rd=1), q=DNSQuestion(fqdn, qtype)).pack())


@dataclass(frozen=True)
class _Reply:
    tc: bool
    rcode: int
    aa: bool
    records: tuple[tuple[str, int, int, int], ...]  # SrvRecord fields: each answer gets its own
    addresses: tuple[tuple[str, str], ...]
    names: tuple[str, ...]


@functools.lru_cache(maxsize=1024)
def _decode(query: bytes, reply: bytes) -> _Reply | None:
    """What `reply` says, or None when it does not answer `query` (both given without their ID:
    a fleet's hosts get the same few answers, parsed once)."""
    q, r = DNSRecord.parse(b"\0\0" + query), DNSRecord.parse(b"\0\0" + reply)
    if not _is_answer(q, r):
        return None
    records, addresses, names = [], [], []
    for rr in r.rr:
        if rr.rtype == QTYPE.SRV:
            rd = rr.rdata
            records.append((str(rd.target).rstrip("."), rd.port, rd.priority, rd.weight))
        elif rr.rtype == QTYPE.A:
            addresses.append((str(rr.rname).rstrip("."), str(rr.rdata)))
        elif rr.rtype == QTYPE.PTR:
            names.append(str(rr.rdata.label).rstrip("."))
    addresses += [(str(rr.rname).rstrip("."), str(rr.rdata)) for rr in r.ar if rr.rtype == QTYPE.A]
    return _Reply(bool(r.header.tc), r.header.rcode, bool(r.header.aa), tuple(records), tuple(addresses),
                  tuple(names))  # fmt: skip


def _answering(wire: bytes, data: bytes) -> _Reply:
    got = _decode(wire[2:], bytes(data[2:]))
    if got is None or data[:2] != wire[:2]:
        raise dns.query.BadResponse
    return got


async def query(
    server: tuple[str, int],
    name: str,
    rdtype: str,
    waits: tuple[float, ...] | None = None,
) -> SrvAnswer:
    """A real DNS query against `server` (UDP, over TCP when truncated), retransmitted after each of
    `waits` (default: DNS_TIMEOUT, then twice it, twice, like the Windows DNS client) before it times out."""
    wire = random.getrandbits(16).to_bytes(2, "big") + _question(name, rdtype)[2:]
    ip, port = server
    got: _Reply | None = None
    for wait in waits or (DNS_TIMEOUT, 2 * DNS_TIMEOUT, 2 * DNS_TIMEOUT):
        try:
            got = _answering(wire, await _udp(wire, ip, port, wait))
            if got.tc:
                got = _answering(wire, await _tcp(wire, ip, port, wait))
            break
        except TimeoutError:  # a truncated UDP answer stays if its TCP retry times out (as before)
            continue
        except OSError as exc:
            return SrvAnswer(rcode=dns.rcode.SERVFAIL, error=str(exc))
    if got is None:
        return SrvAnswer(rcode=dns.rcode.SERVFAIL, error="timeout")
    return SrvAnswer(
        rcode=got.rcode,
        records=[SrvRecord(*r) for r in got.records],
        addresses=dict(got.addresses),
        names=list(got.names),
        authoritative=got.aa,
    )


async def resolve_host(state: HostState, host: str) -> str | None:
    """IPv4 for `host`: a literal IP as is, `localhost`, else an A query to the lab DNS server."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if host.lower() == "localhost":
        return "127.0.0.1"
    name = host if "." in host else f"{host}.{state.domain}"
    server = state.dns_server
    low = name.rstrip(".").lower()
    if state.public_dns_server and not (low == state.domain or low.endswith("." + state.domain)):
        server = state.public_dns_server  # off the corporate network: the ISP's resolver
    ans = await query(server, name, "A")
    return ans.addresses.get(name.rstrip(".").lower()) or next(iter(ans.addresses.values()), None)


def srv_order(records: list[SrvRecord]) -> list[SrvRecord]:
    """Lowest priority first, heavier weight first within a priority (deterministic RFC 2782 order)."""
    return sorted(records, key=lambda r: (r.priority, -r.weight, r.target))


def n_policy(state: HostState, product: Product) -> int:
    """The minimum KMS count this product needs: 5 for servers and Office, 25 for Windows clients
    (https://learn.microsoft.com/en-us/windows-server/get-started/kms-activation-planning)."""
    if product.application_id != WINDOWS_APP_ID or "server" in state.os_caption.lower():
        return SERVER_N_POLICY
    return CLIENT_N_POLICY


async def handshake(
    ip: str, port: int, activation_id: str, client_fqdn: str, policy: int | None = None
) -> tuple[int, str | None]:
    """Run the lab KMS exchange over a real TCP connection; (hresult, epid)."""
    try:
        line = await kms_activate(ip, port, activation_id, client_fqdn, CONNECT_TIMEOUT, policy)
    except (OSError, TimeoutError):
        return E_KMS_UNREACHABLE, None
    parts = line.split()
    if len(parts) >= 2 and parts[0] == "OK":
        return 0, parts[1]
    if len(parts) >= 2 and parts[0] == "ERR":
        try:
            return int(parts[1], 16), None
        except ValueError:
            pass
    return E_KMS_UNREACHABLE, None


async def activate(
    state: HostState, product: Product, registered: tuple[str | None, int | None]
) -> ActivationOutcome:
    """Resolve a KMS host (registered, else SRV), contact it, return the outcome (state untouched)."""
    host, port = registered
    candidates: list[tuple[str, int, str | None]] = []
    discovered = False
    if host:
        candidates.append((host, port or KMS_DEFAULT_PORT, None))
    else:
        ans = await query(state.dns_server, f"_vlmcs._tcp.{state.domain}", "SRV")
        if ans.error:
            return ActivationOutcome(E_DNS_SERVER_FAILURE)
        if not ans.records:
            return ActivationOutcome(E_DNS_NAME_NOT_EXIST)
        discovered = True
        for r in srv_order(ans.records):
            candidates.append((r.target, r.port, ans.addresses.get(r.target.lower())))
    last = ActivationOutcome(E_KMS_UNREACHABLE, candidates[0][0], candidates[0][1], discovered=discovered)
    for name, kport, ip in candidates:
        ip = ip or await resolve_host(state, name)
        if ip is None:
            continue
        hr, epid = await handshake(ip, kport, product.activation_id, state.fqdn, n_policy(state, product))
        last = ActivationOutcome(hr, name, kport, ip, epid, discovered)
        if hr == 0 and abs(state.clock_offset) > CLOCK_TOLERANCE:
            last.hresult, last.epid = E_CLOCK, None
        if hr != E_KMS_UNREACHABLE:
            break  # the KMS answered (OK or a definitive error): Windows stops trying other hosts
    return last


def _stamp(t: datetime) -> str:
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"  # 12288's "Client Time" format


def request_event(
    state: HostState, product: Product, hresult: int, server: str, t: datetime, status: int, minutes: int
) -> SppEvent:
    """12288: the client sent an activation request (hr, KMS host:port, CMID, time, status, minutes)."""
    info = (
        f"0x{hresult & 0xFFFFFFFF:08X}, 0x0, {server}, {state.cmid}, {_stamp(t)}, 0, "
        f"{status}, {minutes}, {product.activation_id}, 25"
    )
    head = "The client has sent an activation request to the key management service machine."
    return SppEvent(12288, t, "Information", f"{head}\r\nInfo:\r\n{info}")


def response_event(product: Product, t: datetime) -> SppEvent:
    """12289: the client processed the KMS host's answer (activated, KMS count, intervals)."""
    info = f"0x0, 0x4000008, 1, 0, 50, {product.activation_interval}, {product.renewal_interval}"
    head = "The client has processed an activation response from the key management service machine."
    return SppEvent(12289, t, "Information", f"{head}\r\nInfo:\r\n{info}")


def failed_event(product: Product, hresult: int, t: datetime) -> SppEvent:
    """8198: slui.exe's activation failed with `hresult`.

    RuleId eeba1977-... is the volume-licence activation rule: real 8198 events of KMS clients carry it
    (hr=0xC004F074 on Server 2012 in Technology Toolbox's public ops notes, EXT-DC03 2016; hr=0x8007232B
    in a public container event-log dump). 31e71c49-... (the lab's old value) shows up with retail SKUs.
    """
    msg = (
        "License Activation (slui.exe) failed with the following error code:\r\n"
        f"hr=0x{hresult & 0xFFFFFFFF:08X}\r\nCommand-line arguments:\r\n"
        f"RuleId=eeba1977-569e-4571-b639-7623d8bfecc0;Action=AutoActivate;AppId={product.application_id};"
        f"SkuId={product.activation_id};NotificationInterval=1440;Trigger=TimerEvent"
    )
    return SppEvent(8198, t, "Error", msg)


def apply_outcome(state: HostState, product: Product, out: ActivationOutcome) -> None:
    """Change state as Windows does after an activation attempt, and log the SPP events."""
    now = state.now()
    where = f"{out.kms_host}:{out.kms_port}" if out.kms_host else "(none)"
    state.events.append(
        request_event(state, product, out.hresult, where, now, int(product.status), product.grace_minutes)
    )
    if out.discovered and out.kms_host:
        state.kms_discovered = f"{out.kms_host}:{out.kms_port}"
    if out.kms_ip and out.hresult != E_KMS_UNREACHABLE:
        state.kms_client_ip = out.kms_ip
    if out.hresult == 0:
        product.status = LicenseStatus.LICENSED
        product.status_reason = 0
        product.grace_minutes = 259200
        product.licensed_until = now + timedelta(days=180)
        product.kms_pid = out.epid
        state.events.append(response_event(product, now))
    else:
        product.status_reason = out.hresult
        state.events.append(failed_event(product, out.hresult, now))
