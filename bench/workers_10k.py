"""Hosts across Celery site workers on one machine (issue 12, docs/workers.md).

One lab process per site (its own DNS, KMS host and fleet, faults assigned by the spec), one
redis-server broker, one PostgreSQL store (tests/services helpers: throwaway, on loopback), one
`remediate worker --site S` per site, and the controller dispatching kms-health (dry run) with
`remediate run --workers`. Every process is a child of this script, so its CPU seconds and peak
RSS come from wait4(2). Hosts correct: each host's stored verdict is what its lab profile says
(healthy: compliant, no_srv: failed, no fix applies without kms_host).

    python bench/workers_10k.py --hosts 1000            # check it works
    python bench/workers_10k.py --hosts 10000 --out bench/results/workers-10k

Everything shares this machine's cores (the load average before and after is printed): the
numbers are what one box running the whole estate gives, not a deployment's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "Bench-Passw0rd!"  # loopback lab only
PROFILES = {"healthy": 90, "no_srv": 10}
# kms-health's fix for a missing SRV record needs `kms_host`, which the bench does not set: a
# no_srv host ends failed "non-compliant and no fix applies", as in a local run
EXPECTED = {"healthy": "compliant", "no_srv": "failed"}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


# ---- one site's lab (this script run with --serve-lab) -----------------------------------------
async def serve_lab(args: argparse.Namespace) -> int:
    from remediate.lab.fleet.spec import FleetSpec
    from remediate.lab.runtime import Lab

    spec = FleetSpec.from_dict(
        {"hosts": args.hosts, "seed": 7, "password": PASSWORD, "profiles": PROFILES,
         "locales": {"en-US": 100}, "office": 0, "kms_hosts": [{"name": "kms01"}],
         "srv_records": ["kms01"], "name_prefix": f"{args.site.upper()}-",
         "domain": f"{args.site}.lab.test"},
        source="bench",
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    with tempfile.TemporaryDirectory(prefix=f"bench-lab-{args.site}-") as work:
        lab = Lab(spec, Path(work))
        try:
            await lab.start()
            lab.write_inventory(Path(args.inventory_out))
            profiles = {name: h.profile for name, h in lab.hosts.items()}
            Path(args.profiles_out).write_text(json.dumps(profiles), encoding="utf-8")
            print("ready", flush=True)
            while not stop.is_set() and os.getppid() == args.parent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await lab.stop()
    return 0


# ---- the harness ----------------------------------------------------------------------------------
def _wait_for(proc: subprocess.Popen[bytes], log: Path, word: bytes, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and word in log.read_bytes():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    raise RuntimeError(
        f"{log.name}: no {word!r} in {timeout:.0f}s: {log.read_text(errors='replace')[-1500:]}"
    )


def _reap(proc: subprocess.Popen[bytes], timeout: float = 60) -> dict[str, float]:
    """Stop a child (SIGTERM) and return its CPU seconds and peak RSS (MB) from wait4(2)."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return {"cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}
        if time.monotonic() > deadline:
            proc.kill()
            timeout, deadline = 10, time.monotonic() + 10
        time.sleep(0.1)


