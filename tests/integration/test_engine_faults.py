"""The engine under faults against the lab: failed logons after a first success (every
transport), and Ctrl-C on `remediate run` while a host hangs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from remediate.lab.windows.host import WindowsHost
from tests.conftest import LabFactory
from tests.integration.test_engine_lab import ACTIVATE, PW, TRANSPORTS, _cli, count_logons, run


@pytest.mark.timeout(90)
@pytest.mark.parametrize("connection", ["winrm", "psrp", "ssh"])
async def test_password_changed_on_20_hosts_after_a_first_success(
    lab_factory: LabFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connection: str
) -> None:
    lab = lab_factory({"hosts": 21, "seed": 3, "password": PW})
    inventory = lab.write_inventory(tmp_path / "inv.yml")
    first, *changed = sorted(lab.hosts)
    for name in changed:  # the account's password was changed on these hosts
        h = lab.hosts[name]
        assert isinstance(h.emulated, WindowsHost)
        h.emulated.password = h.state.password = "Changed-Passw0rd!"
    attempts = count_logons(monkeypatch)
    # --serial 1,100%: the first host logs on (and succeeds) before the other 20 are tried
    result = await run(inventory, ACTIVATE, extra=dict(TRANSPORTS[connection]), forks=50, serial="1,100%")

    failed = [name for name, ok in attempts if not ok]
    assert (first, True) in attempts
    assert len(failed) <= 3, failed  # the old guard: 20 failed logons once the credential had worked
    verdicts = {h.host: h for h in result.hosts}
    assert verdicts[first].verdict in ("compliant", "would_fix", "failed")
    errors = [verdicts[n].error or "" for n in changed]
    assert all(verdicts[n].verdict == "unreachable" for n in changed)
    assert sum("disabled after 3 authentication failures (lockout guard)" in e for e in errors) == 20 - len(
        failed
    )


@pytest.mark.timeout(60)
def test_ctrl_c_with_a_hung_host_exits_130_within_10s(lab_factory: LabFactory, tmp_path: Path) -> None:
    lab = lab_factory({"hosts": 3, "seed": 2, "password": PW})
    hung = sorted(lab.hosts)[1]
    lab.hosts[hung].state.hang = True
    inv, jsonl, report = (
        lab.write_inventory(tmp_path / "inv.yml"),
        tmp_path / "run.jsonl",
        tmp_path / "run.json",
    )
    env = {**os.environ, "NO_COLOR": "1", "REMEDIATE_DB": str(tmp_path / "history.db")}
    args = (
        "run",
        str(ACTIVATE),
        "-i",
        str(inv),
        "--jsonl",
        str(jsonl),
        "--json",
        str(report),
        "--no-history",
    )
    runner = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and runner.poll() is None:  # the two healthy hosts finish
            if jsonl.exists() and len(jsonl.read_text(encoding="utf-8").splitlines()) >= 2:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # the hung host is inside its first step (60 s timeout)
        assert runner.poll() is None
        t0 = time.monotonic()
        runner.send_signal(signal.SIGINT)
        out, err = runner.communicate(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
    assert runner.returncode == 130, out + err
    assert elapsed < 10, elapsed  # generous: the engine aims at < 5 s; the old one took the step timeout
    hosts = {h["host"]: h for h in json.loads(report.read_text(encoding="utf-8"))["hosts"]}
    hr = hosts[hung]
    assert hr["verdict"] == "skipped" and hr["error"] == "interrupted", hr
    assert hr["steps"] and all(s["error"] == "interrupted" for s in hr["steps"]), hr["steps"]
