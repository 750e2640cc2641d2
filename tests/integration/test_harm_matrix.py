"""The harm matrix: every channel x license state x fault profile x locale, dry run then apply,
with the conversion opt-ins off and on (YAML booleans, JSON lists and the strings "false"/"no").

Each safety rule of docs/safety.md is checked against the lab hosts' own state before and after
(what slmgr/ospp would report on the machine), not against remediate's report:
- never worse: no product ends in a worse license state; a licensed product keeps its channel and
  key; a channel changes only for an opted-in MAK, and then ends licensed;
- channel-aware: RETAIL and OEM hosts are never touched (key, channel, KMS settings);
- only what is diagnosed: a host changes only if the dry run planned a fix for a diagnosed cause;
- dry run = plan: each host's apply runs exactly the fixes its dry run planned.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from remediate import app
from remediate.core.results import HostResult
from remediate.engine import RunOptions
from remediate.lab.fleet.spec import CHANNELS, LICENSE_STATES, MATRIX_PROFILES, FleetSpec
from remediate.lab.runtime import LabThread

SPEC = {
    "matrix": True,
    "seed": 5,
    "locales": {"en-US": 34, "ja-JP": 33, "zh-CN": 33},
    "office": 100,  # every host has Office, cycling MSI VL, C2R retail grace, C2R volume, M365
    "kms_hosts": [{"name": "kms01"}],
    "srv_records": ["kms01"],
}
# -e forms as an admin types them; the first four must mean "no conversion".
SETTINGS: dict[str, list[str]] = {
    "default": [],
    "allow_gvlk=false": ["allow_gvlk=false"],
    "allow_gvlk=no": ["allow_gvlk=no"],
    "yaml false": ['{"allow_gvlk": false, "convert_channels": []}'],
    "allow_gvlk=true": ["allow_gvlk=true"],
    "convert MAK": ['{"convert_channels": ["VOLUME_MAK"]}'],
    # consent, but the kms_host to move to does not answer: no key may be replaced on its account
    "convert MAK, dead kms_host": ['{"convert_channels": ["VOLUME_MAK"]}', "kms_host=dead.lab.test"],
}
CONSENT = {"allow_gvlk=true", "convert MAK", "convert MAK, dead kms_host"}
DEAD_KMS_HOST = {"convert MAK, dead kms_host"}
# profiles whose KMS path works or that set-kms repairs (non_vl_key is an unactivated product)
FIXABLE_PATH = ("healthy", "no_srv", "wrong_kms_host", "office_unactivated", "non_vl_key")
RANK = {1: 2, 2: 1, 3: 1, 4: 1, 6: 1}  # LicenseStatus -> licensed 2, grace (time left) 1, else 0

State = dict[str, dict[str, Any]]


@dataclasses.dataclass
class Outcome:
    before: State
    after_dry: State
    after: State
    dry: dict[str, HostResult]
    applied: dict[str, HostResult]
    plans: dict[str, tuple[str, str, str, str]]  # host -> (channel, license state, profile, locale)


def _snapshot(lab: LabThread) -> State:
    async def take() -> State:
        return {n: copy.deepcopy(dataclasses.asdict(h.state)) for n, h in lab.hosts.items()}

    return lab.call(take)


async def _run(inventory: Path, book: str, extra: list[str], apply: bool) -> dict[str, HostResult]:
    targets = app.load(book, inventory, extra_vars=extra)  # as `remediate run BOOK -e ...` does
    result = await app.run(targets, RunOptions(apply=apply, forks=50, retries=0))
    return {h.host: h for h in result.hosts}


def _exercise(tmp: Path, book: str, extra: list[str]) -> Outcome:
    with LabThread(FleetSpec.from_dict(SPEC), tmp) as lab:
        inventory = lab.write_inventory(tmp / "inventory.yml")
        plans = {n: (h.channel, h.license_state, h.profile, h.state.locale) for n, h in lab.hosts.items()}
        before = _snapshot(lab)
        dry = asyncio.run(_run(inventory, book, extra, apply=False))
        after_dry = _snapshot(lab)
        applied = asyncio.run(_run(inventory, book, extra, apply=True))
        return Outcome(before, after_dry, _snapshot(lab), dry, applied, plans)  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=list(SETTINGS))
def windows(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    yield _exercise(tmp_path_factory.mktemp("harm"), "windows-kms.yml", SETTINGS[request.param])


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    yield _exercise(tmp_path_factory.mktemp("harm-office"), "office-kms.yml", [])


def _rank(product: dict[str, Any] | None) -> int:
    if product is None:
        return 0
    status = int(product["status"])
    if status == 1:
        return 2
    return 1 if status in RANK and product["grace_minutes"] > 0 else 0


def _ran(hr: HostResult) -> list[str]:
    return [s.id for s in hr.steps if s.phase == "fix"]


def test_the_matrix_is_complete(windows: Outcome) -> None:
    combos = set(windows.plans.values())
    want = {
        (c, s, p, loc)
        for c in CHANNELS
        for s in LICENSE_STATES
        for p in MATRIX_PROFILES
        for loc in ("en-US", "ja-JP", "zh-CN")
    }
    assert combos == want


def test_dry_run_changes_nothing(windows: Outcome) -> None:
    assert windows.after_dry == windows.before


def test_never_worse_windows(windows: Outcome, request: pytest.FixtureRequest) -> None:
    consent = request.node.callspec.params["windows"] in CONSENT
    for name, (channel, _state, profile, _loc) in windows.plans.items():
        b, a = windows.before[name]["windows"], windows.after[name]["windows"]
        where = (name, channel, _state, profile)
        assert _rank(a) >= _rank(b), where
        if b["channel"] != a["channel"]:  # a conversion: only an opted-in MAK, and it must hold
            assert consent and b["channel"] == "VOLUME_MAK" and _rank(b) < 2, where
            assert a["channel"] == "VOLUME_KMSCLIENT" and _rank(a) == 2, where
        if _rank(b) == 2:  # licensed stays licensed on the same key
            assert (a["channel"], a["product_key"]) == (b["channel"], b["product_key"]), where


def test_retail_and_oem_are_never_touched(windows: Outcome) -> None:
    for name, (channel, *_rest) in windows.plans.items():
        if channel in ("RETAIL", "OEM_DM"):
            b, a = windows.before[name], windows.after[name]
            assert a["windows"] == b["windows"], name
            assert (a["kms_registered_host"], a["kms_registered_port"]) == (
                b["kms_registered_host"],
                b["kms_registered_port"],
            ), name
            assert windows.dry[name].planned == [] and _ran(windows.applied[name]) == [], name


def test_mak_changes_only_with_consent(windows: Outcome, request: pytest.FixtureRequest) -> None:
    consent = request.node.callspec.params["windows"] in CONSENT
    maks = [n for n, plan in windows.plans.items() if plan[0] == "VOLUME_MAK"]
    converted = [n for n in maks if windows.after[n]["windows"]["channel"] != "VOLUME_MAK"]
    if not consent:
        assert converted == [] and all(windows.after[n] == windows.before[n] for n in maks)
    else:  # consent converts unlicensed MAKs whose KMS path works, and nothing else
        assert converted, "an opted-in run converts the fixable MAK hosts"
        dead = request.node.callspec.params["windows"] in DEAD_KMS_HOST
        own_path_works = ("healthy", "office_unactivated", "non_vl_key")
        for n in converted:  # with a dead kms_host, only hosts whose own KMS path works
            assert windows.plans[n][2] in (own_path_works if dead else FIXABLE_PATH), n


def test_only_diagnosed_hosts_change_and_dry_run_is_the_plan(windows: Outcome) -> None:
    for name in windows.plans:
        dry, applied = windows.dry[name], windows.applied[name]
        plan = [p["id"] for p in dry.planned]
        assert _ran(applied) == plan, (name, plan, _ran(applied))
        causes = {d.cause_id for d in dry.diagnosis}
        for p in dry.planned:
            assert p["addresses"] and set(p["addresses"]) <= causes, (name, p)
        if not plan:
            assert windows.after[name] == windows.before[name], name


def test_the_fixable_kms_clients_are_fixed(windows: Outcome, request: pytest.FixtureRequest) -> None:
    """Safe is not enough: the hosts a KMS fix can help end licensed."""
    helpable = ("healthy",) if request.node.callspec.params["windows"] in DEAD_KMS_HOST else (
        "no_srv", "wrong_kms_host", "healthy"
    )  # fmt: skip
    for name, (channel, _state, profile, _loc) in windows.plans.items():
        if channel == "VOLUME_KMSCLIENT" and profile in helpable:
            assert windows.after[name]["windows"]["status"] == 1, (name, windows.applied[name].error)


def test_office_never_worse_and_non_volume_office_untouched(office: Outcome) -> None:
    assert office.after_dry == office.before
    fixed = 0
    for name in office.plans:
        for inst_b, inst_a in zip(office.before[name]["office"], office.after[name]["office"], strict=True):
            for pb_, pa in zip(inst_b["products"], inst_a["products"], strict=True):
                assert _rank(pa) >= _rank(pb_) and pa["channel"] == pb_["channel"], name
                if pb_["channel"] != "VOLUME_KMSCLIENT":
                    assert pa == pb_, name
                fixed += _rank(pa) > _rank(pb_)
            if all(p["channel"] != "VOLUME_KMSCLIENT" for p in inst_b["products"]):  # C2R retail, M365
                assert inst_a == inst_b, name
        assert _ran(office.applied[name]) == [p["id"] for p in office.dry[name].planned], name
    assert fixed > 0
