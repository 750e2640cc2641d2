"""Run a lab fleet: DNS server, KMS listeners and every host's WinRM/SSH endpoints on loopback.

Each Lab takes a random 127.A.B.0 block (retrying on EADDRINUSE) and gives every host its own
address with the standard ports (WinRM 5985/5986, SSH 22 or 2222 when 22 cannot be bound).
Layout of the block (offsets from 127.A.B.0, continuing into the next /24s for big fleets):

    .1 DNS (default view)   .2 DNS (firewalled view)   .3 firewalled KMS address (nothing listens)
    .4 decommissioned KMS (nothing listens)   .5 "Microsoft" activation endpoints (TCP 443)
    .6 DNS (no-Internet view)   .7 unreachable corporate DNS (nothing listens)
    .10+ KMS hosts   .50+ Windows hosts

Each KMS host is also a Windows host (its "face", `Lab.kms_faces`, lab/fleet/kmshosts.py) with
WinRM/SSH on the KMS address: inventory group `kms_hosts`, outside `windows`.

`Lab` is asyncio; `LabThread` runs one in a background event loop for sync callers (tests, demo);
`serve` is `remediate lab up`. A Lab may share its loop with other code (tests, `lab up`): it
tracks the tasks its servers spawn and `stop` cancels only those.

`Lab(procs=N)` serves the hosts from N processes (lab/shard.py): this one keeps DNS, the KMS
hosts and the first slice; N-1 shard processes serve the rest. Every Lab raises its own
RLIMIT_NOFILE soft limit to the hard limit when it starts (`Lab.fd_limit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from remediate.lab.api import EmulatedHost
from remediate.lab.fleet.hosts import DEAD_PROXY, FIREWALLED_VIEW, NO_INTERNET_VIEW, build_hosts
from remediate.lab.fleet.inventory import InventoryHost, build_inventory, write_inventory
from remediate.lab.fleet.kmshosts import PROFILE as KMS_PROFILE
from remediate.lab.fleet.kmshosts import kms_host_state
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.network.dns import DEFAULT_VIEW, LabDns
from remediate.lab.network.internet import ACTIVATION_ENDPOINTS, HTTPS, serve_internet
from remediate.lab.network.kms import KmsListener
from remediate.lab.shard import (
    Shard,
    ShardJob,
    close_hosts,
    process_stats,
    raise_fd_limit,
    serve_hosts,
    split,
    start_shards,
    stop_shards,
)
from remediate.lab.windows.state import HostState
from remediate.lab.wire import http as lab_http
from remediate.lab.wire.tls import LabCA

log = logging.getLogger(__name__)

WINRM_HTTP, WINRM_HTTPS, SSH_PORT, SSH_FALLBACK = 5985, 5986, 22, 2222
# offsets into the block; address() maps offset n to .(n % 254 + 1) of the (n // 254)-th /24
DNS_OFF, DNS_FW_OFF, FW_BLACKHOLE_OFF, OLD_KMS_OFF, KMS_OFF, HOST_OFF = 0, 1, 2, 3, 9, 49
INTERNET_OFF, DNS_NOINET_OFF, CORP_DNS_DEAD_OFF = 4, 5, 6
T = TypeVar("T")

# The lab's own tasks (connection handlers, WinRS commands, DNS over TCP, KMS) are created while
# this variable holds that lab's set: a listening socket's accept callback runs in a copy of the
# context current when the lab started it, and a task inherits the context of its creator. The
# loop's task factory (installed once, chaining any previous one) files such tasks in the set.
_LAB_TASKS: ContextVar[set[asyncio.Task[Any]] | None] = ContextVar("remediate_lab_tasks", default=None)


def _install_task_tracking(loop: asyncio.AbstractEventLoop) -> None:
    previous = loop.get_task_factory()
    if getattr(previous, "remediate_lab", False):
        return

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future[Any]:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        owned = _LAB_TASKS.get()
        if owned is not None and isinstance(task, asyncio.Task):
            owned.add(task)
            task.add_done_callback(owned.discard)
        return task

    factory.remediate_lab = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)


@dataclass
class LabHost:
    name: str
    address: str
    ports: dict[str, int]  # listening endpoints: "http", "https", "ssh"
    state: HostState
    profile: str
    inventory_password: str = field(repr=False)
    emulated: EmulatedHost | None = field(default=None, repr=False)
    servers: list[Any] = field(default_factory=list, repr=False)
    # copied from the HostPlan (fleet_hosts) so tests and the inventory can group hosts
    channel: str = "VOLUME_KMSCLIENT"
    license_state: str = "licensed"
    os_release: str = "win10"
    office_kind: str | None = None


class Lab:
    def __init__(
        self, spec: FleetSpec, workdir: Path, *, password: str | None = None, procs: int = 1
    ) -> None:
        self.spec = spec
        self.procs = max(1, min(procs, spec.hosts))
        self.shards: list[Shard] = []  # the other processes serving hosts (procs > 1)
        self.fd_limit = 0  # RLIMIT_NOFILE soft limit after start raised it
        self.workdir = Path(workdir)
        self.password = password or spec.resolved_password()
        self.hosts: dict[str, LabHost] = {}
        self.kms: dict[str, KmsListener] = {}
        self.kms_faces: dict[str, LabHost] = {}  # KMS host name -> its Windows face
        self.dns = LabDns(spec.domain)
        self.dns_server: tuple[str, int] = ("127.0.0.1", 53)
        self.firewalled_dns_server: tuple[str, int] = ("127.0.0.1", 53)
        self.internet: asyncio.Server | None = None
        self.ca_path: Path | None = None
        self.known_hosts: Path | None = None
        self.ssh_port: int | None = None
        self.block = ""
        self.start_seconds = 0.0
        self.started = False
        self._tasks: set[asyncio.Task[Any]] = set()  # this lab's live tasks (see _LAB_TASKS)

    def __repr__(self) -> str:
        return f"Lab({self.spec.hosts} hosts, block {self.block or '-'}, started={self.started})"

    def address(self, offset: int) -> str:
        a, b = (int(x) for x in self.block.split(".")[1:3])
        b, last = b + offset // 254, offset % 254 + 1
        return f"127.{a}.{b}.{last}"

    # -- lifecycle -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def owning(self) -> Iterator[None]:
        """Servers started (and tasks created) inside are this lab's: `stop` ends them."""
        _install_task_tracking(asyncio.get_running_loop())
        token = _LAB_TASKS.set(self._tasks)
        try:
            yield
        finally:
            _LAB_TASKS.reset(token)

    async def start(self) -> None:
        with self.owning():
            await self._start()

    async def _start(self) -> None:
        t0 = time.perf_counter()
        self.fd_limit = raise_fd_limit()
        self.workdir.mkdir(parents=True, exist_ok=True)
        for attempt in range(6):
            blocks_needed = (HOST_OFF + self.spec.hosts) // 254 + 1
            self.block = f"127.{random.randint(16, 250)}.{random.randint(0, 254 - blocks_needed)}.0"  # noqa: S311
            try:
                await self._start_all()
                break
            except OSError as exc:
                await self.stop()
                if exc.errno != errno.EADDRINUSE or attempt == 5:
                    raise
                log.info("address block %s busy (%s); trying another", self.block, exc)
            except BaseException:
                await self.stop()  # never leave half a fleet listening
                raise
        self.started = True
        self.start_seconds = time.perf_counter() - t0
        log.info(
            "lab: %d hosts up on %s in %.2f s (%d processes, fd limit %d)",
            len(self.hosts), self.block, self.start_seconds, self.procs, self.fd_limit,
        )  # fmt: skip

    async def stop(self) -> None:
        shards, self.shards = self.shards, []
        await stop_shards(shards)
        await close_hosts([*self.hosts.values(), *self.kms_faces.values()])
        for k in self.kms.values():
            await k.stop()
        if self.internet is not None:
            self.internet.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.internet.wait_closed(), 2.0)
            self.internet = None
        await self.dns.close()
        # Keep-alive connections outlive Server.close(): end their tasks so nothing is left
        # pending; only this lab's (other code may share the loop).
        me = asyncio.current_task()
        rest = [t for t in self._tasks if t is not me and not t.done()]
        for t in rest:
            t.cancel()
        if rest:
            await asyncio.wait(rest, timeout=5)
        self.started = False

    async def _start_all(self) -> None:
        spec = self.spec
        self.hosts, self.kms, self.kms_faces, self.dns = {}, {}, {}, LabDns(spec.domain)
        plans = build_hosts(spec, self.password)
        # DNS: records first, then the two listeners (port 53, or a free port when refused)
        fw_hole, old_kms = self.address(FW_BLACKHOLE_OFF), self.address(OLD_KMS_OFF)
        self.dns.add_a(self.dns.server_name, self.address(DNS_OFF))
        self.dns.add_a(f"{spec.decommissioned_kms}.{spec.domain}", old_kms)
        for i, k in enumerate(spec.kms_hosts):
            ip = self.address(KMS_OFF + i)
            self.dns.add_a(k.fqdn(spec.domain), ip)
            self.dns.add_a(k.fqdn(spec.domain), fw_hole, view=FIREWALLED_VIEW)
            listener = KmsListener(
                k.name, ip, k.port, behaviour=k.behaviour, epid=k.epid(spec.seed), fqdn=k.fqdn(spec.domain),
                initial_count=k.count,
            )  # fmt: skip
            self.kms[k.name] = listener
            face = kms_host_state(spec, k, listener, self.password)
            face.dns_server = (ip, 53)  # replaced below, once the DNS listener's port is known
            channel = face.windows.channel if face.windows else ""
            self.kms_faces[k.name] = LabHost(
                face.name, ip, {}, face, KMS_PROFILE, self.password, channel=channel, os_release="server2022"
            )
        inet = self.address(INTERNET_OFF)
        for name in ACTIVATION_ENDPOINTS:
            self.dns.add_a(name, inet)
            self.dns.add_a(name, fw_hole, view=NO_INTERNET_VIEW)
        self.dns.add_a(f"{DEAD_PROXY}.{spec.domain}", fw_hole)
        for name in spec.srv_records:
            self.dns.add_srv(spec.kms(name).fqdn(spec.domain), spec.kms(name).port)
        for i, plan in enumerate(plans):
            addr = self.address(HOST_OFF + i)
            self.dns.add_a(plan.state.fqdn, addr)
            self.hosts[plan.name] = LabHost(
                plan.name,
                addr,
                {},
                plan.state,
                plan.profile,
                plan.inventory_password,
                channel=plan.channel,
                license_state=plan.license_state,
                os_release=plan.os_release,
                office_kind=plan.office_kind,
            )
        self.dns_server = await self._listen_dns(self.address(DNS_OFF), 53, DEFAULT_VIEW)
        self.firewalled_dns_server = await self._listen_dns(
            self.address(DNS_FW_OFF), self.dns_server[1], FIREWALLED_VIEW
        )
        noinet_dns = await self._listen_dns(
            self.address(DNS_NOINET_OFF), self.dns_server[1], NO_INTERNET_VIEW
        )
        self.internet, inet_port = await serve_internet(inet)
        first_kms = self.kms[spec.srv_records[0]] if spec.srv_records else None
        for kms_face in self.kms_faces.values():
            kms_face.state.dns_server = self.dns_server
        for h in self.hosts.values():
            fw = h.profile == "kms_unreachable"
            h.state.dns_server = self.firewalled_dns_server if fw else self.dns_server
            if h.profile == "retail_proxy":  # direct access to Microsoft blocked at the firewall
                h.state.dns_server = noinet_dns
            if h.profile == "off_network":  # corporate DNS unreachable; the ISP resolves the rest
                h.state.dns_server = (self.address(CORP_DNS_DEAD_OFF), self.dns_server[1])
                h.state.public_dns_server = self.dns_server
            if inet_port != HTTPS:
                h.state.port_map[(inet, HTTPS)] = inet_port
            if h.state.kms_discovered and first_kms is not None:
                h.state.kms_client_ip = first_kms.address
        await asyncio.gather(*(k.start() for k in self.kms.values()))
        await self._start_hosts()

    async def _listen_dns(self, ip: str, port: int, view: str) -> tuple[str, int]:
        try:
            return ip, await self.dns.listen(ip, port, view=view)
        except OSError as exc:
            if port == 0:
                raise
            log.info("DNS cannot bind %s:%d (%s); using a free port", ip, port, exc.strerror)
            return ip, await self.dns.listen(ip, 0, view=view)

    async def _start_hosts(self) -> None:
        ca = LabCA.create(self.workdir / "tls")
        self.ca_path = Path(ca.ca_path)
        key = asyncssh.generate_private_key("ssh-ed25519")
        host_keys = [key]
        first = next(iter(self.hosts.values()), None) or next(iter(self.kms_faces.values()), None)
        ssh_port = SSH_PORT if first is None or _port_free(first.address, SSH_PORT) else SSH_FALLBACK
        self.ssh_port = ssh_port
        self._write_known_hosts(key.export_public_key("openssh").decode().strip())
        mine, *others = split(list(self.hosts.values()), self.procs)
        jobs = [
            ShardJob(i + 1, hosts, self.workdir, ca.to_pem(), key.export_private_key(), ssh_port,
                     lab_http.ROUND_TRIP_SECONDS)
            for i, hosts in enumerate(others)
        ]  # fmt: skip
        spawning = asyncio.ensure_future(start_shards(jobs))  # bind in parallel with our own slice
        try:
            await serve_hosts([*mine, *self.kms_faces.values()], ca, host_keys, ssh_port)
        finally:
            self.shards = await spawning
        for h in (h for part in others for h in part):  # what the shard bound, for the record
            if h.state.winrm_enabled:
                h.ports.update(http=WINRM_HTTP, https=WINRM_HTTPS)
            h.ports["ssh"] = ssh_port

    def stats(self) -> dict[str, Any]:
        """HTTP requests per host address, CPU seconds and peak RSS summed over the lab's processes."""
        total = process_stats()
        for s in self.shards:
            more = s.stats()
            total["cpu_seconds"] += more["cpu_seconds"]
            total["peak_rss_mb"] += more["peak_rss_mb"]
            for addr, n in more["requests"].items():
                total["requests"][addr] = total["requests"].get(addr, 0) + n
        return total

    def _write_known_hosts(self, pubkey: str) -> None:
        self.known_hosts = self.workdir / "known_hosts"
        lines = []
        for h in [*self.hosts.values(), *self.kms_faces.values()]:
            where = h.address if self.ssh_port == SSH_PORT else f"[{h.address}]:{self.ssh_port}"
            lines.append(f"{where} {pubkey}\n")
        self.known_hosts.write_text("".join(lines), encoding="ascii")

    # -- inventory -------------------------------------------------------------------------------
    def inventory(self) -> dict[str, Any]:
        spec = self.spec
        first = spec.kms(spec.srv_records[0]) if spec.srv_records else spec.kms_hosts[0]
        return build_inventory(
            [self._inventory_host(h) for h in self.hosts.values()],
            user=spec.user,
            password=self.password,
            ca_path=self.ca_path,
            kms_host=first.fqdn(spec.domain),
            kms_port=first.port,
            domain=spec.domain,
            known_hosts=self.known_hosts,
            kms_hosts=[self._inventory_host(h) for h in self.kms_faces.values()],
        )

    def _inventory_host(self, h: LabHost) -> InventoryHost:
        return InventoryHost(
            name=h.name,
            address=h.address,
            winrm_port=WINRM_HTTP,
            https_port=WINRM_HTTPS,
            ssh_port=self.ssh_port,
            profile=h.profile,
            locale=h.state.locale,
            password=h.inventory_password,
            fqdn=h.state.fqdn,
            channel=h.channel,
            license_state=h.license_state,
            os_release=h.os_release,
            office_kind=h.office_kind,
        )

    def write_inventory(self, path: Path) -> Path:
        return write_inventory(self.inventory(), path)

    def hosts_with(self, profile: str) -> list[LabHost]:
        return [h for h in self.hosts.values() if h.profile == profile]


