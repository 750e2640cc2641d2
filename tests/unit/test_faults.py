"""The engine under faults: failed logons after a success, batched timeouts, dependants of a
check that did not complete, the default host budget, and Ctrl-C while a command hangs."""

from __future__ import annotations

import asyncio
import time

from remediate.core.errors import AuthenticationError
from remediate.core.model import ConnectionSpec
from remediate.core.playbook import Check
from remediate.core.results import Phase
from remediate.engine import RunEvents, RunOptions
from remediate.engine.budget import host_budget, run_budget, steps_budget
from remediate.engine.connect import STEP_GRACE, connect_budget
from remediate.engine.deps import fact_refs
from remediate.transports.fake import FakeFleet, Reply
from tests.unit.test_engine import by_host, check, fix, hosts, playbook, run


def when_check(id: str, run: str, when: str, *, parse: str = "text", shell: str = "cmd") -> Check:
    return Check(id=id, run=run, shell=shell, parse=parse, expect=None, timeout=5.0,  # type: ignore[arg-type]
                 description=None, line=1, when=when)  # fmt: skip


# ---- 1. lockout: every failed logon counts, also after a success --------------------------------
async def test_failures_after_a_first_success_stop_at_three() -> None:
    fleet = FakeFleet()
    hs = hosts(21)
    for h in hs:
        fleet.host(h.name).on(".*", "ok")
    for h in hs[1:]:  # the password was changed on these after win000 logged on with it
        fleet.host(h.name).connect_errors = [AuthenticationError("HTTP 401 Unauthorized")] * 3
    pb = playbook([check("a", "cmd-a", parse="text")])
    r = by_host(await run(pb, hs, fleet, forks=50, serial="1,100%"))
    assert r["win000"].verdict == "compliant"
    tried = [h for h, _ in fleet.connects if h != "win000"]
    assert len(tried) == 3, tried  # the old guard let all 20 through once the credential had worked
    errors = [r[h.name].error or "" for h in hs[1:]]
    assert sum(e.startswith("authentication failed") for e in errors) == 3
    assert sum("disabled after 3 authentication failures (lockout guard)" in e for e in errors) == 17


# ---- 2. a batched check that times out is attributed, not re-run ------------------------------
async def test_batched_timeout_goes_to_each_step_and_is_not_rerun() -> None:
    fleet = FakeFleet()
    fleet.host("win000").on(".*", Reply(hang=True))
    pb = playbook(
        [check("a", "cmd-a", parse="text", timeout=0.2), check("b", "cmd-b", parse="text", timeout=0.2)]
    )
    t0 = time.monotonic()
    hr = by_host(await run(pb, hosts(1), fleet))["win000"]
    elapsed = time.monotonic() - t0
    assert len(fleet.scripts_for("win000")) == 1  # the old code ran a and b again, one by one
    why = "timed out after 0.4s (one command with a, b)"
    assert [(s.id, s.error) for s in hr.steps] == [("a", why), ("b", why)]
    assert hr.error == f"check could not run: a: {why}; b: {why}"
    assert sum(s.duration for s in hr.steps) >= 0.4  # the command's time is in the steps
    assert elapsed < 2.0


# ---- 2. dependants of a check that did not complete are skipped, not evaluated -----------------
async def test_dependant_of_a_timed_out_check_is_skipped_with_its_reason() -> None:
    fleet = FakeFleet()
    host = fleet.host("win000")
    host.on("Get-ChildItem", Reply(hang=True)).on("license", "licensed")
    paths = check("office_paths", "Get-ChildItem x", parse="lines", shell="powershell", timeout=0.2)
    office = when_check(
        "office", "{% for p in facts.office_paths %}ospp {{ p }}{% endfor %}", "facts.office_paths"
    )
    after = when_check("office2", "ospp {{ facts['office'] }}", "true")
    pb = playbook([paths, office, after, check("license", "license", parse="text")])
    hr = by_host(await run(pb, hosts(1), fleet))["win000"]
    steps = {s.id: s for s in hr.steps}
    assert steps["office"].error == "skipped: depends on office_paths (timed out)"
    assert steps["office"].passed is None and steps["office"].rc is None
    assert steps["office2"].error == "skipped: depends on office (skipped)"
    assert steps["license"].error is None  # an independent check still ran
    assert hr.verdict == "failed"
    assert hr.error is not None and "UndefinedError" not in hr.error  # old: `check office: when: ...`
    assert hr.error.startswith("check could not run: office_paths: timed out after 0.2s; office: skipped")


def test_fact_refs_sees_attribute_and_item_references() -> None:
    assert fact_refs("{{ facts.a.b }} {{ facts['c'] }} {{ x.d }}", "facts.e and not facts.f") == {
        "a",
        "c",
        "e",
        "f",
    }
    assert fact_refs("{{ kms_target(facts, h) }}", None) == frozenset()  # handed whole: not seen


# ---- 2. the default per-host budget ------------------------------------------------------------
def test_default_host_budget_is_connect_plus_every_step_timeout() -> None:
    pb = playbook(
        [check("a", "x", timeout=10), check("b", "y", timeout=20)],
        fixes=[fix("f", "z", timeout=30)],
        verify=["a"],
    )
    spec = ConnectionSpec(host="h", address="127.0.0.1", connect_timeout=7)
    opts = RunOptions(retries=1, retry_backoff=2)
    assert connect_budget(spec, 1, 2) == 2 * (2 * 7 + STEP_GRACE) + 2 * 1.25
    assert steps_budget(pb, apply=False) == 10 + 20 + 2 * STEP_GRACE
    assert steps_budget(pb, apply=True) == 10 + 20 + 30 + 10 + 4 * STEP_GRACE
    assert host_budget(pb, spec, opts) == connect_budget(spec, 1, 2) + steps_budget(pb, False)
    assert host_budget(pb, spec, RunOptions(host_timeout=9)) == 9  # --host-timeout overrides
    assert run_budget([[5.0] * 10, [7.0] * 3], forks=4) == 3 * 5.0 + 1 * 7.0


async def test_host_past_its_budget_records_the_step_it_was_in() -> None:
    fleet = FakeFleet()
    fleet.host("win000").on(".*", Reply(hang=True))
    pb = playbook([check("a", "cmd-a", parse="text", timeout=30)])
    hr = by_host(await run(pb, hosts(1), fleet, host_timeout=0.3))["win000"]
    assert hr.error == "host timed out after 0.3s"
    assert [(s.id, s.error) for s in hr.steps] == [("a", "host timed out after 0.3s")]


# ---- 2. Ctrl-C cancels the running step --------------------------------------------------------
class StopWhenStarted(RunEvents):
    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def step_started(self, host: str, step_id: str, phase: Phase) -> None:
        asyncio.get_running_loop().call_later(0.1, self.stop.set)


async def test_stop_cancels_a_hung_step_at_once() -> None:
    fleet = FakeFleet()
    fleet.host("win000").on(".*", Reply(hang=True))
    pb = playbook([check("a", "hang-a", parse="text", timeout=60, shell="powershell")])
    stop = asyncio.Event()
    t0 = time.monotonic()
    r = await run(pb, hosts(1), fleet, stop=stop, events=StopWhenStarted(stop))
    assert time.monotonic() - t0 < 2.0  # the old engine waited for the 60 s step
    assert r.interrupted and r.exit_code() == 130
    (hr,) = r.hosts
    assert (hr.verdict, hr.error) == ("skipped", "interrupted")
    assert [(s.id, s.error, s.passed) for s in hr.steps] == [("a", "interrupted", False)]
    assert fleet.closed == ["win000"]
