"""Diagnosis of activation failures: combine a host's facts into cause -> action findings.

Channel-aware first: a product's channel decides which causes may be named at all. RETAIL, OEM
and Home products are explained, never given a KMS cause; a MAK gets the conversion cause
(`kms.convert_key`) only when the admin opted in (`convert_channels: [VOLUME_MAK]`, or the older
`allow_gvlk: true`), a published GVLK exists for that exact product and the KMS path works;
ADBA and AVMA products are labelled and left alone. Licensed products raise no license finding.
Then the KMS network path (network.py) and Office (diagnose_office.py). Every finding carries a
cause id from causes.py; fixes declare which ids they address.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from remediate.core.diagnosis import Diagnoser, Diagnosis
from remediate.core.i18n import _ as tr
from remediate.domains.kms.causes import CAUSES
from remediate.domains.kms.diagnose_kmshost import FACT_KEY as KMSHOST_FACT
from remediate.domains.kms.diagnose_kmshost import kmshost_findings
from remediate.domains.kms.diagnose_office import office_findings
from remediate.domains.kms.diagnose_office_os import office_os_findings
from remediate.domains.kms.diagnose_office_store import office_store_findings
from remediate.domains.kms.diagnose_retail import ONLINE, ONLINE_CAUSES, off_network, retail_finding
from remediate.domains.kms.evidence import (
    EVENT_WINDOW_HOURS,
    KMS_CHANNEL,
    View,
    as_map,
    host_name,
    licensed,
    product_channel,
    read_facts,
)
from remediate.domains.kms.functions import gvlk_for_product
from remediate.domains.kms.gvlk import edition_from_name
from remediate.domains.kms.kb import ENTRIES
from remediate.domains.kms.network import HANDLED, diag, network, reachable_host

SKEW_LIMIT_S = 4 * 3600  # KMS rejects requests more than 4 hours off (0xC004F06C)
STORE = frozenset({"0xC004F012", "0xC004E015", "0xC004E002"})
CLOCK = "0xC004F06C"
COUNT = "0xC004F038"
# Status reasons of a KMS client that simply has not activated yet (grace, expired grace, a
# freshly installed GVLK): with the KMS host reachable, /ato is the answer, not a KMS-side fault.
NOT_YET = frozenset({"0xC004F056", "0xC004F009", "0xC004F034"})
CONVERTIBLE = frozenset({"VOLUME_MAK"})  # channels an admin may opt into converting (never RETAIL/OEM)
FIREWALL = CAUSES["kms.firewall"]


def convert_channels(variables: Mapping[str, Any]) -> frozenset[str]:
    """The channels this run may convert to KMS: `convert_channels`, plus VOLUME_MAK when
    `allow_gvlk` is the boolean true (a string "false" is not consent)."""
    raw = variables.get("convert_channels") or []
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list | tuple) else []
    chosen = {str(c).upper() for c in items}
    if variables.get("allow_gvlk") is True:
        chosen.add("VOLUME_MAK")
    return frozenset(chosen & CONVERTIBLE)


def _window(value: Any) -> float | None:
    """`event_window_hours` (a number or numeric string; 0 = every event) -> hours; default 72."""
    if isinstance(value, bool) or value in (None, ""):
        return EVENT_WINDOW_HOURS
    try:
        return float(value)
    except (TypeError, ValueError):
        return EVENT_WINDOW_HOURS


def _retail(channel: str) -> bool:
    return channel == "RETAIL" or channel.startswith("OEM")


def _labels(p: Mapping[str, Any], channel: str) -> Diagnosis | None:
    name = str(p.get("name") or "Windows")
    if p.get("activated_by") == "ad":
        return diag(
            "activation.adba", None,
            f"{name} is activated by an Active Directory activation object (ADBA), not by a KMS host.",
            "Nothing for KMS to do: ADBA renews from the domain; manage it with slmgr /ao-list "
            "and the activation objects in AD.",
            False, [f"{name}: activated by AD"],
        )  # fmt: skip
    if "VIRTUAL_MACHINE" in channel or "AVMA" in channel or p.get("activated_by") == "avma":
        return diag(
            "activation.avma", None,
            f"{name} uses Automatic Virtual Machine Activation: its Hyper-V host activates it.",
            "Nothing for KMS to do; AVMA depends on the Hyper-V host's own activation.",
            False, [f"{name}: channel {channel}"],
        )  # fmt: skip
    return None


def _windows_product(
    p: Mapping[str, Any], channel: str, convert: frozenset[str], os_fact: Mapping[str, Any],
    facts: Mapping[str, Any], v: View,
) -> Diagnosis | str:  # fmt: skip
    """An unlicensed non-KMS product's finding, or "kms" / "convert" when it depends on KMS."""
    name = str(p.get("name") or "Windows")
    ev = [f"{name}: {p.get('license_status')}, channel {channel or 'unknown'}"]
    edition = edition_from_name(name) or ""
    if edition.lower().startswith("core"):
        return diag(
            "activation.home", None,
            f"{name} is a Home edition: Home has no volume licensing and no KMS client key.",
            "Activate it with its own retail/OEM key or digital license (Settings > Activation), or "
            "upgrade to Pro/Enterprise under your volume agreement; KMS cannot help.",
            False, ev,
        )  # fmt: skip
    if _retail(channel) and (online := retail_finding(facts, p, channel, v)) is not None:
        return online
    if _retail(channel):
        return diag(
            "activation.retail", None,
            f"{name} has a {channel} license: it activates with Microsoft over the Internet (or by "
            "phone), never with a KMS host.",
            "Let it reach Microsoft's activation servers (proxy/firewall; 0x80072EE7 means it "
            "cannot), then slmgr /ato; after a hardware change use the Activation troubleshooter "
            "or slui 4 (phone). Do not install a KMS client key on it.",
            False, ev,
        )  # fmt: skip
    if not channel:
        return diag(
            "activation.unknown_channel", None,
            f"The license channel of {name} could not be read, so it is not treated as a KMS client.",
            "Check slmgr /dli's Description line on the host (…, <CHANNEL> channel).",
            False, ev,
        )  # fmt: skip
    if channel != KMS_CHANNEL:
        if channel not in convert:
            return diag(
                "activation.mak" if channel == "VOLUME_MAK" else "kms.error", None,
                f"{name} has a {channel} key, which a KMS host cannot activate.",
                tr(
                    "Activate it online or by phone (slmgr /ato reaches Microsoft for a MAK), or opt in "
                    "to converting it: -e 'convert_channels=[\"{channel}\"]' with windows-kms.yml."
                ).format(channel=channel),
                False, ev,
            )  # fmt: skip
        version, caption = os_fact.get("version"), os_fact.get("caption")
        ver = version if isinstance(version, str) else None
        if gvlk_for_product(name, ver, caption if isinstance(caption, str) else None) is None:
            return diag(
                "activation.no_gvlk", None,
                f"{name} on {caption or version or 'an unknown OS version'} has no published KMS "
                "client key (GVLK), so it cannot be converted to KMS.",
                "Activate it on its own channel; check Microsoft's KMS client key table for this "
                "exact edition and version.",
                False, [*ev, f"OS: {caption or '?'} {version or '?'}"],
            )  # fmt: skip
        return "convert"
    return "kms"


