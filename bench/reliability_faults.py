"""Reliability under faults: 1,000 lab hosts, 10% hung, 10% listener down, 10% refusing auth.

The lab runs in its own process (this file with --lab, like bench/labproc.py); `remediate run`
runs in another. Measures: every other host finishes, the run ends within the engine's computed
budget, each faulty host's error names its real cause; then Ctrl-C-to-exit on a run with hung
hosts. Prints a table and writes bench/results/reliability-faults.md.

    python bench/reliability_faults.py [--hosts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
PLAYBOOK = HERE / "playbooks" / "three-checks-5s.yml"
RESULTS = HERE / "results" / "reliability-faults.md"
PASSWORD = "Bench-Passw0rd!"  # loopback lab only


# ---- the lab process --------------------------------------------------------------------------
async def lab_main(args: argparse.Namespace) -> int:
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.runtime import Lab

    spec = FleetSpec.from_dict(
        {
            "hosts": args.hosts, "seed": 7, "domain": "lab.test", "user": "admin", "password": PASSWORD,
            "locales": {"en-US": 100}, "kms_hosts": [{"name": "kms01", "port": 1688, "behaviour": "ok"}],
            "profiles": {"healthy": 70, "winrm_down": 10, "auth_fail": 10, "slow": 10}, "office": 0,
            "slow_seconds": 0.0,
        },
        source="bench",
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as work:
        lab = Lab(spec, Path(work))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        try:
            await lab.start()
            for h in lab.hosts.values():  # the `slow` tenth hangs: every command blocks
                if h.profile == "slow":
                    h.state.hang = True
            lab.write_inventory(Path(args.inventory_out))
            truth = {n: {"slow": "hung"}.get(h.profile, h.profile) for n, h in lab.hosts.items()}
            Path(args.truth_out).write_text(json.dumps(truth), encoding="utf-8")
            print("ready", flush=True)
            while not stop.is_set() and os.getppid() == args.parent:
                try:
                    await asyncio.wait_for(stop.wait(), 1.0)
                except TimeoutError:
                    pass
        finally:
            await lab.stop()
    return 0


# ---- the harness ------------------------------------------------------------------------------
def cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from remediate.cli import main; main()", *args]


def computed_budget(inventory: Path, forks: int) -> float:
    from remediate.core.playbook import Playbook
    from remediate.engine.budget import host_budget, run_budget
    from remediate.engine.options import RunOptions
    from remediate.inventory import Inventory
    from remediate.inventory.connection import build_spec

    pb = Playbook.load(PLAYBOOK)
    hosts = Inventory.load(inventory).select(pb.targets)
    opts = RunOptions(forks=forks)
    budgets = [host_budget(pb, build_spec(h, password=None, credential_id=None), opts) for h in hosts]
    return run_budget([budgets], forks)


def cause_named(kind: str, hr: dict[str, Any]) -> bool:
    err = hr.get("error") or ""
    if kind == "hung":
        return hr["verdict"] == "failed" and "timed out" in err
    if kind == "winrm_down":
        return hr["verdict"] == "unreachable" and "connection failed" in err and "cannot reach" in err
    if kind == "auth_fail":
        return hr["verdict"] == "unreachable" and (
            err.startswith("authentication failed") or "(lockout guard)" in err
        )
    return hr["verdict"] == "compliant"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--forks", type=int, default=1000)
    ap.add_argument("--lab", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--inventory-out")
    ap.add_argument("--truth-out")
    ap.add_argument("--parent", type=int, default=os.getppid())
    args = ap.parse_args()
    if args.lab:
        return asyncio.run(lab_main(args))
    work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    inv, truth_file = work / "inv.yml", work / "truth.json"
    env = {**os.environ, "NO_COLOR": "1"}
    lab = subprocess.Popen(
        [sys.executable, __file__, "--lab", "--hosts", str(args.hosts), "--inventory-out", str(inv),
         "--truth-out", str(truth_file), "--parent", str(os.getpid())],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    rows: list[tuple[str, str]] = []
    try:
        assert lab.stdout is not None and lab.stdout.readline().strip() == "ready"
        truth: dict[str, str] = json.loads(truth_file.read_text(encoding="utf-8"))
        budget = computed_budget(inv, args.forks)
        report = work / "run.json"
        t0 = time.monotonic()
        subprocess.run(
            cli("run", str(PLAYBOOK), "-i", str(inv), "--forks", str(args.forks), "--json", str(report),
                "--no-history"),
            env=env, capture_output=True, check=False,
        )  # fmt: skip
        wall = time.monotonic() - t0
        hosts = {h["host"]: h for h in json.loads(report.read_text(encoding="utf-8"))["hosts"]}
        kinds = Counter(truth.values())
        named = Counter(k for n, k in truth.items() if cause_named(k, hosts[n]))
        rows.append(("hosts", f"{len(hosts)} ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"))
        rows.append(("run wall s / computed budget s", f"{wall:.1f} / {budget:.0f}"))
        for k in sorted(kinds):
            rows.append((f"{k}: right verdict and cause in error", f"{named[k]} / {kinds[k]}"))
        sample = {
            k: next(hosts[n]["error"] for n, v in truth.items() if v == k) for k in kinds if k != "healthy"
        }
        for k, e in sorted(sample.items()):
            rows.append((f"example error ({k})", f"`{e}`"))
        # Ctrl-C on a run with hung hosts: SIGINT once the healthy hosts are done
        runner = subprocess.Popen(
            cli("run", str(PLAYBOOK), "-i", str(inv), "--forks", str(args.forks), "--no-history"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        time.sleep(max(3.0, wall / 3))
        t1 = time.monotonic()
        runner.send_signal(signal.SIGINT)
        rc = runner.wait(120)
        rows.append(("Ctrl-C to exit s (exit code)", f"{time.monotonic() - t1:.2f} ({rc})"))
    finally:
        lab.terminate()
        lab.wait(60)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    lines = [
        "# Reliability under faults",
        "",
        f"Generated by `python bench/reliability_faults.py --hosts {args.hosts}` on {os.cpu_count()} CPUs "
        "(lab and controller share the machine; the lab is its own process). Playbook: "
        "`bench/playbooks/three-checks-5s.yml` (three checks, 5 s step timeout each); hung hosts block "
        "every command; listener-down hosts refuse TCP; auth-fail hosts reject the inventory password "
        "(one shared credential: the lockout guard stops after 3 failed logons).",
        "",
        "| measure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in rows],
        "",
    ]
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
