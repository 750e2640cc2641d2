"""Independent cmd checks of a host go as one command; dependent ones wait for their facts."""

from __future__ import annotations

import re
from typing import Any

from remediate.transports.fake import FakeFleet, Reply
from tests.unit.test_engine import by_host, check, hosts, playbook, run

ANSWERS = {"cmd-a": "alpha", "cmd-b": "beta", "cmd-c": "gamma"}


def cmd_host(fleet: FakeFleet, name: str, *, keep_markers: bool = True) -> None:
    """Answers each simple command like cmd.exe would, including `a 2>&1 & echo M & b 2>&1`."""

    def answer(script: str, _st: dict[str, Any]) -> Reply:
        out = []
        for part in script.split(" & "):
            part = part.replace(" 2>&1", "").strip()
            if part.startswith("echo "):
                if keep_markers:
                    out.append(part[5:])
                continue
            word = part.split()[0]
            out.append(ANSWERS.get(word, f"'{word}' is not recognized"))
        return Reply(stdout="\r\n".join(out) + "\r\n")

    fleet.host(name).on(".*", answer)


async def test_independent_cmd_checks_run_as_one_command() -> None:
    fleet = FakeFleet()
    cmd_host(fleet, "win000")
    pb = playbook(
        [
            check("a", "cmd-a /x", parse="text", expect="facts.a == 'alpha'"),
            check("b", "cmd-b", parse="text", expect="facts.b == 'beta'"),
            check("c", "cmd-c {{ facts.b }}", parse="text", expect="facts.c == 'gamma'"),  # reads facts
        ]
    )
    r = by_host(await run(pb, hosts(1), fleet))["win000"]
    assert r.verdict == "compliant", r.error
    scripts = fleet.scripts_for("win000")
    assert len(scripts) == 2  # a+b together, then c once b's fact is known
    assert re.fullmatch(r"cmd-a /x 2>&1 & echo __remediate_step_[0-9a-f]{8}__ & cmd-b 2>&1", scripts[0])
    assert scripts[1] == "cmd-c beta"
    assert r.facts == {"a": "alpha", "b": "beta", "c": "gamma"}
    assert [(s.id, s.rc) for s in r.steps] == [("a", None), ("b", None), ("c", 0)]


async def test_unsplittable_output_falls_back_to_one_by_one() -> None:
    fleet = FakeFleet()
    cmd_host(fleet, "win000", keep_markers=False)  # the markers never come back
    pb = playbook([check("a", "cmd-a", parse="text"), check("b", "cmd-b", parse="text")])
    r = by_host(await run(pb, hosts(1), fleet))["win000"]
    assert r.verdict == "compliant"
    assert fleet.scripts_for("win000")[1:] == ["cmd-a", "cmd-b"]
    assert r.facts == {"a": "alpha", "b": "beta"}


async def test_operators_powershell_and_batch_off_are_never_joined() -> None:
    fleet = FakeFleet()
    cmd_host(fleet, "win000")
    pb = playbook(
        [
            check("a", "cmd-a", parse="text"),
            check("b", "cmd-b & cmd-c", parse="text"),  # joining could regroup its operators
            check("c", "cmd-c", parse="text", shell="powershell"),
            check("d", "cmd-a", parse="text"),
        ]
    )
    await run(pb, hosts(1), fleet)
    assert fleet.scripts_for("win000") == ["cmd-a", "cmd-b & cmd-c", "cmd-c", "cmd-a"]
    fleet2 = FakeFleet()
    cmd_host(fleet2, "win000")
    pb2 = playbook([check("a", "cmd-a", parse="text"), check("b", "cmd-b", parse="text")])
    await run(pb2, hosts(1), fleet2, batch=False)
    assert fleet2.scripts_for("win000") == ["cmd-a", "cmd-b"]