def diagnose(
    facts: Mapping[str, Any],
    failed_steps: Sequence[str],
    *,
    variables: Mapping[str, Any] | None = None,
) -> list[Diagnosis]:
    """Findings for one host (see module doc); `variables`: playbook vars (kms_host, convert_channels)."""
    vars_ = {**as_map(facts.get("vars")), **(variables or {})}
    if KMSHOST_FACT in facts or "sppsvc" in facts:  # a KMS host (kms-host-health.yml)
        return kmshost_findings(facts, vars_)
    kms_host = str(vars_["kms_host"]) if vars_.get("kms_host") else None
    convert = convert_channels(vars_)
    os_fact = as_map(facts.get("os"))
    v = read_facts(facts, _window(vars_.get("event_window_hours")))
    out: list[Diagnosis] = []
    handled: set[str] = {CLOCK}

    if store := sorted(set(v.codes) & STORE):
        handled |= STORE
        out.append(
            diag(
                "kms.store_damaged", store[0],
                f"The licensing service cannot read its store (tokens.dat): {', '.join(store)}.",
                ENTRIES["0xC004F012"].fix, False, v.evidence_for(store),
            )
        )
    out += _clock(v)
    if COUNT in v.codes:
        handled.add(COUNT)
        out.append(
            diag(
                "kms.count_low", COUNT,
                "The KMS host answered but has not yet seen enough clients (25 for Windows clients, "
                "5 for servers) to activate this one.",
                ENTRIES[COUNT].fix, False, v.evidence_for([COUNT]),
            )
        )
    blocked = bool(out)  # store, clock or count: no activation can succeed now
    kms_pending: list[Mapping[str, Any]] = []
    converting: list[Mapping[str, Any]] = []
    for p in v.windows:
        channel = product_channel(p) or ""
        label = _labels(p, channel)
        if label is not None:
            out.append(label)
            continue
        if licensed(p):
            continue
        what = _windows_product(p, channel, convert, os_fact, facts, v)
        if isinstance(what, Diagnosis):
            out.append(what)
            if what.cause_id in ONLINE_CAUSES:
                handled |= ONLINE  # explained by the online-activation finding
        else:
            (converting if what == "convert" else kms_pending).append(p)
    office_kms = [p for p in v.office if not licensed(p) and product_channel(p) == KMS_CHANNEL]
    net = None
    if kms_pending or converting or office_kms:
        handled |= HANDLED
        net = network(v, kms_host)
        if net is not None and (home := off_network(facts, net, v)) is not None:
            net = home  # at home without VPN, not a firewall or a DNS fault
    # The conversion replaces a key: only when a KMS host answers now (the one this host uses,
    # or kms_host, which set-kms points it at), and nothing else blocks activation.
    given = host_name(kms_host)
    path_ok = (net is None and reachable_host(v) is not None) or (
        net is not None and net.automatable and given is not None and v.reach.get(given) is True
    )
    if net is not None and (kms_pending or (converting and path_ok and not blocked)):
        out.append(net)
    elif net is not None and converting:  # shown, but it names no cause: no /skms for a kept MAK
        out.append(replace(net, automatable=False, cause_id=None))
    if converting and path_ok and not blocked:
        for p in converting:
            name = str(p.get("name") or "Windows")
            out.append(
                diag(
                    "kms.convert_key", None,
                    f"{name} has a {product_channel(p)} key that is not activated, and this run may "
                    "convert that channel: its edition's KMS client key (GVLK) then activates it "
                    "against the reachable KMS host.",
                    "slmgr /ipk <GVLK for this edition and version>, then slmgr /ato "
                    "(windows-kms.yml, opted in with convert_channels).",
                    True, [f"{name}: {p.get('license_status')}, channel {product_channel(p)}"],
                )
            )
    elif converting:
        out.append(
            diag(
                "activation.mak", None,
                "A MAK product may be converted to KMS in this run, but the KMS path is not usable "
                "now (see the other findings), so its key is left alone.",
                "Fix the KMS path first; the conversion then runs on the next apply.",
                False, [f"{p.get('name')}: {p.get('license_status')}" for p in converting],
            )
        )
    if kms_pending and net is None and not blocked:
        host = reachable_host(v)
        if host is not None and (found := _not_activated(v, kms_pending, host, handled)) is not None:
            handled |= NOT_YET
            out.append(found)
    blocker = out[0] if blocked else None
    out += office_findings(v, as_map(facts.get("office")), kms_host, net, blocker)
    if store_office := office_store_findings(facts, vars_):
        handled |= {c for d in store_office if (c := d.code)}
        out += store_office
    out += office_os_findings(facts)
    out += _generic(v, handled)
    if kms_pending and not any(d.cause_id and d.cause_id.startswith("kms.") for d in out):
        ev = [f"{p.get('name') or 'Windows'}: {p.get('license_status')}" for p in kms_pending]
        out.append(
            diag(
                "kms.unknown", None,
                "Windows is not activated and the facts do not show why.",
                "Gather kms-health.yml facts: SRV lookup, TCP 1688 to the KMS host, clock, SPP "
                "events (12288/12289).",
                False, [*ev, v.srv_words(), *[f"failed step: {s}" for s in failed_steps]],
            )
        )
    if failed_steps and not out and not v.windows and not v.office:
        out.append(
            diag(
                "kms.unknown", None, "Steps failed but no license facts were gathered.",
                "Check the failed steps' output; run kms-health.yml.",
                False, [f"failed step: {s}" for s in failed_steps],
                title="Insufficient evidence",
            )
        )
    return out


