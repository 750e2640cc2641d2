"""The one wiring of a run: load -> select -> run -> write.

`load` reads the playbook (with the run's one Renderer), converts the -e extra vars to the types
the playbook declares, loads the inventory with them as every host's top layer of variables (the
only route by which extra vars reach templates), selects the hosts (the playbook's targets,
narrowed by --limit) and types their variables, all before anything connects. `run` sizes the
blocking clients' thread pool, runs the engine with the JSONL stream as one more observer, then
writes the JSON report, JUnit XML, hosts file and history. `remediate run`, `remediate render`
and the demo use these; the CLI adds only argument parsing, the console and exit codes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from remediate.core.domain import domains
from remediate.core.errors import ConfigError, RemediateError, error_text
from remediate.core.fleet import FleetFinding
from remediate.core.playbook import Playbook, resolve
from remediate.core.render import Renderer, context_for
from remediate.core.variables import apply_types, parse_extra_vars, typed_extra_vars
from remediate.engine import Observers, RunEvents, RunOptions, make_transport, run_playbook
from remediate.engine.serial import make_batches
from remediate.inventory import Host, Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.inventory.setup import NO_INVENTORY, InventorySetup
from remediate.output.claim import claim_outputs
from remediate.output.writers import JsonlObserver, write_hosts_file, write_json, write_junit

if TYPE_CHECKING:
    from remediate.core.model import ConnectionSpec
    from remediate.core.results import RunResult
    from remediate.transports.base import Transport

MAX_POOL = 256  # threads for blocking clients, whatever --forks says


@dataclass
class Targets:
    """A loaded playbook and the hosts it runs on."""

    playbook: Playbook
    hosts: list[Host]
    extra_vars: dict[str, Any]  # the typed -e values (already the top layer of every host's vars)
    renderer: Renderer  # the run's one Renderer: the loader compiled the playbook's templates in it
    # holds the passwords the load resolved (preflight); `run` uses it unless given another
    credentials: CredentialResolver = field(default_factory=CredentialResolver)


def load(
    playbook: str | Path,
    inventory: str | Path | None,
    *,
    limit: str | None = None,
    extra_vars: Sequence[str] = (),
    credentials: CredentialResolver | None = None,
    interactive: bool | None = None,
    check_credentials: bool = True,
    setup: InventorySetup | None = None,
) -> Targets:
    """Playbook (a path or a shipped name), -e items (k=v, @file, JSON mapping) and inventory.

    `setup` (inventory.setup.resolve: ansible.cfg, ANSIBLE_*, vault passwords) gives the sources
    when `inventory` is None, the vault passwords and ansible.cfg's per-host defaults.
    Every -e and inventory value of a variable the playbook declares is converted to its type
    here; a bad value is a ConfigError naming where it was set. Then every selected host's
    password is resolved into `credentials` (preflight): one ConfigError lists the hosts whose
    env variable, file or prompt is missing, before anything connects. `interactive` (default:
    stdin is a terminal) False makes a password prompt such an error (sweeps, cron);
    `check_credentials=False` skips this for callers that never connect (`remediate render`)."""
    raw = parse_extra_vars(extra_vars)
    renderer = Renderer()
    pb = Playbook.load(resolve(playbook), renderer)
    typed = typed_extra_vars(pb.var_specs, raw)
    inv = load_inventory(inventory, typed, setup)
    hosts = select(inv, pb.targets, limit)
    apply_types(pb.var_specs, hosts)
    credentials = credentials if credentials is not None else CredentialResolver()
    if check_credentials:
        credentials.preflight(hosts, interactive=sys.stdin.isatty() if interactive is None else interactive)
    return Targets(pb, hosts, typed, renderer, credentials)


def load_inventory(
    inventory: str | Path | None, extra_vars: dict[str, Any], setup: InventorySetup | None
) -> Inventory:
    """The inventory named (or the setup's sources), decrypted with the setup's vault passwords."""
    sources: str | Path | Sequence[str] | None = inventory
    if sources is None and setup is not None:
        sources = setup.sources
    if sources is None:
        raise ConfigError(NO_INVENTORY)
    if setup is None:
        return Inventory.load(sources, extra_vars=extra_vars)
    return Inventory.load(sources, extra_vars=extra_vars, vault=setup.vault, defaults=setup.defaults)


def select(inventory: Inventory, targets: str, limit: str | None) -> list[Host]:
    """The playbook's target pattern, narrowed by --limit; none is a ConfigError."""
    hosts = inventory.select(targets)
    if limit:
        allowed = {h.name for h in inventory.select(limit)}
        hosts = [h for h in hosts if h.name in allowed]
    if not hosts:
        raise ConfigError(f"no hosts match {targets!r}" + (f" limited to {limit!r}" if limit else ""))
    return list(hosts)


@dataclass(frozen=True)
class Outputs:
    """Where a run's results go besides the observers the caller passes."""

    json: str | Path | None = None
    jsonl: str | Path | None = None  # streamed while the run goes
    junit: str | Path | None = None
    hosts_file: str | Path | None = None
    history: bool = False  # record the run in the history store
    db: str | None = None  # the store's URL (None: $REMEDIATE_DB or the default file)
    force: bool = False  # replace existing result files (otherwise an existing one is refused)

    def files(self) -> list[str | Path | None]:
        return [self.jsonl, self.json, self.junit, self.hosts_file]


def size_thread_pool(forks: int) -> None:
    """Blocking clients (psrp, pywinrm for kerberos/credssp) hold a pool thread per host in flight."""
    from remediate.transports import pool

    wanted = max(pool.DEFAULT_MAX_WORKERS, min(forks, MAX_POOL))
    if pool.max_workers() < wanted:
        pool.configure(wanted)


async def run(
    targets: Targets,
    options: RunOptions,
    outputs: Outputs | None = None,
    *,
    credentials: CredentialResolver | None = None,
    events: RunEvents | None = None,
    stop: asyncio.Event | None = None,
    transport_factory: Callable[[ConnectionSpec], Transport] = make_transport,
    warn: Callable[[str], None] | None = None,
) -> RunResult:
    """Run and write every output. `events`: the caller's observer (the console); `stop`: set it
    to stop gracefully; `warn`: told about an output that could not be written but must not fail
    the run (the history store, a result file). A bad --serial, an existing result file (without
    `force`) or one another run is writing raises ConfigError before anything connects."""
    outputs = outputs or Outputs()
    make_batches(targets.hosts, options.serial)
    with claim_outputs(outputs.files(), force=outputs.force):
        return await _run_claimed(
            targets, options, outputs, credentials, events, stop, transport_factory, warn
        )


async def _run_claimed(
    targets: Targets,
    options: RunOptions,
    outputs: Outputs,
    credentials: CredentialResolver | None,
    events: RunEvents | None,
    stop: asyncio.Event | None,
    transport_factory: Callable[[ConnectionSpec], Transport],
    warn: Callable[[str], None] | None,
) -> RunResult:
    size_thread_pool(options.forks)
    jsonl = JsonlObserver(outputs.jsonl) if outputs.jsonl else None
    try:
        result = await run_playbook(
            targets.playbook,
            targets.hosts,
            options,
            credentials=credentials or targets.credentials,
            transport_factory=transport_factory,
            events=Observers(jsonl, events),  # the line is on disk before the console counts it
            stop=stop,
            renderer=targets.renderer,
        )
    finally:
        if jsonl is not None:
            try:
                jsonl.close()
            except OSError as e:
                jsonl.error = jsonl.error or e
    if jsonl is not None and jsonl.error is not None:
        _output_failed(result, warn, "jsonl", outputs.jsonl, jsonl.error)
    try:
        result.fleet_findings = fleet_findings(targets.playbook, result)
    except Exception as e:  # a domain's bug must not cost the run its result files
        message = f"fleet findings failed: {error_text(e)}"
        result.output_errors.append(message)
        if warn is not None:
            warn(message)
    write(result, outputs, warn)
    return result


def fleet_findings(playbook: Playbook, result: RunResult) -> list[FleetFinding]:
    """The findings across hosts of the domain that diagnoses this playbook (none without one)."""
    domain = domains().get(playbook.diagnose or "")
    if domain is None or domain.fleet is None:
        return []
    return domain.fleet(result.hosts)


def _output_failed(
    result: RunResult, warn: Callable[[str], None] | None, kind: str, path: object, exc: BaseException
) -> None:
    message = f"could not write the {kind} file {path}: {error_text(exc)}"
    result.output_errors.append(message)
    if warn is not None:
        warn(message)


def write(result: RunResult, outputs: Outputs, warn: Callable[[str], None] | None = None) -> None:
    """The end-of-run files (JSON, JUnit, hosts file) and the history store. Each is written on
    its own: one that fails is reported (warn, result.output_errors -> exit bit 8) and the others
    are still written."""
    writers: list[tuple[str, str | Path | None, Callable[[RunResult, str | Path], None]]] = [
        ("json", outputs.json, write_json),
        ("junit", outputs.junit, write_junit),
        ("hosts", outputs.hosts_file, write_hosts_file),
    ]
    for kind, path, writer in writers:
        if not path:
            continue
        try:
            writer(result, path)
        except Exception as e:  # disk full, permissions, a bug in one writer: never lose the rest
            _output_failed(result, warn, kind, path, e)
    if outputs.history:
        try:
            record_history(result, outputs.db)
        except Exception as e:  # history is a convenience; never fail a run over it
            if warn is not None:
                warn(f"could not record the run in the history store: {error_text(e)}")


def record_history(result: RunResult, db: str | None) -> int:
    """The whole run into the history store at its end (run row, each host, close); the run's id.
    Interim: per-host recording as hosts finish, with the run's inventory and hashes, replaces it."""
    import getpass
    import socket
    from datetime import UTC, datetime

    from remediate import __version__
    from remediate.history.records import HostRecord, RunMeta
    from remediate.history.store import Store

    store = Store.open(db, create=True)
    try:
        meta = RunMeta(
            kind="run", playbook=result.playbook, playbook_hash="", inventory="", inventory_hash="",
            pattern=None, mode=result.mode, vars_hash="", operator=getpass.getuser(),
            controller=socket.gethostname(), version=__version__, host_count=len(result.hosts),
        )  # fmt: skip
        run = store.start_run(meta)
        now = datetime.now(UTC)
        for h in result.hosts:
            store.record_host(
                run.id,
                HostRecord(
                    run_id=run.id, host=h.host, address=h.host, inventory="", verdict=h.verdict,
                    finished=now, codes=tuple(d.code or d.cause_id or "" for d in h.diagnosis),
                    titles=tuple(d.title for d in h.diagnosis), error=h.error, changed=h.changed,
                    steps=tuple(s.to_dict() for s in h.steps), duration=h.duration,
                ),
            )  # fmt: skip
        code = result.exit_code()
        if result.interrupted:
            store.finish_run(run.id, status="interrupted", exit_code=code)
        else:
            store.finish_run(run.id, status="finished", exit_code=code)
        return run.id
    finally:
        store.close()


@dataclass(frozen=True)
class RenderedStep:
    kind: str  # "check" or "fix"
    id: str
    shell: str
    script: str | None  # None: it cannot be rendered before the checks run (see error)
    error: str | None = None


def render(targets: Targets) -> Iterator[tuple[str, list[RenderedStep]]]:
    """Each host's scripts as the engine would render them before any check ran (facts empty)."""
    pb = targets.playbook
    for host in targets.hosts:
        ctx = context_for(pb.vars, host.template_vars(), host=host.name)
        steps: list[RenderedStep] = []
        for kind, step in [("check", s) for s in pb.checks] + [("fix", s) for s in pb.fixes]:
            try:
                script = targets.renderer.script(step.run, step.shell, ctx)
            except RemediateError as e:
                steps.append(RenderedStep(kind, step.id, step.shell, None, str(e)))
            else:
                steps.append(RenderedStep(kind, step.id, step.shell, script))
        yield host.name, steps
