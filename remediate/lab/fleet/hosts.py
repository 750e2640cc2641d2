"""From a FleetSpec to HostState objects: the hosts of a lab fleet, in name order.

Deterministic for a seed: what each host is (profile, locale, channel, license state, OS, Office)
comes from fleet_picks (exact counts, seeded shuffles); its licence state, products and SPP events
from fleet_license; the fault profile's environment (DNS domain, registered KMS host, clock, store,
WinRM, credentials, latency) from here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from remediate.lab.fleet.estate import OFFICE_PROFILES, office_kind, shape_state, shape_windows
from remediate.lab.fleet.license import (
    LICENSE_STATE_NAMES,
    KmsContext,
    office_install,
    set_windows_license,
    windows_product,
)
from remediate.lab.fleet.picks import Pick, add_activation, add_office, add_os, base_picks
from remediate.lab.fleet.spec import REALISTIC_LATENCY, FleetSpec
from remediate.lab.windows.state import HostState

BRANCH_LABEL = "branch"  # no_srv hosts live in branch.<domain>, which has no _vlmcs record
FIREWALLED_VIEW = "firewalled"  # DNS view of kms_unreachable hosts (see dns.py)
NO_INTERNET_VIEW = "no_internet"  # DNS view of retail_proxy hosts: Microsoft's endpoints are a hole
# retail_proxy: WinHTTP points at a proxy that is not there (an A record, nothing listens)
DEAD_PROXY = "proxy"
CORP_VPN = "Corp VPN"  # off_network: the VPN profile the user did not connect


@dataclass
class HostPlan:
    """One host to start: its state, its fault profile, and what the inventory says about it."""

    state: HostState
    profile: str
    inventory_password: str = field(repr=False)  # differs from state.password for auth_fail
    channel: str = "VOLUME_KMSCLIENT"  # the Windows product's channel
    license_state: str = "licensed"  # LICENSE_STATE_NAMES of the Windows product's status
    os_release: str = "win10"  # os_releases.OS_RELEASES key
    office_kind: str | None = None  # msi | c2r_retail | c2r_volume | m365; None: no Office

    @property
    def name(self) -> str:
        return self.state.name


def unsync_time(state: HostState, rng: random.Random) -> None:
    """Why a clock_skew host drifted: w32time stopped, or set to NoSync (Local CMOS Clock); either
    way it never synced. time-sync.yml repairs both (the lab DC is the reference clock)."""
    state.time_source, state.time_synced_at = None, None
    if rng.random() < 0.5:
        state.time_service_running = False
    else:
        state.time_sync_type = "NoSync"


def latency_for(spec: FleetSpec, rng: random.Random, profile: str) -> dict[str, float]:
    if spec.latency == "zero":
        lat: dict[str, float] = {}
    elif spec.latency == "realistic":
        lat = {k: round(rng.uniform(lo, hi), 3) for k, (lo, hi) in REALISTIC_LATENCY.items()}
    else:
        lat = dict(spec.latency)  # type: ignore[arg-type]
    if profile == "slow":  # every command (and PowerShell start) takes at least slow_seconds
        for kind in ("slmgr", "ospp", "nslookup"):
            lat[kind] = lat.get(kind, 0.0) * 5
        for kind in ("cmd", "ps"):
            lat[kind] = max(lat.get(kind, 0.0) * 5, spec.slow_seconds)
    return lat


def build_hosts(spec: FleetSpec, password: str) -> list[HostPlan]:
    """Every host of the fleet, in name order; same spec and seed -> same fleet."""
    picks = base_picks(spec)
    n = len(picks)
    profiles = [p.profile for p in picks]
    rng = random.Random(f"{spec.seed}:hosts")  # noqa: S311 - seeded on purpose: same seed, same fleet
    # Office: every office_unactivated host, then enough others to reach the percentage
    unact = {i for i, p in enumerate(profiles) if p == "office_unactivated" or p in OFFICE_PROFILES}
    if spec.matrix:  # matrix: Office on every host, or only where the profile needs it
        has_office = set(range(n)) if spec.office else unact
    else:
        want_office = max(round(spec.office * n / 100), len(unact))
        others = [i for i in range(n) if i not in unact]
        has_office = unact | set(rng.sample(others, min(len(others), want_office - len(unact))))
    add_os(spec, picks)
    add_activation(spec, picks)
    add_office(spec, picks, sorted(has_office))
    width = max(4, len(str(n)))
    return [
        host_plan(spec, rng, f"{spec.name_prefix}{i + 1:0{width}d}".upper(), pick, password)
        for i, pick in enumerate(picks)
    ]


def host_plan(spec: FleetSpec, rng: random.Random, name: str, pick: Pick, password: str) -> HostPlan:
    profile = pick.profile
    srv_kms = spec.kms(spec.srv_records[0]) if spec.srv_records else spec.kms_hosts[0]
    domain = f"{BRANCH_LABEL}.{spec.domain}" if profile == "no_srv" else spec.domain
    win, os_id = windows_product(rng, pick)
    caption, version, edition, release = os_id
    state = HostState(
        name=name,
        domain=domain,
        locale=pick.locale,
        os_caption=caption,
        os_version=version,
        edition_id=edition,
        username=spec.user,
        password=password,
        latency=latency_for(spec, rng, profile),
        winrm_enabled=profile != "winrm_down",
        license_store_broken=profile == "broken_store",
    )
    now = datetime.now(UTC)
    if profile == "clock_skew":  # KMS tolerates 4 hours; these hosts are 5-9 hours off
        state.clock_offset = timedelta(
            hours=rng.choice((-1, 1)) * rng.randint(5, 9), minutes=rng.randint(0, 59)
        )
        unsync_time(state, random.Random(f"{spec.seed}:{name}:time"))  # noqa: S311 - seeded on purpose
    if profile == "retail_proxy":
        state.winhttp_proxy = f"{DEAD_PROXY}.{spec.domain}:8080"
        state.winhttp_bypass = "<local>"
    if profile == "off_network":  # at home: Wi-Fi the user marked Private, VPN not connected
        state.network_category = "Private" if rng.random() < 0.5 else "Public"
        state.vpn_profiles = {CORP_VPN: False}
    if profile == "wrong_kms_host":
        state.kms_registered_host = f"{spec.decommissioned_kms}.{spec.domain}"
        state.kms_registered_port = 1688
    state.windows = win
    kms = KmsContext(spec, srv_kms, profile, now)
    shape_windows(pick, win)
    set_windows_license(state, win, rng, kms, pick.license_state)
    pick.office_kind = office_kind(spec, name, pick) or pick.office_kind
    if pick.office_kind:
        state.office.append(office_install(rng, state, pick.office_kind, kms))
    shape_state(spec, state, pick)
    inv_password = password + "-expired" if profile == "auth_fail" else password
    return HostPlan(
        state=state,
        profile=profile,
        inventory_password=inv_password,
        channel=win.channel,
        license_state=LICENSE_STATE_NAMES[win.status],
        os_release=release,
        office_kind=pick.office_kind,
    )
