"""The licence side of a lab host: Windows product identity and state, Office installs, SPP events.

Product data (activation ids, KMS client setup keys, license names) is Microsoft's published GVLK
table and what slmgr/ospp print for those SKUs, cross-checked in public sources
(learn.microsoft.com "KMS client activation and product keys"; ospp /act output
"Office 21, Office21ProPlus2021VL_KMS_Client_AE edition" / "Office 21, VOLUME_KMSCLIENT channel").
OS releases and editions beyond the legacy mix are in os_releases.py.

How a product gets its state (see docs/lab.md): environment faults (DNS, registered KMS host, clock,
store, WinRM) apply to every host; only products that activate through KMS fail on KMS-path faults.
An explicit `license_states:` entry sets the Windows product's state whatever the profile.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from remediate.domains.kms.gvlk import gvlk_for_os
from remediate.lab.fleet.picks import Pick
from remediate.lab.fleet.spec import RETAIL_PROFILES, FleetSpec, KmsHostSpec
from remediate.lab.windows import activation
from remediate.lab.windows.os_releases import (
    AVMA_CHANNEL,
    AVMA_KEYS,
    HOME_EDITIONS,
    KMS,
    OS_RELEASES,
    activation_id,
    release_of,
)
from remediate.lab.windows.state import (
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
# Older MSI releases, only when a spec asks for them (office_versions): Office 2013's GVLK and
# activation id as ospp.vbs knows them (lab/windows/ospp.py); Office 2010's from Microsoft's
# "GVLKs for Office 2010" table (license name "Office 14, OfficeProPlus-KMS_Client edition":
# unverified spelling).
OLD_OFFICE_SKUS = {
    "2013": ("15", "OfficeProPlusVL_KMS_Client",
             "b322da9c-a2e2-4058-9e4e-f59a6970bd69", "YC7DK-G2NP3-2QQC3-J6H88-GVGXT"),
    "2010": ("14", "OfficeProPlus-KMS_Client",
             "6f327760-8c5c-417c-9b61-836a98287e0c", "VYBBJ-TRJPB-QFQRF-QFT4D-H3GVB"),
}  # fmt: skip
KEY_CHARS = "BCDFGHJKMPQRTVWXY2346789"
VOLUME_DAYS = 180
# Office 2019 and later volume editions ship as Click-to-Run only ("Office 2016/2019 C2R Status ...
# LICENSE NAME: Office 19, Office19ProPlus2019VL_KMS_Client_AE edition", https://pastebin.com/Bmv5eAdG).
C2R_VOLUME_VERSIONS = ("2019", "2021", "LTSC2024")
# A Click-to-Run retail install before sign-in: ospp /dstatus prints "LICENSE NAME: Office 16,
# Office16O365ProPlusR_Grace edition", "LICENSE DESCRIPTION: Office 16, RETAIL(Grace) channel",
# "SKU ID: 3ad61e22-e4fe-497f-bdb1-3e51bd872173", "---OOB_GRACE---", "ERROR CODE: 0x4004F00C",
# "REMAINING GRACE: 4 days (7160 minute(s) before expiring)" (https://pastebin.com/RtCurKDn).
C2R_GRACE = (
    "Office 16, Office16O365ProPlusR_Grace edition",
    "Office 16, RETAIL(Grace) channel",
    "3ad61e22-e4fe-497f-bdb1-3e51bd872173",
)
# KMS-side failures: profile -> (LicenseStatus, reason) of the products that depend on KMS
FAILED = {
    "kms_unreachable": (LicenseStatus.NOTIFICATION, 0xC004F074),
    "no_srv": (LicenseStatus.UNLICENSED, 0x8007232B),
    "wrong_kms_host": (LicenseStatus.NOTIFICATION, 0xC004F074),
    "broken_store": (LicenseStatus.NOTIFICATION, 0xC004F012),
    "clock_skew": (LicenseStatus.NOTIFICATION, 0xC004F06C),
    # a KMS client at home without VPN: "0xC004F074" (seed article 002: a VL PC used outside the
    # organisation cannot reach its KMS host)
    "off_network": (LicenseStatus.NOTIFICATION, 0xC004F074),
}
# Retail profiles: (status, reason, the failed online activation's code). hardware_change: a digital
# licence no longer matches the hardware (0xC004F213, "Windows reported that no product key was
# found on your device", https://support.microsoft.com/windows/get-help-with-windows-activation-errors-09d8fb64-6768-4815-0c30-159fa7d89d85);
# retail_proxy: Microsoft unreachable behind the proxy (0x80072EE7, same page).
RETAIL_FAILED = {
    "retail_proxy": (LicenseStatus.OOB_GRACE, 0x4004F00D, 0x80072EE7),
    "hardware_change": (LicenseStatus.NOTIFICATION, 0xC004F213, 0xC004F213),
}


LICENSE_STATE_NAMES = {
    LicenseStatus.UNLICENSED: "unlicensed",
    LicenseStatus.LICENSED: "licensed",
    LicenseStatus.OOB_GRACE: "oob_grace",
    LicenseStatus.OOT_GRACE: "oot_grace",
    LicenseStatus.NON_GENUINE_GRACE: "non_genuine_grace",
    LicenseStatus.NOTIFICATION: "notification",
    LicenseStatus.EXTENDED_GRACE: "extended_grace",
}
# Reason codes of an explicit `license_states:` entry (SL_I_OOB_GRACE_PERIOD, SL_E_GRACE_TIME_EXPIRED),
# as ospp/slmgr print them: "---OOB_GRACE--- ERROR CODE: 0x4004F00C" (https://pastebin.com/RtCurKDn)
# and "---NOTIFICATIONS--- ERROR CODE: 0xC004F009 ... the grace period expired"
# (https://gist.github.com/luxin88/1c3f15e64268580d59da3e209b5e0ece); both in Microsoft's slerror.h
# and https://learn.microsoft.com/troubleshoot/windows-server/licensing-and-activation/troubleshoot-activation-error-codes.
EXPLICIT_STATES = {
    "oob_grace": (LicenseStatus.OOB_GRACE, 0x4004F00C),
    "notification": (LicenseStatus.NOTIFICATION, 0xC004F009),
}
NO_INTERNET = 0x80072EE7  # online activation of MAK/RETAIL/OEM: the lab has no route to Microsoft


@dataclass(frozen=True)
class KmsContext:
    """What the license code needs to know about the host's KMS environment."""

    spec: FleetSpec
    srv_kms: KmsHostSpec  # the KMS host the SRV record names
    profile: str
    now: datetime

    @property
    def epid(self) -> str:
        return self.srv_kms.epid(self.spec.seed)

    @property
    def discovered(self) -> str:
        return f"{self.srv_kms.fqdn(self.spec.domain)}:{self.srv_kms.port}"

    def server(self, state: HostState) -> str | None:
        """The KMS host a failing request went to (event 12288), None when none was found."""
        if self.profile in ("no_srv", "broken_store", "off_network"):
            return None
        host = state.kms_registered_host or self.srv_kms.fqdn(self.spec.domain)
        return f"{host}:{state.kms_registered_port or self.srv_kms.port}"


