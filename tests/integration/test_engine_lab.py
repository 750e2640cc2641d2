"""The real engine over the real transports (both winrm clients, pypsrp, asyncssh) against the lab.

Each test starts a lab fleet on loopback, writes its inventory, and runs a playbook with
`run_playbook` (or `remediate run` as a process), then looks at the lab hosts' own state: what
the product claims is checked against what really happened on the "Windows" side.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate.core.playbook import Playbook
from remediate.core.results import HostResult, Phase, RunResult
from remediate.engine import RunEvents, RunOptions, run_playbook
from remediate.inventory import Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread
from remediate.lab.windows.state import LicenseStatus
from remediate.lab.wire import ssh_server, wsauth
from tests.conftest import LabFactory

PW = "Lab-Passw0rd!"
HERE = Path(__file__).parent
ACTIVATE = HERE / "playbooks" / "activate.yml"
SHORT_TIMEOUT = HERE / "playbooks" / "short-timeout.yml"
# Each transport as inventory vars; winrm twice: the native client (default) and pywinrm.
TRANSPORTS: dict[str, dict[str, str]] = {
    "winrm": {"ansible_connection": "winrm"},
    "winrm-pywinrm": {"ansible_connection": "winrm", "remediate_winrm_client": "pywinrm"},
    "psrp": {"ansible_connection": "psrp"},
    "ssh": {"ansible_connection": "ssh"},
}
CONNECTIONS = tuple(TRANSPORTS)

# 16 hosts: four no_srv (one per transport: apply changes them), twelve healthy.
FLEET: dict[str, Any] = {"hosts": 16, "seed": 11, "password": PW, "profiles": {"no_srv": 25}}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LabThread, Path]]:
    workdir = tmp_path_factory.mktemp("engine_lab")
    with LabThread(FleetSpec.from_dict(FLEET), workdir) as lab:
        yield lab, lab.write_inventory(workdir / "inventory.yml")


def snapshot(lab: LabThread) -> dict[str, dict[str, Any]]:
    """Every host's HostState as plain data, copied inside the lab's event loop."""

    async def take() -> dict[str, dict[str, Any]]:
        return {n: copy.deepcopy(dataclasses.asdict(h.state)) for n, h in lab.hosts.items()}

    return lab.call(take)


async def run(
    inventory: Path,
    playbook: Path,
    *,
    limit: str | None = None,
    extra: dict[str, Any] | None = None,
    **options: Any,
) -> RunResult:
    extra = extra or {}
    pb = Playbook.load(playbook)
    inv = Inventory.load(inventory, extra_vars=extra)
    hosts = inv.select(limit or pb.targets)
    opts = RunOptions(retry_backoff=0.05, **options)
    return await run_playbook(pb, hosts, opts, credentials=CredentialResolver())


def by_host(result: RunResult) -> dict[str, HostResult]:
    return {h.host: h for h in result.hosts}


def ran(hr: HostResult, phase: str) -> list[str]:
    return [s.id for s in hr.steps if s.phase == phase]


# ---- (a) (b) (c): checks and fixes over each transport; dry run changes nothing; apply fixes ----
@pytest.mark.timeout(60)
@pytest.mark.parametrize("connection", CONNECTIONS)
async def test_dry_run_then_apply_over_each_transport(fleet: tuple[LabThread, Path], connection: str) -> None:
    lab, inventory = fleet
    target = lab.hosts_with("no_srv")[CONNECTIONS.index(connection)]
    healthy = lab.hosts_with("healthy")[CONNECTIONS.index(connection)]
    limit = f"{target.name},{healthy.name}"
    extra = dict(TRANSPORTS[connection])
    kms_host = f"kms01.{lab.spec.domain}"
    assert target.state.kms_registered_host is None
    assert target.state.windows is not None and target.state.windows.status != LicenseStatus.LICENSED

    before = snapshot(lab)
    dry = by_host(await run(inventory, ACTIVATE, limit=limit, extra=extra))
    assert snapshot(lab) == before  # a dry run touches nothing on any host
    assert dry[healthy.name].verdict == "compliant", dry[healthy.name]
    assert dry[target.name].verdict == "would_fix", dry[target.name]
    assert [p["id"] for p in dry[target.name].planned] == ["set-kms", "activate"]
    assert dry[target.name].planned[0]["describe"] == f"KMS host auto -> {kms_host}:1688"
    assert ran(dry[target.name], "check") == ["license", "kms_config"]
    assert ran(dry[target.name], "fix") == []
    license = dry[target.name].facts["license"]["products"][0]
    assert license["channel"] == "VOLUME_KMSCLIENT" and license["license_status"] == "unlicensed"
    assert dry[target.name].facts["kms_config"]["client_machine_id"]  # the PowerShell step parsed

    applied = by_host(await run(inventory, ACTIVATE, limit=limit, extra=extra, apply=True))
    hr = applied[target.name]
    assert hr.verdict == "fixed", hr
    assert ran(hr, "fix") == ["set-kms", "activate"]
    assert ran(hr, "verify") == ["license", "kms_config"]
    assert hr.facts["license"]["products"][0]["license_status"] == "licensed"
    assert hr.facts["kms_config"]["kms_registered"] == kms_host
    # the host itself changed: registered KMS host, licensed, activated by kms01
    state = target.state
    assert (state.kms_registered_host, state.kms_registered_port) == (kms_host, 1688)
    assert state.windows is not None and state.windows.status == LicenseStatus.LICENSED
    assert state.windows.kms_pid
    assert applied[healthy.name].verdict == "compliant"
    after = snapshot(lab)
    assert {n for n in before if before[n] != after[n]} == {target.name}


# ---- (d) lockout guard ------------------------------------------------------------------------
def count_logons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Record every logon attempt the lab hosts judge: (host, accepted).

    One NTLM AUTHENTICATE message (WinRM, PSRP) or one SSH password request is one attempt, the
    unit an AD domain controller counts towards the account lockout threshold.
    """
    attempts: list[tuple[str, bool]] = []
    ntlm = wsauth._HostNTLM._step_accept_authenticate

    def ntlm_counting(self: wsauth._HostNTLM, token: bytes, channel_bindings: Any) -> None:
        try:
            ntlm(self, token, channel_bindings)
        except Exception:
            attempts.append((self._lab_host.name, False))
            raise
        attempts.append((self._lab_host.name, True))

    password = ssh_server._WindowsSSHServer.validate_password

    def ssh_counting(self: ssh_server._WindowsSSHServer, username: str, pw: str) -> bool:
        ok = password(self, username, pw)
        attempts.append((self._host.name, ok))
        return ok

    monkeypatch.setattr(wsauth._HostNTLM, "_step_accept_authenticate", ntlm_counting)
    monkeypatch.setattr(ssh_server._WindowsSSHServer, "validate_password", ssh_counting)
    return attempts


