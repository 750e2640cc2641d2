"""Diagnosis of Windows time: combine w32tm facts and the measured skew into cause -> action findings.

Facts read (any may be missing): `status` (w32tm-status), `source` (w32tm-source), `config`
(w32tm-config), `offset` (w32tm-stripchart against the reference), `clock` (utc-time against the
controller). Variables: `ntp_peers` (non-empty: the host must sync from these peers; empty: from
the domain hierarchy, the default for domain members), `max_skew_seconds`, `max_sync_age_seconds`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from remediate.core.diagnosis import Diagnoser, Diagnosis
from remediate.domains.time.causes import CAUSES
from remediate.domains.time.parsers import SERVICE_NOT_STARTED, split_peer

DEFAULT_MAX_SKEW = 300  # Kerberos' default tolerance (5 minutes); KMS tolerates 4 hours
DEFAULT_MAX_SYNC_AGE = 8 * 86400  # a workgroup machine polls weekly (SpecialPollInterval 604800)
TIMEOUT = "0x800705B4"


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _diag(cause: str, code: str | None, text: str, action: str, fixable: bool, ev: list[str]) -> Diagnosis:
    return Diagnosis(code, CAUSES[cause], text, action, fixable, tuple(ev), cause)


def _peers(variables: Mapping[str, Any]) -> list[str]:
    raw = variables.get("ntp_peers") or []
    items = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list | tuple) else []
    return [split_peer(str(p))[0].lower() for p in items if str(p).strip()]


def skew_of(facts: Mapping[str, Any]) -> tuple[float | None, str]:
    """This host's clock minus the reference's: stripchart first, else the controller's clock."""
    offset = _map(facts.get("offset"))
    if (s := _num(offset.get("skew_seconds"))) is not None:
        return s, f"w32tm /stripchart against {offset.get('target') or 'the reference'}: {s:+.1f} s"
    if (s := _num(_map(facts.get("clock")).get("skew_seconds"))) is not None:
        return s, f"UTC clock against the controller: {s:+.1f} s"
    return None, ""


def diagnose(
    facts: Mapping[str, Any], failed_steps: Sequence[str], variables: Mapping[str, Any] | None = None
) -> list[Diagnosis]:
    vars_ = {**_map(facts.get("vars")), **(variables or {})}
    status, source, config = _map(facts.get("status")), _map(facts.get("source")), _map(facts.get("config"))
    out: list[Diagnosis] = []
    stopped = [
        name for name, fact in (("status", status), ("source", source), ("config", config))
        if fact.get("error_code") == SERVICE_NOT_STARTED
    ]  # fmt: skip
    if stopped:
        out.append(
            _diag(
                "time.service_stopped", SERVICE_NOT_STARTED,
                "The Windows Time service (w32time) is not running: nothing keeps this clock in sync.",
                "net start w32time (and sc config w32time start= auto), then w32tm /resync (time-sync.yml).",
                True, [f"w32tm /query /{n}: The service has not been started. (0x80070426)" for n in stopped],
            )
        )  # fmt: skip
    else:
        out += _source_findings(status, source, config, _peers(vars_))
    out += _skew_findings(facts, vars_)
    if not stopped:
        out += _stale(status, vars_, out)
    out = _keep_working_source(out, facts, vars_)
    if failed_steps and not out:
        out.append(
            _diag(
                "time.unknown", None, "A time check failed but the facts do not show why.",
                "Read the failed steps' output (w32tm /query /status /verbose).",
                False, [f"failed step: {s}" for s in failed_steps],
            )
        )  # fmt: skip
    return out


def _keep_working_source(
    out: list[Diagnosis], facts: Mapping[str, Any], vars_: Mapping[str, Any]
) -> list[Diagnosis]:
    """Never worse: a host whose clock is measured correct and recently synced keeps the source it
    has (e.g. a workgroup PC on time.windows.com) unless the admin named peers (`ntp_peers`); the
    finding stays, but names no cause a fix could act on."""
    bad_time = {"time.skew", "time.stale_sync", "time.service_stopped", "time.reference_unreachable"}
    if _peers(vars_) or skew_of(facts)[0] is None or any(d.cause_id in bad_time for d in out):
        return out
    keep = ("time.wrong_source", "time.vm_ic_provider")
    return [
        replace(d, cause_id=None, automatable=False, action=d.action + " Left alone: this host's time "
                "is correct; set ntp_peers to change its source on purpose.")
        if d.cause_id in keep else d
        for d in out
    ]  # fmt: skip


