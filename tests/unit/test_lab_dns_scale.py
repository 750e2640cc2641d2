"""The lab DNS answers in O(1) of the zone size: a 10,000-host burst must not scan every name.

Counts operations, not time: the zone's name tables are swapped for mappings that refuse to be
iterated, so any answer that walks the zone (the old PTR and empty-non-terminal lookups did) fails.
"""

from __future__ import annotations

from typing import Any, NoReturn

from dnslib import QTYPE, RCODE, DNSRecord

from remediate.lab.network.dns import DEFAULT_VIEW, LabDns


class _NoScan(dict[str, Any]):
    def _scan(self, *_a: object) -> NoReturn:
        raise AssertionError("DNS answer scanned the whole zone")

    __iter__ = items = keys = values = _scan  # type: ignore[assignment]


def _zone(hosts: int) -> LabDns:
    dns = LabDns("lab.test")
    dns.add_a("dc01.lab.test", "127.9.0.1")
    dns.add_a("kms01.lab.test", "127.9.0.10")
    dns.add_a("kms01.lab.test", "127.9.0.3", view="firewalled")
    dns.add_srv("kms01.lab.test")
    for i in range(hosts):
        dns.add_a(f"win-{i:05d}.lab.test", f"127.9.{1 + i // 254}.{i % 254 + 1}")
    for view in list(dns._a):
        dns._a[view] = _NoScan(dns._a[view])
    return dns


def _ask(dns: LabDns, name: str, qtype: str, view: str = DEFAULT_VIEW) -> DNSRecord:
    raw = dns.handle(DNSRecord.question(name, qtype).pack(), view, udp=True)
    assert raw is not None
    return DNSRecord.parse(raw)


def test_answers_do_not_scan_the_zone() -> None:
    dns = _zone(2000)
    ptr = _ask(dns, "1.0.9.127.in-addr.arpa", "PTR")
    assert [str(r.rdata) for r in ptr.rr] == ["dc01.lab.test."]
    srv = _ask(dns, "_vlmcs._tcp.lab.test", "SRV", view="firewalled")
    assert [str(r.rdata) for r in srv.ar] == ["127.9.0.3"]
    assert _ask(dns, "_tcp.lab.test", "A").header.rcode == RCODE.NOERROR  # empty non-terminal
    assert _ask(dns, "nothere.lab.test", "A").header.rcode == RCODE.NXDOMAIN
    assert _ask(dns, "win-01999.lab.test", "A").rr[0].rdata is not None
    assert _ask(dns, "3.0.9.127.in-addr.arpa", "PTR", view="firewalled").q.qtype == QTYPE.PTR


def test_removed_srv_name_is_gone_again() -> None:
    dns = _zone(3)
    assert dns.remove_srv() == 1
    assert _ask(dns, "_tcp.lab.test", "A").header.rcode == RCODE.NXDOMAIN
    assert _ask(dns, "_vlmcs._tcp.lab.test", "SRV").header.rcode == RCODE.NXDOMAIN
