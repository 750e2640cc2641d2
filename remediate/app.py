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
from remediate.history import meta
from remediate.history.records import RunKind, RunMeta
from remediate.inventory import Host, Inventory
from remediate.inventory.credentials import CredentialResolver
from remediate.inventory.setup import NO_INVENTORY, InventorySetup
from remediate.output.claim import claim_outputs
from remediate.output.writers import JsonlObserver, write_hosts_file, write_json, write_junit

if TYPE_CHECKING:
    from remediate.core.model import ConnectionSpec
    from remediate.core.results import RunResult
    from remediate.history.session import Recording, Resume
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
    inventory: tuple[str, ...] = ()  # the inventory sources read (as given)
    limit: str | None = None  # --limit
    rerun: str | None = None  # --rerun: "failed@<uuid of the run read>" (hosts narrowed to those)


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
    sources = _sources(inventory, setup)
    inv = load_inventory(inventory, typed, setup)
    hosts = select(inv, pb.targets, limit)
    apply_types(pb.var_specs, hosts)
    credentials = credentials if credentials is not None else CredentialResolver()
    if check_credentials:
        credentials.preflight(hosts, interactive=sys.stdin.isatty() if interactive is None else interactive)
    return Targets(pb, hosts, typed, renderer, credentials, sources, limit)


def _sources(inventory: str | Path | None, setup: InventorySetup | None) -> tuple[str, ...]:
    if inventory is not None:
        return (str(inventory),)
    return tuple(setup.sources) if setup is not None else ()


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
    history: bool = False  # record the run in the history store, each host as it finishes
    kind: RunKind = "run"  # a scheduled dry run is recorded as a "sweep"
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
    resume: Resume | None = None,
) -> RunResult:
    """Run and write every output. With `resume` (plan_resume), only its `todo` hosts run, into
    the same history row, and the result holds the hosts it had recorded before too.
    `events`: the caller's observer (the console); `stop`: set it
    to stop gracefully; `warn`: told about an output that could not be written but must not fail
    the run (the history store, a result file). A bad --serial, an existing result file (without
    `force`) or one another run is writing raises ConfigError before anything connects."""
    outputs = outputs or Outputs()
    make_batches(targets.hosts, options.serial)
    with claim_outputs(outputs.files(), force=outputs.force):
        return await _run_claimed(
            targets, options, outputs, credentials, events, stop, transport_factory, warn, resume
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
    resume: Resume | None,
) -> RunResult:
    size_thread_pool(options.forks)
    hosts = resume.todo if resume is not None else targets.hosts
    jsonl = JsonlObserver(outputs.jsonl) if outputs.jsonl else None
    # a host goes to the store, then (from the store's thread) to the JSONL file: after kill -9
    # the store holds every host the file shows
    recording, history_error = _open_history(targets, options, outputs, hosts, resume, warn, jsonl)
    problems: list[str] = []
    try:
        result = await run_playbook(
            targets.playbook,
            hosts,
            options,
            credentials=credentials or targets.credentials,
            transport_factory=transport_factory,
            events=Observers(recording.recorder if recording else jsonl, events),
            stop=stop,
            renderer=targets.renderer,
        )
    except BaseException:  # cancelled (a second Ctrl-C): finished hosts are recorded; close the row
        if recording is not None:
            recording.abort()
        raise
    finally:
        if recording is not None and not recording.closed:
            problems = recording.drain()  # every finished host written, before the file closes
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
    if resume is not None:
        result.hosts[:0] = resume.done
    if history_error is not None:
        result.output_errors.append(history_error)
    for problem in problems:  # before the result files: their exit_code says bit 8 too
        result.output_errors.append(problem)
        if warn is not None:
            warn(problem)
    if recording is not None:
        result.run_id, result.run_uuid = recording.info.id, recording.info.uuid
    write(result, outputs, warn)
    if recording is not None:
        for problem in recording.close(result):
            result.output_errors.append(problem)
            if warn is not None:
                warn(problem)
    return result


def run_meta(targets: Targets, *, kind: RunKind, apply: bool, uuid: str | None = None) -> RunMeta:
    """What the run records about itself (history.meta): playbook and inventory with hashes..."""
    return meta.run_meta(
        kind=kind,
        playbook=str(Path(targets.playbook.path).resolve()),  # what --resume and --rerun load again
        playbook_path=targets.playbook.path,
        inventory=targets.inventory,
        pattern=targets.limit,
        apply=apply,
        extra_vars=targets.extra_vars,
        host_count=len(targets.hosts),
        uuid=uuid,
        rerun=targets.rerun,
    )


def plan_resume(targets: Targets, db: str | None, ref: str, *, apply: bool) -> Resume:
    """`--resume REF`: the run's hosts still to run; the same plan or a HistoryError."""
    from remediate.history.session import plan_resume as plan

    # the kind is the run's own (it is not part of the plan, so it is not compared)
    return plan(db, ref, targets.hosts, meta=run_meta(targets, kind="run", apply=apply))


def _open_history(
    targets: Targets,
    options: RunOptions,
    outputs: Outputs,
    hosts: Sequence[Host],
    resume: Resume | None,
    warn: Callable[[str], None] | None,
    then: RunEvents | None,
) -> tuple[Recording | None, str | None]:
    """The run's history row, opened before the first connection; or why it could not be."""
    if not outputs.history:
        return None, None
    from remediate.history.session import open_recording

    domain = domains().get(targets.playbook.diagnose or "")
    kind = resume.info.kind if resume is not None else outputs.kind
    try:
        m = run_meta(targets, kind=kind, apply=options.apply, uuid=resume.info.uuid if resume else None)
        tracked = domain.tracked_facts if domain else ()
        return open_recording(outputs.db, m, hosts, tracked, then=then), None
    except Exception as e:  # the run goes on; exit bit 8 says its history is missing
        message = f"history: this run is not recorded: {error_text(e)}"
        if warn is not None:
            warn(message)
        return None, message


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