def _port_free(ip: str, port: int) -> bool:
    """Can this process bind ip:port (TCP)? Used to choose SSH 22 vs 2222."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


async def _cancel_others() -> None:
    me = asyncio.current_task()
    rest = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
    for t in rest:
        t.cancel()
    if rest:
        await asyncio.wait(rest, timeout=5)


class LabThread:
    """A Lab in a background thread with its own event loop: `with LabThread(spec, dir) as lab:`."""

    def __init__(
        self, spec: FleetSpec, workdir: Path, *, password: str | None = None, procs: int = 1
    ) -> None:
        self.lab = Lab(spec, workdir, password=password, procs=procs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="remediate-lab", daemon=True)

    def __enter__(self) -> LabThread:
        self._thread.start()
        try:
            self.call(self.lab.start)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop.is_running():
            with contextlib.suppress(Exception):
                self.call(self.lab.stop, timeout=30)
            with contextlib.suppress(Exception):  # the loop is ours: end what callers left on it
                self.call(_cancel_others, timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        if not self._loop.is_running():
            self._loop.close()

    def call(self, coro_fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = 120) -> T:
        """Run `coro_fn(*args)` in the lab's loop and wait for its result."""

        async def run() -> T:
            return await coro_fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    # the Lab's surface, for convenience
    @property
    def hosts(self) -> dict[str, LabHost]:
        return self.lab.hosts

    @property
    def dns(self) -> LabDns:
        return self.lab.dns

    @property
    def kms(self) -> dict[str, KmsListener]:
        return self.lab.kms

    @property
    def ca_path(self) -> Path | None:
        return self.lab.ca_path

    @property
    def spec(self) -> FleetSpec:
        return self.lab.spec

    @property
    def password(self) -> str:
        return self.lab.password

    def inventory(self) -> dict[str, Any]:
        return self.lab.inventory()

    def write_inventory(self, path: Path) -> Path:
        return self.lab.write_inventory(path)

    def hosts_with(self, profile: str) -> list[LabHost]:
        return self.lab.hosts_with(profile)

    def stop_kms(self, name: str) -> None:
        self.call(self.lab.kms[name].stop)

    def start_kms(self, name: str) -> None:
        async def start() -> None:
            with self.lab.owning():  # its connections are the lab's, like those of the first start
                await self.lab.kms[name].start()

        self.call(start)