def windows_product(rng: random.Random, pick: Pick) -> tuple[Product, tuple[str, str, str, str]]:
    """The Windows product and (caption, version, EditionID, release) of a host.

    The legacy draws (edition, and for non_vl_key a retail Pro or MAK Enterprise N) always consume
    the host PRNG in the same order, so a spec without the new keys builds the same fleet.
    """
    caption, version, edition, pname, act_id, key, _w = rng.choices(
        WINDOWS_EDITIONS, weights=[e[6] for e in WINDOWS_EDITIONS]
    )[0]
    channel = pick.channel
    legacy = pick.os_release is None
    if pick.profile == "non_vl_key":  # an unactivated RETAIL or MAK Windows in a KMS estate
        nv_caption, nv_version, nv_edition, nv_name, nv_id, nv_key, nv_channel = rng.choice(
            (RETAIL_PRO, MAK_ENT_N)
        )
        nv_key = nv_key or _random_key(rng)
        if legacy:
            caption, version, edition, pname, act_id, key = (
                nv_caption,
                nv_version,
                nv_edition,
                nv_name,
                nv_id,
                nv_key,
            )
        if channel == KMS and not pick.fixed_channel:  # matrix mode keeps its channel axis
            channel = nv_channel
        elif legacy and channel != nv_channel:
            act_id, key = activation_id("win10", edition, channel), _random_key(rng)
    elif pick.profile in RETAIL_PROFILES and channel == KMS and not pick.fixed_channel:
        channel = "RETAIL"  # a home PC's own licence (never a KMS client)
        if legacy:
            caption, version, edition, pname, act_id, _key, _ch = RETAIL_PRO
            key = _random_key(rng)
    elif legacy and channel != KMS:
        act_id, key = activation_id(release_of(version, edition), edition, channel), _random_key(rng)
    if legacy:
        description = f"Windows(R) Operating System, {channel} channel"
        release = release_of(version, edition)
    else:
        rel = OS_RELEASES[pick.os_release or "win10"]
        edition, release = pick.edition or rel.editions[0], rel.name
        if edition in HOME_EDITIONS and channel == "VOLUME_MAK":
            channel = "RETAIL"  # Home editions are never volume-licensed
        caption, version, pname = rel.os_caption(edition), rel.version, rel.product_name(edition)
        if pick.activation == "avma":
            channel, key = AVMA_CHANNEL, AVMA_KEYS[(release, edition)]
        elif channel == KMS:
            # the release's published GVLK (remediate.domains.kms.gvlk); an edition without one gets a
            # well-formed made-up key (the lab's KMS host does not check keys)
            key = gvlk_for_os(edition, os_version=version, caption=caption) or _random_key(rng)
        else:  # MAK / RETAIL / OEM keys are secret: made up
            key = _random_key(rng)
        act_id, description = activation_id(release, edition, channel), rel.description(channel)
    win = Product(
        name=pname,
        description=description,
        application_id=WINDOWS_APP_ID,
        activation_id=act_id,
        channel=channel,
        product_key=key,
    )
    win.activated_by = pick.activation or (
        "avma" if channel == AVMA_CHANNEL else "kms" if channel == KMS else "online"
    )
    return win, (caption, version, edition, release)


