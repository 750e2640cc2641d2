"""Fleet spec: strict validation with file:line:path errors, exact deterministic profile counts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from remediate.lab.fleet.hosts import build_hosts, latency_for
from remediate.lab.fleet.spec import (
    ESTATE_PROFILES,
    HOME_PROFILES,
    PROFILES,
    FleetSpec,
    SpecError,
    exact_counts,
)
from remediate.lab.windows.state import LicenseStatus

DEMO = resources.files("remediate").joinpath("data/fleets/demo.yml")
DEFAULT = resources.files("remediate").joinpath("data/fleets/default.yml")


def _spec(text: str) -> FleetSpec:
    return FleetSpec.from_yaml(text, source="fleet.yml")


def test_error_names_file_line_and_path() -> None:
    text = "hosts: 50\nseed: 7\nprofiles:\n  healthy: 40\n  kms_unreachable: lots\n"
    with pytest.raises(SpecError) as exc:
        _spec(text)
    assert str(exc.value) == "fleet.yml:5: profiles.kms_unreachable: expected a number 0-100, got 'lots'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hosts: 0\n", "fleet.yml:1: hosts: expected a number 1-20000, got 0"),
        ("hosts: 3\nbogus: 1\n", "fleet.yml:2: bogus: unknown field"),
        ("profiles: {healthy: 90, no_srv: 20}\n", "fleet.yml:1: profiles: percentages add up to 110"),
        ("profiles:\n  healthy: 50\n  flaky: 5\n", "fleet.yml:3: profiles.flaky: unknown name"),
        ("locales: {fr-FR: 10}\n", "fleet.yml:1: locales.fr-FR: unknown name"),
        ("latency: fast\n", "fleet.yml:1: latency: expected zero, realistic or a mapping, got 'fast'"),
        ("latency:\n  slmgr: -1\n", "fleet.yml:2: latency.slmgr: expected a number 0-600, got -1"),
        (
            "kms_hosts:\n  - name: kms01\n    behaviour: sometimes\n",
            "fleet.yml:3: kms_hosts[0].behaviour: expected one of ok, count_too_low, not_supported, drop",
        ),
        ("kms_hosts:\n  - port: 1688\n", "fleet.yml:2: kms_hosts[0]: missing field 'name'"),
        ("kms_hosts: [{name: kms01}]\nsrv_records: [kms09]\n", "fleet.yml:2: srv_records[0]: 'kms09' is not"),
        ("domain: localhost\n", "fleet.yml:1: domain: expected a DNS domain"),
        ("hosts: [1, 2]\n", "fleet.yml:1: hosts: expected a number 1-20000, got [1, 2]"),
        ("- just a list\n", "fleet.yml:1: (top level): expected a mapping"),
        ("hosts: 3\n  seed: [\n", "fleet.yml:2: invalid YAML"),
    ],
)
def test_bad_specs(text: str, expected: str) -> None:
    with pytest.raises(SpecError) as exc:
        _spec(text)
    assert str(exc.value).startswith(expected), str(exc.value)


def test_load_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read fleet spec"):
        FleetSpec.load(tmp_path / "nope.yml")


def test_exact_counts_sum_and_remainder() -> None:
    counts = exact_counts({"healthy": 40, "slow": 3, "auth_fail": 3, "no_srv": 54}, 50, "healthy")
    assert sum(counts.values()) == 50
    assert counts == {"healthy": 20, "slow": 2, "auth_fail": 1, "no_srv": 27}
    # percentages under 100 leave the rest to the remainder profile
    assert exact_counts({"no_srv": 10}, 20, "healthy") == {"no_srv": 2, "healthy": 18}


def test_demo_fleet_has_every_profile_and_three_locales() -> None:
    spec = FleetSpec.from_yaml(DEMO.read_text(encoding="utf-8"), source="demo.yml")
    plans = build_hosts(spec, "pw")
    assert len(plans) == 50
    profiles = Counter(p.profile for p in plans)
    # estate and retail / home-PC profiles have their own integration tests; the demo predates them
    assert set(profiles) == set(PROFILES) - set(ESTATE_PROFILES) - set(HOME_PROFILES)
    assert profiles["healthy"] == 20 and profiles["office_unactivated"] == 5
    assert Counter(p.state.locale for p in plans) == {"en-US": 35, "ja-JP": 10, "zh-CN": 5}
    assert sum(1 for p in plans if p.state.office) == 20  # office: 40%


def test_default_fleet_loads() -> None:
    spec = FleetSpec.from_yaml(DEFAULT.read_text(encoding="utf-8"), source="default.yml")
    assert spec.hosts == 20 and spec.srv_records == ("kms01",)


def test_same_seed_same_fleet_other_seed_other_order() -> None:
    spec = FleetSpec.from_dict({"hosts": 40, "seed": 5, "profiles": {"no_srv": 25, "slow": 25}})
    a = [(p.name, p.profile, p.state.locale, p.state.os_caption) for p in build_hosts(spec, "pw")]
    b = [(p.name, p.profile, p.state.locale, p.state.os_caption) for p in build_hosts(spec, "pw")]
    c = [(p.name, p.profile) for p in build_hosts(spec.with_overrides(seed=6), "pw")]
    assert a == b
    assert [x[:2] for x in a] != c
    assert Counter(p for _, p in c) == Counter(x[1] for x in a)  # same counts, other hosts


BASE = tuple(p for p in PROFILES if p not in ESTATE_PROFILES)  # estate profiles: test_estate_profiles.py


def test_profiles_set_the_state_they_promise() -> None:
    spec = FleetSpec.from_dict(
        {"hosts": 14, "seed": 1, "profiles": {p: 7 for p in BASE if p != "healthy"}, "office": 0}
    )
    by = {p.profile: p for p in build_hosts(spec, "Secret-1")}
    assert set(by) == set(BASE)
    healthy = by["healthy"].state
    assert healthy.windows is not None and healthy.windows.status == LicenseStatus.LICENSED
    assert healthy.windows.channel == "VOLUME_KMSCLIENT" and healthy.kms_discovered == "kms01.lab.test:1688"
    assert {e.id for e in healthy.events} == {12288, 12289}
    unreach = by["kms_unreachable"].state
    assert unreach.windows is not None and unreach.windows.status_reason == 0xC004F074
    assert any(e.id == 8198 and "hr=0xC004F074" in e.message for e in unreach.events)
    nosrv = by["no_srv"].state
    assert nosrv.domain == "branch.lab.test" and nosrv.windows is not None
    assert nosrv.windows.status_reason == 0x8007232B
    wrong = by["wrong_kms_host"].state
    assert wrong.kms_registered_host == "oldkms.lab.test" and wrong.kms_registered_port == 1688
    nonvl = by["non_vl_key"].state.windows
    assert nonvl is not None and nonvl.channel in ("RETAIL", "VOLUME_MAK") and not nonvl.is_kms_client
    office = by["office_unactivated"].state
    assert office.office and office.office[0].products[0].status == LicenseStatus.OOB_GRACE
    assert office.windows is not None and office.windows.status == LicenseStatus.LICENSED
    assert by["broken_store"].state.license_store_broken
    assert abs(by["clock_skew"].state.clock_offset) > timedelta(hours=4)
    assert not by["winrm_down"].state.winrm_enabled
    assert by["slow"].state.latency["cmd"] >= spec.slow_seconds
    proxy = by["retail_proxy"].state
    assert proxy.windows is not None and proxy.windows.channel == "RETAIL" and proxy.winhttp_proxy
    assert any(e.id == 8198 and "0x80072EE7" in e.message for e in proxy.events)
    hw = by["hardware_change"].state.windows
    assert hw is not None and hw.channel == "RETAIL" and hw.status_reason == 0xC004F213
    home = by["off_network"].state
    assert home.network_category in ("Public", "Private") and home.vpn_profiles == {"Corp VPN": False}
    assert home.windows is not None and home.windows.status_reason == 0xC004F074
    auth = by["auth_fail"]
    assert auth.state.password == "Secret-1" and auth.inventory_password != "Secret-1"


def test_latency_profiles() -> None:
    import random

    rng = random.Random(1)
    assert latency_for(FleetSpec(), rng, "healthy") == {}
    real = latency_for(FleetSpec(latency="realistic"), rng, "healthy")
    assert 1.5 <= real["slmgr"] <= 3.0 and 1.0 <= real["ospp"] <= 2.0 and real["ps"] == 0.4
    custom = latency_for(FleetSpec.from_dict({"latency": {"slmgr": 2.0}}), rng, "slow")
    assert custom["slmgr"] == 10.0 and custom["cmd"] == 5.0


def test_password_never_in_repr() -> None:
    spec = FleetSpec.from_dict({"password": "Top-Secret-9"})
    assert "Top-Secret-9" not in repr(spec)
    assert "Top-Secret-9" not in repr(build_hosts(spec, spec.resolved_password())[0])
    generated = FleetSpec().resolved_password()
    assert generated != FleetSpec().resolved_password() and len(generated) >= 12


def test_overrides_validate() -> None:
    with pytest.raises(SpecError, match="--hosts"):
        FleetSpec().with_overrides(hosts=0)
    assert FleetSpec().with_overrides(hosts=7, seed=9).hosts == 7
