"""Celery site workers (docs/workers.md): three sites, each a lab with its own DNS and KMS host and
a `remediate worker --site S` subprocess in front of it, one redis-server broker, one store.

`remediate run --workers` dispatches windows activation with --apply across the sites; every host
ends as its lab profile says. Killing one worker with SIGKILL mid-run leaves its finished hosts
in the store, its other hosts `failed: worker lost`, and no fix ran twice on any host; `remediate
run --resume RUN --apply` then completes the lost hosts here, still fixing each host once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("celery")

from remediate.history.store import Store
from remediate.inventory import Inventory
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.runtime import LabThread
from tests.services.redis import redis_url  # noqa: F401  (the session fixture)

PLAYBOOK = Path(__file__).parent / "playbooks" / "activate.yml"
SITES = ("a", "b", "c")
FIX_SWITCHES = ("/skms", "/ipk", "/ato")
PW = "Lab-Passw0rd!"


@pytest.fixture
def broker(redis_url: str) -> str:  # noqa: F811  (the imported session fixture)
    return redis_url


@pytest.fixture
def store_url(pg_url: str) -> str:
    """The shared store, on PostgreSQL (tests/services/postgres.py) as a real deployment."""
    Store.open(pg_url, create=True).close()
    return pg_url


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class Sites:
    """Three labs, their site inventories and a controller inventory with remediate_site set."""

    def __init__(self, tmp: Path, hosts: int, profiles: dict[str, int]) -> None:
        self.tmp = tmp
        self.labs: dict[str, LabThread] = {}
        self.inventories: dict[str, Path] = {}
        self.hosts = hosts
        self.profiles = profiles

    def __enter__(self) -> Sites:
        # Flat: the labs' inventories share group names, which would merge across sites.
        hosts: dict[str, Any] = {}
        controller = {"all": {"children": {"windows": {"hosts": hosts}}}}
        for site in SITES:
            spec = FleetSpec.from_dict(
                {"hosts": self.hosts, "seed": 5, "password": PW, "profiles": self.profiles,
                 "name_prefix": f"{site.upper()}-", "domain": f"{site}.lab.test"}
            )  # fmt: skip
            lab = LabThread(spec, self.tmp / f"lab-{site}").__enter__()
            self.labs[site] = lab
            inv = lab.write_inventory(self.tmp / f"site-{site}.yml")
            self.inventories[site] = inv
            for h in Inventory.load(inv).select("windows"):
                hosts[h.name] = {**h.vars, "remediate_site": site}
        self.controller = self.tmp / "controller.yml"
        self.controller.write_text(yaml.safe_dump(controller))
        return self

    def __exit__(self, *exc: object) -> None:
        for lab in self.labs.values():
            lab.__exit__(None, None, None)

    def fix_counts(self) -> dict[str, dict[str, int]]:
        """Per host: how many times each fix switch reached slmgr (the lab's own log)."""

        out: dict[str, dict[str, int]] = {}
        for lab in self.labs.values():
            for name, h in lab.hosts.items():
                executed = getattr(h.emulated, "executed", [])
                out[name] = {
                    sw: sum(1 for argv in executed for a in argv if a.lower() == sw) for sw in FIX_SWITCHES
                }
        return out


def _worker(
    site: str, inventory: Path, broker: str, db: str, log: Path, concurrency: int = 2
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "remediate.cli", "worker", "--site", site, "-i", str(inventory),
           "--broker", broker, "--db", db, "-c", str(concurrency)]  # fmt: skip
    return subprocess.Popen(cmd, env=_env(), stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _wait_ready(logs: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(b"ready." in p.read_bytes() for p in logs if p.exists()) and all(p.exists() for p in logs):
            return
        time.sleep(0.2)
    raise AssertionError("workers not ready: " + " | ".join(p.read_text()[-2000:] for p in logs))


def _run(sites: Sites, broker: str, db: str, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "remediate.cli", "run", str(PLAYBOOK), "-i", str(sites.controller),
           "--apply", "--workers", broker, "--db", db, "--batch-size", "2",
           "--json", str(sites.tmp / "result.json"), *extra]  # fmt: skip
    return subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _expected(sites: Sites) -> dict[str, str]:
    return {
        name: ("compliant" if h.profile == "healthy" else "fixed")
        for lab in sites.labs.values()
        for name, h in lab.hosts.items()
    }


@pytest.mark.timeout(240)
def test_three_site_workers_fix_every_host_once(tmp_path: Path, broker: str, store_url: str) -> None:
    with Sites(tmp_path, 8, {"no_srv": 50, "healthy": 50}) as sites:
        logs = [tmp_path / f"worker-{s}.log" for s in SITES]
        workers = [
            _worker(s, sites.inventories[s], broker, store_url, log)
            for s, log in zip(SITES, logs, strict=True)
        ]
        try:
            _wait_ready(logs)
            proc = _run(sites, broker, store_url)
            out, _ = proc.communicate(timeout=180)
            text = out.decode(errors="replace")
            expected = _expected(sites)
            store = Store.open(store_url, create=False)
            assert store.runs(limit=1), text
            run = store.runs(limit=1)[0]
            got = {r.host: r.verdict for r in store.host_records(run_id=run.id)}
            sites_of = {r.host: r.site for r in store.host_records(run_id=run.id)}
            store.close()
            assert got == expected, text
            assert proc.returncode == 0, text
            assert run.status == "finished" and run.exit_code == 0
            assert sites_of == {n: n[0].lower() for n in expected}
            for name, counts in sites.fix_counts().items():
                want = 1 if expected[name] == "fixed" else 0
                assert counts["/skms"] == want and counts["/ato"] == want, (name, counts)
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(20)


@pytest.mark.timeout(400)
def test_a_killed_worker_leaves_its_hosts_failed_worker_lost(
    tmp_path: Path, broker: str, store_url: str
) -> None:
    with Sites(tmp_path, 8, {"no_srv": 100}) as sites:

        async def slow(lab: LabThread) -> None:
            for h in lab.hosts.values():
                h.state.latency = {k: 0.4 for k in ("cmd", "slmgr", "ps", "pwsh", "ospp")}

        sites.labs["b"].call(slow, sites.labs["b"])
        logs = [tmp_path / f"worker-{s}.log" for s in SITES]
        workers = dict(
            zip(
                SITES,
                [
                    _worker(s, sites.inventories[s], broker, store_url, log)
                    for s, log in zip(SITES, logs, strict=True)
                ],
                strict=True,
            )
        )
        try:
            _wait_ready(logs)
            store = Store.open(store_url, create=False)
            before = {r.id for r in store.runs()}  # the session's store may hold earlier runs
            proc = _run(sites, broker, store_url)
            deadline = time.monotonic() + 90
            run_id = None
            while time.monotonic() < deadline:  # kill b's worker once one of its hosts is recorded
                runs = [r for r in store.runs(limit=1) if r.id not in before]
                if runs:
                    run_id = runs[0].id
                    if any(r.site == "b" for r in store.host_records(run_id=run_id)):
                        break
                time.sleep(0.1)
            workers["b"].send_signal(signal.SIGKILL)
            workers["b"].wait(10)
            out, _ = proc.communicate(timeout=150)
            text = out.decode(errors="replace")
            assert run_id is not None
            records = {r.host: r for r in store.host_records(run_id=run_id)}
            store.close()
            b_hosts = set(sites.labs["b"].hosts)
            assert set(records) == set(_expected(sites)), text
            for name, r in records.items():
                if name not in b_hosts:
                    assert r.verdict == "fixed", (name, r)
            b_fixed = {n for n in b_hosts if records[n].verdict == "fixed"}
            b_lost = {n for n in b_hosts if records[n].error == "worker lost"}
            assert b_fixed, text  # it finished some before it was killed
            assert b_lost, text
            assert all(records[n].verdict == "failed" for n in b_lost)
            assert b_fixed | b_lost == b_hosts, {n: (records[n].verdict, records[n].error) for n in b_hosts}
            for name, counts in sites.fix_counts().items():
                assert all(c <= 1 for c in counts.values()), (name, counts)
            assert proc.returncode == 2, text
            fixed_before = sites.fix_counts()

            # --resume here, with the run's own playbook and inventory (the controller's, as
            # recorded): the lost hosts are checked first and fixed once, the others untouched
            resumed = subprocess.run(
                [sys.executable, "-m", "remediate.cli", "run", "--resume", str(run_id), "--apply",
                 "--db", store_url, "--json", str(tmp_path / "resumed.json")],
                env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
            )  # fmt: skip
            rtext = resumed.stdout.decode(errors="replace")
            store = Store.open(store_url, create=False)
            final = {r.host: r for r in store.host_records(run_id=run_id)}
            info = store.run(run_id)
            store.close()
            assert resumed.returncode == 0, rtext
            assert info.status == "finished" and info.exit_code == 0, (info, rtext)
            counts = sites.fix_counts()
            for name, c in counts.items():
                assert all(v <= 1 for v in c.values()), (name, c)  # still no fix twice
                if name not in b_lost:
                    assert c == fixed_before[name], (name, c)  # a recorded host was not run again
                    assert final[name].verdict == records[name].verdict, name
                    continue
                # a lost host is checked first: one the dead worker had fixed before it went
                # (unrecorded) is compliant now; the others are fixed once, by the resume
                assert c["/skms"] == 1 and c["/ato"] == 1, (name, c)
                done_before = fixed_before[name]["/ato"] == 1
                assert final[name].verdict == ("compliant" if done_before else "fixed"), (name, rtext)
        finally:
            for w in workers.values():
                if w.poll() is None:
                    w.terminate()
            for w in workers.values():
                w.wait(20)


@pytest.mark.timeout(300)
def test_a_batch_delivered_twice_fixes_no_host_twice(tmp_path: Path, broker: str, store_url: str) -> None:
    """The same task payload sent again (app.send_task, as a broker redelivery would) as soon as
    the run is open: the copies run beside the batches' first deliveries (3 at a time), so
    each host is recorded, running or queued when a copy reaches it. Each host is claimed by
    one delivery only, recorded once as fixed (never `skipped: already claimed` over the fix),
    and fixed once on the lab side."""
    from celery.result import AsyncResult

    from remediate.distributed.celeryapp import TASK_NAME, make_app
    from remediate.distributed.payload import Payload
    from remediate.distributed.sites import queue_name
    from remediate.history.meta import file_hash

    with Sites(tmp_path, 8, {"no_srv": 100}) as sites:

        async def slow(lab: LabThread) -> None:
            for h in lab.hosts.values():
                h.state.latency = {k: 0.3 for k in ("cmd", "slmgr", "ps", "pwsh", "ospp")}

        sites.labs["a"].call(slow, sites.labs["a"])
        log = tmp_path / "worker-a.log"
        worker = _worker("a", sites.inventories["a"], broker, store_url, log, concurrency=3)
        app = make_app(broker)
        try:
            _wait_ready([log])
            store = Store.open(store_url, create=False)
            before = {r.id for r in store.runs()}
            proc = _run(sites, broker, store_url, "--limit", "A-*")
            deadline = time.monotonic() + 90
            run = None
            while time.monotonic() < deadline:  # send the copies once the run is open
                runs = [r for r in store.runs(limit=1) if r.id not in before]
                if runs:
                    run = runs[0]
                    break
                time.sleep(0.1)
            assert run is not None, proc.communicate(timeout=60)[0]
            a_hosts = sorted(sites.labs["a"].hosts)
            inv = Inventory.load(sites.controller)
            addresses = {h.name: h.address for h in inv.select("windows")}
            copy = Payload(
                run_uuid=run.uuid, site="a", playbook=str(PLAYBOOK), playbook_hash=file_hash(PLAYBOOK),
                hosts=[(n, addresses[n]) for n in a_hosts], extra_vars={}, apply=True, batch=99,
            )  # fmt: skip
            sent = [app.send_task(TASK_NAME, args=[copy.to_json()], queue=queue_name("a")) for _ in range(2)]
            out, _ = proc.communicate(timeout=150)
            text = out.decode(errors="replace")
            copies = [AsyncResult(s.id, app=app).get(timeout=90) for s in sent]
            records = {r.host: r for r in store.host_records(run_id=run.id)}
            store.close()
            assert proc.returncode == 0, text
            assert {n: r.verdict for n, r in records.items()} == dict.fromkeys(a_hosts, "fixed"), text
            assert all("refused" not in c for c in copies), copies
            for name in a_hosts:
                counts = sites.fix_counts()[name]
                assert counts["/skms"] == 1 and counts["/ato"] == 1, (name, counts)
            result = yaml.safe_load((tmp_path / "result.json").read_text())
            assert {h["host"]: h["verdict"] for h in result["hosts"]} == dict.fromkeys(a_hosts, "fixed")
        finally:
            worker.terminate()
            worker.wait(20)