def _source_findings(
    status: Mapping[str, Any], source: Mapping[str, Any], config: Mapping[str, Any], peers: list[str]
) -> list[Diagnosis]:
    name = status.get("source") or source.get("source")
    kind = status.get("source_kind") or source.get("source_kind")
    sync_type = config.get("type")
    configured = [str(p).lower() for p in config.get("peers") or []]
    ev = [f"time source: {name}"] if name else []
    ev += [
        f"configured type: {sync_type}" + (f", NtpServer {config.get('ntp_server')}" if configured else "")
    ]
    want = f"the NTP peers {', '.join(peers)}" if peers else "the domain hierarchy (NT5DS)"
    fix = (
        f"w32tm /config /manualpeerlist:\"{' '.join(peers)}\" /syncfromflags:manual /update"
        if peers else "w32tm /config /syncfromflags:domhier /update"
    )  # fmt: skip
    if kind == "vm_ic" and not peers:
        return [
            _diag(
                "time.vm_ic_provider", None,
                "The Hyper-V integration service (VM IC Time Synchronization Provider) sets this clock "
                "from the virtualization host, overriding the domain hierarchy.",
                "Disable the VMICTimeProvider (reg add ...\\W32Time\\TimeProviders\\VMICTimeProvider /v "
                f"Enabled /d 0), then {fix} and w32tm /resync (time-sync.yml).",
                True, ev,
            )
        ]  # fmt: skip
    wrong_type = sync_type is not None and (
        (peers and (sync_type != "NTP" or sorted(configured) != sorted(peers)))
        or (not peers and sync_type == "NTP")
    )
    if wrong_type and sync_type != "NoSync":
        return [
            _diag(
                "time.wrong_source", None,
                f"This host synchronizes from {config.get('ntp_server') or sync_type}, not from {want}.",
                f"{fix}, then w32tm /resync (time-sync.yml).",
                True, ev,
            )
        ]  # fmt: skip
    if sync_type == "NoSync" or kind in ("local_cmos", "free_running"):
        return [
            _diag(
                "time.no_source", None,
                f"This host keeps time from its own clock ({name or 'NoSync'}): it does not synchronize.",
                f"Point it at {want}: {fix}, then w32tm /resync (time-sync.yml).",
                True, ev,
            )
        ]  # fmt: skip
    return []


def _skew_findings(facts: Mapping[str, Any], vars_: Mapping[str, Any]) -> list[Diagnosis]:
    limit = _num(vars_.get("max_skew_seconds")) or DEFAULT_MAX_SKEW
    skew, how = skew_of(facts)
    offset = _map(facts.get("offset"))
    out: list[Diagnosis] = []
    if offset and not offset.get("reachable") and offset.get("error_code"):
        out.append(
            _diag(
                "time.reference_unreachable", offset.get("error_code"),
                f"{offset.get('target') or 'The reference'} did not answer NTP requests from this host "
                f"({offset.get('error_code')}).",
                "Check UDP 123 between this host and the time source (firewall) and that w32time runs there.",
                False, [f"w32tm /stripchart: error {offset.get('error_code')}"],
            )
        )  # fmt: skip
    if skew is not None and abs(skew) > limit:
        out.append(
            _diag(
                "time.skew", None,
                f"This host's clock is {skew / 3600:+.2f} h ({skew:+.0f} s) off, more than {limit:.0f} s. "
                "Kerberos fails past 5 minutes, KMS activation (0xC004F06C) past 4 hours.",
                "w32tm /resync /force once a good source is set (time-sync.yml).",
                True, [how],
            )
        )  # fmt: skip
    return out


def _stale(status: Mapping[str, Any], vars_: Mapping[str, Any], found: list[Diagnosis]) -> list[Diagnosis]:
    if not status or status.get("error_code") or any(d.cause_id == "time.no_source" for d in found):
        return []
    limit = _num(vars_.get("max_sync_age_seconds")) or DEFAULT_MAX_SYNC_AGE
    age = _num(status.get("since_last_sync_seconds"))
    if status.get("never_synced") is True:
        text, ev = (
            "This host has never synchronized with its time source.",
            "last successful sync: unspecified",
        )
    elif age is not None and age > limit:
        text, ev = (
            f"The last successful sync was {age / 86400:.1f} days ago.",
            f"time since last sync: {age:.0f} s",
        )
    else:
        return []
    action = (
        "w32tm /resync /force (time-sync.yml); if it fails, check the source answers (w32tm /stripchart)."
    )
    return [_diag("time.stale_sync", None, text, action, True, [ev])]


DIAGNOSER = Diagnoser("time", lambda facts, failed, variables: diagnose(facts, failed, variables), CAUSES)
