"""Diagnosis of KMS activation failures: combine a host's facts into cause -> action findings.

Reads the facts through evidence.read_facts (license, office, srv, TCP tests, clock, events,
activation); every fact may be missing. Findings are specific when the evidence agrees and say
"insufficient evidence" (with what to check) when it is missing or conflicts. A healthy host gives [].
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from remediate.diagnosis import Diagnosis
from remediate.kms.errors import ENTRIES
from remediate.kms.evidence import View, as_map, code_of, host_name, read_facts
from remediate.kms.gvlk import edition_from_name, gvlk_for
from remediate.kms.parsers.slmgr import channel_of

KMS_CHANNEL = "VOLUME_KMSCLIENT"
SKEW_LIMIT_S = 4 * 3600  # KMS rejects requests more than 4 hours off (0xC004F06C)
NETWORK = frozenset({"0xC004F074", "0xC0020017", "0x8007139F", "0xC004F039", "0x800706BA"})
DNS_MISSING = frozenset({"0x8007232B", "0x8007007B", "0x8007251D", "0x80092328"})
DNS_FAIL = frozenset({"0x8007232A"})
STORE = frozenset({"0xC004F012", "0xC004E015", "0xC004E002"})
CLOCK = "0xC004F06C"
COUNT = "0xC004F038"
FIREWALL = "Firewall between host and KMS"


def _unlicensed(products: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [p for p in products if p.get("license_status") not in (None, "licensed")]


def _diag(code: str | None, title: str, cause: str, action: str, auto: bool, ev: list[str]) -> Diagnosis:
    return Diagnosis(code, title, cause, action, auto, tuple(dict.fromkeys(ev)))


def _first(codes: Iterable[str], v: View) -> str | None:
    return next((c for c in codes if c in v.codes), None)


def _network(v: View, kms_host: str | None) -> tuple[list[Diagnosis], set[str]]:
    """SRV + TCP 1688 + registered host + codes -> one network/DNS finding (or none)."""
    seen_net = set(v.codes) & NETWORK
    need = bool(_unlicensed(v.windows) or _unlicensed(v.office) or seen_net or set(v.codes) & DNS_MISSING)
    if not need:
        return [], set()
    handled = set(NETWORK | DNS_MISSING | DNS_FAIL)
    code = _first(["0xC004F074", *sorted(seen_net)], v)
    ev = v.evidence_for(seen_net | (set(v.codes) & (DNS_MISSING | DNS_FAIL)))
    targets = [t for t, _ in v.srv_targets]
    port_of = dict(v.srv_targets)

    def firewall(hosts: list[str]) -> Diagnosis:
        names = ", ".join(hosts)
        return _diag(
            code or "0xC004F074",
            FIREWALL,
            f"TCP 1688 from this host to the KMS host ({names}) is closed although the KMS host is "
            "known; a firewall, routing/VPN (e.g. off-site without VPN) or a stopped KMS service "
            "blocks activation.",
            f"Open TCP 1688 from this host to {names} (host and network firewalls, VPN/forced "
            "tunneling, routing) or check sppsvc on the KMS host; do not re-activate until "
            f"Test-NetConnection {hosts[0]} -Port 1688 succeeds.",
            False,
            [*ev, v.srv_words(), *[v.reach_words(h) for h in hosts]],
        )

    def insufficient(what: str, check: str) -> Diagnosis:
        return _diag(
            code,
            "Insufficient evidence: KMS contact",
            what,
            check,
            False,
            [*ev, v.srv_words(), *[v.reach_words(h) for h in v.reach]],
        )

    reg = v.registered
    if reg is not None:
        r = v.reach.get(reg)
        others = [t for t in targets if t != reg]
        alive = [t for t in others if v.reach.get(t) is True]
        ev.append(f"registered KMS host (slmgr /skms): {reg}")
        if r is False and alive:
            new = f"{alive[0]}:{port_of.get(alive[0], 1688)}"
            return [
                _diag(
                    code,
                    "Registered KMS host is wrong or decommissioned",
                    f"This host is pinned to {reg}, which does not answer on TCP 1688, while DNS "
                    f"publishes {alive[0]}, which does.",
                    f"Set the KMS host: slmgr /skms {new} (or slmgr /ckms to use DNS discovery), then "
                    "slmgr /ato. windows-kms.yml does this when kms_host is given.",
                    True,
                    [*ev, v.srv_words(), v.reach_words(reg), v.reach_words(alive[0])],
                )
            ], handled
        if r is False and others and all(v.reach.get(t) is None for t in others):
            return [
                insufficient(
                    f"The registered KMS host {reg} is unreachable on TCP 1688; DNS publishes "
                    f"{', '.join(others)}, whose port 1688 was not tested.",
                    f"Test-NetConnection {others[0]} -Port 1688: if it succeeds the registered "
                    f"host is stale (slmgr /skms {others[0]}); if not, a firewall blocks KMS.",
                )
            ], handled
        if r is False:
            return [firewall([reg, *[t for t in others if v.reach.get(t) is False]])], handled
        if r is True:
            return _reachable_but_failed(v, code, ev, reg), handled
        if seen_net:
            return [
                insufficient(
                    f"Activation could not contact KMS and port 1688 to the registered host {reg} "
                    "was not tested.",
                    f"Test-NetConnection {reg} -Port 1688; nslookup -type=SRV "
                    "_vlmcs._tcp; Application log event 12288.",
                )
            ], handled
        return [], handled
    if v.srv_known and not targets and v.srv_error in (None, "nxdomain"):
        return [_no_srv(v, kms_host)], handled
    if v.srv_known and not targets:
        return [
            _diag(
                _first(DNS_FAIL, v) or code,
                "DNS lookup of the KMS SRV record failed",
                f"The _vlmcs._tcp query failed ({v.srv_error}); the host cannot discover a KMS host.",
                "Repair DNS (server reachability, forwarders) or set kms_host so the host does not "
                "need discovery (slmgr /skms).",
                bool(kms_host),
                [*ev, v.srv_words()],
            )
        ], handled
    if targets:
        states = [v.reach.get(t) for t in targets]
        if True in states:
            return _reachable_but_failed(v, code, ev, targets[states.index(True)]), handled
        if False in states:
            return [firewall([t for t in targets if v.reach.get(t) is False])], handled
        if seen_net:
            return [
                insufficient(
                    "DNS publishes a KMS host but TCP 1688 to it was not tested.",
                    f"Test-NetConnection {targets[0]} -Port 1688; event 12288.",
                )
            ], handled
        return [], handled
    # No SRV fact and no registered host: rely on the codes and any port test.
    if set(v.codes) & DNS_MISSING:
        return [_no_srv(v, kms_host)], handled
    closed = [h for h, ok in v.reach.items() if not ok]
    if closed and not any(v.reach.values()):
        return [firewall(closed)], handled
    if seen_net:
        return [
            insufficient(
                "Activation could not contact any KMS host; no DNS or port facts were gathered.",
                "nslookup -type=SRV _vlmcs._tcp; Test-NetConnection <kms> -Port 1688; "
                "Application log event 12288 (its first field is the per-host error).",
            )
        ], handled
    return [], handled


def _no_srv(v: View, kms_host: str | None) -> Diagnosis:
    action = (
        f"Set the KMS host: slmgr /skms {kms_host}, then slmgr /ato (windows-kms.yml does this)."
        if kms_host
        else "Publish a _vlmcs._tcp SRV record (port 1688) for the KMS host in this "
        "host's DNS domain, or set the kms_host variable so the playbook runs slmgr /skms."
    )
    return _diag(
        _first(sorted(DNS_MISSING), v) or "0x8007232B",
        "No KMS SRV record",
        "DNS has no _vlmcs._tcp record for this host's domain and no KMS host is set, so KMS "
        "discovery finds nothing.",
        action,
        bool(kms_host),
        [*v.evidence_for(DNS_MISSING | NETWORK), v.srv_words(), "registered KMS host: none"],
    )


def _reachable_but_failed(v: View, code: str | None, ev: list[str], host: str) -> list[Diagnosis]:
    if code is None:
        return []  # KMS reachable and no contact error: nothing network-related to report
    return [
        _diag(
            code,
            "Insufficient evidence: KMS reachable but activation failed",
            f"TCP 1688 to {host} is open, yet activation reports {code}; the network checks do not "
            "explain the failure.",
            "Read event 12288 on this host (first field: the KMS host's answer) and event 12290 / "
            f"sppsvc on {host}; check the KMS host key covers this OS and the clocks agree.",
            False,
            [*ev, v.srv_words(), v.reach_words(host)],
        )
    ]


def diagnose(
    facts: Mapping[str, Any],
    failed_steps: Sequence[str],
    *,
    variables: Mapping[str, Any] | None = None,
) -> list[Diagnosis]:
    """Findings for one host (see module doc); `variables` are the playbook vars (kms_host, allow_gvlk)."""
    vars_ = {**as_map(facts.get("vars")), **(variables or {})}
    kms_host = str(vars_["kms_host"]) if vars_.get("kms_host") else None
    v = read_facts(facts)
    out: list[Diagnosis] = []
    handled: set[str] = set()

    if store := sorted(set(v.codes) & STORE):
        handled |= STORE
        out.append(
            _diag(
                store[0],
                "License store damaged",
                f"The licensing service cannot read its store (tokens.dat): {', '.join(store)}.",
                ENTRIES["0xC004F012"].fix,
                False,
                v.evidence_for(store),
            )
        )
    out += _clock(v)
    handled.add(CLOCK)
    allow_gvlk = bool(vars_.get("allow_gvlk"))
    for p in _unlicensed(v.windows):
        channel = (p.get("channel") or channel_of(p.get("description")) or "").upper()
        if channel and channel != KMS_CHANNEL:
            edition = edition_from_name(str(p.get("name") or ""))
            key = gvlk_for("windows", edition) if edition else None
            how = f"slmgr /ipk {key}" if key else "slmgr /ipk <GVLK for this edition and version>"
            out.append(
                _diag(
                    None,
                    "Not a KMS client key",
                    f"{p.get('name') or 'Windows'} has a {channel} key, which a KMS host cannot activate.",
                    f"Install the KMS client key ({how}), then slmgr /ato; windows-kms.yml does this "
                    "with allow_gvlk: true.",
                    allow_gvlk,
                    [f"channel {channel}, status {p.get('license_status')}"],
                )
            )
    net, h = _network(v, kms_host)
    out += net
    handled |= h
    if COUNT in v.codes:
        handled.add(COUNT)
        out.append(
            _diag(
                COUNT,
                "KMS count too low",
                "The KMS host answered but has not yet seen enough clients (25 for Windows clients, "
                "5 for servers) to activate this one.",
                ENTRIES[COUNT].fix,
                False,
                v.evidence_for([COUNT]),
            )
        )
    out += _office(v, out)
    out += _generic(v, handled)
    if not any("Office" not in d.title for d in out):  # nothing explains Windows yet
        out += _windows_pending(v, failed_steps, bool(out))
    return out


def _clock(v: View) -> list[Diagnosis]:
    ev = v.evidence_for([CLOCK])
    if v.skew is not None and abs(v.skew) > SKEW_LIMIT_S:
        return [
            _diag(
                CLOCK,
                "Clock skew",
                f"This host's clock is {v.skew / 3600:+.1f} h off; KMS rejects requests more than 4 h "
                "off (UTC).",
                "Fix time synchronization first (w32tm /resync; NTP or the domain hierarchy), then activate.",
                False,
                [*ev, f"clock skew {v.skew:+.0f} s"],
            )
        ]
    if CLOCK in v.codes:
        if v.skew is not None:
            return [
                _diag(
                    CLOCK,
                    "Clock skew on the KMS host",
                    f"KMS rejected the request timestamp but this host is only {v.skew:+.0f} s off; the "
                    "KMS host's clock is the likely one.",
                    "Check and fix the KMS host's time (w32tm /query /status there), then activate.",
                    False,
                    [*ev, f"clock skew {v.skew:+.0f} s"],
                )
            ]
        return [
            _diag(
                CLOCK,
                "Clock skew",
                "KMS rejected the request timestamp (clocks > 4 h apart); this "
                "host's clock offset was not measured.",
                "Compare UTC time on this host and the KMS host, fix time sync, then activate.",
                False,
                ev,
            )
        ]
    return []


def _office(v: View, found: list[Diagnosis]) -> list[Diagnosis]:
    pending = _unlicensed(v.office)
    if not pending:
        return []
    names = ", ".join(str(p.get("license_name") or "Office") for p in pending)
    ev = [f"{p.get('license_name')}: {p.get('license_status')}" for p in pending]
    foreign = [p for p in pending if (channel_of(p.get("license_description")) or KMS_CHANNEL) != KMS_CHANNEL]
    if foreign:
        return [
            _diag(
                None,
                "Office product not a KMS client key",
                f"{names}: not a VOLUME_KMSCLIENT license.",
                "Install the Office GVLK (ospp.vbs /inpkey:<GVLK>, see the GVLK table), then /act.",
                False,
                ev,
            )
        ]
    if any(d.title in {FIREWALL, "No KMS SRV record"} or d.title.startswith("Insufficient") for d in found):
        return [
            _diag(
                None,
                "Office not activated",
                f"{names} cannot reach KMS either (see the network finding).",
                "Fix the KMS network path first, then ospp.vbs /act.",
                False,
                ev,
            )
        ]
    alive = [h for h, ok in v.reach.items() if ok]
    office_host = next((h for p in pending if (h := host_name(p.get("kms_machine")))), None)
    if alive:
        host = office_host if office_host in alive else alive[0]
        code = next((c for p in pending if (c := code_of(p.get("error_code")))), None)
        return [
            _diag(
                code,
                "Office not activated",
                f"{names} is not activated although KMS host {host} answers on TCP 1688.",
                f"ospp.vbs /sethst:{host} /setprt:1688 then /act (office-kms.yml).",
                True,
                [*ev, v.reach_words(host)],
            )
        ]
    return [
        _diag(
            None,
            "Insufficient evidence: Office not activated",
            f"{names} is not activated and no KMS reachability was measured.",
            "Test-NetConnection <kms> -Port 1688, then ospp.vbs /act.",
            False,
            ev,
        )
    ]


def _generic(v: View, handled: set[str]) -> list[Diagnosis]:
    out = []
    for code in sorted(set(v.codes) - handled):
        entry = ENTRIES.get(code)
        if entry is None:
            out.append(
                _diag(
                    code,
                    f"Unknown activation error {code}",
                    f"{code} is not in the knowledge base.",
                    f"On the host run 'slui.exe 0x2a {code}' for Windows' text.",
                    False,
                    v.evidence_for([code]),
                )
            )
        elif not entry.informational:
            out.append(
                _diag(
                    code,
                    f"Activation error {code}",
                    entry.meaning,
                    entry.fix,
                    entry.automatable,
                    v.evidence_for([code]),
                )
            )
    return out


def _windows_pending(v: View, failed_steps: Sequence[str], other: bool) -> list[Diagnosis]:
    pending = [p for p in _unlicensed(v.windows) if (p.get("channel") or KMS_CHANNEL) == KMS_CHANNEL]
    ev = [f"{p.get('name') or 'Windows'}: {p.get('license_status')}" for p in pending]
    ev += [f"failed step: {s}" for s in failed_steps]
    if pending and any(v.reach.values()):
        host = next(h for h, ok in v.reach.items() if ok)
        return [
            _diag(
                _first(v.codes, v),
                "Windows not activated",
                "A KMS host answers on TCP 1688 but Windows has not activated yet.",
                "slmgr /ato (windows-kms.yml).",
                True,
                [*ev, v.reach_words(host)],
            )
        ]
    if pending and not other:
        return [
            _diag(
                None,
                "Insufficient evidence: Windows not activated",
                "Windows is not activated and the facts do not show why.",
                "Gather kms-health.yml facts: SRV lookup, TCP 1688 to the "
                "KMS host, clock, SPP events (12288/12289).",
                False,
                [*ev, v.srv_words()],
            )
        ]
    if failed_steps and not other and not v.windows and not v.office:
        return [
            _diag(
                None,
                "Insufficient evidence",
                "Steps failed but no license facts were gathered.",
                "Check the failed steps' output; run kms-health.yml.",
                False,
                ev,
            )
        ]
    return []
