"""The default fleet must not change: same seed -> the same hosts as before channels/editions existed.

The fingerprints were recorded from build_hosts() before the channel/edition/OS-release work; any
change to how a spec without `channels:`, `license_states:`, `editions:`, `os_versions:`,
`activation:` or `office_kinds:` builds its hosts shows up here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from remediate.lab.fleet.hosts import HostPlan, build_hosts
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.windows.state import Product

# The demo fleet as it was when the fingerprint was recorded (the shipped demo.yml now adds
# `channels:`); a copy, so the pin keeps testing the builder, not the demo's choices.
DEMO_BEFORE_CHANNELS = """\
# The fleet `remediate demo` runs on: 50 hosts, every fault profile, three UI locales.
# Exact counts for seed 7 (largest remainder of the percentages below):
#   healthy 20, kms_unreachable 4, no_srv 3, wrong_kms_host 4, non_vl_key 3,
#   office_unactivated 5, broken_store 2, clock_skew 3, winrm_down 2, slow 2, auth_fail 2
hosts: 50
seed: 7
domain: lab.test
user: admin
locales: {en-US: 70, ja-JP: 20, zh-CN: 10}
latency: zero          # the demo should finish quickly; try `realistic` for a rehearsal
slow_seconds: 3        # `slow` hosts take 3 s per command
kms_hosts:
  - {name: kms01, port: 1688, behaviour: ok}
  - {name: kms02, port: 1688, behaviour: ok}
srv_records: [kms01]
profiles:
  healthy: 40
  kms_unreachable: 8
  no_srv: 6
  wrong_kms_host: 8
  non_vl_key: 6
  office_unactivated: 10
  broken_store: 4
  clock_skew: 6
  winrm_down: 4
  slow: 4
  auth_fail: 4
office: 40
"""


def _product(p: Product) -> list[Any]:
    return [
        p.name, p.description, p.application_id, p.activation_id, p.channel, p.product_key,
        int(p.status), p.status_reason, p.grace_minutes, p.licensed_until is None, p.kms_pid,
    ]  # fmt: skip


def fingerprint(plans: list[HostPlan]) -> str:
    """sha256 over everything seeded in a plan (not the wall-clock times)."""
    rows = []
    for plan in plans:
        s = plan.state
        assert s.windows is not None
        rows.append(
            [
                plan.name, plan.profile, plan.inventory_password, s.domain, s.locale, s.os_caption,
                s.os_version, s.edition_id, _product(s.windows), s.kms_registered_host,
                s.kms_registered_port, s.kms_discovered, s.clock_offset.total_seconds(),
                s.license_store_broken, s.winrm_enabled, sorted(s.latency.items()),
                [(e.id, e.level) for e in s.events],
                [(o.version, o.bitness, [_product(p) for p in o.products]) for o in s.office],
            ]
        )  # fmt: skip
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


SPEC_200 = {
    "hosts": 200,
    "seed": 42,
    "latency": "realistic",
    "locales": {"en-US": 50, "ja-JP": 30, "zh-CN": 20},
    "profiles": {"healthy": 30, "kms_unreachable": 10, "no_srv": 10, "wrong_kms_host": 10,
                 "non_vl_key": 10, "office_unactivated": 10, "broken_store": 5,
                 "clock_skew": 10, "slow": 5},
    "office": 60,
}  # fmt: skip
SPECS = {
    "demo": lambda: FleetSpec.from_yaml(DEMO_BEFORE_CHANNELS, source="demo.yml"),
    "200": lambda: FleetSpec.from_dict(SPEC_200),
    "plain": lambda: FleetSpec(),
}
# demo / 200 re-pinned when Office initial grace got its real reason code (0x4004F00C, was the
# out-of-tolerance 0x4004F00D) and 8198 events the volume-activation RuleId (eeba1977-...).
EXPECTED = {
    "demo": "7e592278b80a8ae3a3517ce266b429cf4349ef72cfad7d10d7b10c9b8d06a118",
    "200": "6666896788136c4e729e031e53ec4b692decf1fadaade19c72f6c614778d9a94",
    "plain": "2223a9dfebb35e84d3bcc79c7bb7f1dfff6f9272223f28893991d7b0df192808",
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_default_fleet_fingerprint_unchanged(name: str) -> None:
    assert fingerprint(build_hosts(SPECS[name](), "pw")) == EXPECTED[name]