def default_spec() -> FleetSpec:
    """The packaged fleet used when `remediate lab up` gets no --spec."""
    text = resources.files("remediate").joinpath("data/fleets/default.yml").read_text(encoding="utf-8")
    return FleetSpec.from_yaml(text, source="default.yml")


def serve(
    *,
    hosts: int | None,
    spec_path: Path | None,
    seed: int | None,
    inventory_out: Path,
    workdir: Path | None,
    on_ready: Callable[[Lab], None],
    procs: int = 1,
) -> int:
    """`remediate lab up`: start the fleet, write the inventory, call on_ready, serve until a signal.

    Raises SpecError for a bad spec (the CLI maps it to exit 1). Returns 0 after a clean stop.
    """
    spec = FleetSpec.load(spec_path) if spec_path is not None else default_spec()
    spec = spec.with_overrides(hosts=hosts, seed=seed)
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="remediate-lab-")))
        return asyncio.run(_serve(spec, Path(workdir), Path(inventory_out), on_ready, procs))


async def _serve(
    spec: FleetSpec, workdir: Path, inventory_out: Path, on_ready: Callable[[Lab], None], procs: int
) -> int:
    lab = Lab(spec, workdir, procs=procs)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await lab.start()
        lab.write_inventory(inventory_out)  # only now: every host is listening
        on_ready(lab)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        await lab.stop()
    return 0