def _not_activated(
    v: View, pending: list[Mapping[str, Any]], host: str, handled: set[str]
) -> Diagnosis | None:
    """KMS reachable: "not activated yet" (fixable by /ato), or, when an activation attempt of this
    run failed anyway, "reachable but failed" unless the failure's own code explains it."""
    activation = [c for c in v.codes if c in NOT_YET or c == CLOCK or c.startswith("0xC004F07")]
    tried = [c for c in v.codes if any("activation attempt" in w for w in v.codes[c])]
    ev = [f"{p.get('name') or 'Windows'}: {p.get('license_status')}" for p in pending]
    if tried:
        if any(c not in handled and c not in NOT_YET for c in tried):
            return None  # a specific code (e.g. 0xC004F041): its knowledge-base entry explains it
        return diag(
            "kms.reachable_but_failed", next(iter(activation), None),
            f"TCP 1688 to {host} is open, yet activation failed; the network checks do not explain it.",
            "Read event 12288 on this host (first field: the KMS host's answer) and event 12290 / "
            f"sppsvc on {host}; check the KMS host key covers this OS and the clocks agree.",
            False, [*ev, *v.evidence_for(v.codes), v.reach_words(host)],
        )  # fmt: skip
    return diag(
        "kms.not_activated", next(iter(sorted(activation)), None),
        f"The KMS host {host} answers on TCP 1688 but Windows has not activated yet.",
        "slmgr /ato (windows-kms.yml).",
        True, [*ev, *v.evidence_for(activation), v.reach_words(host)],
    )  # fmt: skip


