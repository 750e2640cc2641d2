"""From a FleetSpec to HostState objects: editions, Office installs, fault profiles, SPP events.

Deterministic for a seed: profile and locale counts are exact (largest remainder) and shuffled
by `random.Random(seed)`. Product data (activation ids, KMS client setup keys, license names)
is Microsoft's published GVLK table and what slmgr/ospp print for those SKUs, cross-checked in
public sources (learn.microsoft.com "KMS client activation and product keys"; ospp /act output
"Office 21, Office21ProPlus2021VL_KMS_Client_AE edition" / "Office 21, VOLUME_KMSCLIENT channel").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from remediate.lab import activation
from remediate.lab.fleet import REALISTIC_LATENCY, FleetSpec, exact_counts
from remediate.lab.state import (
    OFFICE_APP_ID,
    WINDOWS_APP_ID,
    HostState,
    LicenseStatus,
    OfficeInstall,
    Product,
    SppEvent,
)

# (os_caption, os_version, edition_id, product name, activation id, GVLK, weight)
WINDOWS_EDITIONS = (
    ("Microsoft Windows 10 Enterprise", "10.0.19045", "Enterprise",
     "Windows(R), Enterprise edition", "73111121-5638-40f6-bc11-f1d7b0d64300",
     "NPPR9-FWDCX-D2C8J-H872K-2YT43", 40),
    ("Microsoft Windows 11 Enterprise", "10.0.22631", "Enterprise",
     "Windows(R), Enterprise edition", "73111121-5638-40f6-bc11-f1d7b0d64300",
     "NPPR9-FWDCX-D2C8J-H872K-2YT43", 30),
    ("Microsoft Windows Server 2022 Standard", "10.0.20348", "ServerStandard",
     "Windows(R), ServerStandard edition", "9bd77860-9b31-4b7b-96ad-2564017315bf",
     "VDYBN-27WPP-V4HQT-9VMD4-VMK7H", 20),
    ("Microsoft Windows Server 2019 Standard", "10.0.17763", "ServerStandard",
     "Windows(R), ServerStandard edition", "de32eafd-aaee-4662-9444-c1befb41bde2",
     "N69G4-B89J2-4G8F4-WWYCC-J464C", 10),
)  # fmt: skip
# non_vl_key: a retail Pro key (the generic one) or an Enterprise N MAK (key made up: MAKs are secret)
RETAIL_PRO = ("Microsoft Windows 10 Pro", "10.0.19045", "Professional",
              "Windows(R), Professional edition", "4de7cb65-cdf1-4de9-8ae8-e3cce27b9f2c",
              "VK7JG-NPHTM-C97JM-9MPGT-3V66T", "RETAIL")  # fmt: skip
MAK_ENT_N = ("Microsoft Windows 10 Enterprise N", "10.0.19045", "EnterpriseN",
             "Windows(R), EnterpriseN edition", "c83cef07-6b72-4bbc-a28f-a00386872839",
             None, "VOLUME_MAK")  # fmt: skip
# Office ProPlus volume SKUs: version -> (number, license name, activation id, GVLK)
OFFICE_SKUS = {
    "2016": ("16", "Office16ProPlusVL_KMS_Client",
             "d450596f-894d-49e0-966a-fd39ed4c4c64", "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99"),
    "2019": ("19", "Office19ProPlus2019VL_KMS_Client_AE",
             "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03", "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP"),
    "2021": ("21", "Office21ProPlus2021VL_KMS_Client_AE",
             "fbdb3e18-a8ef-4fb3-9183-dffd60bd0984", "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH"),
    "LTSC2024": ("24", "Office24ProPlus2024VL_KMS_Client_AE",
                 "8d368fc1-9470-4be2-8d66-90e836cbb051", "XJ2XN-FW8RK-P4HMP-DKDBV-GCVGB"),
}  # fmt: skip
KEY_CHARS = "BCDFGHJKMPQRTVWXY2346789"
VOLUME_DAYS = 180
BRANCH_LABEL = "branch"  # no_srv hosts live in branch.<domain>, which has no _vlmcs record
FIREWALLED_VIEW = "firewalled"  # DNS view of kms_unreachable hosts (see dns.py)
# KMS-side failures: profile -> (LicenseStatus, reason) of the products that depend on KMS
FAILED = {
    "kms_unreachable": (LicenseStatus.NOTIFICATION, 0xC004F074),
    "no_srv": (LicenseStatus.UNLICENSED, 0x8007232B),
    "wrong_kms_host": (LicenseStatus.NOTIFICATION, 0xC004F074),
    "broken_store": (LicenseStatus.NOTIFICATION, 0xC004F012),
    "clock_skew": (LicenseStatus.NOTIFICATION, 0xC004F06C),
}


@dataclass
class HostPlan:
    """One host to start: its state, its fault profile, and what the inventory says about it."""

    state: HostState
    profile: str
    inventory_password: str = field(repr=False)  # differs from state.password for auth_fail

    @property
    def name(self) -> str:
        return self.state.name


def _spread(items: dict[str, int], rng: random.Random) -> list[str]:
    out = [k for k, n in items.items() for _ in range(n)]
    rng.shuffle(out)
    return out


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
    n = spec.hosts
    # seeded PRNGs on purpose: the same seed must give the same fleet
    profile_rng = random.Random(f"{spec.seed}:profiles")  # noqa: S311
    locale_rng = random.Random(f"{spec.seed}:locales")  # noqa: S311
    profiles = _spread(exact_counts(spec.profiles, n, "healthy"), profile_rng)
    locales = _spread(exact_counts(spec.locales, n, "en-US"), locale_rng)
    rng = random.Random(f"{spec.seed}:hosts")  # noqa: S311
    # Office: every office_unactivated host, then enough others to reach the percentage
    want_office = max(round(spec.office * n / 100), profiles.count("office_unactivated"))
    others = [i for i, p in enumerate(profiles) if p != "office_unactivated"]
    extra = rng.sample(others, min(len(others), want_office - profiles.count("office_unactivated")))
    has_office = {i for i, p in enumerate(profiles) if p == "office_unactivated"} | set(extra)
    width = max(4, len(str(n)))
    plans = []
    for i in range(n):
        name = f"{spec.name_prefix}{i + 1:0{width}d}".upper()
        plans.append(_host(spec, rng, name, profiles[i], locales[i], i in has_office, password))
    return plans


def _host(
    spec: FleetSpec, rng: random.Random, name: str, profile: str, locale: str, office: bool, password: str
) -> HostPlan:
    srv_kms = spec.kms(spec.srv_records[0]) if spec.srv_records else spec.kms_hosts[0]
    kms_fqdn = f"{srv_kms.fqdn(spec.domain)}:{srv_kms.port}"
    domain = f"{BRANCH_LABEL}.{spec.domain}" if profile == "no_srv" else spec.domain
    caption, version, edition, pname, act_id, key, _w = rng.choices(
        WINDOWS_EDITIONS, weights=[e[6] for e in WINDOWS_EDITIONS]
    )[0]
    channel = "VOLUME_KMSCLIENT"
    if profile == "non_vl_key":
        caption, version, edition, pname, act_id, maybe_key, channel = rng.choice((RETAIL_PRO, MAK_ENT_N))
        key = maybe_key or _random_key(rng)
    state = HostState(
        name=name,
        domain=domain,
        locale=locale,
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
    if profile == "wrong_kms_host":
        state.kms_registered_host = f"{spec.decommissioned_kms}.{spec.domain}"
        state.kms_registered_port = 1688
    win = Product(
        name=pname,
        description=f"Windows(R) Operating System, {channel} channel",
        application_id=WINDOWS_APP_ID,
        activation_id=act_id,
        channel=channel,
        product_key=key,
    )
    state.windows = win
    failure = FAILED.get(profile)
    if channel != "VOLUME_KMSCLIENT":  # retail / MAK, never activated (no Internet in the lab)
        _unactivated(win, LicenseStatus.OOB_GRACE, 0x4004F00D, rng)
        state.events += _failure_events(state, win, 0x80072EE7, None)
    elif failure:
        _unactivated(win, failure[0], failure[1], rng)
        server = None if profile == "no_srv" else (state.kms_registered_host or srv_kms.fqdn(spec.domain))
        if server and profile != "broken_store":
            server = f"{server}:{state.kms_registered_port or srv_kms.port}"
        state.events += _failure_events(state, win, failure[1], server if profile != "broken_store" else None)
    else:
        _licensed(win, rng, now, srv_kms.epid(spec.seed))
        state.kms_discovered = kms_fqdn
        state.events += _success_events(state, win, kms_fqdn)
    if office:
        inst = _office(rng, state)
        state.office.append(inst)
        for prod in inst.products:
            if profile == "office_unactivated":
                _unactivated(prod, LicenseStatus.OOB_GRACE, 0x4004F00D, rng)
            elif failure:
                _unactivated(prod, failure[0], failure[1], rng)
            else:
                _licensed(prod, rng, now, srv_kms.epid(spec.seed))
    inv_password = password + "-expired" if profile == "auth_fail" else password
    return HostPlan(state=state, profile=profile, inventory_password=inv_password)


def _random_key(rng: random.Random) -> str:
    return "-".join("".join(rng.choice(KEY_CHARS) for _ in range(5)) for _ in range(5))


def _licensed(p: Product, rng: random.Random, now: datetime, epid: str) -> None:
    """Activated against the KMS host some days ago (renewed every 7 days, 180-day validity)."""
    minutes = (VOLUME_DAYS - rng.randint(0, 7)) * 1440 - rng.randint(0, 1439)
    p.status, p.status_reason, p.grace_minutes = LicenseStatus.LICENSED, 0, minutes
    p.licensed_until = now + timedelta(minutes=minutes)
    p.kms_pid = epid


def _unactivated(p: Product, status: LicenseStatus, reason: int, rng: random.Random) -> None:
    p.status, p.status_reason = status, reason
    p.grace_minutes = (
        0 if status in (LicenseStatus.NOTIFICATION, LicenseStatus.UNLICENSED) else rng.randint(1440, 43200)
    )
    p.licensed_until, p.kms_pid = None, None


def _office(rng: random.Random, state: HostState) -> OfficeInstall:
    version = rng.choice(list(OFFICE_SKUS))
    num, lic, act_id, gvlk = OFFICE_SKUS[version]
    prod = Product(
        name=f"Office {num}, {lic} edition",
        description=f"Office {num}, VOLUME_KMSCLIENT channel",
        application_id=OFFICE_APP_ID,
        activation_id=act_id,
        channel="VOLUME_KMSCLIENT",
        product_key=gvlk,
    )
    return OfficeInstall(version=version, bitness=rng.choice((32, 64)), products=[prod])


def _failure_events(state: HostState, p: Product, hr: int, server: str | None) -> list[SppEvent]:
    """12288 (request sent, when a KMS host was found) and 8198 (slui failed) with the error."""
    t = state.now() - timedelta(minutes=37)
    events = []
    if server:
        events.append(activation.request_event(state, p, hr, server, t, int(p.status), p.grace_minutes))
    events.append(activation.failed_event(p, hr, t + timedelta(seconds=1)))
    return events


def _success_events(state: HostState, p: Product, server: str) -> list[SppEvent]:
    t = state.now() - timedelta(minutes=VOLUME_DAYS * 1440 - p.grace_minutes)
    sent = activation.request_event(state, p, 0, server, t, int(LicenseStatus.OOB_GRACE), 0)
    return [sent, activation.response_event(p, t)]
