"""A host's KMS facts read once into one normalized view (the evidence diagnose.py reasons over).

Reads the facts contract (license, office, srv, kms_config, Test-NetConnection results, clock,
events, activation); every fact may be missing or malformed and then reads as unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from remediate.domains.kms.events import parse_kms_info
from remediate.domains.kms.parsers.common import normalize_code
from remediate.domains.kms.parsers.slmgr import channel_of

KMS_CHANNEL = "VOLUME_KMSCLIENT"
# Events whose code speaks about this host's activation: 12288 (request sent to KMS, its result),
# 12289 (the KMS host's answer) and 8198 (slui's activation attempt failed). Others are status or
# noise for a diagnosis: 1003/1033 (license status at start, may carry 0xC004E002 on a healthy
# host), 8200/8208 (genuine-ticket acquisition: 0x80072EE7 on every KMS client without Internet,
# "noise" per https://learn.microsoft.com/troubleshoot/windows-server/licensing-and-activation/event-id-8208-8200-900).
ACTIVATION_EVENTS = frozenset({12288, 12289, 8198})
# Only events this recent count (playbook variable `event_window_hours`): a 0xC004F074 from last
# month's outage is history once the host has been unlicensed for other reasons since.
EVENT_WINDOW_HOURS = 72.0


def host_name(name: Any) -> str | None:
    """'KMS01.lab.test.:1688' -> 'kms01.lab.test'."""
    if not isinstance(name, str) or not name.strip():
        return None
    h = name.strip().lower()
    if h.count(":") == 1:  # host:port, not an IPv6 address
        h = h.split(":")[0]
    return h.rstrip(".") or None


def as_map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def maps(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def code_of(value: Any) -> str | None:
    """A failure code in any spelling -> "0x..."; None for no code, success (0) or garbage."""
    code = normalize_code(value) if value not in (None, "") else None
    return None if code == "0x00000000" else code


def product_channel(p: Mapping[str, Any]) -> str | None:
    """A product's channel: the parsed field, else the word before "channel" in its description;
    "RETAIL(Grace)" (Click-to-Run grace SKUs) reads as RETAIL."""
    raw = p.get("channel") or channel_of(p.get("description") or p.get("license_description"))
    if not raw:
        text = str(p.get("description") or p.get("license_description") or "")
        raw = "RETAIL" if "RETAIL(" in text.upper() else None
    return str(raw).upper().split("(")[0] or None if raw else None


def licensed(p: Mapping[str, Any]) -> bool:
    return p.get("license_status") == "licensed"


# Test-NetConnection facts to Microsoft's activation endpoints (diagnose_retail.py), not to a KMS host
ENDPOINT_FACTS = ("ms_endpoint", "ms_validation")


def tcp_reach(facts: Mapping[str, Any]) -> dict[str, bool]:
    """Host -> did any TCP test from this host (a Test-NetConnection fact, any name but the
    ENDPOINT_FACTS) reach it."""
    reach: dict[str, bool] = {}
    for key, value in facts.items():
        if key in ENDPOINT_FACTS:
            continue
        for t in maps(value) if isinstance(value, list) else [as_map(value)]:
            h = host_name(t.get("computer_name"))
            if h and isinstance(t.get("reachable"), bool):
                reach[h] = reach.get(h, False) or bool(t["reachable"])
    return reach


@dataclass
class View:
    """The facts, normalized once."""

    windows: list[Mapping[str, Any]]
    office: list[Mapping[str, Any]]
    srv_known: bool
    srv_targets: list[tuple[str, int]]
    srv_error: str | None
    reach: dict[str, bool]
    skew: float | None
    registered: str | None
    codes: dict[str, list[str]] = field(default_factory=dict)  # code -> where it was seen

    def see(self, code: str | None, where: str) -> None:
        if code:
            self.codes.setdefault(code, []).append(where)

    def evidence_for(self, codes: Iterable[str]) -> list[str]:
        return [f"{where}: {c}" for c in sorted(set(codes)) for where in self.codes.get(c, [])]

    def srv_words(self) -> str:
        if not self.srv_known:
            return "no DNS SRV lookup result"
        if self.srv_targets:
            return "DNS SRV _vlmcs._tcp -> " + ", ".join(f"{t}:{p}" for t, p in self.srv_targets)
        return f"DNS SRV _vlmcs._tcp: {self.srv_error or 'no records'}"

    def reach_words(self, host: str) -> str:
        state = {True: "open", False: "closed"}.get(self.reach.get(host))  # type: ignore[arg-type]
        return f"TCP 1688 to {host}: {state or 'not tested'}"


def _utc(value: Any) -> datetime | None:
    """An ISO-8601 time ("...Z", an offset, or naive = UTC) -> aware UTC datetime; None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def event_cutoff(
    facts: Mapping[str, Any], window_hours: float | None, now: datetime | None = None
) -> datetime | None:
    """Events before this time are history: the host's clock (`clock.utc`, the utc-time check) minus
    the window, else the controller's clock; None = no window (window_hours None or <= 0)."""
    if window_hours is None or window_hours <= 0:
        return None
    reference = _utc(as_map(facts.get("clock")).get("utc")) or now or datetime.now(UTC)
    return reference - timedelta(hours=window_hours)


