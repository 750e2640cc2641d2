"""Controller memory when hosts flood output: 200 MB per host over WinRM and SSH, 1 and 10 hosts.

The lab runs in its own process (bench/labproc.py --flood-bytes); each scenario runs the
controller (`app.run` with --json and --jsonl, the default 4 MiB output cap) in a fresh child
process that reports its own peak RSS (resource.getrusage), so scenarios do not share a peak.
Prints a table and writes bench/results/reliability-output.md.

    python bench/reliability_output.py [--mb 200] [--hosts 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parent
LIMIT_MB = 250.0
PLAYBOOK = HERE / "playbooks" / "flood.yml"


def child(inventory: str, connection: str, hosts: int, workdir: str) -> None:
    """One controller run; prints a JSON line with its figures."""
    from remediate import app
    from remediate.engine import RunOptions

    names = [f"WIN-{i:04d}" for i in range(1, hosts + 1)]
    targets = app.load(
        PLAYBOOK, inventory, limit=",".join(names), extra_vars=[f"ansible_connection={connection}"]
    )
    out = app.Outputs(json=Path(workdir) / "r.json", jsonl=Path(workdir) / "r.jsonl", force=True)
    t0 = time.monotonic()
    result = asyncio.run(app.run(targets, RunOptions(forks=hosts), out))
    steps = [h.steps[0] for h in result.hosts if h.steps]
    print(
        json.dumps(
            {
                "seconds": time.monotonic() - t0,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "hosts_ok": sum(1 for s in steps if s.rc == 0 and s.error is None),
                "truncated": sum(1 for s in steps if s.truncated.get("stdout", 0) > 0),
                "dropped_mb": sum(s.truncated.get("stdout", 0) for s in steps) / 2**20,
                "json_mb": os.path.getsize(out.json or "") / 2**20,  # type: ignore[arg-type]
                "jsonl_mb": os.path.getsize(out.jsonl or "") / 2**20,  # type: ignore[arg-type]
                "errors": sorted({s.error for s in steps if s.error}),
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--child", nargs=4, metavar=("INVENTORY", "CONNECTION", "HOSTS", "WORKDIR"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]), args.child[3])
        return 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-flood-") as work:
        inv, stats = Path(work) / "inv.yml", Path(work) / "stats.json"
        lab = subprocess.Popen(
            [sys.executable, str(HERE / "labproc.py"), "--hosts", str(args.hosts),
             "--inventory-out", str(inv), "--stats-out", str(stats),
             "--flood-bytes", str(args.mb * 2**20), "--max-seconds", "3600"],
            stdout=subprocess.PIPE, env=env, text=True,
        )  # fmt: skip
        try:
            assert lab.stdout is not None and lab.stdout.readline().strip() == "ready"
            for connection in ("winrm", "ssh"):
                for hosts in (1, args.hosts):
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", str(inv), connection, str(hosts), work],
                        capture_output=True, text=True, env=env, check=True,
                    )  # fmt: skip
                    row = {
                        "connection": connection,
                        "hosts": hosts,
                        **json.loads(out.stdout.splitlines()[-1]),
                    }
                    rows.append(row)
                    print(row, flush=True)
        finally:
            lab.terminate()
            lab.wait(30)
    lines = [
        f"# Controller memory under {args.mb} MB of output per host",
        "",
        f"Lab in its own process (bench/labproc.py), every host printing {args.mb} MB with "
        "`type C:\\flood.txt`; controller = `app.run` with --json and --jsonl and the default 4 MiB "
        f"output cap, one fresh process per row; limit {LIMIT_MB:.0f} MB peak RSS.",
        "",
        "| transport | hosts | sent MB | seconds | controller peak RSS MB | steps ok | truncated"
        " | JSON MB | JSONL MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['connection']} | {r['hosts']} | {args.mb * r['hosts']} | {r['seconds']:.1f} | "
            f"{r['peak_rss_mb']:.0f} | {r['hosts_ok']}/{r['hosts']} | {r['truncated']} | "
            f"{r['json_mb']:.1f} | {r['jsonl_mb']:.1f} |"
        )
    ok = all(r["peak_rss_mb"] < LIMIT_MB and r["truncated"] == r["hosts"] for r in rows)
    lines += ["", f"All under {LIMIT_MB:.0f} MB and marked truncated: {'yes' if ok else 'NO'}", ""]
    text = "\n".join(lines)
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "reliability-output.md").write_text(text, encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
