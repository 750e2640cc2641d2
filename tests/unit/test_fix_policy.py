"""The engine's fix policy with scripted hosts: a fix runs only for a diagnosed cause it
addresses, the dry run is the plan of the apply, and a rechecked precondition holds a fix back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remediate.core import diagnosis
from remediate.core.diagnosis import Diagnoser, Diagnosis
from remediate.core.playbook import Check, Fix, Playbook
from remediate.core.results import HostResult
from remediate.engine import RunOptions, run_playbook
from remediate.inventory import Host
from remediate.inventory.credentials import CredentialResolver
from remediate.transports.fake import FakeFleet, Reply


def _check(id: str, run: str, expect: str | None) -> Check:
    return Check(id, run, "cmd", "text", expect, 5.0, None, 1)


def _fix(id: str, addresses: Sequence[str], *, when: str | None = None, recheck: Sequence[str] = ()) -> Fix:
    return Fix(id, id, "cmd", when, f"do {id}", None, 5.0, 1, None, tuple(addresses), tuple(recheck))


def _diagnose(facts: Any, failed: Sequence[str], variables: Any) -> list[Diagnosis]:
    """Test diagnoser: the `state` check's text names the cause ("cause:<id>")."""
    text = str(facts.get("state") or "")
    if text.startswith("cause:"):
        return [Diagnosis(None, f"title {text[6:]}", "c", "a", True, (), text[6:])]
    return []


CAUSES = {"t.fixable": "fixable", "t.other": "other"}


def _playbook(fixes: list[Fix]) -> Playbook:
    checks = [_check("state", "state", "facts.state == 'ok'")]
    return Playbook("policy", "policy.yml", "all", {}, checks, fixes, ["state"], "test-policy")


def _fleet(states: dict[str, str]) -> tuple[FakeFleet, list[Host]]:
    fleet = FakeFleet()
    hosts = []
    for name, state in states.items():
        h = fleet.host(name)
        h.state["s"] = state

        def show(script: str, st: dict[str, Any]) -> Reply:
            return Reply(stdout=st["s"])

        def repair(script: str, st: dict[str, Any]) -> Reply:
            st["s"] = "ok"
            return Reply()

        h.on("state", show).on("repair", repair).on("other", repair).on("drift", Reply())
        hosts.append(Host(name=name, groups=[], vars={"ansible_connection": "fake", "ansible_user": "a"}))
    return fleet, hosts


async def _run(pb: Playbook, fleet: FakeFleet, hosts: list[Host], apply: bool) -> dict[str, HostResult]:
    diagnosis.register("test-policy", Diagnoser("test-policy", _diagnose, CAUSES))
    r = await run_playbook(
        pb,
        hosts,
        RunOptions(apply=apply, forks=4),
        credentials=CredentialResolver(),
        transport_factory=fleet.factory,
    )
    return {h.host: h for h in r.hosts}


async def test_a_fix_runs_only_for_a_cause_it_addresses() -> None:
    # `other` has a true `when` on every host but addresses a cause nobody has: it never runs.
    pb = _playbook([_fix("repair", ["t.fixable"]), _fix("other", ["t.other"], when="true")])
    fleet, hosts = _fleet({"a": "cause:t.fixable", "b": "cause:t.unknown", "c": "broken"})
    dry = await _run(pb, fleet, hosts, apply=False)
    assert [p["id"] for p in dry["a"].planned] == ["repair"]
    plan = dry["a"].planned[0]
    assert plan["addresses"] == ["t.fixable"] and plan["cause"] == "title t.fixable"
    assert dry["b"].verdict == dry["c"].verdict == "failed" and not dry["b"].planned
    fleet2, hosts2 = _fleet({"a": "cause:t.fixable", "b": "cause:t.unknown", "c": "broken"})
    applied = await _run(pb, fleet2, hosts2, apply=True)
    assert applied["a"].verdict == "fixed" and applied["a"].changed
    assert fleet2.scripts_for("b") == ["state"] and fleet2.scripts_for("c") == ["state"]
    assert all("other" not in s for _, s in fleet2.commands)