def read_facts(
    facts: Mapping[str, Any],
    event_window_hours: float | None = EVENT_WINDOW_HOURS,
    now: datetime | None = None,
) -> View:
    lic = maps(as_map(facts.get("license")).get("products"))
    office = maps(as_map(facts.get("office")).get("products"))
    srv = facts.get("srv")
    srv_d = as_map(srv)
    targets = [
        (h, int(r.get("port") or 1688))
        for r in maps(srv_d.get("records"))
        if (h := host_name(r.get("target")))
    ]
    skew = as_map(facts.get("clock")).get("skew_seconds")
    registered = host_name(as_map(facts.get("kms_config")).get("kms_registered")) or next(
        (h for p in lic if (h := host_name(p.get("kms_registered")))), None
    )  # CIM first: slmgr /dli hides the registered host until the client is licensed
    v = View(
        windows=lic,
        office=office,
        srv_known=isinstance(srv, Mapping),
        srv_targets=targets,
        srv_error=srv_d.get("error"),
        reach=tcp_reach(facts),
        skew=float(skew) if isinstance(skew, int | float) else None,
        registered=registered,
    )
    # `activation`: a check's /ato; `activate`: windows-kms.yml's fix (its code was never read, so
    # a 0xC004F038 answer after --apply went undiagnosed)
    for key in ("activation", "activate"):
        act = as_map(facts.get(key))
        if act.get("success") is False:
            v.see(code_of(act.get("error_code")), "activation attempt failed with")
    whole = (("license", "slmgr reported"), ("office", "ospp reported"), ("kms_config", "CIM reported"))
    for key, label in whole:  # an error for the whole command (no products listed)
        v.see(code_of(as_map(facts.get(key)).get("error_code")), label)
    # Status codes of unlicensed products on the KMS path only: a RETAIL/OEM/MAK product or a
    # Click-to-Run grace SKU is explained by its channel, and its codes (e.g. 0xC004F009 on a
    # grace SKU) must not turn into KMS advice such as "slmgr /ato".
    for p in lic:
        if not licensed(p) and product_channel(p) == KMS_CHANNEL:
            v.see(code_of(p.get("status_reason")), f"{p.get('name') or 'Windows'} status reason")
    for p in office:
        if not licensed(p) and product_channel(p) == KMS_CHANNEL:
            v.see(code_of(p.get("error_code")), f"{p.get('license_name') or 'Office'} error")
    if not any(not licensed(p) for p in (*lic, *office)):
        return v  # every product licensed: old event codes are history, not findings
    cutoff = event_cutoff(facts, event_window_hours, now)
    for e in maps(as_map(facts.get("events")).get("events")):
        eid = e.get("id")
        if eid not in ACTIVATION_EVENTS:
            continue
        when = _utc(e.get("time"))
        if cutoff is not None and when is not None and when < cutoff:
            continue  # older than the window (an event without a readable time still counts)
        where = f"SPP event {eid} at {e.get('time')}"
        info = parse_kms_info(eid, str(e.get("message") or "")) if isinstance(eid, int) else None
        v.see(code_of(e.get("error_code")) or code_of((info or {}).get("hr")), where)
    return v