def bench(hosts: int, sites: int, work: Path, batch_size: int, concurrency: int) -> dict[str, Any]:
    from remediate.history.store import Store
    from remediate.inventory import Inventory
    from tests.services import postgres
    from tests.services.redis import redis_server

    names = [chr(ord("a") + i) for i in range(sites)]
    per_site = [hosts // sites + (1 if i < hosts % sites else 0) for i in range(sites)]
    load_before = os.getloadavg()
    with redis_server() as broker, postgres.cluster() as pg:
        pg.sql("CREATE DATABASE bench")
        db = pg.url("bench")
        Store.open(db, create=True).close()
        labs: dict[str, subprocess.Popen[bytes]] = {}
        workers: dict[str, subprocess.Popen[bytes]] = {}
        try:
            t0 = time.monotonic()
            for site, n in zip(names, per_site, strict=True):
                log = work / f"lab-{site}.log"
                cmd = [sys.executable, __file__, "--serve-lab", "--site", site, "--hosts", str(n),
                       "--inventory-out", str(work / f"site-{site}.yml"),
                       "--profiles-out", str(work / f"profiles-{site}.json"),
                       "--parent", str(os.getpid())]  # fmt: skip
                labs[site] = subprocess.Popen(
                    cmd, env=_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT
                )
            for site in names:
                _wait_for(labs[site], work / f"lab-{site}.log", b"ready", 600)
            lab_start = time.monotonic() - t0
            controller_hosts: dict[str, Any] = {}
            profiles: dict[str, str] = {}
            for site in names:
                for h in Inventory.load(work / f"site-{site}.yml").select("windows"):
                    controller_hosts[h.name] = {**h.vars, "remediate_site": site}
                profiles.update(json.loads((work / f"profiles-{site}.json").read_text()))
            controller_inv = work / "controller.yml"
            controller_inv.write_text(
                yaml.safe_dump({"all": {"children": {"windows": {"hosts": controller_hosts}}}})
            )
            for site in names:
                log = work / f"worker-{site}.log"
                cmd = [sys.executable, "-m", "remediate.cli", "worker", "--site", site,
                       "-i", str(work / f"site-{site}.yml"), "--broker", broker, "--db", db,
                       "-c", str(concurrency)]  # fmt: skip
                workers[site] = subprocess.Popen(
                    cmd, env=_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT
                )
            for site in names:
                _wait_for(workers[site], work / f"worker-{site}.log", b"ready.", 120)
            cmd = [sys.executable, "-m", "remediate.cli", "run", "kms-health", "-i", str(controller_inv),
                   "--workers", broker, "--db", db, "--batch-size", str(batch_size),
                   "--json", str(work / "result.json")]  # fmt: skip
            started = time.monotonic()
            with (work / "controller.log").open("wb") as out:
                controller = subprocess.Popen(cmd, env=_env(), stdout=out, stderr=subprocess.STDOUT)
                _, status, ru = os.wait4(controller.pid, 0)
            wall = time.monotonic() - started
            controller.returncode = os.waitstatus_to_exitcode(status)
            ctl = {"cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024}
            load_after = os.getloadavg()
            worker_use = {s: _reap(p) for s, p in workers.items()}
            lab_use = {s: _reap(p) for s, p in labs.items()}
            store = Store.open(db, create=False)
            run = store.runs(limit=1)[0]
            records = store.host_records(run_id=run.id)
            store.close()
        finally:
            for p in [*workers.values(), *labs.values()]:
                if p.returncode is None:
                    p.kill()
                    with contextlib.suppress(ChildProcessError):
                        p.wait(10)
    verdicts = {r.host: r.verdict for r in records}
    errors = {r.host: r.error for r in records}
    correct = sum(1 for n, p in profiles.items() if verdicts.get(n) == EXPECTED.get(p))
    wrong = {
        n: (p, verdicts.get(n), errors.get(n))
        for n, p in profiles.items()
        if verdicts.get(n) != EXPECTED.get(p)
    }
    return {
        "hosts": hosts,
        "sites": sites,
        "workers": sites,
        "worker_concurrency": concurrency,
        "batch_size": batch_size,
        "wall_s": round(wall, 2),
        "controller_exit": controller.returncode,
        "controller_cpu_s": round(ctl["cpu_s"], 2),
        "controller_peak_rss_mb": round(ctl["peak_rss_mb"], 1),
        "controller_cpu_ms_per_host": round(1000 * ctl["cpu_s"] / hosts, 3),
        "worker_cpu_s": round(sum(w["cpu_s"] for w in worker_use.values()), 2),
        "worker_peak_rss_mb": round(max(w["peak_rss_mb"] for w in worker_use.values()), 1),
        "lab_cpu_s": round(sum(w["cpu_s"] for w in lab_use.values()), 2),
        "lab_start_s": round(lab_start, 1),
        "hosts_correct": correct,
        "wrong_sample": dict(list(wrong.items())[:10]),
        "store_rows": len(records),
        "run_status": run.status,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "cores": os.cpu_count(),
        "self_cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 2),
    }


COLUMNS = [
    ("hosts", "hosts"), ("sites", "sites"), ("workers", "workers"), ("wall_s", "wall s"),
    ("controller_cpu_s", "ctl CPU-s"), ("controller_peak_rss_mb", "ctl peak RSS MB"),
    ("worker_cpu_s", "worker CPU-s"), ("lab_cpu_s", "lab CPU-s"), ("hosts_correct", "hosts correct"),
    ("store_rows", "store rows"), ("load_before", "load avg before"), ("load_after", "load avg after"),
]  # fmt: skip


def table(rows: list[dict[str, Any]]) -> str:
    head = "| " + " | ".join(t for _, t in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(str(r[k]) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, nargs="+", default=[1000])
    ap.add_argument("--sites", type=int, default=4)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=2, help="batches a worker runs at once")
    ap.add_argument("--out", help="write OUT.md and OUT.json")
    ap.add_argument("--serve-lab", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--site", help=argparse.SUPPRESS)
    ap.add_argument("--inventory-out", help=argparse.SUPPRESS)
    ap.add_argument("--profiles-out", help=argparse.SUPPRESS)
    ap.add_argument("--parent", type=int, default=os.getppid(), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_lab:
        args.hosts = args.hosts[0]
        return asyncio.run(serve_lab(args))
    rows = []
    for n in args.hosts:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            row = bench(n, args.sites, Path(tmp), args.batch_size, args.concurrency)
        rows.append(row)
        print(table([row]), flush=True)
        if row["wrong_sample"]:
            print("wrong:", row["wrong_sample"], flush=True)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        note = (
            f"# {args.sites} Celery site workers on one machine\n\n`python bench/workers_10k.py "
            f"--hosts {' '.join(map(str, args.hosts))}`: kms-health dry run dispatched with "
            "`remediate run --workers`, one lab process per site, redis-server, PostgreSQL store. "
            f"Every process shares this machine's {os.cpu_count()} cores (load average shown).\n\n"
        )
        out.with_suffix(".md").write_text(note + table(rows) + "\n", encoding="utf-8")
    return 0 if all(r["hosts_correct"] == r["hosts"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