def set_windows_license(
    state: HostState, win: Product, rng: random.Random, kms: KmsContext, explicit: str | None
) -> None:
    """Status, reason, grace and SPP events of the Windows product.

    explicit None: derived from the profile as the lab always did (KMS clients fail on KMS-path
    faults per FAILED, non_vl_key hosts are unactivated, every other channel is licensed).
    """
    profile, method = kms.profile, win.activated_by
    failure = FAILED.get(profile) if method == "kms" else None
    if explicit is None and profile in RETAIL_FAILED and method == "online":
        status, reason, tried = RETAIL_FAILED[profile]
        _unactivated(win, status, reason, rng)
        state.events += _failure_events(state, win, tried, None)
        return
    if explicit is None:
        if profile == "non_vl_key":  # retail / MAK, never activated (no Internet in the lab)
            _unactivated(win, LicenseStatus.OOB_GRACE, 0x4004F00D, rng)
            state.events += _failure_events(state, win, NO_INTERNET, None)
        elif method != "kms":
            _licensed_by(win, method, rng, kms.now)
        elif failure:
            _unactivated(win, failure[0], failure[1], rng)
            state.events += _failure_events(state, win, failure[1], kms.server(state))
        else:
            _licensed(win, rng, kms.now, kms.epid)
            state.kms_discovered = kms.discovered
            state.events += _success_events(state, win, kms.discovered)
        return
    if explicit == "licensed":
        if method != "kms":
            _licensed_by(win, method, rng, kms.now)
        elif failure:  # licensed earlier; the renewals fail since: 30-170 days left
            _licensed(win, rng, kms.now, kms.epid, days_left=rng.randint(30, 170))
            state.events += _success_events(state, win, kms.server(state) or kms.discovered)
            state.events += _failure_events(state, win, failure[1], kms.server(state))
        else:
            _licensed(win, rng, kms.now, kms.epid)
            state.kms_discovered = kms.discovered
            state.events += _success_events(state, win, kms.discovered)
        return
    status, reason = EXPLICIT_STATES[explicit]
    _unactivated(win, status, reason, rng)
    if failure:
        state.events += _failure_events(state, win, failure[1], kms.server(state))
    elif method == "online":
        state.events += _failure_events(state, win, NO_INTERNET, None)


def _licensed_by(p: Product, method: str | None, rng: random.Random, now: datetime) -> None:
    """Licensed without KMS: permanent (online MAK/RETAIL/OEM), AD activation, or AVMA."""
    p.status, p.status_reason, p.kms_pid = LicenseStatus.LICENSED, 0, None
    if method == "online":  # permanent: no expiry
        p.grace_minutes, p.licensed_until = 0, None
        return
    # ADBA: 180-day volume licence renewed like KMS; AVMA: a short validity renewed by the Hyper-V
    # host (7 days here - the length is not documented by Microsoft; unverified)
    days = VOLUME_DAYS - rng.randint(0, 7) if method == "ad" else rng.randint(1, 7)
    p.grace_minutes = days * 1440 - rng.randint(0, 1439)
    p.licensed_until = now + timedelta(minutes=p.grace_minutes)


