"""The KMS network path of one host: SRV discovery, the registered host, TCP 1688 -> one finding.

Only called for products that depend on KMS (unlicensed VOLUME_KMSCLIENT products, or a MAK the
admin opted into converting). Each finding names its cause id (kms/causes.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from remediate.core.diagnosis import Diagnosis
from remediate.core.i18n import _ as tr
from remediate.domains.kms.causes import CAUSES
from remediate.domains.kms.evidence import View, host_name

NETWORK = frozenset({"0xC004F074", "0xC0020017", "0x8007139F", "0xC004F039", "0x800706BA"})
DNS_MISSING = frozenset({"0x8007232B", "0x8007007B", "0x8007251D", "0x80092328"})
DNS_FAIL = frozenset({"0x8007232A"})
FIREWALL = CAUSES["kms.firewall"]
HANDLED = NETWORK | DNS_MISSING | DNS_FAIL


def diag(
    cause_id: str | None, code: str | None, cause: str, action: str, auto: bool, ev: Iterable[str],
    title: str | None = None,
) -> Diagnosis:  # fmt: skip
    """A finding; its title is the cause's title unless given."""
    name = title or (CAUSES[cause_id] if cause_id else "Finding")
    return Diagnosis(code, name, cause, action, auto, tuple(dict.fromkeys(ev)), cause_id)


def first(codes: Iterable[str], v: View) -> str | None:
    return next((c for c in codes if c in v.codes), None)