@pytest.mark.timeout(60)
@pytest.mark.parametrize("connection", CONNECTIONS)
async def test_wrong_password_on_10_hosts_stops_after_3_attempts(
    lab_factory: LabFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connection: str
) -> None:
    lab = lab_factory({"hosts": 10, "seed": 1, "password": PW})
    inventory = lab.write_inventory(tmp_path / "inv.yml")
    attempts = count_logons(monkeypatch)
    extra = {"ansible_password": "Wrong-Passw0rd!", **TRANSPORTS[connection]}
    result = await run(inventory, ACTIVATE, extra=extra, forks=50)

    assert len(attempts) == 3 and not any(ok for _, ok in attempts), attempts
    assert [h.verdict for h in result.hosts] == ["unreachable"] * 10
    tried = {name for name, _ in attempts}
    auth_failed = {h.host for h in result.hosts if (h.error or "").startswith("authentication failed")}
    assert auth_failed == tried
    locked = [h for h in result.hosts if h.host not in tried]
    assert len(locked) == 7
    for h in locked:
        assert h.error is not None and "disabled after 3 authentication failures (lockout guard)" in h.error
        assert h.steps == []
    text = json.dumps([h.to_dict() for h in result.hosts])
    assert "Wrong-Passw0rd!" not in text and PW not in text


