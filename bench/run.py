"""Benchmark: remediate vs a sequential pywinrm loop vs ansible-playbook, on the same lab fleet.

    python bench/run.py --quick          # 10 and 100 hosts, < 3 min
    python bench/run.py                  # 10, 100, 1000 hosts (+5000 for remediate)
    python bench/run.py --hosts 1000 --profiles zero realistic --ansible-forks 25 50 100 \
        --tools remediate ansible --name pair-1000-pinned   # the pinned pair (issue 12)

For each (profile, host count) one lab process (bench/labproc.py) serves the fleet and every
tool runs against it in turn, each as its own process, measured from outside (bench/measure.py).
Results: bench/results/results.json (raw), results.md (table), wall.png (plot).

Profiles: zero (no latency), realistic (30 ms per HTTP round trip, slmgr 1.5-3 s, PowerShell start
0.4 s, 30 ms per command), latency1s (1 s per command, nothing else: latency dominates).
A baseline whose run would exceed the budget (estimated linearly from its own previous, smaller
run) is not run; the row says so and carries the estimate.

Cores: the lab runs under `taskset -c LAB_CORES` (default 1), every tool under `taskset -c
CONTROLLER_CORES` (default 0; Ansible's forks inherit it), so remediate and ansible-playbook get
the same core(s) in the same run; '' = no pinning. Each row carries the cores read back from the
processes' affinity and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
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
    lab_cores: str = ""  # read back from the processes' affinity
    controller_cores: str = ""
    load_before: float | None = None  # 1-minute load average
    load_after: float | None = None
    note: str = ""


def _bin(name: str) -> str:
    found = Path(sys.executable).parent / name
    return str(found) if found.exists() else (shutil.which(name) or name)


def _count_ansible_ok(text: str) -> int:
    # PLAY RECAP lines: "WIN-0001 : ok=3 changed=3 unreachable=0 failed=0 ..."
    return sum(1 for ln in text.splitlines() if " ok=3 " in ln and "failed=0" in ln and "unreachable=0" in ln)


def _cores(cpus: list[int]) -> str:
    return ",".join(map(str, cpus))


def run_tool(
    tool: str, forks: int | None, lab: LabProcess, work: Path, hosts: int, timeout: float, pin: list[str]
) -> Row:
    row = Row(profile="", hosts=hosts, tool=tool, forks=forks)
    env = dict(os.environ)
    report = work / f"{tool}.json"
    if tool == "remediate":
        argv = [_bin("remediate"), "run", str(BENCH / "playbooks/three-checks.yml"), "-i", str(lab.inventory),
                "-f", str(forks), "--json", str(report), "--no-history",
                *shlex.split(os.environ.get("REMEDIATE_BENCH_ARGS", ""))]  # fmt: skip
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
    row.load_before = round(os.getloadavg()[0], 2)
    before = lab.stats()
    res = run_measured([*pin, *argv], timeout=timeout, env=env, out=work / f"{tool}.out")
    after = lab.stats()
    row.load_after = round(os.getloadavg()[0], 2)
    row.controller_cores, row.lab_cores = _cores(res.cores), _cores(lab.cores())
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


def plan(
    profile: str, hosts: int, full: bool, ansible_forks: list[int] | None
) -> list[tuple[str, int | None]]:
    tools: list[tuple[str, int | None]] = [("remediate", max(hosts, 50))]
    if profile == "latency1s" or hosts > 1000:
        return tools
    tools.append(("pywinrm-seq", None))
    if ansible_forks:
        return tools + [(f"ansible-f{f}", f) for f in ansible_forks]
    tools += [("ansible-f5", 5), ("ansible-f50", 50)]
    if full and hosts <= 100:  # 200 forks at 1000 hosts: ~8 GB RSS on a shared box (measured)
        tools.append(("ansible-f200", 200))
    return tools


def wanted(tool: str, only: list[str] | None) -> bool:
    # "ansible" selects every ansible-fN row
    return not only or tool in only or (tool.startswith("ansible-") and "ansible" in only)


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


def pair_summary(rows: list[Row]) -> list[str]:
    """Per (profile, hosts): remediate vs Ansible's fastest forks (all hosts ok), and remediate's wall
    over its critical path. Only numbers the rows hold."""
    out = []
    for profile, hosts in dict.fromkeys((r.profile, r.hosts) for r in rows):
        cell = [
            r for r in rows if r.profile == profile and r.hosts == hosts and r.wall and r.ok_hosts == hosts
        ]
        rem = next((r for r in cell if r.tool == "remediate"), None)
        ans = [r for r in cell if r.tool.startswith("ansible-")]
        if rem is None or rem.wall is None:
            continue
        line = f"{profile} {hosts} hosts: remediate {rem.wall} s"
        if ans:
            best = min(ans, key=lambda r: r.wall or math.inf)
            assert best.wall is not None and best.cpu is not None and rem.cpu
            line += (f"; ansible best forks {best.forks} {best.wall} s: {best.wall / rem.wall:.1f}x wall, "
                     f"{best.cpu / rem.cpu:.1f}x controller CPU")  # fmt: skip
        if rem.critical_path:
            ratio = rem.wall / rem.critical_path
            line += f"; wall / critical path {rem.wall} / {rem.critical_path} = {ratio:.2f}x"
        out.append(line + f" (cores: lab {rem.lab_cores}, controller {rem.controller_cores})")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="10 and 100 hosts (< 3 min)")
    ap.add_argument("--hosts", type=int, nargs="*", help="host counts (default: by mode)")
    ap.add_argument("--profiles", nargs="*", choices=list(PROFILES), help="latency profiles")
    ap.add_argument("--budget", type=float, help="max seconds for one tool run (skip if estimated over)")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (tool outputs, lab log)")
    ap.add_argument(
        "--tools", nargs="*", help="only these tools, e.g. remediate ansible-f50 ('ansible': all forks)"
    )
    ap.add_argument(
        "--ansible-forks", type=int, nargs="*", help="ansible-playbook -f values (default 5 50 [200])"
    )
    two = (os.cpu_count() or 1) >= 2
    ap.add_argument(
        "--lab-cores", default="1" if two else "", help="taskset -c list for the lab ('' = no pinning)"
    )
    ap.add_argument(
        "--controller-cores",
        default="0" if two else "",
        help="taskset -c list for every tool (remediate, ansible-playbook and its forks)",
    )
    ap.add_argument("--procs", type=int, default=1, help="lab processes (labproc.py --procs)")
    ap.add_argument("--name", help="write results/NAME.{md,json} (default: results or quick)")
    args = ap.parse_args()
    if (args.lab_cores or args.controller_cores) and not shutil.which("taskset"):
        sys.exit("taskset not found (util-linux); pass --lab-cores '' --controller-cores '' to run unpinned")
    pin_lab = ["taskset", "-c", args.lab_cores] if args.lab_cores else []
    pin_ctl = ["taskset", "-c", args.controller_cores] if args.controller_cores else []
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
                lab = LabProcess(work, n, latency, rtt, sys.executable, procs=args.procs, prefix=pin_lab)
                try:
                    for tool, forks in plan(profile, n, full, args.ansible_forks):
                        if not wanted(tool, args.tools):
                            continue
                        est = estimate(rows, profile, tool, forks, n)
                        if tool != "remediate" and est is not None and est > budget:
                            rows.append(Row(profile, n, tool, forks, note=f"not run: ~{est:.0f} s estimated"))
                            print(f"{profile:9} {n:5} {tool:12} skipped (~{est:.0f} s estimated)", flush=True)
                            continue
                        row = run_tool(tool, forks, lab, work, n, timeout=budget * 1.5 + 30, pin=pin_ctl)
                        row.profile = profile
                        rows.append(row)
                        print(f"{profile:9} {n:5} {tool:12} wall {row.wall:7.2f}s cpu {row.cpu:7.2f}s "
                              f"rss {row.rss_mb:6.0f}MB lab cpu {row.lab_cpu}s "
                              f"req/host {row.requests_per_host} "
                              f"crit {row.critical_path} ok {row.ok_hosts} cores lab {row.lab_cores} "
                              f"controller {row.controller_cores} load {row.load_before}/{row.load_after} "
                              f"{row.note}", flush=True)  # fmt: skip
                finally:
                    lab.stop()
    meta: dict[str, Any] = {
        "mode": "full" if full else "quick",
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "seconds": round(time.time() - started, 1),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "lab_cores_requested": args.lab_cores,
        "controller_cores_requested": args.controller_cores,
        "lab_procs": args.procs,
    }
    if args.name:
        meta["name"] = args.name
    summary = pair_summary(rows)
    for line in summary:
        print(line)
    write_reports([asdict(r) for r in rows], meta, args.out, summary)
    print(f"wrote {args.out} ({meta['mode']}) in {meta['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
