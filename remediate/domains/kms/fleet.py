"""Findings across the hosts of one run (Domain.fleet): what no single host's facts can show.

- Duplicate CMIDs: hosts reporting the same SoftwareLicensingService.ClientMachineID (kms_config
  fact) were cloned from an image that was not generalized. The KMS host counts one client per
  CMID, so its count stays low and the clones never activate (0xC004F038). Microsoft: "The
  /rearm process is also called by sysprep /generalize" and resets the activation timers and the
  CMID (learn.microsoft.com/windows-server/get-started/activation-slmgr-vbs-options); "A contagem
  de clientes KMS não incrementa devido a CMID's duplicados" (learn.microsoft.com/en-us/archive/
  blogs/suporte/a-contagem-de-clientes-kms-no-incrementa-devido-a-cmids-duplicados): generalize the
  image with sysprep /generalize, never with <SkipRearm>1, or run slmgr /rearm on each clone.
- A registered KMS host that fails for several clients: it does not resolve (Test-NetConnection
  gave no address: NXDOMAIN) or does not answer on its port. A decommissioned host set by GPO or
  an image, fixed once at the source rather than host by host.
- A site whose clients all fail the same way: hosts named <name>.<site domain> (the inventory
  name) grouped by that domain; every host of a site with the same cause points at the site
  (its DNS, its firewall, its KMS host), not at the hosts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from remediate.core.fleet import FleetFinding
from remediate.core.results import HostResult
from remediate.domains.kms.evidence import as_map, host_name

MIN_HOSTS = 2  # a pattern across hosts needs at least two of them
FAILING = frozenset({"failed", "would_fix"})


def _cmid(h: HostResult) -> str | None:
    value = as_map(h.facts.get("kms_config")).get("client_machine_id")
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


def duplicate_cmids(hosts: Sequence[HostResult]) -> list[FleetFinding]:
    by_cmid: dict[str, list[str]] = defaultdict(list)
    for h in hosts:
        if (cmid := _cmid(h)) is not None:
            by_cmid[cmid].append(h.host)
    return [
        FleetFinding(
            code="kms.duplicate_cmid",
            title="Duplicate KMS client machine ID (CMID)",
            cause=f"{len(names)} hosts report the same CMID {cmid}: they were cloned from an image "
            "that was not generalized, so the KMS host counts them as one client.",
            action="Generalize the image with sysprep /generalize (without <SkipRearm>1) and redeploy, "
            "or run slmgr /rearm on each clone and restart it; then slmgr /ato.",
            hosts=tuple(names),
        )
        for cmid, names in sorted(by_cmid.items())
        if len(names) >= MIN_HOSTS
    ]


def _registered(h: HostResult) -> str | None:
    return host_name(as_map(h.facts.get("kms_config")).get("kms_registered"))


def dead_kms_hosts(hosts: Sequence[HostResult]) -> list[FleetFinding]:
    """Registered KMS hosts that failed the TCP test of every client naming them (two or more)."""
    naming: dict[str, list[HostResult]] = defaultdict(list)
    for h in hosts:
        if (name := _registered(h)) is not None:
            naming[name].append(h)
    out = []
    for name, group in sorted(naming.items()):
        probes = [as_map(h.facts.get("kms_port")) for h in group]
        tested = [p for p in probes if host_name(p.get("computer_name")) == name]
        if len(tested) < MIN_HOSTS or any(p.get("reachable") is not False for p in tested):
            continue
        missing = all(not p.get("remote_address") for p in tested)
        out.append(
            FleetFinding(
                code="kms.registered_host_missing" if missing else "kms.registered_host_dead",
                title="Registered KMS host does not exist"
                if missing
                else "Registered KMS host does not answer",
                cause=f"{len(group)} hosts are registered to KMS host {name}, which "
                + ("does not resolve in DNS (NXDOMAIN)." if missing else "does not answer on its port."),
                action="Find where the setting comes from (Group Policy, the image, a script) and point it "
                "at a live KMS host, or clear it (slmgr /ckms) so DNS discovery finds one; "
                "windows-kms.yml with kms_host fixes the hosts themselves.",
                hosts=tuple(h.host for h in group),
            )
        )
    return out


def _site(host: str) -> str | None:
    parts = host.lower().rstrip(".").split(".")
    return ".".join(parts[1:]) if len(parts) > 2 else None  # name.site.tld; an IP has digits only


def _first_cause(h: HostResult) -> str | None:
    return next((d.cause_id or d.title for d in h.diagnosis), None)


def failing_sites(hosts: Sequence[HostResult]) -> list[FleetFinding]:
    """Sites (DNS domains of the host names) where every host failed with the same first cause."""
    sites: dict[str, list[HostResult]] = defaultdict(list)
    for h in hosts:
        if (site := _site(h.host)) is not None and not site.replace(".", "").isdigit():
            sites[site].append(h)
    out = []
    for site, group in sorted(sites.items()):
        causes = {_first_cause(h) for h in group}
        if len(group) < MIN_HOSTS or len(causes) != 1 or None in causes:
            continue
        if not all(h.verdict in FAILING for h in group):
            continue
        first = group[0].diagnosis[0]
        out.append(
            FleetFinding(
                code="kms.site_failing",
                title="Every client of a site fails the same way",
                cause=f"All {len(group)} hosts of {site} fail with: {first.title}.",
                action=f"Look at what the site shares (DNS, firewall, its KMS host): {first.action}",
                hosts=tuple(h.host for h in group),
            )
        )
    return out


def fleet_findings(hosts: Sequence[HostResult]) -> list[FleetFinding]:
    return [*duplicate_cmids(hosts), *dead_kms_hosts(hosts), *failing_sites(hosts)]