def office_install(rng: random.Random, state: HostState, kind: str, kms: KmsContext) -> OfficeInstall:
    """An Office install of `kind`; its KMS products follow the profile as they always did."""
    if kind == "m365":  # Microsoft 365 Apps (subscription): ospp lists no product key at all
        return OfficeInstall(version="2016", bitness=rng.choice((32, 64)), kind="m365")
    if kind == "c2r_retail":
        return OfficeInstall(
            version="2016", bitness=rng.choice((32, 64)), kind="c2r", products=[_c2r_grace(rng)]
        )
    asked = kms.spec.office_versions if kind == "msi" else None
    if asked and any(asked.values()):
        picked = rng.choices(list(asked), weights=list(asked.values()))[0]
        inst = _office(rng, state, (picked,))
    else:
        inst = _office(rng, state, C2R_VOLUME_VERSIONS if kind == "c2r_volume" else tuple(OFFICE_SKUS))
    inst.kind = "c2r" if kind == "c2r_volume" else "msi"
    failure = FAILED.get(kms.profile)
    for prod in inst.products:
        prod.activated_by = "kms"
        if kms.profile == "office_unactivated":  # initial grace is SL_I_OOB_GRACE_PERIOD (0x4004F00C);
            # 0x4004F00D is the out-of-tolerance grace code (real: "---OOB_GRACE--- ERROR CODE: 0x4004F00C")
            _unactivated(prod, LicenseStatus.OOB_GRACE, 0x4004F00C, rng)
        elif failure:
            _unactivated(prod, failure[0], failure[1], rng)
        else:
            _licensed(prod, rng, kms.now, kms.epid)
            # Office found the KMS host by DNS even where Windows does not use KMS (non_vl_key
            # hosts keep the legacy fleet's state: nothing discovered)
            if state.windows and state.windows.activated_by != "kms" and kms.profile != "non_vl_key":
                state.kms_discovered = kms.discovered
    return inst


def _c2r_grace(rng: random.Random) -> Product:
    """Click-to-Run retail grace SKU before sign-in: 5 days of grace (ospp /dstatus, pastebin RtCurKDn)."""
    prod = Product(
        name=C2R_GRACE[0],
        description=C2R_GRACE[1],
        application_id=OFFICE_APP_ID,
        activation_id=C2R_GRACE[2],
        channel="RETAIL",
        product_key=_random_key(rng),  # grace keys are not published: made up
    )
    prod.activated_by = "online"
    prod.status, prod.status_reason = LicenseStatus.OOB_GRACE, 0x4004F00C
    prod.grace_minutes = rng.randint(60, 5 * 1440)
    return prod


def _random_key(rng: random.Random) -> str:
    return "-".join("".join(rng.choice(KEY_CHARS) for _ in range(5)) for _ in range(5))


def _licensed(p: Product, rng: random.Random, now: datetime, epid: str, days_left: int | None = None) -> None:
    """Activated against the KMS host some days ago (renewed every 7 days, 180-day validity)."""
    days = VOLUME_DAYS - rng.randint(0, 7) if days_left is None else days_left
    minutes = days * 1440 - rng.randint(0, 1439)
    p.status, p.status_reason, p.grace_minutes = LicenseStatus.LICENSED, 0, minutes
    p.licensed_until = now + timedelta(minutes=minutes)
    p.kms_pid = epid


def _unactivated(p: Product, status: LicenseStatus, reason: int, rng: random.Random) -> None:
    p.status, p.status_reason = status, reason
    p.grace_minutes = (
        0 if status in (LicenseStatus.NOTIFICATION, LicenseStatus.UNLICENSED) else rng.randint(1440, 43200)
    )
    p.licensed_until, p.kms_pid = None, None


def _office(rng: random.Random, state: HostState, versions: tuple[str, ...]) -> OfficeInstall:
    version = rng.choice(list(versions))
    num, lic, act_id, gvlk = {**OFFICE_SKUS, **OLD_OFFICE_SKUS}[version]
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
