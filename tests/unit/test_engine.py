"""Engine scheduling and per-host flow, against FakeTransport (scripted hosts, real asyncio)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from remediate.core import diagnosis
from remediate.core.diagnosis import Diagnosis
from remediate.core.errors import AuthenticationError, CertificateError, ConnectError, ProtocolError
from remediate.core.playbook import Check, Fix, Playbook
from remediate.core.results import HostResult, RunResult, StepResult
from remediate.engine import Observers, RunEvents, RunOptions, plan, run_playbook
from remediate.history.records import RunMeta
from remediate.history.session import open_recording
from remediate.inventory import Host
from remediate.inventory.credentials import CredentialResolver
from remediate.output.writers import JsonlObserver, read_jsonl, write_json, write_junit
from remediate.transports.fake import FakeFleet, Reply

PASSWORD = "Tr0ub4dor&3-secret"


def check(
    id: str,
    run: str,
    *,
    expect: str | None = None,
    parse: str | None = None,
    timeout: float = 5.0,
    shell: str = "cmd",
) -> Check:
    return Check(
        id=id,
        run=run,
        shell=shell,
        parse=parse,
        expect=expect,
        timeout=timeout,  # type: ignore[arg-type]
        description=None,
        line=1,
    )


def fix(
    id: str,
    run: str,
    *,
    when: str | None = None,
    describe: str | None = None,
    parse: str | None = None,
    timeout: float = 5.0,
    addresses: Sequence[str] = ("check:license",),
) -> Fix:
    return Fix(
        id=id,
        run=run,
        shell="cmd",
        when=when,
        describe=describe,
        parse=parse,  # type: ignore[arg-type]
        timeout=timeout,
        line=1,
        addresses=tuple(addresses),
    )


def playbook(
    checks: Sequence[Check],
    fixes: Sequence[Fix] = (),
    verify: Sequence[str] = (),
    diagnose: str | None = None,
    vars: dict[str, Any] | None = None,
) -> Playbook:
    return Playbook(
        name="test",
        path="test.yml",
        targets="all",
        vars=vars or {},
        checks=list(checks),
        fixes=list(fixes),
        verify=list(verify),
        diagnose=diagnose,
    )


def hosts(n: int, prefix: str = "win", user: str = "admin", password: str = PASSWORD) -> list[Host]:
    return [
        Host(
            name=f"{prefix}{i:03d}",
            groups=["windows"],
            vars={
                "ansible_host": "127.0.0.1",
                "ansible_connection": "fake",
                "ansible_user": user,
                "ansible_password": password,
            },
        )
        for i in range(n)
    ]


# A KMS-like host: `status` prints its license state; `activate` licenses it unless it is broken.
def kms_host(
    fleet: FakeFleet, name: str, licensed: bool = False, broken: bool = False, delay: float = 0.0
) -> None:
    h = fleet.host(name)
    h.state.update(licensed=licensed, broken=broken)

    def status(script: str, st: dict[str, Any]) -> Reply:
        return Reply(stdout="licensed" if st["licensed"] else "unlicensed", delay=delay)

    def activate(script: str, st: dict[str, Any]) -> Reply:
        if st["broken"]:
            return Reply(rc=1, stderr="Error: 0xC004F074")
        st["licensed"] = True
        return Reply(stdout='{"success": true, "error_code": null}')

    h.on("status", status).on("activate", activate)


KMS = playbook(
    [check("license", "status", parse="text", expect="facts.license == 'licensed'")],
    [
        fix(
            "activate",
            "activate {{ kms_host }}",
            when="facts.license != 'licensed'",
            describe="activate against {{ kms_host }}",
            parse="json",
        )
    ],
    verify=["license"],
    vars={"kms_host": "kms1.lab.test"},
)


async def run(pb: Playbook, hs: Sequence[Host], fleet: FakeFleet, **kw: Any) -> RunResult:
    jsonl = kw.pop("jsonl", None)
    events = kw.pop("events", None)
    stop = kw.pop("stop", None)
    kw.setdefault("retry_backoff", 0.001)
    stream = JsonlObserver(jsonl) if jsonl is not None else None  # the JSONL file: an observer
    try:
        return await run_playbook(
            pb,
            hs,
            RunOptions(**kw),
            credentials=CredentialResolver(),
            transport_factory=fleet.factory,
            events=Observers(stream, events),
            stop=stop,
        )
    finally:
        if stream is not None:
            stream.close()


def by_host(r: RunResult) -> dict[str, HostResult]:
    return {h.host: h for h in r.hosts}


# ---- scheduling -----------------------------------------------------------------------------


async def test_forks_bound_and_one_connection_per_host() -> None:
    fleet = FakeFleet()
    hs = hosts(20)
    for h in hs:
        kms_host(fleet, h.name, delay=0.01)
    r = await run(KMS, hs, fleet, forks=5, apply=True)
    assert {h.verdict for h in r.hosts} == {"fixed"}
    assert fleet.peak_in_flight == 5  # bounded, and the bound was used
    assert sorted(n for n, _ in fleet.connects) == [h.name for h in hs]  # one connect per host
    assert sorted(fleet.closed) == [h.name for h in hs]  # and one close
    # check, fix, verify all went through that one connection
    assert fleet.scripts_for("win000") == ["status", "activate kms1.lab.test", "status"]
    assert r.exit_code() == 0


async def test_retries_only_for_connect_errors() -> None:
    fleet = FakeFleet()
    hs = hosts(4)
    for h in hs:
        kms_host(fleet, h.name, licensed=True)
    fleet.host("win000").connect_errors = [ConnectError("refused"), ConnectError("reset"), None]
    fleet.host("win001").connect_errors = [CertificateError("self-signed")] * 5
    fleet.host("win002").connect_errors = [ConnectError("refused")] * 5
    fleet.host("win003").connect_errors = [AuthenticationError("401")] * 5
    hs[3].vars["ansible_user"] = "other"  # its own credential: no lockout interplay
    r = by_host(await run(KMS, hs, fleet, retries=2))
    attempts = {h.name: sum(n == h.name for n, _ in fleet.connects) for h in hs}
    assert attempts == {"win000": 3, "win001": 1, "win002": 3, "win003": 1}
    assert r["win000"].verdict == "compliant"
    assert r["win001"].verdict == "unreachable" and "certificate" in (r["win001"].error or "")
    assert r["win002"].verdict == "unreachable" and "after 3 attempts" in (r["win002"].error or "")
    assert r["win003"].verdict == "unreachable" and "authentication failed" in (r["win003"].error or "")


async def test_lockout_guard_after_three_auth_failures() -> None:
    fleet = FakeFleet()
    bad = hosts(10, prefix="bad", user="svc-kms", password="wrong-password")
    good = hosts(5, prefix="ok", user="admin")
    for h in bad:
        fleet.host(h.name).connect_errors = [AuthenticationError("HTTP 401 Unauthorized")]
    for h in good:
        kms_host(fleet, h.name, licensed=True)
    r = await run(KMS, bad + good, fleet, forks=50)
    res = by_host(r)
    bad_cred = {c for n, c in fleet.connects if n.startswith("bad")}
    assert len(bad_cred) == 1 and None not in bad_cred
    assert sum(n.startswith("bad") for n, _ in fleet.connects) == 3  # only 3 attempts with it
    assert all(res[h.name].verdict == "unreachable" for h in bad)
    guarded = [h for h in bad if "lockout guard" in (res[h.name].error or "")]
    assert len(guarded) == 7
    cid = next(iter(bad_cred))
    assert res[guarded[0].name].error == (
        f"credential {cid} disabled after 3 authentication failures (lockout guard)"
    )
    assert all(res[h.name].verdict == "compliant" for h in good)  # other credential unaffected
    assert r.exit_code() == 4


async def test_hanging_host_times_out_while_49_finish() -> None:
    fleet = FakeFleet()
    hs = hosts(50)
    for h in hs:
        kms_host(fleet, h.name, licensed=True)
    fleet.host("win007").rules.insert(0, (re.compile("status"), Reply(hang=True)))
    pb = playbook(
        [check("license", "status", parse="text", expect="facts.license == 'licensed'", timeout=0.3)]
    )
    t0 = time.monotonic()
    r = by_host(await run(pb, hs, fleet))
    assert time.monotonic() - t0 < 3
    assert r["win007"].verdict == "failed" and "timed out after 0.3s" in (r["win007"].error or "")
    assert sum(h.verdict == "compliant" for h in r.values()) == 49


async def test_host_timeout_covers_a_hanging_connect() -> None:
    fleet = FakeFleet()
    hs = hosts(3)
    for h in hs:
        kms_host(fleet, h.name, licensed=True)
    fleet.host("win001").connect_hang = True
    r = by_host(await run(KMS, hs, fleet, host_timeout=0.3))
    assert r["win001"].verdict == "unreachable" and "timed out" in (r["win001"].error or "")
    assert r["win000"].verdict == r["win002"].verdict == "compliant"


async def test_serial_batches_and_max_fail_percentage() -> None:
    fleet = FakeFleet()
    hs = hosts(10)
    for h in hs:
        kms_host(fleet, h.name, broken=h.name == "win001")
    r = await run(KMS, hs, fleet, apply=True, serial="2", max_fail_percentage=30)
    res = by_host(r)
    assert res["win000"].verdict == "fixed" and res["win001"].verdict == "failed"
    skipped = [h for h in hs[2:] if res[h.name].verdict == "skipped"]
    assert len(skipped) == 8
    assert res["win009"].error == (
        "not started: max fail percentage 30% exceeded in batch 1: "
        "1 of 2 hosts (50%) changed and did not end fixed (win001)"
    )
    assert {n for n, _ in fleet.connects} == {"win000", "win001"}  # later batches never connected
    assert r.exit_code() == 2


async def test_serial_canary_list() -> None:
    fleet = FakeFleet()
    hs = hosts(10)
    order: list[str] = []

    class Rec(RunEvents):
        def host_started(self, host: str) -> None:
            order.append(f"start:{host}")

        def host_finished(self, result: HostResult) -> None:
            order.append(f"end:{result.host}")

    for h in hs:
        kms_host(fleet, h.name, licensed=True)
    await run(KMS, hs, fleet, serial="1,50%", events=Rec())
    # The canary finishes before anything else starts; then batches of 5 then 4.
    assert order[:2] == ["start:win000", "end:win000"]
    assert order.index("end:win005") < order.index("start:win006")


# ---- stopping -------------------------------------------------------------------------------


async def test_graceful_stop_marks_the_rest_skipped(tmp_path: Path) -> None:
    fleet = FakeFleet()
    hs = hosts(20)
    for h in hs:
        kms_host(fleet, h.name, licensed=True, delay=0.01)
    stop = asyncio.Event()

    class StopAfter3(RunEvents):
        n = 0

        def host_finished(self, result: HostResult) -> None:
            self.n += 1
            if self.n == 3:
                stop.set()

    out = tmp_path / "r.jsonl"
    r = await run(KMS, hs, fleet, forks=2, jsonl=out, events=StopAfter3(), stop=stop)
    assert r.interrupted and r.exit_code() == 130
    assert len(r.hosts) == 20
    done = [h for h in r.hosts if h.verdict == "compliant"]
    assert 3 <= len(done) <= 4  # the one still running when stop was set finishes its step
    assert all(h.verdict in ("compliant", "skipped") for h in r.hosts)
    assert len(read_jsonl(out)) == 20


async def test_cancellation_leaves_valid_jsonl(tmp_path: Path) -> None:
    fleet = FakeFleet()
    hs = hosts(30)
    for h in hs:
        kms_host(fleet, h.name, licensed=True, delay=0.02)
    out = tmp_path / "r.jsonl"
    task = asyncio.create_task(run(KMS, hs, fleet, forks=3, jsonl=out))
    while not out.exists() or out.read_text().count("\n") < 4:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    lines = out.read_text(encoding="utf-8").splitlines()
    assert 4 <= len(lines) < 30
    assert all(json.loads(line)["verdict"] == "compliant" for line in lines)
    assert fleet.in_flight == 0  # cancelled hosts closed their connections


# ---- per-host flow --------------------------------------------------------------------------


async def test_dry_run_never_runs_a_fix() -> None:
    fleet = FakeFleet()
    hs = hosts(3)
    kms_host(fleet, "win000")
    kms_host(fleet, "win001", licensed=True)
    kms_host(fleet, "win002")
    r = await run(KMS, hs, fleet)
    res = by_host(r)
    assert res["win000"].verdict == "would_fix"
    assert res["win000"].planned == [
        {
            "id": "activate",
            "describe": "activate against kms1.lab.test",
            "addresses": ["check:license"],
            "cause": "check license failed",
        }
    ]
    assert res["win001"].verdict == "compliant"
    assert not any("activate" in s for _, s in fleet.commands)
    assert fleet.host("win000").state["licensed"] is False
    assert r.exit_code() == 2


async def test_dry_run_without_applicable_fix_is_failed() -> None:
    fleet = FakeFleet()
    kms_host(fleet, "win000")
    pb = playbook(KMS.checks, [fix("activate", "activate", when="false")])
    r = by_host(await run(pb, hosts(1), fleet))
    assert r["win000"].verdict == "failed" and "no fix applies" in (r["win000"].error or "")


async def test_apply_fix_failure_stops_and_skips_verify() -> None:
    fleet = FakeFleet()
    kms_host(fleet, "win000", broken=True)
    pb = playbook(KMS.checks, [*KMS.fixes, fix("never", "never-run")], verify=["license"], vars=KMS.vars)
    r = by_host(await run(pb, hosts(1), fleet, apply=True))["win000"]
    assert r.verdict == "failed" and r.error == "fix activate failed: rc=1"
    assert plan.rc_text(-1073418124) == "rc=-1073418124 (0xC004F074)"
    assert [(s.phase, s.id) for s in r.steps] == [("check", "license"), ("fix", "activate")]
    assert "never-run" not in fleet.scripts_for("win000")


async def test_fix_parse_reporting_failure_fails_the_fix() -> None:
    fleet = FakeFleet()
    kms_host(fleet, "win000")
    fleet.host("win000").rules.insert(
        0, (re.compile("activate"), Reply(stdout='{"success": false, "error_code": "0xC004F074"}'))
    )
    r = by_host(await run(KMS, hosts(1), fleet, apply=True))["win000"]
    assert r.verdict == "failed" and "its output reports failure" in (r.error or "")
    assert r.facts["activate"] == {"success": False, "error_code": "0xC004F074"}


async def test_verify_failure_is_failed() -> None:
    fleet = FakeFleet()
    kms_host(fleet, "win000")
    fleet.host("win000").rules.insert(0, (re.compile("activate"), Reply(stdout="{}")))
    r = by_host(await run(KMS, hosts(1), fleet, apply=True))["win000"]
    assert r.verdict == "failed" and r.error == "verify failed: license"
    assert [s.phase for s in r.steps] == ["check", "fix", "verify"]


async def test_when_sees_facts_from_previous_fix() -> None:
    fleet = FakeFleet()
    h = fleet.host("win000")
    h.on("status", "bad").on("first", '{"need_second": true}').on("second", "done")
    pb = playbook(
        [check("s", "status", parse="text", expect="facts.s == 'good'")],
        [
            fix("first", "first", parse="json", addresses=["check:s"]),
            fix("second", "second", when="facts.first.need_second", addresses=["check:s"]),
            fix("third", "third", when="facts.first.need_third | default(false)", addresses=["check:s"]),
        ],
    )
    await run(pb, hosts(1), fleet, apply=True)
    assert fleet.scripts_for("win000") == ["status", "first", "second", "status"]


async def test_check_that_cannot_run_fails_without_fixing() -> None:
    fleet = FakeFleet()
    fleet.host("win000").on("status", "<<not json>>")
    pb = playbook([check("s", "status", parse="json", expect="facts.s.ok")], [fix("f", "f")])
    r = by_host(await run(pb, hosts(1), fleet, apply=True))["win000"]
    assert r.verdict == "failed"
    assert (r.error or "").startswith("check could not run: s: parse json")
    assert fleet.scripts_for("win000") == ["status"]


async def test_exception_in_one_host_does_not_affect_others() -> None:
    fleet = FakeFleet()
    hs = hosts(5)
    for h in hs:
        kms_host(fleet, h.name, licensed=True)

    def boom(script: str, st: dict[str, Any]) -> Reply:
        raise RuntimeError("emulator exploded")

    fleet.host("win002").rules.insert(0, (re.compile("status"), boom))
    r = by_host(await run(KMS, hs, fleet))
    assert r["win002"].verdict == "failed" and r["win002"].error == "RuntimeError: emulator exploded"
    assert [r[h.name].verdict for h in hs if h.name != "win002"] == ["compliant"] * 4


async def test_diagnosis_is_attached_when_playbook_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[dict[str, Any], list[str]]] = []
    seen_vars: list[Any] = []

    def diagnose(facts: Any, failed: Sequence[str], variables: Any = None) -> list[Diagnosis]:
        seen.append((dict(facts), list(failed)))
        seen_vars.append(variables)
        return [Diagnosis("0xC004F074", "KMS unreachable", "c", "a", False)]

    monkeypatch.setitem(diagnosis._REGISTRY, "kms", diagnosis.Diagnoser("kms", diagnose, {}))
    fleet = FakeFleet()
    kms_host(fleet, "win000")
    kms_host(fleet, "win001", licensed=True)
    pb = playbook(KMS.checks, KMS.fixes, ["license"], diagnose="kms", vars=KMS.vars)
    r = by_host(await run(pb, hosts(2), fleet))
    assert [d.code for d in r["win000"].diagnosis] == ["0xC004F074"]
    assert r["win001"].diagnosis == []  # compliant hosts are not diagnosed
    assert seen == [({"license": "unlicensed"}, ["license"])]
    assert seen_vars[0] is not None and "kms_host" in seen_vars[0]  # fix hints depend on playbook vars


async def test_secrets_never_reach_any_output(tmp_path: Path) -> None:
    fleet = FakeFleet()
    hs = hosts(3)
    leak = f"net use \\\\kms /user:admin {PASSWORD}"
    fleet.host("win000").on("status", Reply(rc=1, stdout=leak, stderr=f"bad {PASSWORD}"))
    fleet.host("win001").on("status", Reply(raises=ProtocolError(f"fault echoing {PASSWORD}")))
    fleet.host("win002").on("status", f'{{"pw": "{PASSWORD}"}}')
    pb = playbook(
        [check("license", "status", parse="json", expect="false")],
        [fix("f", "f", describe="uses {{ ansible_password | default('none') }} " + PASSWORD)],
    )
    seen: list[str] = []  # everything an observer (the console, a plug-in) is told

    class Observer(RunEvents):
        def step_finished(self, host: str, step: StepResult) -> None:
            seen.append(repr(step))

        def host_finished(self, result: HostResult) -> None:
            seen.append(repr(result))

    jsonl, js, junit = tmp_path / "r.jsonl", tmp_path / "r.json", tmp_path / "r.xml"
    r = await run(pb, hs, fleet, jsonl=jsonl, events=Observer())
    assert len(seen) >= 6 and not [s for s in seen if PASSWORD in s]
    write_json(r, js)
    write_junit(r, junit)
    meta = RunMeta("run", "p", "", "", "", None, "dry_run", "", "op", "ctl", "0", len(r.hosts))
    recording = open_recording(str(tmp_path / "h.db"), meta, hs, ("license",))
    for h in r.hosts:  # what the app's recorder does as each host finishes
        recording.recorder.host_finished(h)
    assert (
        recording.drain() == [] and recording.close(r) == [] and recording.recorder.recorded == len(r.hosts)
    )
    assert PASSWORD in fleet.host("win000").rules[0][1].stdout  # type: ignore[union-attr]
    db_files = list(tmp_path.glob("h.db*"))  # the database and any WAL file beside it
    for p in (jsonl, js, junit, *db_files):
        assert PASSWORD.encode() not in p.read_bytes(), p
    assert "********" in jsonl.read_text(encoding="utf-8")
    assert repr(hs[0]).count(PASSWORD) == 0
