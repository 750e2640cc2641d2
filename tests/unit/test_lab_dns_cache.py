"""LabDns caches packed answers: the same bytes as answering afresh (but for the echoed ID),
emptied by every record change, bounded by ANSWERS_MAX."""

from __future__ import annotations

from dnslib import DNSRecord

from remediate.lab.network import dns as labdns
from remediate.lab.network.dns import LabDns

QUESTIONS = [
    ("_vlmcs._tcp.lab.test", "SRV"),
    ("kms01.lab.test", "A"),
    ("KMS01.LAB.TEST", "A"),
    ("10.0.9.127.in-addr.arpa", "PTR"),
    ("nothere.lab.test", "A"),
    ("lab.test", "SOA"),
    ("_big._tcp.lab.test", "SRV"),  # truncated over UDP
    ("www.example.invalid", "A"),
]


def _zone() -> LabDns:
    zone = LabDns("lab.test")
    zone.add_a("kms01.lab.test", "127.9.0.10")
    zone.add_a("kms01.lab.test", "127.9.0.3", view="firewalled")
    zone.add_srv("kms01.lab.test")
    for i in range(40):
        zone.add_srv(f"kms-{i:02d}.lab.test", 1688 + i, name="_big._tcp.lab.test")
    return zone


def _fresh(zone: LabDns, wire: bytes, view: str, udp: bool) -> bytes | None:
    zone._answers.clear()
    return zone.handle(wire, view, udp=udp)


def test_cached_answers_equal_fresh_ones() -> None:
    zone = _zone()
    for name, qtype in QUESTIONS:
        for view in ("default", "firewalled"):
            for udp in (True, False):
                first = DNSRecord.question(name, qtype).pack()
                zone.handle(first, view, udp=udp)  # fills the cache
                again = DNSRecord.question(name, qtype).pack()  # another ID
                cached = zone.handle(again, view, udp=udp)
                assert cached is not None and cached[:2] == again[:2]
                assert cached == _fresh(zone, again, view, udp), (name, qtype, view, udp)


def test_record_changes_are_seen_at_once() -> None:
    zone = _zone()
    wire = DNSRecord.question("kms02.lab.test", "A").pack()
    assert DNSRecord.parse(zone.handle(wire, "default", udp=True) or b"").header.rcode == 3
    zone.add_a("kms02.lab.test", "127.9.0.11")
    assert [str(r.rdata) for r in DNSRecord.parse(zone.handle(wire, "default", udp=True) or b"").rr] == [
        "127.9.0.11"
    ]
    srv = DNSRecord.question("_vlmcs._tcp.lab.test", "SRV").pack()
    assert DNSRecord.parse(zone.handle(srv, "default", udp=True) or b"").rr
    zone.remove_srv()
    assert not DNSRecord.parse(zone.handle(srv, "default", udp=True) or b"").rr
    zone.add_srv("kms02.lab.test")
    assert DNSRecord.parse(zone.handle(srv, "default", udp=True) or b"").rr


def test_counts_every_query_and_stays_bounded() -> None:
    zone = _zone()
    before = zone.queries
    for i in range(labdns.ANSWERS_MAX + 300):
        zone.handle(DNSRecord.question(f"win-{i}.lab.test", "A").pack(), "default", udp=True)
    zone.handle(DNSRecord.question("win-1.lab.test", "A").pack(), "default", udp=True)
    assert zone.queries == before + labdns.ANSWERS_MAX + 301
    assert len(zone._answers) == labdns.ANSWERS_MAX
    assert zone.handle(b"\x00\x01garbage", "default", udp=True) is None