async def test_dry_run_is_the_plan_of_the_apply() -> None:
    pb = _playbook([_fix("repair", ["t.fixable"]), _fix("other", ["t.other"])])
    states = {f"h{i}": s for i, s in enumerate(["cause:t.fixable", "cause:t.other", "ok", "cause:x"] * 3)}
    fleet, hosts = _fleet(states)
    dry = await _run(pb, fleet, hosts, apply=False)
    fleet2, hosts2 = _fleet(states)
    applied = await _run(pb, fleet2, hosts2, apply=True)
    for name in states:
        planned = [p["id"] for p in dry[name].planned]
        ran = [s for _, s in fleet2.commands if _ == name and s in ("repair", "other")]
        assert planned == ran == [p["id"] for p in applied[name].planned], name


async def test_recheck_holds_a_fix_whose_precondition_no_longer_holds() -> None:
    # The host fixes itself between the check and the fix (another admin, a scheduled task): the
    # rechecked state no longer names the cause, so the fix is not run.
    pb = _playbook([_fix("repair", ["t.fixable"], recheck=["state"])])
    fleet, hosts = _fleet({"a": "cause:t.fixable"})

    def show_then_heal(script: str, st: dict[str, Any]) -> Reply:
        text, st["s"] = st["s"], "ok"
        return Reply(stdout=text)

    fleet.host("a").rules.clear()
    fleet.host("a").on("state", show_then_heal)
    r = (await _run(pb, fleet, hosts, apply=True))["a"]
    assert fleet.scripts_for("a") == ["state", "state"]  # check, recheck; never `repair`
    assert r.verdict == "compliant" and not r.changed  # the recheck found it fine
    assert [s.phase for s in r.steps] == ["check", "recheck"]


async def test_recheck_that_still_fails_without_the_cause_holds_the_fix() -> None:
    pb = _playbook([_fix("repair", ["t.fixable"], recheck=["state"])])
    fleet, hosts = _fleet({"a": "cause:t.fixable"})

    def show_then_other(script: str, st: dict[str, Any]) -> Reply:
        text, st["s"] = st["s"], "cause:t.other"
        return Reply(stdout=text)

    fleet.host("a").rules.clear()
    fleet.host("a").on("state", show_then_other)
    r = (await _run(pb, fleet, hosts, apply=True))["a"]
    assert fleet.scripts_for("a") == ["state", "state"]
    assert r.verdict == "failed" and "precondition no longer held" in (r.error or "") and not r.changed


async def test_before_fix_refusal_skips_the_host_with_no_fix_run() -> None:
    # A site worker's claim (RunOptions.before_fix): asked once per host, right before its first
    # fix, never in a dry run and never for a compliant host; a refusal means no fix ran.
    pb = _playbook([_fix("repair", ["t.fixable"])])
    fleet, hosts = _fleet({"a": "cause:t.fixable", "b": "cause:t.fixable", "c": "ok"})
    asked: list[str] = []

    def claim(host: Host) -> bool:
        asked.append(host.name)
        return host.name == "a"

    diagnosis.register("test-policy", Diagnoser("test-policy", _diagnose, CAUSES))
    for apply in (False, True):
        r = await run_playbook(
            pb,
            hosts,
            RunOptions(apply=apply, forks=4, before_fix=claim),
            credentials=CredentialResolver(),
            transport_factory=fleet.factory,
        )
        if not apply:
            assert asked == []
    by = {h.host: h for h in r.hosts}
    assert sorted(asked) == ["a", "b"]
    assert by["a"].verdict == "fixed"
    assert (by["b"].verdict, by["b"].error, by["b"].changed) == ("skipped", "already claimed", False)
    assert not [s for s in by["b"].steps if s.phase == "fix"]
    assert fleet.hosts["b"].state["s"] == "cause:t.fixable"
    assert by["c"].verdict == "compliant"
