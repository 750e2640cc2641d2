"""Serving the lab's hosts from several processes (`remediate lab up --procs N`), and its fd limit.

One process cannot serve 10,000 hosts: each host holds three listening sockets (WinRM 5985/5986
and SSH), 30,000 descriptors against a usual hard limit of 20,000, and one event loop (one core)
runs every host's emulated commands. So the main lab process keeps the shared network (DNS, the
KMS listeners and their Windows faces, the "Internet" endpoints) plus the first slice of the
hosts, and N-1 shard processes each serve another contiguous slice's listeners.

A shard (`python -m remediate.lab.shard --fd N`, not multiprocessing's spawn: that re-runs the
caller's __main__) gets its hosts' `LabHost` records already wired (DNS server addresses, port
maps, discovered KMS), the lab CA's key and the SSH host key over a socketpair (never on disk),
and binds the same addresses a single-process lab would: the inventory is the same.
Faults stay real: a shard's hosts query the main process's DNS server over UDP and connect to
its KMS listeners over TCP. The live `HostState` of a host served by a shard is in that shard;
the main process's copy of it is the state at start (tests that poke a host's state use one
process). A shard exits when the main process tells it to or when the pipe closes (main died).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from remediate.lab.windows.host import WindowsHost
from remediate.lab.wire import http as lab_http
from remediate.lab.wire.ssh_server import serve_ssh
from remediate.lab.wire.tls import LabCA
from remediate.lab.wire.wsman_server import serve_wsman

if TYPE_CHECKING:
    from remediate.lab.runtime import LabHost

log = logging.getLogger(__name__)

WINRM_HTTP, WINRM_HTTPS = 5985, 5986
START_CONCURRENCY = 64  # hosts brought up at once, per process
READY_SECONDS = 300.0  # a shard must have bound its slice by then


def raise_fd_limit() -> int:
    """Raise this process's RLIMIT_NOFILE soft limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def split(items: list[LabHost], procs: int) -> list[list[LabHost]]:
    """`procs` contiguous slices, sizes differing by at most one."""
    n = len(items)
    return [items[i * n // procs : (i + 1) * n // procs] for i in range(procs)]


async def serve_host(h: LabHost, ca: LabCA, host_keys: list[Any], ssh_port: int) -> None:
    """Bind one host's listeners (WinRM HTTP/HTTPS when enabled, SSH) on its address."""
    h.emulated = WindowsHost(h.state)
    if h.state.winrm_enabled:
        h.servers.append(await serve_wsman(h.emulated, bind=h.address, port=WINRM_HTTP))
        h.ports["http"] = WINRM_HTTP
        ctx = ca.server_context([h.state.fqdn, h.name.lower()], [h.address])
        h.servers.append(await serve_wsman(h.emulated, bind=h.address, port=WINRM_HTTPS, ssl_context=ctx))
        h.ports["https"] = WINRM_HTTPS
    h.servers.append(await serve_ssh(h.emulated, bind=h.address, port=ssh_port, host_keys=host_keys))
    h.ports["ssh"] = ssh_port


async def serve_hosts(hosts: list[LabHost], ca: LabCA, host_keys: list[Any], ssh_port: int) -> None:
    sem = asyncio.Semaphore(START_CONCURRENCY)

    async def one(h: LabHost) -> None:
        async with sem:
            await serve_host(h, ca, host_keys, ssh_port)

    await asyncio.gather(*(one(h) for h in hosts))


async def close_hosts(hosts: list[LabHost]) -> None:
    closing: list[Any] = []
    for h in hosts:
        for srv in h.servers:
            srv.close()
            closing.append(srv)
        h.servers.clear()
        h.ports.clear()
    for srv in closing:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(srv.wait_closed(), 2.0)


def process_stats() -> dict[str, Any]:
    """This process's HTTP requests by local address, CPU seconds and peak RSS (bench counters)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "requests": dict(lab_http.REQUEST_COUNTS),
        "cpu_seconds": ru.ru_utime + ru.ru_stime,
        "peak_rss_mb": ru.ru_maxrss / 1024,
    }


# -- the shard process -------------------------------------------------------------------------
@dataclass
class ShardJob:
    index: int
    hosts: list[LabHost]  # wired by the main process, no listeners yet
    workdir: Path
    ca_pem: tuple[bytes, bytes]  # (key, certificate)
    ssh_key_pem: bytes
    ssh_port: int
    round_trip_seconds: float  # lab_http.ROUND_TRIP_SECONDS of the main process (bench --rtt)


def shard_main(job: ShardJob, conn: Connection) -> None:
    """Entry point of a shard process (multiprocessing, spawn)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the main lab stops us
    raise_fd_limit()
    lab_http.ROUND_TRIP_SECONDS = job.round_trip_seconds
    try:
        asyncio.run(_shard(job, conn))
    except BaseException as exc:  # report, then exit: the main lab raises it
        with contextlib.suppress(Exception):
            conn.send(("error", getattr(exc, "errno", None), f"lab shard {job.index}: {exc}"))
        raise


async def _shard(job: ShardJob, conn: Connection) -> None:
    ca = LabCA.from_pem(job.workdir / "tls", *job.ca_pem)
    key = asyncssh.import_private_key(job.ssh_key_pem)
    try:
        await serve_hosts(job.hosts, ca, [key], job.ssh_port)
    except OSError as exc:
        await close_hosts(job.hosts)
        conn.send(("error", exc.errno, f"lab shard {job.index}: {exc}"))
        return
    conn.send(("ready", len(job.hosts)))
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                cmd = await loop.run_in_executor(None, conn.recv)
            except (EOFError, OSError):
                break  # the main process is gone
            if cmd == "stats":
                conn.send(("stats", process_stats()))
            else:
                break
    finally:
        await close_hosts(job.hosts)


# -- the main process's handle -------------------------------------------------------------------
class Shard:
    """A running shard process, seen from the main lab process."""

    def __init__(self, job: ShardJob) -> None:
        self.index, self.hosts = job.index, len(job.hosts)
        mine, theirs = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])  # where `remediate` is importable from
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "remediate.lab.shard", "--fd", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            theirs.close()
        self.conn = Connection(mine.detach())
        self.conn.send(job)

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        if not self.conn.poll(timeout):
            raise TimeoutError(f"lab shard {self.index} not ready after {timeout:.0f} s")
        try:
            msg = self.conn.recv()
        except EOFError:
            raise OSError(f"lab shard {self.index} exited (code {self.proc.poll()})") from None
        if msg[0] == "error":
            raise OSError(msg[1], msg[2]) if msg[1] else OSError(msg[2])

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        kind, data = self.conn.recv()
        assert kind == "stats"
        result: dict[str, Any] = data
        return result

    def stop(self, timeout: float = 10.0) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.send("stop")
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.conn.close()


async def start_shards(jobs: list[ShardJob]) -> list[Shard]:
    """Spawn one process per job and wait until each listens; on failure stop them all and raise."""
    loop = asyncio.get_running_loop()
    shards: list[Shard] = []
    try:
        for job in jobs:
            shards.append(await loop.run_in_executor(None, Shard, job))
        for s in shards:
            await loop.run_in_executor(None, s.wait_ready)
    except BaseException:
        await stop_shards(shards)
        raise
    return shards


async def stop_shards(shards: list[Shard]) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(None, s.stop) for s in shards))


def main(argv: list[str] | None = None) -> int:
    """`python -m remediate.lab.shard --fd N`: receive a ShardJob on fd N, serve it."""
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2 or args[0] != "--fd":
        print("usage: python -m remediate.lab.shard --fd N (started by the lab)", file=sys.stderr)
        return 2
    # run as __main__: use the importable module's classes (the pickled job refers to those)
    from remediate.lab import shard

    conn = Connection(int(args[1]))
    job = conn.recv()
    if not isinstance(job, shard.ShardJob):
        return 2
    shard.shard_main(job, conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
