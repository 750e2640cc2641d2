"""The lab hosts' DNS client (activation.query, dnslib on bare sockets) answers exactly as the
dnspython client it replaced, against the lab's DNS server: A, SRV (truncated over UDP at 40
records, then TCP), PTR, NXDOMAIN, an outside name, a silent port."""

from __future__ import annotations

import asyncio
import socket

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

from remediate.lab.network.dns import LabDns
from remediate.lab.windows import activation
from remediate.lab.windows.activation import SrvAnswer, SrvRecord


async def _reference(server: tuple[str, int], name: str, rdtype: str, waits: tuple[float, ...]) -> SrvAnswer:
    """activation.query before this change (dnspython's asyncquery), kept to compare against."""
    q = dns.message.make_query(name, rdtype)
    ip, port = server
    resp: dns.message.Message | None = None
    for wait in waits:
        try:
            resp = await dns.asyncquery.udp(q, ip, port=port, timeout=wait)
            if resp.flags & dns.flags.TC:
                resp = await dns.asyncquery.tcp(q, ip, port=port, timeout=wait)
            break
        except dns.exception.Timeout:
            continue
        except OSError as exc:
            return SrvAnswer(rcode=dns.rcode.SERVFAIL, error=str(exc))
    if resp is None:
        return SrvAnswer(rcode=dns.rcode.SERVFAIL, error="timeout")
    ans = SrvAnswer(rcode=resp.rcode(), authoritative=bool(resp.flags & dns.flags.AA))
    for rrset in resp.answer:
        for rd in rrset:
            if rrset.rdtype == dns.rdatatype.SRV:
                ans.records.append(SrvRecord(str(rd.target).rstrip("."), rd.port, rd.priority, rd.weight))
            elif rrset.rdtype == dns.rdatatype.A:
                ans.addresses[str(rrset.name).rstrip(".")] = str(rd.address)
            elif rrset.rdtype == dns.rdatatype.PTR:
                ans.names.append(str(rd.target).rstrip("."))
    for rrset in resp.additional:
        if rrset.rdtype == dns.rdatatype.A:
            for rd in rrset:
                ans.addresses[str(rrset.name).rstrip(".")] = str(rd.address)
    return ans


QUESTIONS = [
    ("kms01.lab.test", "A"),
    ("KMS01.Lab.Test", "A"),
    ("_vlmcs._tcp.lab.test", "SRV"),
    ("_big._tcp.lab.test", "SRV"),  # 40 records: TC over UDP, answered over TCP
    ("10.0.9.127.in-addr.arpa", "PTR"),
    ("nothere.lab.test", "A"),
    ("_tcp.lab.test", "A"),  # empty non-terminal: NOERROR, no records
    ("www.example.invalid", "A"),  # outside the zone: SERVFAIL
    ("kms01.lab.test", "MX"),
]


def test_same_answers_as_dnspython() -> None:
    async def main() -> None:
        zone = LabDns("lab.test")
        zone.add_a("kms01.lab.test", "127.9.0.10")
        zone.add_srv("kms01.lab.test")
        for i in range(40):
            zone.add_a(f"kms-{i:02d}.lab.test", f"127.9.1.{i + 1}")
            target = f"kms-{i:02d}.lab.test"
            zone.add_srv(target, 1688 + i, priority=i % 3, weight=i, name="_big._tcp.lab.test")
        port = await zone.listen("127.0.0.1", 0)
        try:
            hits = activation._decode.cache_info().hits
            for _round in range(2):  # the second round parses nothing: answers come from the cache
                for name, rdtype in QUESTIONS:
                    new = await activation.query(("127.0.0.1", port), name, rdtype, waits=(2.0,))
                    old = await _reference(("127.0.0.1", port), name, rdtype, (2.0,))
                    assert new == old, (name, rdtype)
                    new.records.clear()  # each answer is the caller's own: the cache keeps its copy
            assert activation._decode.cache_info().hits >= hits + len(QUESTIONS)
            assert activation._decode.cache_info().maxsize == 1024  # bounded
            assert activation._question.cache_info().maxsize == 1024
            big = await activation.query(("127.0.0.1", port), "_big._tcp.lab.test", "SRV", waits=(2.0,))
            assert len(big.records) == 40  # came over TCP
        finally:
            await zone.close()

    asyncio.run(main())


def test_silent_server_times_out_like_dnspython() -> None:
    async def main() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as quiet:  # bound, never answers
            quiet.bind(("127.0.0.1", 0))
            server = quiet.getsockname()
            new = await activation.query(server, "kms01.lab.test", "A", waits=(0.05, 0.05))
            old = await _reference(server, "kms01.lab.test", "A", (0.05, 0.05))
            assert new == old == SrvAnswer(rcode=dns.rcode.SERVFAIL, error="timeout")
            closed = ("127.0.0.1", 1)  # nothing listening: ICMP unreachable is still a timeout
            assert await activation.query(closed, "x.lab.test", "A", waits=(0.05,)) == await _reference(
                closed, "x.lab.test", "A", (0.05,)
            )

    asyncio.run(main())


def test_unknown_record_type_fails_as_before() -> None:
    with pytest.raises(dns.rdatatype.UnknownRdatatype):
        asyncio.run(activation.query(("127.0.0.1", 1), "x.lab.test", "NOTATYPE", waits=(0.05,)))
