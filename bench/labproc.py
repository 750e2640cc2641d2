"""The benchmark's lab: `remediate lab up`'s serve loop in its own process, plus counters.

Like `remediate lab up` (same Lab, same listeners), with two additions the harness needs:
an emulated network round trip added to every HTTP response (--rtt) and, on SIGUSR1, a JSON
snapshot of requests served per host address, lab CPU seconds and peak RSS (--stats-out).
All hosts are `healthy`, so every tool does the same work on every host.

    python bench/labproc.py --hosts 100 --latency realistic --rtt 0.03 \
        --inventory-out inv.yml --stats-out stats.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import Lab
from remediate.lab.wire import http as lab_http

PASSWORD = "Bench-Passw0rd!"  # loopback lab only


def fleet(hosts: int, latency: str) -> FleetSpec:
    lat: Any = json.loads(latency) if latency.startswith("{") else latency
    return FleetSpec.from_dict(
        {
            "hosts": hosts,
            "seed": 1,
            "domain": "lab.test",
            "user": "admin",
            "password": PASSWORD,
            "locales": {"en-US": 100},
            "latency": lat,
            "kms_hosts": [{"name": "kms01", "port": 1688, "behaviour": "ok"}],
            "profiles": {"healthy": 100},
            "office": 0,
        },
        source="bench",
    )


def snapshot(lab: Lab) -> dict[str, Any]:
    stats = lab.stats()  # summed over the lab's processes (--procs)
    by_addr = stats["requests"]
    return {
        "requests": {name: by_addr.get(h.address, 0) for name, h in lab.hosts.items()},
        "cpu_seconds": stats["cpu_seconds"],
        "peak_rss_mb": stats["peak_rss_mb"],
        "start_seconds": lab.start_seconds,
        "procs": lab.procs,
        "fd_limit": lab.fd_limit,
    }


async def main(args: argparse.Namespace) -> int:
    lab_http.ROUND_TRIP_SECONDS = args.rtt
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as work:
        if args.flood_bytes and args.procs > 1:
            sys.exit("--flood-bytes needs --procs 1 (shard processes own their hosts' state)")
        lab = Lab(fleet(args.hosts, args.latency), Path(work), procs=args.procs)
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def dump() -> None:
            tmp = args.stats_out + ".tmp"
            Path(tmp).write_text(json.dumps(snapshot(lab)), encoding="utf-8")
            os.replace(tmp, args.stats_out)

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, dump)
        try:
            await lab.start()
            for h in lab.hosts.values():  # `type C:\flood.txt` prints this many bytes (0: none)
                h.state.flood_bytes = args.flood_bytes
            lab.write_inventory(Path(args.inventory_out))
            dump()
            print("ready", flush=True)
            # Never outlive the harness: stop when the parent goes away or the budget ends.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.max_seconds):
                    while not stop.is_set() and os.getppid() == args.parent:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), 1.0)
        finally:
            await lab.stop()
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, required=True)
    ap.add_argument("--latency", default="zero", help="zero | realistic | JSON mapping")
    ap.add_argument("--rtt", type=float, default=0.0, help="seconds added to every HTTP response")
    ap.add_argument("--inventory-out", required=True)
    ap.add_argument("--stats-out", required=True)
    ap.add_argument("--flood-bytes", type=int, default=0, help="size of each host's C:\\flood.txt")
    ap.add_argument("--max-seconds", type=float, default=3600.0)
    ap.add_argument("--procs", type=int, default=1, help="lab processes (remediate lab up --procs)")
    ap.add_argument("--parent", type=int, default=os.getppid())
    sys.exit(asyncio.run(main(ap.parse_args())))
