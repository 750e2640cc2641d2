"""Benchmark: one controller, 10,000 lab hosts x 3 checks, lab and controller pinned apart.

    python bench/scale_10k.py                          # 10,000 hosts, lab on core 1, controller on 0
    python bench/scale_10k.py --hosts 1000 5000 10000  # the scaling series (one lab per count)
    python bench/scale_10k.py --lab-cores 1 --controller-cores 0 --procs 3 --forks 1000

The lab (bench/labproc.py, `--procs` processes, all hosts healthy) runs under `taskset -c
LAB_CORES`, `remediate run bench/playbooks/three-checks.yml` under `taskset -c CONTROLLER_CORES`.
Every host must end `compliant` (what the all-healthy fleet spec expects). The table: hosts,
checks per host, wall, controller CPU-s (wait4), CPU per host, controller peak RSS, requests per
host (counted by the lab), hosts correct, the cores each side had and the load average (other
work on the machine shows there). Results: bench/results/scale-10k.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import LabProcess, run_measured

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PLAYBOOK = BENCH / "playbooks/three-checks.yml"
CHECKS = 3
TARGET_WALL = 60.0  # issue 12: 10,000 hosts x 3 checks under 60 s on one controller
TARGET_RSS_MB = 400.0


def _remediate() -> str:
    found = Path(sys.executable).parent / "remediate"
    return str(found) if found.exists() else (shutil.which("remediate") or "remediate")


def run_one(args: argparse.Namespace, hosts: int, work: Path) -> dict[str, Any]:
    pin_lab = ["taskset", "-c", args.lab_cores] if args.lab_cores else []
    pin_ctl = ["taskset", "-c", args.controller_cores] if args.controller_cores else []
    t0 = time.perf_counter()
    lab = LabProcess(work, hosts, args.latency, args.rtt, sys.executable, procs=args.procs, prefix=pin_lab)
    lab_start = time.perf_counter() - t0
    try:
        lab_cores = sorted(lab.ps.cpu_affinity() or [])
        report = work / "report.json"
        forks = min(args.forks, hosts)
        argv = [*pin_ctl, _remediate(), "run", str(PLAYBOOK), "-i", str(lab.inventory), "-f", str(forks),
                "--json", str(report), "--no-history"]  # fmt: skip
        env = dict(os.environ, NO_COLOR="1")
        load_before = os.getloadavg()
        before = lab.stats()
        res = run_measured(argv, timeout=args.timeout, env=env, out=work / "remediate.out")
        after = lab.stats()
        load_after = os.getloadavg()
    finally:
        lab.stop()
    verdicts: dict[str, int] = {}
    correct = 0
    if report.exists():
        for h in json.loads(report.read_text())["hosts"]:
            verdicts[h["verdict"]] = verdicts.get(h["verdict"], 0) + 1
            correct += h["verdict"] == "compliant"  # every lab host is healthy
    reqs = sum(after["requests"].values()) - sum(before["requests"].values())
    ctl_cores = args.controller_cores or f"0-{(os.cpu_count() or 1) - 1}"
    return {
        "hosts": hosts,
        "checks_per_host": CHECKS,
        "forks": forks,
        "lab_procs": args.procs,
        "wall_s": round(res.wall, 2),
        "controller_cpu_s": round(res.cpu, 2),
        "cpu_ms_per_host": round(res.cpu / hosts * 1000, 2),
        "controller_peak_rss_mb": round(res.peak_rss_mb, 1),
        "lab_cpu_s": round(after["cpu_seconds"] - before["cpu_seconds"], 2),
        "lab_start_s": round(lab_start, 1),
        "lab_fd_limit": after.get("fd_limit"),
        "requests_per_host": round(reqs / hosts, 1),
        "hosts_correct": correct,
        "verdicts": verdicts,
        "rc": res.rc,
        "lab_cores": ",".join(map(str, lab_cores)),
        "controller_cores": ctl_cores,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
    }


HEAD = (
    "| hosts | checks/host | forks | lab procs | wall s | controller CPU s | CPU ms/host | peak RSS MB "
    "| lab CPU s | req/host | hosts correct | lab cores | controller cores | load avg (1 min, before/after) |"
)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [HEAD, "|" + "---|" * HEAD.count(" | ") + "---|"]
    for r in rows:
        lines.append(
            f"| {r['hosts']} | {r['checks_per_host']} | {r['forks']} | {r['lab_procs']} | {r['wall_s']} "
            f"| {r['controller_cpu_s']} | {r['cpu_ms_per_host']} | {r['controller_peak_rss_mb']} "
            f"| {r['lab_cpu_s']} | {r['requests_per_host']} | {r['hosts_correct']}/{r['hosts']} "
            f"| {r['lab_cores']} | {r['controller_cores']} "
            f"| {r['loadavg_before'][0]} / {r['loadavg_after'][0]} |"
        )
    return "\n".join(lines)


def write(rows: list[dict[str, Any]], meta: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale-10k.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    big = max(rows, key=lambda r: r["hosts"])
    verdict = (
        f"{big['hosts']} hosts x {CHECKS} checks: {big['wall_s']} s wall (target < {TARGET_WALL:.0f} s), "
        f"controller peak RSS {big['controller_peak_rss_mb']} MB (target < {TARGET_RSS_MB:.0f} MB), "
        f"{big['hosts_correct']}/{big['hosts']} hosts correct."
    )
    text = (
        "# One controller, 10,000 hosts (bench/scale_10k.py)\n\n"
        f"{meta['date']}, {meta['cpus']} cores, Python {meta['python']}, latency profile `{meta['latency']}`"
        f" (rtt {meta['rtt']} s).\n\n"
        f"{table(rows)}\n\n{verdict}\n\n"
        "The lab and the controller are pinned to different cores with `taskset`; the load average "
        "is the machine's (other processes share the cores), so numbers taken under load are upper "
        "bounds: rerun on a quiet machine for the reference figures.\n"
    )
    (out / "scale-10k.md").write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, nargs="*", default=[10_000])
    ap.add_argument("--procs", type=int, default=3, help="lab processes (remediate lab up --procs)")
    ap.add_argument("--forks", type=int, default=1000, help="remediate -f")
    ap.add_argument("--lab-cores", default="1", help="taskset -c list for the lab ('' = no pinning)")
    ap.add_argument("--controller-cores", default="0", help="taskset -c list for the controller")
    ap.add_argument("--latency", default="zero", help="lab latency profile (bench/labproc.py)")
    ap.add_argument("--rtt", type=float, default=0.0, help="seconds added to every HTTP response")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--no-write", action="store_true", help="print only (exploratory runs)")
    args = ap.parse_args()
    if (args.lab_cores or args.controller_cores) and not shutil.which("taskset"):
        sys.exit("taskset not found (util-linux); pass --lab-cores '' --controller-cores '' to run unpinned")
    rows = []
    started = time.time()
    for n in args.hosts:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
            row = run_one(args, n, Path(tmp))
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(table(rows))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "latency": args.latency,
        "rtt": args.rtt,
        "seconds": round(time.time() - started, 1),
        "machine_cpu_percent": psutil.cpu_percent(interval=0.5),
    }
    if not args.no_write:
        write(rows, meta, args.out)
        print(f"wrote {args.out / 'scale-10k.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