def network(v: View, kms_host: str | None) -> Diagnosis | None:
    """SRV + TCP 1688 + registered host + codes -> one network/DNS finding, or None when the path
    is open (then the caller decides between "not activated" and "reachable but failed")."""
    seen_net = set(v.codes) & NETWORK
    code = first(["0xC004F074", *sorted(seen_net)], v)
    ev = v.evidence_for(seen_net | (set(v.codes) & (DNS_MISSING | DNS_FAIL)))
    targets = [t for t, _ in v.srv_targets]
    port_of = dict(v.srv_targets)
    given = kms_host.lower() if kms_host else None
    given_answers = bool(given) and v.reach.get(host_name(given) or "") is True

    def firewall(hosts: list[str]) -> Diagnosis:
        names = ", ".join(hosts)
        return diag(
            "kms.firewall",
            code or "0xC004F074",
            f"TCP 1688 from this host to the KMS host ({names}) is closed although the KMS host is "
            "known; a firewall, routing/VPN (e.g. off-site without VPN) or a stopped KMS service "
            "blocks activation.",
            tr(
                "Open TCP 1688 from this host to {hosts} (host and network firewalls, VPN/forced "
                "tunneling, routing) or check sppsvc on the KMS host; do not re-activate until "
                "Test-NetConnection {first} -Port 1688 succeeds."
            ).format(hosts=names, first=hosts[0]),
            False,
            [*ev, v.srv_words(), *[v.reach_words(h) for h in hosts]],
        )

    def insufficient(what: str, check: str) -> Diagnosis:
        return diag(
            "kms.insufficient", code, what, check, False,
            [*ev, v.srv_words(), *[v.reach_words(h) for h in v.reach]],
        )  # fmt: skip

    def move_to(current: str, new: str, why: str) -> Diagnosis:
        return diag(
            "kms.wrong_kms_host",
            code,
            f"This host uses {current}, which does not answer on TCP 1688, while {new} does ({why}).",
            tr(
                "Set the KMS host: slmgr /skms {host} (or slmgr /ckms to use DNS discovery), then "
                "slmgr /ato. windows-kms.yml does this when kms_host is given."
            ).format(host=new),
            True,
            [*ev, v.srv_words(), v.reach_words(current), v.reach_words(new.split(":")[0])],
        )

    reg = v.registered
    if reg is not None:
        r = v.reach.get(reg)
        others = [t for t in targets if t != reg]
        alive = [t for t in others if v.reach.get(t) is True]
        ev.append(f"registered KMS host (slmgr /skms): {reg}")
        if r is False and given and given != reg and v.reach.get(given) is True:
            return move_to(reg, given, "kms_host")
        if r is False and alive:
            return move_to(reg, f"{alive[0]}:{port_of.get(alive[0], 1688)}", "published in DNS")
        if r is False and others and all(v.reach.get(t) is None for t in others):
            return insufficient(
                f"The registered KMS host {reg} is unreachable on TCP 1688; DNS publishes "
                f"{', '.join(others)}, whose port 1688 was not tested.",
                f"Test-NetConnection {others[0]} -Port 1688: if it succeeds the registered "
                f"host is stale (slmgr /skms {others[0]}); if not, a firewall blocks KMS.",
            )
        if r is False:
            return firewall([reg, *[t for t in others if v.reach.get(t) is False]])
        if r is True:
            return None
        return insufficient(
            f"Port 1688 to the registered KMS host {reg} was not tested.",
            f"Test-NetConnection {reg} -Port 1688; nslookup -type=SRV _vlmcs._tcp; Application "
            "log event 12288.",
        )
    if v.srv_known and not targets:
        if v.srv_error in (None, "nxdomain"):
            return no_srv(v, kms_host, given_answers)
        return diag(
            "kms.dns_failed",
            first(DNS_FAIL, v) or code,
            f"The _vlmcs._tcp query failed ({v.srv_error}); the host cannot discover a KMS host.",
            "Repair DNS (server reachability, forwarders) or set kms_host so the host does not "
            "need discovery (slmgr /skms).",
            given_answers,
            [*ev, v.srv_words()],
        )
    if targets:
        states = [v.reach.get(t) for t in targets]
        if True in states:
            return None
        if given and given not in targets and v.reach.get(given) is True:
            return move_to(targets[0], given, "kms_host")
        if False in states:
            return firewall([t for t in targets if v.reach.get(t) is False])
        return insufficient(
            "DNS publishes a KMS host but TCP 1688 to it was not tested.",
            f"Test-NetConnection {targets[0]} -Port 1688; event 12288.",
        )
    # No SRV fact and no registered host: rely on the codes and any port test.
    if set(v.codes) & DNS_MISSING:
        return no_srv(v, kms_host, given_answers)
    closed = [h for h, ok in v.reach.items() if not ok]
    if closed and not any(v.reach.values()):
        return firewall(closed)
    if any(v.reach.values()):
        return None
    return insufficient(
        "Activation could not contact any KMS host; no DNS or port facts were gathered.",
        "nslookup -type=SRV _vlmcs._tcp; Test-NetConnection <kms> -Port 1688; "
        "Application log event 12288 (its first field is the per-host error).",
    )


def no_srv(v: View, kms_host: str | None, fixable: bool) -> Diagnosis:
    """No SRV record; fixable (by slmgr /skms kms_host) only when kms_host answers on TCP 1688."""
    action = (
        tr("Set the KMS host: slmgr /skms {host}, then slmgr /ato (windows-kms.yml does this).").format(
            host=kms_host
        )
        if kms_host
        else "Publish a _vlmcs._tcp SRV record (port 1688) for the KMS host in this "
        "host's DNS domain, or set the kms_host variable so the playbook runs slmgr /skms."
    )
    return diag(
        "kms.no_srv",
        first(sorted(DNS_MISSING), v) or "0x8007232B",
        "DNS has no _vlmcs._tcp record for this host's domain and no KMS host is set, so KMS "
        "discovery finds nothing.",
        action,
        fixable,
        [*v.evidence_for(DNS_MISSING | NETWORK), v.srv_words(), "registered KMS host: none"],
    )


def reachable_host(v: View) -> str | None:
    """The KMS host this host would use and can reach: registered, else an SRV target."""
    if v.registered is not None:
        return v.registered if v.reach.get(v.registered) else None
    return next((t for t, _ in v.srv_targets if v.reach.get(t)), None) or next(
        (h for h, ok in v.reach.items() if ok and not v.srv_targets), None
    )
