"""Fleet spec channels, license states, OS releases/editions, ADBA/AVMA, Office kinds and matrix mode."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from remediate.domains.kms.gvlk import gvlk_for
from remediate.lab.fleet.hosts import HostPlan, build_hosts
from remediate.lab.fleet.inventory import InventoryHost, build_inventory
from remediate.lab.fleet.spec import CHANNELS, LICENSE_STATES, MATRIX_PROFILES, FleetSpec, SpecError
from remediate.lab.windows.os_releases import (
    AVMA_CHANNEL,
    AVMA_KEYS,
    EDITIONS,
    HOME_EDITIONS,
    OS_NAMES,
    OS_RELEASES,
)
from remediate.lab.windows.state import LicenseStatus
from tests.unit.test_fleet_fingerprint import fingerprint


def _spec(text: str) -> FleetSpec:
    return FleetSpec.from_yaml(text, source="fleet.yml")


def _plans(**kw: Any) -> list[HostPlan]:
    return build_hosts(FleetSpec.from_dict(kw), "pw")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("channels:\n  VOLUME_MAK: 20\n  KMS: 5\n",
         "fleet.yml:3: channels.KMS: unknown name; expected one of "
         "VOLUME_KMSCLIENT, VOLUME_MAK, RETAIL, OEM_DM"),
        ("channels: {RETAIL: 60, OEM_DM: 50}\n", "fleet.yml:1: channels: percentages add up to 110"),
        ("license_states:\n  expired: 5\n",
         "fleet.yml:2: license_states.expired: unknown name; expected one of "
         "licensed, oob_grace, notification"),
        ("os_versions: {win12: 5}\n",
         "fleet.yml:1: os_versions.win12: unknown name; expected one of win7, win81"),
        ("editions: {Ultimate: 5}\n", "fleet.yml:1: editions.Ultimate: unknown name"),
        ("os_versions: {win10: 100}\neditions:\n  ServerStandard: 10\n",
         "fleet.yml:3: editions.ServerStandard: no OS release of the mix (win10) has this edition"),
        ("os_versions: {ltsc2021: 100}\neditions: {Core: 10}\n", "fleet.yml:2: editions.Core: no OS release"),
        ("os_versions: {win7: 50, server2008r2: 50}\nactivation:\n  ad: 10\n",
         "fleet.yml:3: activation.ad: needs Windows 8 / Server 2012 or later"),
        ("os_versions: {win10: 100}\nactivation: {avma: 10}\n",
         "fleet.yml:2: activation.avma: needs Windows Server"),
        ("activation: {kms: 10}\n", "fleet.yml:1: activation.kms: unknown name; expected one of ad, avma"),
        ("office_kinds: {click2run: 10}\n",
         "fleet.yml:1: office_kinds.click2run: unknown name; expected one of "
         "msi, c2r_retail, c2r_volume, m365"),
        ("matrix: yes please\n", "fleet.yml:1: matrix: expected true or false, got 'yes please'"),
        ("hosts: 10\nmatrix: true\n",
         "fleet.yml:1: hosts: matrix: true builds 96 hosts; remove hosts or set it to 96"),
        ("matrix: true\nactivation: {ad: 5}\n", "fleet.yml:2: activation: not used with matrix: true"),
    ],
)  # fmt: skip
def test_bad_license_specs(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as exc:
        _spec(text)
    assert str(exc.value).startswith(expected), str(exc.value)


MIXED: dict[str, Any] = {
    "hosts": 100,
    "seed": 11,
    "channels": {"VOLUME_MAK": 20, "RETAIL": 15, "OEM_DM": 5},
    "license_states": {"oob_grace": 20, "notification": 10},
    "os_versions": {"win10": 40, "win11-24h2": 20, "ltsc2021": 10, "server2022": 20, "win7": 10},
    "editions": {"Professional": 30, "Enterprise": 40, "ServerDatacenter": 20, "EnterpriseS": 10},
    "office": 50,
    "office_kinds": {"c2r_retail": 20, "c2r_volume": 20, "m365": 20},
    "profiles": {"kms_unreachable": 20, "clock_skew": 20, "no_srv": 10},
}


def test_exact_counts_and_determinism() -> None:
    plans = _plans(**MIXED)
    # no Home edition and no AVMA in the mix: every axis is an exact count
    assert Counter(p.channel for p in plans) == {
        "VOLUME_KMSCLIENT": 60,
        "VOLUME_MAK": 20,
        "RETAIL": 15,
        "OEM_DM": 5,
    }
    assert Counter(p.os_release for p in plans) == {
        "win10": 40, "win11-24h2": 20, "ltsc2021": 10, "server2022": 20, "win7": 10,
    }  # fmt: skip
    assert Counter(p.license_state for p in plans) == {"licensed": 70, "oob_grace": 20, "notification": 10}
    assert Counter(p.office_kind for p in plans) == {
        None: 50,
        "msi": 20,
        "c2r_retail": 10,
        "c2r_volume": 10,
        "m365": 10,
    }
    assert Counter(p.profile for p in plans)["clock_skew"] == 20
    assert fingerprint(plans) == fingerprint(_plans(**MIXED))
    assert fingerprint(plans) != fingerprint(_plans(**{**MIXED, "seed": 12}))
    # adding an axis does not reorder another one
    no_office_kinds = _plans(**{k: v for k, v in MIXED.items() if k != "office_kinds"})
    assert [p.channel for p in no_office_kinds] == [p.channel for p in plans]
    # non_vl_key moves its KMS clients to RETAIL / VOLUME_MAK and leaves the other channels alone
    nvl = _plans(**{**MIXED, "profiles": {"non_vl_key": 10}})
    for before, after in zip(_plans(**{**MIXED, "profiles": {}}), nvl, strict=True):
        if after.profile != "non_vl_key" or before.channel != "VOLUME_KMSCLIENT":
            assert after.channel == before.channel
        else:
            assert after.channel in ("RETAIL", "VOLUME_MAK")


def test_editions_valid_for_their_os_and_keys_match_channel() -> None:
    plans = _plans(
        hosts=400,
        seed=5,
        channels={"VOLUME_MAK": 25, "RETAIL": 25, "OEM_DM": 10},
        os_versions={name: 5 for name in OS_NAMES},
        editions={e: 100 // len(EDITIONS) for e in EDITIONS},
    )
    seen = set()
    for p in plans:
        s, win = p.state, p.state.windows
        assert win is not None
        rel = OS_RELEASES[p.os_release]
        assert s.edition_id in rel.editions, (p.name, p.os_release, s.edition_id)
        assert s.os_version == rel.version and s.os_caption == rel.os_caption(s.edition_id)
        assert win.name == rel.product_name(s.edition_id)
        if s.edition_id in HOME_EDITIONS:
            assert win.channel in ("RETAIL", "OEM_DM")  # Home has no GVLK and no volume licence
        if win.channel == "VOLUME_KMSCLIENT":
            gvlk = gvlk_for(rel.gvlk_product, s.edition_id)
            assert gvlk is None or win.product_key == gvlk
        seen.add((p.os_release, s.edition_id))
    assert ("win7", "Professional") in seen and ("server2008r2", "ServerEnterprise") in seen
    assert ("win10", "Core") in seen and ("ltsb2015", "EnterpriseS") in seen
    win7 = next(p for p in plans if p.os_release == "win7" and p.channel == "VOLUME_KMSCLIENT")
    assert win7.state.windows is not None
    assert (
        win7.state.windows.description == "Windows Operating System - Windows(R) 7, VOLUME_KMSCLIENT channel"
    )
    assert win7.state.os_caption.endswith(" ")  # Windows 7 captions keep a trailing space


def test_licensed_mak_with_clock_skew_and_retail_behind_firewall() -> None:
    mak = _plans(hosts=6, channels={"VOLUME_MAK": 100}, profiles={"clock_skew": 100}, office=0)
    for p in mak:
        win = p.state.windows
        assert win is not None and win.channel == "VOLUME_MAK" and p.license_state == "licensed"
        assert win.status == LicenseStatus.LICENSED and win.grace_minutes == 0 and win.licensed_until is None
        assert win.activated_by == "online" and abs(p.state.clock_offset) > timedelta(hours=4)
    retail = _plans(hosts=4, channels={"RETAIL": 100}, profiles={"kms_unreachable": 100})
    assert all(p.state.windows and p.state.windows.status == LicenseStatus.LICENSED for p in retail)
    # the same fault on a KMS client fails its activation as it always did
    kms = _plans(hosts=4, profiles={"clock_skew": 100})
    assert all(p.state.windows and p.state.windows.status_reason == 0xC004F06C for p in kms)


def test_license_states_override_the_profile() -> None:
    plans = _plans(
        hosts=30, profiles={"kms_unreachable": 100}, license_states={"oob_grace": 30, "notification": 20}
    )
    by = {s: [p for p in plans if p.license_state == s] for s in LICENSE_STATES}
    for p in by["licensed"]:  # still licensed, 30-170 days left, renewal failing
        win = p.state.windows
        assert win is not None and win.status == LicenseStatus.LICENSED and win.activated_by == "kms"
        assert 29 * 1440 < win.grace_minutes <= 170 * 1440
        assert any(e.id == 8198 and "0xC004F074" in e.message for e in p.state.events)
    for p in by["oob_grace"]:
        assert p.state.windows and (p.state.windows.status, p.state.windows.status_reason) == (2, 0x4004F00C)
    for p in by["notification"]:
        assert p.state.windows and (p.state.windows.status, p.state.windows.status_reason) == (5, 0xC004F009)
    assert [len(by[s]) for s in LICENSE_STATES] == [15, 9, 6]


def test_adba_and_avma() -> None:
    plans = _plans(
        hosts=40, seed=2, os_versions={"win10": 50, "server2016": 50},
        editions={"ServerDatacenter": 50}, activation={"ad": 25, "avma": 25},
    )  # fmt: skip
    ad = [p for p in plans if p.state.windows and p.state.windows.activated_by == "ad"]
    avma = [p for p in plans if p.channel == AVMA_CHANNEL]
    assert len(ad) == 10 and len(avma) == 10
    for p in ad:
        win = p.state.windows
        assert win is not None and win.channel == "VOLUME_KMSCLIENT" and win.status == LicenseStatus.LICENSED
        assert OS_RELEASES[p.os_release].adba and win.kms_pid is None and win.licensed_until is not None
    for p in avma:
        win = p.state.windows
        assert win is not None and p.os_release == "server2016" and win.activated_by == "avma"
        assert win.product_key == AVMA_KEYS[("server2016", p.state.edition_id)]
        assert win.description == "Windows(R) Operating System, VIRTUAL_MACHINE_ACTIVATION channel"


def test_office_kinds() -> None:
    plans = _plans(hosts=40, office=100, office_kinds={"c2r_retail": 25, "c2r_volume": 25, "m365": 25})
    by = {p.office_kind: p.state.office[0] for p in plans}
    assert by["m365"].kind == "m365" and by["m365"].products == []
    (grace,) = by["c2r_retail"].products
    assert by["c2r_retail"].kind == "c2r" and grace.name == "Office 16, Office16O365ProPlusR_Grace edition"
    assert grace.description == "Office 16, RETAIL(Grace) channel" and grace.status == LicenseStatus.OOB_GRACE
    assert grace.status_reason == 0x4004F00C and 0 < grace.grace_minutes <= 5 * 1440
    assert by["c2r_volume"].kind == "c2r" and by["c2r_volume"].version in ("2019", "2021", "LTSC2024")
    assert by["msi"].kind == "msi" and by["msi"].products[0].channel == "VOLUME_KMSCLIENT"


def test_matrix_has_every_combination_once() -> None:
    spec = _spec(
        "matrix: true\nlocales: {en-US: 50, ja-JP: 50}\noffice: 10\noffice_kinds: {m365: 10, msi: 10}\n"
    )
    plans = build_hosts(spec, "pw")
    assert spec.hosts == len(plans) == len(CHANNELS) * len(LICENSE_STATES) * len(MATRIX_PROFILES) * 2
    combos = Counter((p.channel, p.license_state, p.profile, p.state.locale) for p in plans)
    assert set(combos) == set(
        itertools.product(CHANNELS, LICENSE_STATES, MATRIX_PROFILES, ("en-US", "ja-JP"))
    )
    assert set(combos.values()) == {1}
    assert Counter(p.office_kind for p in plans) == {"msi": len(plans) // 2, "m365": len(plans) // 2}
    custom = _spec("matrix: true\nprofiles: {healthy: 0, no_srv: 0}\n")
    assert custom.hosts == 24 and {p.profile for p in build_hosts(custom, "pw")} == {"healthy", "no_srv"}
    with pytest.raises(SpecError, match="matrix: true builds 24 hosts"):
        custom.with_overrides(hosts=10)


def test_inventory_host_vars_and_channel_groups() -> None:
    plans = _plans(hosts=4, channels={"VOLUME_MAK": 50}, office=50)
    hosts = [
        InventoryHost(
            p.name, "127.0.0.1", 5985, 5986, None, p.profile, p.state.locale, "pw", p.state.fqdn,
            channel=p.channel, license_state=p.license_state, os_release=p.os_release,
            office_kind=p.office_kind,
        )
        for p in plans
    ]  # fmt: skip
    inv = build_inventory(
        hosts, user="u", password="pw", ca_path=None, kms_host="kms01", kms_port=1688, domain="lab.test"
    )
    children = inv["all"]["children"]
    hv = children["windows"]["hosts"]
    for p in plans:
        assert hv[p.name]["lab_channel"] == p.channel and hv[p.name]["lab_os"] == p.os_release
        assert hv[p.name]["lab_license_state"] == "licensed"
        assert hv[p.name]["lab_office"] == (p.office_kind or "none")
    assert len(children["lab_channel_volume_mak"]["hosts"]) == 2
    assert len(children["lab_channel_volume_kmsclient"]["hosts"]) == 2


def test_office_on_a_mak_host_still_activates_by_kms() -> None:
    plans = _plans(hosts=4, channels={"VOLUME_MAK": 100}, office=100, profiles={"healthy": 50, "no_srv": 50})
    for p in plans:
        (office,) = p.state.office[0].products
        assert office.activated_by == "kms" and p.state.windows and p.state.windows.channel == "VOLUME_MAK"
        if p.profile == "healthy":
            assert office.status == LicenseStatus.LICENSED and p.state.kms_discovered == "kms01.lab.test:1688"
        else:  # a KMS-path fault fails Office's KMS activation, not the MAK Windows
            assert office.status_reason == 0x8007232B and p.license_state == "licensed"
