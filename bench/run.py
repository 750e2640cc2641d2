"""Benchmark: remediate vs a sequential pywinrm loop vs ansible-playbook, on the same lab fleet.

    python bench/run.py --quick          # 10 and 100 hosts, < 3 min
    python bench/run.py                  # 10, 100, 1000 hosts (+5000 for remediate)

For each (profile, host count) one lab process (bench/labproc.py) serves the fleet and every
tool runs against it in turn, each as its own process, measured from outside (bench/measure.py).
Results: bench/results/results.json (raw), results.md (table), wall.png (plot).

Profiles: zero (no latency), realistic (30 ms per HTTP round trip, slmgr 1.5-3 s, PowerShell start
0.4 s, 30 ms per command), latency1s (1 s per command, nothing else: latency dominates).
A baseline whose run would exceed the budget (estimated linearly from its own previous, smaller
run) is not run; the row says so and carries the estimate.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import LabProcess, run_measured
from report import write_reports

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PROFILES: dict[str, tuple[str, float]] = {  # name -> (lab latency, HTTP round trip seconds)
    "zero": ("zero", 0.0),
    "realistic": ("realistic", 0.03),
    "latency1s": ('{"cmd": 1.0}', 0.0),
}


@dataclass
class Row:
    profile: str
    hosts: int
    tool: str  # remediate | pywinrm-seq | ansible-f5 | ansible-f50 | ansible-f200
    forks: int | None
    wall: float | None = None
    cpu: float | None = None
    rss_mb: float | None = None
    lab_cpu: float | None = None
    lab_rss_mb: float | None = None
    requests_per_host: float | None = None
    critical_path: float | None = None  # slowest host's own duration (remediate --json)
    ok_hosts: int | None = None
    note: str = ""


def _bin(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _count_ansible_ok(text: str) -> int:
    # PLAY RECAP lines: "WIN-0001 : ok=3 changed=3 unreachable=0 failed=0 ..."
    return sum(1 for ln in text.splitlines() if " ok=3 " in ln and "failed=0" in ln and "unreachable=0" in ln)


def run_tool(tool: str, forks: int | None, lab: LabProcess, work: Path, hosts: int, timeout: float) -> Row:
    row = Row(profile="", hosts=hosts, tool=tool, forks=forks)
    env = dict(os.environ)
    report = work / f"{tool}.json"
    if tool == "remediate":
        argv = [_bin("remediate"), "run", str(BENCH / "playbooks/three-checks.yml"), "-i", str(lab.inventory),
                "-f", str(forks), "--json", str(report), "--no-history"]  # fmt: skip
        env["NO_COLOR"] = "1"
    elif tool == "pywinrm-seq":
        argv = [sys.executable, str(BENCH / "seq_pywinrm.py"), str(lab.inventory)]
    else:
        argv = [_bin("ansible-playbook"), "-i", str(lab.inventory), "-f", str(forks),
                str(BENCH / "ansible/three-checks.yml")]  # fmt: skip
        env.update(
            ANSIBLE_HOST_KEY_CHECKING="False",
            ANSIBLE_LOCAL_TEMP=str(work / "ansible-tmp"),
            ANSIBLE_RETRY_FILES_ENABLED="False",
            ANSIBLE_NOCOLOR="1",
        )
    before = lab.stats()
    res = run_measured(argv, timeout=timeout, env=env, out=work / f"{tool}.out")
    after = lab.stats()
    row.wall, row.cpu, row.rss_mb = round(res.wall, 2), round(res.cpu, 2), round(res.peak_rss_mb, 1)
    row.lab_cpu = round(after["cpu_seconds"] - before["cpu_seconds"], 2)
    row.lab_rss_mb = round(after["peak_rss_mb"], 1)
    reqs = sum(after["requests"].values()) - sum(before["requests"].values())
    row.requests_per_host = round(reqs / hosts, 1)
    if res.rc is None:
        row.note = f"killed at the {timeout:.0f} s timeout"
        return row
    if tool == "remediate" and report.exists():
        data = json.loads(report.read_text())
        results = data["hosts"]
        row.ok_hosts = sum(1 for h in results if h["verdict"] == "compliant")
        row.critical_path = round(max(h["duration"] for h in results), 2)
    elif tool == "pywinrm-seq":
        words = res.stdout.split()
        row.ok_hosts = int(words[words.index("ok") + 1]) if "ok" in words else 0
    elif tool.startswith("ansible"):
        row.ok_hosts = _count_ansible_ok(res.stdout)
    if row.ok_hosts != hosts:
        row.note = f"only {row.ok_hosts}/{hosts} hosts ok (rc {res.rc}); see {work.name}/{tool}.out"
    return row


def plan(profile: str, hosts: int, full: bool) -> list[tuple[str, int | None]]:
    tools: list[tuple[str, int | None]] = [("remediate", max(hosts, 50))]
    if profile == "latency1s" or hosts > 1000:
        return tools
    tools.append(("pywinrm-seq", None))
    tools += [("ansible-f5", 5), ("ansible-f50", 50)]
    if full and hosts <= 100:  # 200 forks at 1000 hosts: ~8 GB RSS on a shared box (measured)
        tools.append(("ansible-f200", 200))
    return tools


def estimate(rows: list[Row], profile: str, tool: str, forks: int | None, hosts: int) -> float | None:
    """From this tool's largest finished run of the same profile: the larger of its CPU scaled
    linearly over 2 cores and its wall scaled by the number of fork-sized waves."""
    prev = [r for r in rows if r.profile == profile and r.tool == tool and r.wall and not r.note]
    if not prev:
        return None
    last = max(prev, key=lambda r: r.hosts)
    assert last.wall is not None and last.cpu is not None
    f = forks or 1
    waves = math.ceil(hosts / f) / math.ceil(last.hosts / f)
    return max(last.cpu * hosts / last.hosts / 2, last.wall * waves)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 and 100 hosts (< 3 min)")
    ap.add_argument("--hosts", type=int, nargs="*", help="host counts (default: by mode)")
    ap.add_argument("--profiles", nargs="*", choices=list(PROFILES), help="latency profiles")
    ap.add_argument("--budget", type=float, help="max seconds for one tool run (skip if estimated over)")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (tool outputs, lab log)")
    ap.add_argument("--tools", nargs="*", help="only these tools, e.g. remediate ansible-f50")
    args = ap.parse_args()
    full = not args.quick
    counts = args.hosts or ([10, 100] if args.quick else [10, 100, 1000, 5000])
    profiles = args.profiles or (["zero", "realistic"] if args.quick else list(PROFILES))
    budget = args.budget or (25.0 if args.quick else 420.0)
    rows: list[Row] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_dir:
        tmp = tempfile.mkdtemp(prefix="bench-keep-") if args.keep else tmp_dir
        if args.keep:
            print(f"work directory: {tmp}", flush=True)
        for profile in profiles:
            latency, rtt = PROFILES[profile]
            for n in counts:
                if profile == "latency1s" and n > 1000:
                    continue
                work = Path(tmp) / f"{profile}-{n}"
                work.mkdir()
                lab = LabProcess(work, n, latency, rtt, sys.executable)
                try:
                    for tool, forks in plan(profile, n, full):
                        if args.tools and tool not in args.tools:
                            continue
                        est = estimate(rows, profile, tool, forks, n)
                        if tool != "remediate" and est is not None and est > budget:
                            rows.append(Row(profile, n, tool, forks, note=f"not run: ~{est:.0f} s estimated"))
                            print(f"{profile:9} {n:5} {tool:12} skipped (~{est:.0f} s estimated)", flush=True)
                            continue
                        row = run_tool(tool, forks, lab, work, n, timeout=budget * 1.5 + 30)
                        row.profile = profile
                        rows.append(row)
                        print(f"{profile:9} {n:5} {tool:12} wall {row.wall:7.2f}s cpu {row.cpu:7.2f}s "
                              f"rss {row.rss_mb:6.0f}MB req/host {row.requests_per_host} "
                              f"crit {row.critical_path} {row.note}", flush=True)  # fmt: skip
                finally:
                    lab.stop()
    meta: dict[str, Any] = {
        "mode": "full" if full else "quick",
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "seconds": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    write_reports([asdict(r) for r in rows], meta, args.out)
    print(f"wrote {args.out} ({meta['mode']}) in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