def _clock(v: View) -> list[Diagnosis]:
    ev = v.evidence_for([CLOCK])
    if v.skew is not None and abs(v.skew) > SKEW_LIMIT_S:
        return [
            diag(
                "kms.clock_skew", CLOCK,
                f"This host's clock is {v.skew / 3600:+.1f} h off; KMS rejects requests more than 4 h "
                "off (UTC).",
                "Fix time synchronization first (time-sync.yml: w32time, w32tm /resync), then activate.",
                False, [*ev, f"clock skew {v.skew:+.0f} s"],
            )
        ]
    if CLOCK not in v.codes:
        return []
    if v.skew is not None and not any("activation attempt" in w for w in v.codes[CLOCK]):
        return []  # an earlier attempt's code, the clock is right now (time-sync.yml ran): retry /ato
    if v.skew is not None:
        return [
            diag(
                "kms.kms_host_clock", CLOCK,
                f"KMS rejected the request timestamp but this host is only {v.skew:+.0f} s off; the "
                "KMS host's clock is the likely one.",
                "Check and fix the KMS host's time (w32tm /query /status there), then activate.",
                False, [*ev, f"clock skew {v.skew:+.0f} s"],
            )
        ]
    return [
        diag(
            "kms.clock_skew", CLOCK,
            "KMS rejected the request timestamp (clocks > 4 h apart); this host's clock offset was "
            "not measured.",
            "Compare UTC time on this host and the KMS host, fix time sync, then activate.",
            False, ev,
        )
    ]


def _generic(v: View, handled: set[str]) -> list[Diagnosis]:
    out = []
    for code in sorted(set(v.codes) - handled):
        entry = ENTRIES.get(code)
        if entry is None:
            out.append(
                diag(
                    "kms.error", code, f"{code} is not in the knowledge base.",
                    f"On the host run 'slui.exe 0x2a {code}' for Windows' text.",
                    False, v.evidence_for([code]), title=f"Unknown activation error {code}",
                )
            )
        elif not entry.informational:
            out.append(
                diag(
                    "kms.error", code, entry.meaning, entry.fix, False, v.evidence_for([code]),
                    title=f"Activation error {code}",
                )
            )
    return out


DIAGNOSER = Diagnoser(
    "kms", lambda facts, failed, variables: diagnose(facts, failed, variables=variables), CAUSES
)
