"""The circuit breaker (--max-fail-percentage) at the scheduler level, with scripted fake hosts.

It counts hosts this run changed (a fix ran) that did not end `fixed`, once per finished batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from remediate.core.errors import ConnectError
from remediate.core.playbook import Check, Fix, Playbook
from remediate.core.results import HostResult, RunResult
from remediate.engine import RunOptions, run_playbook
from remediate.engine.scheduler import is_harmful
from remediate.inventory import Host
from remediate.inventory.credentials import CredentialResolver
from remediate.transports.fake import FakeFleet, Reply

# `status` prints the host's state; `activate` fixes an "unlicensed" host unless it is "broken".
# A "hopeless" host fails its check and no fix applies: broken before the run, never changed.
PB = Playbook(
    name="breaker",
    path="breaker.yml",
    targets="all",
    vars={},
    checks=[
        Check(
            id="license",
            run="status",
            shell="cmd",
            parse="text",
            expect="facts.license == 'licensed'",
            timeout=5.0,
            description=None,
            line=1,
        )
    ],
    fixes=[
        Fix(
            id="activate",
            run="activate",
            shell="cmd",
            when="facts.license != 'hopeless'",
            describe="activate",
            parse=None,
            timeout=5.0,
            line=1,
            addresses=("check:license",),
        )
    ],
    verify=["license"],
    diagnose=None,
)


def fleet_of(n: int, states: dict[int, str], delay: float = 0.0) -> tuple[FakeFleet, list[Host]]:
    """n hosts `h00`..; every host "unlicensed" (fixable) unless `states` says otherwise."""
    fleet = FakeFleet()
    hosts = []
    for i in range(n):
        name = f"h{i:02d}"
        hosts.append(Host(name=name, groups=[], vars={"ansible_connection": "fake", "ansible_user": "a"}))
        fh = fleet.host(name)
        fh.state["s"] = states.get(i, "unlicensed")

        def status(script: str, st: dict[str, Any]) -> Reply:
            return Reply(stdout=st["s"], delay=delay)

        def activate(script: str, st: dict[str, Any]) -> Reply:
            if st["s"] == "broken":
                return Reply(rc=1, stderr="Error: 0xC004F074")
            st["s"] = "licensed"
            return Reply()

        fh.on("status", status).on("activate", activate)
        if states.get(i) == "down":
            fh.connect_errors = [ConnectError("refused")] * 5
    return fleet, hosts


async def run(fleet: FakeFleet, hosts: Sequence[Host], **kw: Any) -> dict[str, HostResult]:
    r: RunResult = await run_playbook(
        PB,
        hosts,
        RunOptions(apply=True, retries=0, **kw),
        credentials=CredentialResolver(),
        transport_factory=fleet.factory,
    )
    return {h.host: h for h in r.hosts}


async def test_host_broken_before_the_run_does_not_trip_the_canary() -> None:
    # The README's change window: the canary is a host no fix could touch. It must not count.
    fleet, hosts = fleet_of(30, {0: "hopeless"})
    res = await run(fleet, hosts, serial="1,10%", max_fail_percentage=5)
    assert res["h00"].verdict == "failed" and not res["h00"].changed
    assert all(res[h.name].verdict == "fixed" and res[h.name].changed for h in hosts[1:])


async def test_canary_whose_fix_failed_stops_the_run() -> None:
    fleet, hosts = fleet_of(30, {0: "broken"})
    res = await run(fleet, hosts, serial="1,10%", max_fail_percentage=5)
    assert res["h00"].verdict == "failed" and res["h00"].changed and is_harmful(res["h00"])
    later = [res[h.name] for h in hosts[1:]]
    assert all(h.verdict == "skipped" for h in later)
    assert later[-1].error == (
        "not started: max fail percentage 5% exceeded in batch 1: "
        "1 of 1 hosts (100%) changed and did not end fixed (h00)"
    )
    assert {n for n, _ in fleet.connects} == {"h00"}  # later batches never connected


async def test_breaker_counts_per_batch_at_its_end() -> None:
    # Batch of 10, one harmful host (10%) that finishes first; forks 2 so the batch is still
    # starting hosts when it finishes. 20%: the run goes on. 5%: the batch completes, then stop.
    fleet, hosts = fleet_of(20, {0: "broken"}, delay=0.01)
    res = await run(fleet, hosts, serial="10", forks=2, max_fail_percentage=20)
    assert [res[h.name].verdict for h in hosts].count("fixed") == 19

    fleet, hosts = fleet_of(20, {0: "broken"}, delay=0.01)
    res = await run(fleet, hosts, serial="10", forks=2, max_fail_percentage=5)
    assert [res[h.name].verdict for h in hosts[:10]] == ["failed"] + ["fixed"] * 9
    assert all(res[h.name].verdict == "skipped" for h in hosts[10:])
    assert "1 of 10 hosts (10%)" in (res["h19"].error or "")


async def test_unreachable_and_unfixable_hosts_do_not_count() -> None:
    fleet, hosts = fleet_of(6, {0: "down", 1: "hopeless"})
    res = await run(fleet, hosts, serial="2", max_fail_percentage=0)
    assert res["h00"].verdict == "unreachable" and res["h01"].verdict == "failed"
    assert all(res[h.name].verdict == "fixed" for h in hosts[2:])


def test_changed_round_trips_through_json() -> None:
    hr = HostResult("h", "failed", changed=True)
    assert hr.to_dict()["changed"] is True
    assert HostResult.from_dict(hr.to_dict()).changed is True
    assert HostResult.from_dict({"host": "h", "verdict": "failed"}).changed is False
