"""What each fleet host is before its state is built: profile, locale, channel, license state, OS, Office.

Every axis is an exact count (largest remainder) shuffled by its own seeded PRNG, so adding an
axis to a spec never reorders another one, and a spec without the channel/OS keys yields the same
picks as before they existed (`os_release is None`: fleet_hosts keeps its legacy edition draw).

`matrix: true` replaces the shuffles by the full cross product channel x license state x profile
x locale, in that order (host 1 is the first channel, first state, first profile, first locale).
There the channel axis wins over non_vl_key: a non_vl_key host on VOLUME_KMSCLIENT keeps its GVLK
(the combination exists; the profile only names it), on the other channels it is that channel.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from remediate.lab.fleet.spec import CHANNELS, LICENSE_STATES, OFFICE_KINDS, FleetSpec, exact_counts
from remediate.lab.windows.os_releases import DEFAULT_OS_MIX, HOME_EDITIONS, KMS, OS_RELEASES


@dataclass
class Pick:
    profile: str
    locale: str
    channel: str = KMS
    license_state: str | None = None  # None: derived from the profile (and channel)
    os_release: str | None = None  # None: the legacy weighted edition draw in fleet_hosts
    edition: str | None = None
    activation: str | None = None  # "ad" | "avma" | None (the channel's own method)
    office_kind: str | None = None  # None: no Office
    fixed_channel: bool = False  # matrix mode: non_vl_key does not move a KMS client to RETAIL/MAK


def spread(items: Mapping[str, int], rng: random.Random) -> list[str]:
    out = [k for k, n in items.items() for _ in range(n)]
    rng.shuffle(out)
    return out


def _axis(spec: FleetSpec, pct: Mapping[str, int] | None, remainder: str, what: str) -> list[str]:
    rng = random.Random(f"{spec.seed}:{what}")  # noqa: S311 - seeded on purpose
    return spread(exact_counts(pct or {}, spec.hosts, remainder), rng)


def base_picks(spec: FleetSpec) -> list[Pick]:
    """Profiles and locales (the shuffles fleets had before channels existed), or the matrix."""
    if spec.matrix:
        return [
            Pick(profile, locale, channel, state, fixed_channel=True)
            for channel in CHANNELS
            for state in LICENSE_STATES
            for profile in spec.matrix_profiles
            for locale in spec.locales
        ]
    profiles = _axis(spec, spec.profiles, "healthy", "profiles")
    locales = _axis(spec, spec.locales, "en-US", "locales")
    picks = [Pick(p, loc) for p, loc in zip(profiles, locales, strict=True)]
    if spec.channels is not None:
        for pick, channel in zip(picks, _axis(spec, spec.channels, KMS, "channels"), strict=True):
            pick.channel = channel
    if spec.license_states is not None:
        for pick, state in zip(
            picks, _axis(spec, spec.license_states, "licensed", "license_states"), strict=True
        ):
            pick.license_state = state
    return picks


def add_os(spec: FleetSpec, picks: list[Pick]) -> None:
    """OS release and edition per host, compatible with each other and with the host's channel.

    Only when the spec names os_versions, editions or activation; otherwise fleet_hosts draws the
    edition as it always did. An edition the release does not have falls back to the first edition
    of the mix the release has, else the release's default (Enterprise, ServerStandard, EnterpriseS).
    Home editions have no GVLK and no volume licence: a Home host drawn as a KMS or MAK client becomes
    RETAIL or OEM_DM (alternately), except in matrix mode where the channel is fixed and the edition
    yields instead.
    """
    if spec.os_versions is None and spec.editions is None and spec.activation is None:
        return
    releases = _axis(spec, spec.os_versions or DEFAULT_OS_MIX, "win10", "os_versions")
    mix = sorted((spec.editions or {}).items(), key=lambda kv: -kv[1])
    wanted = _axis(spec, spec.editions, "", "editions")  # "": the release's default edition
    swap = 0
    for pick, rel_name, want in zip(picks, releases, wanted, strict=True):
        rel = OS_RELEASES[rel_name]
        edition = want if want in rel.editions else next((e for e, p in mix if p and e in rel.editions), "")
        edition = edition or rel.editions[0]
        volume = pick.channel in (KMS, "VOLUME_MAK")
        if edition in HOME_EDITIONS and volume:
            if spec.matrix:
                edition = rel.editions[0]
            else:
                pick.channel, swap = ("RETAIL", "OEM_DM")[swap % 2], swap + 1
        pick.os_release, pick.edition = rel_name, edition


def add_activation(spec: FleetSpec, picks: list[Pick]) -> None:
    """ADBA / AVMA for up to the given percent of the fleet, among the KMS clients that support it."""
    if not spec.activation:
        return
    counts = exact_counts(spec.activation, len(picks), "")
    rng = random.Random(f"{spec.seed}:activation")  # noqa: S311
    order = list(range(len(picks)))
    rng.shuffle(order)
    for method in ("avma", "ad"):  # AVMA first: it has the fewer candidates
        want = counts.get(method, 0)
        for i in order:
            p = picks[i]
            if want <= 0:
                break
            rel = OS_RELEASES[p.os_release or "win10"]
            ok = (
                rel.avma and p.edition in ("ServerStandard", "ServerDatacenter")
                if method == "avma"
                else rel.adba
            )
            if p.channel == KMS and p.activation is None and ok:
                p.activation, want = method, want - 1


def add_office(spec: FleetSpec, picks: list[Pick], has_office: Sequence[int]) -> None:
    """The Office kind of every host with Office: exact counts over them, or cycled in matrix mode."""
    hosts = sorted(has_office)
    if spec.matrix:
        kinds = [k for k in OFFICE_KINDS if (spec.office_kinds or {"msi": 1}).get(k)] or ["msi"]
        for n, i in enumerate(hosts):
            picks[i].office_kind = kinds[n % len(kinds)]
        return
    rng = random.Random(f"{spec.seed}:office_kinds")  # noqa: S311
    kinds = spread(exact_counts(spec.office_kinds or {}, len(hosts), "msi"), rng)
    for i, kind in zip(hosts, kinds, strict=True):
        picks[i].office_kind = kind
