"""Measure one process (and its children): wall, CPU seconds, peak RSS; and the lab beside it.

CPU comes from wait4() (user+system of the process and every child it reaped, e.g. Ansible's
forks); peak RSS is sampled every 50 ms over the whole process tree (psutil), so it is the
tree's peak sum (for Ansible: the controller plus its live forks). The same sampler reads back
each process's CPU affinity (`taskset` pinning, inherited by forks): `cores` is their union.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil


@dataclass
class ProcResult:
    rc: int | None  # None: killed at the timeout
    wall: float
    cpu: float
    peak_rss_mb: float
    stdout: str = field(repr=False, default="")
    cores: list[int] = field(default_factory=list)  # union of the tree's CPU affinities seen


def tree_cores(p: psutil.Process) -> set[int]:
    """The CPUs any process of p's tree may run on (read back from the kernel, not assumed)."""
    seen: set[int] = set()
    try:
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return seen
    for q in procs:
        try:
            seen.update(q.cpu_affinity() or [])
        except psutil.Error:
            pass
    return seen


def _tree_rss(p: psutil.Process) -> int:
    total = 0
    try:
        procs = [p, *p.children(recursive=True)]
    except psutil.Error:
        return 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(
    argv: list[str], *, timeout: float, env: dict[str, str] | None = None, out: Path
) -> ProcResult:
    """Run argv with stdout+stderr to `out`; kill its process group at `timeout`."""
    with open(out, "wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        peak = 0
        cores: set[int] = set()
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            try:
                ps = psutil.Process(proc.pid)
            except psutil.Error:
                return
            n = 0
            while not done.wait(0.05):
                peak = max(peak, _tree_rss(ps))
                if n % 10 == 1:  # from 100 ms on (a taskset prefix has exec'd), every 0.5 s
                    cores.update(tree_cores(ps))
                n += 1

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        killer = threading.Timer(timeout, lambda: _kill_group(proc.pid))
        killer.start()
        try:
            _pid, status, ru = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
            done.set()
            sampler.join()
            _kill_group(proc.pid)  # leftovers (ansible workers) never outlive a run
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
    rc = proc.returncode if proc.returncode >= 0 or wall < timeout else None
    peak = max(peak, ru.ru_maxrss * 1024)
    return ProcResult(
        rc, wall, ru.ru_utime + ru.ru_stime, peak / 2**20, out.read_text(errors="replace"), sorted(cores)
    )


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class LabProcess:
    """bench/labproc.py as a child process; `stats()` asks it for a fresh snapshot."""

    def __init__(
        self, workdir: Path, hosts: int, latency: str, rtt: float, python: str, *,
        procs: int = 1, prefix: list[str] | None = None,
    ) -> None:  # fmt: skip
        self.inventory = workdir / "inventory.yml"
        self.stats_path = workdir / "lab-stats.json"
        self.log = open(workdir / "lab.log", "wb")
        here = Path(__file__).resolve().parent
        self.proc = subprocess.Popen(
            [*(prefix or []), python, str(here / "labproc.py"), "--hosts", str(hosts), "--latency", latency,
             "--procs", str(procs),
             "--rtt", str(rtt), "--inventory-out", str(self.inventory),
             "--stats-out", str(self.stats_path), "--parent", str(os.getpid()), "--max-seconds", "7200"],
            stdout=subprocess.PIPE, stderr=self.log,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError(f"lab did not start (see {workdir / 'lab.log'})")
        self.ps = psutil.Process(self.proc.pid)

    def stats(self) -> dict[str, Any]:
        before = self.stats_path.stat().st_mtime_ns
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(200):
            time.sleep(0.02)
            if self.stats_path.stat().st_mtime_ns != before:
                break
        data: dict[str, Any] = json.loads(self.stats_path.read_text())
        data["rss_mb"] = self.ps.memory_info().rss / 2**20
        return data

    def cores(self) -> list[int]:
        return sorted(tree_cores(self.ps))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