# ---- (e) a hung host times out while 49 others finish ------------------------------------------
@pytest.mark.timeout(90)
async def test_hung_host_times_out_while_49_finish(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory({"hosts": 50, "seed": 4, "password": PW})
    inventory = lab.write_inventory(tmp_path / "inv.yml")
    hung = lab.hosts["WIN-0017"]
    hung.state.hang = True
    t0 = time.monotonic()
    result = await run(inventory, SHORT_TIMEOUT, forks=50)
    elapsed = time.monotonic() - t0

    verdicts = {h.host: h.verdict for h in result.hosts}
    assert len(verdicts) == 50
    hr = by_host(result)[hung.name]
    assert hr.verdict == "failed", hr
    assert hr.error == "check could not run: license: timed out after 2s"
    (step,) = hr.steps
    assert step.rc is None and 2.0 <= step.duration < 6.0
    others = Counter(v for n, v in verdicts.items() if n != hung.name)
    assert others == {"compliant": 49}
    # one hung host does not hold the run: its timeout, not 50 x anything
    assert elapsed < 20, elapsed


# ---- (g) HTTPS with certificate validation -----------------------------------------------------
HTTPS: dict[str, tuple[dict[str, Any], str]] = {
    "winrm": ({"ansible_winrm_scheme": "https"}, "ansible_winrm_ca_trust_path"),
    "winrm-pywinrm": (
        {"ansible_winrm_scheme": "https", "remediate_winrm_client": "pywinrm"},
        "ansible_winrm_ca_trust_path",
    ),
    "psrp": ({"ansible_connection": "psrp", "ansible_psrp_protocol": "https"}, "ansible_psrp_ca_cert"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("connection", sorted(HTTPS))
async def test_https_validates_against_the_lab_ca(fleet: tuple[LabThread, Path], connection: str) -> None:
    lab, inventory = fleet
    host = lab.hosts_with("healthy")[-1].name
    scheme_vars, ca_var = HTTPS[connection]
    https = {**scheme_vars, "ansible_port": 5986}
    inv = yaml.safe_load(inventory.read_text())
    assert inv["all"]["children"]["windows"]["vars"][ca_var] == str(lab.ca_path)

    ok = by_host(await run(inventory, ACTIVATE, limit=host, extra=https))[host]
    assert ok.verdict == "compliant", ok
    assert ok.facts["license"]["products"][0]["license_status"] == "licensed"

    # Without the lab CA (only the system bundle) the certificate is not trusted: no retry.
    t0 = time.monotonic()
    res = await run(inventory, ACTIVATE, limit=host, extra={**https, ca_var: ""}, retries=5)
    bad = by_host(res)[host]
    assert bad.verdict == "unreachable"
    assert bad.error is not None and bad.error.startswith("certificate rejected"), bad.error
    assert bad.steps == [] and time.monotonic() - t0 < 5


# ---- (f) Ctrl-C mid-run: exit 130 and a valid JSONL of every finished host ---------------------
def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from remediate.cli import main; main()", *args]


@pytest.mark.timeout(90)
def test_ctrl_c_mid_run_keeps_a_valid_jsonl(tmp_path: Path) -> None:
    spec = tmp_path / "fleet.yml"
    spec.write_text(
        yaml.safe_dump({"hosts": 6, "seed": 2, "password": PW, "latency": {"slmgr": 1.0}}), encoding="utf-8"
    )
    inv, jsonl = tmp_path / "inv.yml", tmp_path / "run.jsonl"
    env = {**os.environ, "NO_COLOR": "1", "REMEDIATE_DB": str(tmp_path / "history.db")}
    lab = subprocess.Popen(
        _cli("lab", "up", "--spec", str(spec), "--inventory-out", str(inv)),
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    runner: subprocess.Popen[str] | None = None
    try:
        assert lab.stdout is not None and lab.stdout.readline().strip() == "ready"
        runner = subprocess.Popen(
            _cli("run", str(ACTIVATE), "-i", str(inv), "--forks", "2", "--jsonl", str(jsonl), "--no-history"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        first: list[dict[str, Any]] = []
        while not first and time.monotonic() < deadline and runner.poll() is None:
            time.sleep(0.05)
            if jsonl.exists():
                lines = jsonl.read_text(encoding="utf-8").splitlines()
                first = [json.loads(line) for line in lines if line.strip()]
        assert first, "no host finished"
        runner.send_signal(signal.SIGINT)
        out, err = runner.communicate(timeout=60)
        assert runner.returncode == 130, out + err

        records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
        hosts = [r["host"] for r in records]
        assert len(hosts) == len(set(hosts))
        assert set(hosts) == {f"WIN-{i:04d}" for i in range(1, 7)}  # finished + not started, once each
        for r in first:  # every host that had finished is there, unchanged
            assert r in records and r["verdict"] == "compliant"
        verdicts = Counter(r["verdict"] for r in records)
        assert verdicts["skipped"] >= 1 and verdicts["compliant"] >= len(first), verdicts
        assert verdicts["compliant"] < 6  # it really stopped mid-run
        for r in records:
            if r["verdict"] == "skipped":
                assert "interrupted" in r["error"]
        assert PW not in jsonl.read_text(encoding="utf-8")
    finally:
        for proc in (runner, lab):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
            for pipe in (proc.stdout, proc.stderr) if proc is not None else ():
                if pipe is not None:
                    pipe.close()


# ---- stop (Ctrl-C) during --apply: the running fix ends, nothing after it runs -----------------
class StopAtFirstFix(RunEvents):
    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop

    def step_started(self, host: str, step_id: str, phase: Phase) -> None:
        if phase == "fix":
            self.stop.set()


@pytest.mark.timeout(60)
async def test_stop_during_apply_leaves_the_host_failed_not_verified(
    lab_factory: LabFactory, tmp_path: Path
) -> None:
    lab = lab_factory({"hosts": 3, "seed": 5, "password": PW, "profiles": {"no_srv": 100}})
    for h in lab.hosts.values():
        h.state.latency["slmgr"] = 0.3  # the fix is still running when the stop comes
    inventory = lab.write_inventory(tmp_path / "inv.yml")
    pb = Playbook.load(ACTIVATE)
    hosts = Inventory.load(inventory).select("windows")
    stop = asyncio.Event()
    result = await run_playbook(
        pb,
        hosts,
        RunOptions(apply=True, forks=1),
        credentials=CredentialResolver(),
        events=StopAtFirstFix(stop),
        stop=stop,
    )
    assert result.interrupted and result.exit_code() == 130
    first, *rest = result.hosts
    assert first.verdict == "failed", first
    assert first.error == "interrupted after fixes set-kms ran; not verified"
    assert [s.id for s in first.steps if s.phase == "fix"] == ["set-kms"]  # /ato never ran
    state = lab.hosts[first.host].state
    assert state.kms_registered_host == f"kms01.{lab.spec.domain}"  # the running fix completed
    assert state.windows is not None and state.windows.status != LicenseStatus.LICENSED
    assert [(h.verdict, h.error) for h in rest] == [("skipped", "not started: interrupted")] * 2
    assert all(lab.hosts[h.host].state.kms_registered_host is None for h in rest)
