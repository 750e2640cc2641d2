"""The `remediate` command line (click). The only module that imports click.

Exit codes: 0 all hosts compliant or fixed; 2 some host failed or non-compliant (a dry run's
would_fix included); 4 some host unreachable (2|4 -> 6); 1 usage or configuration error (one
clear line, no traceback); 130 interrupted. Modules written by others (kms, lab, demo) are
imported inside the commands that need them.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from remediate import __version__
from remediate.core.errors import RemediateError
from remediate.core.results import EXIT_INTERRUPTED, EXIT_USAGE, RunResult


class _Group(click.Group):
    """Turns every expected error into `error: <one line>` and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (RemediateError, OSError) as e:
            _fail(str(e))


class _Main(_Group):
    """The top group: `remediate <domain> parse KIND [FILE]` for every installed domain, built on
    first use so that other commands do not load every domain (knowledge bases, tables)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from remediate.core.domain import domains

        return sorted({*super().list_commands(ctx), *domains()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        from remediate.core.domain import domains

        domain = domains().get(cmd_name)
        if domain is None:
            return None
        group = _Group(cmd_name, help=f"{domain.description}: tools.")
        group.add_command(_parse_command(cmd_name))
        return group


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


def _console(verbose: bool = False) -> Any:
    from remediate.console import Console

    return Console(verbose=verbose)


def _extra_vars(items: Sequence[str]) -> dict[str, Any]:
    """-e values as given (no playbook here to type them): k=v, @vars.yml, or a JSON mapping."""
    from remediate.core.variables import parse_extra_vars

    return parse_extra_vars(items).values


def _prompt(label: str) -> str:
    return str(click.prompt(label, hide_input=True, err=True))


def _inventory_options(f: Any) -> Any:
    """-i, --vault-password-file, --vault-id: the same on every command that loads an inventory."""
    options = [
        click.option(
            "-i",
            "--inventory",
            "inventory",
            multiple=True,
            type=click.Path(),
            help="Inventory file or directory (YAML or INI; repeatable). "
            "Default: $ANSIBLE_INVENTORY or `inventory` in ansible.cfg.",
        ),
        click.option(
            "--vault-password-file",
            multiple=True,
            type=click.Path(dir_okay=False),
            help="Ansible Vault password file (repeatable; an executable file is run and its output used).",
        ),
        click.option(
            "--vault-id",
            multiple=True,
            metavar="[LABEL@]FILE",
            help="Ansible Vault password with a vault id (repeatable; LABEL@prompt asks, on a TTY only).",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _inventory_setup(
    inventory: Sequence[str],
    vault_password_file: Sequence[str],
    vault_id: Sequence[str],
    *,
    interactive: bool = True,
) -> Any:
    """ansible.cfg + ANSIBLE_* + the options above, with every vault password read (before connecting).
    A vault id `@prompt` asks only on a terminal and never when `interactive` is False (sweeps)."""
    from remediate.inventory.setup import InventoryOptions, resolve

    setup = resolve(
        InventoryOptions(tuple(inventory), tuple(vault_id), tuple(vault_password_file)),
        prompt=_prompt if interactive and sys.stdin.isatty() else None,
    )
    for w in setup.warnings:
        click.echo(f"warning: {w}", err=True)
    return setup


def _limit_options(f: Any) -> Any:
    """--host-timeout and --auth-fail-limit, the same on run and sweep."""
    f = click.option(
        "--auth-fail-limit",
        default=3,
        show_default=True,
        type=click.IntRange(1, 50),
        help="Failed logons one run may make per credential, and authentications in flight with it "
        "(the lockout guard). Raise it toward your domain's lockout threshold, minus a margin, when "
        "thousands of hosts share one credential.",
    )(f)
    return click.option(
        "--host-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per host."
    )(f)


LANGUAGES = ("en", "ja")
DEFAULT_FORKS = 50


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """--lang on the group always decides (None: the locale, LC_ALL/LC_MESSAGES/LANG); on a command
    it overrides only when given."""
    from remediate.core.i18n import set_language

    if value is not None or ctx.parent is None:
        set_language(value)


def _lang_option(f: Any) -> Any:
    return click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        expose_value=False,
        is_eager=True,
        callback=_set_lang,
        help="Language of the explanations and the recap (default: from the locale, else en).",
    )(f)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="remediate")
@_lang_option
def main() -> None:
    """Fix the same problem on a fleet of Windows machines, safely: dry run first."""


# ---- run ------------------------------------------------------------------------------------
@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False), required=False)
@_inventory_options
@click.option("-l", "--limit", help="Narrow the playbook's targets (Ansible pattern, @file).")
@click.option("--apply", is_flag=True, help="Run the fixes (default: dry run).")
@click.option(
    "-f",
    "--forks",
    type=click.IntRange(1),
    help=f"Hosts in flight (default: forks in ansible.cfg / $ANSIBLE_FORKS, else {DEFAULT_FORKS}).",
)
@click.option("--serial", help="Batches: N, P% or a list like 1,10% (the first is the canary).")
@click.option(
    "--max-fail-percentage",
    type=click.FloatRange(0, 100),
    help="Skip the remaining batches once more than P% of a batch was changed but not fixed.",
)
@_limit_options
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write the full report.")
@click.option("--jsonl", "jsonl_out", type=click.Path(dir_okay=False), help="Stream host results.")
@click.option("--junit", "junit_out", type=click.Path(dir_okay=False), help="JUnit XML for CI.")
@click.option("--force", is_flag=True, help="Replace existing --json/--jsonl/--junit/--hosts-file files.")
@click.option(
    "--max-output",
    metavar="SIZE",
    help="Output kept per step and stream, head + tail (default 4MiB; e.g. 512k, 16MiB). "
    "A host's remediate_max_output wins.",
)
@click.option(
    "--hosts-file",
    type=click.Path(dir_okay=False),
    help="Write every host by verdict, planned change and diagnosis (YAML).",
)
@click.option(
    "-e", "--extra-vars", multiple=True, help="k=v (several per -e), @file.yml, @file.json or a JSON mapping."
)
@click.option("--db", help="History database URL (default $REMEDIATE_DB or ~/.local/share/...).")
@click.option("--no-history", is_flag=True, help="Do not record this run in the history store.")
@click.option(
    "--resume",
    metavar="RUN",
    help="Finish an interrupted or crashed run (id or UUID): same playbook, inventory, -e and mode; "
    "the hosts it recorded are skipped, the others checked again before any fix.",
)
@click.option(
    "--rerun",
    type=click.Choice(["failed", "unreachable", "not-ok"]),
    help="Run only the hosts that ended so in --rerun-of (default: the last run of this playbook "
    "and inventory); not-ok = failed, unreachable, would_fix or skipped.",
)
@click.option("--rerun-of", metavar="RUN", help="The run --rerun reads (id or UUID).")
@click.option(
    "--workers",
    metavar="URL",
    help="Dispatch to the site workers on this Redis broker (redis://...) instead of running here; "
    "--db must be the shared store (docs/workers.md).",
)
@click.option(
    "--batch-size", default=50, show_default=True, type=click.IntRange(1), help="Hosts per worker task."
)
@click.option("-v", "--verbose", is_flag=True, help="Show each host's step output.")
@_lang_option
def run(
    playbook: str | None,
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    limit: str | None,
    apply: bool,
    forks: int | None,
    serial: str | None,
    max_fail_percentage: float | None,
    host_timeout: float | None,
    auth_fail_limit: int,
    json_out: str | None,
    jsonl_out: str | None,
    junit_out: str | None,
    force: bool,
    max_output: str | None,
    hosts_file: str | None,
    extra_vars: tuple[str, ...],
    db: str | None,
    no_history: bool,
    resume: str | None,
    rerun: str | None,
    rerun_of: str | None,
    workers: str | None,
    batch_size: int,
    verbose: bool,
) -> None:
    """Run PLAYBOOK on the inventory's hosts: checks, then fixes (with --apply), then verify."""
    from remediate import app
    from remediate.engine import RunOptions
    from remediate.inventory.credentials import CredentialResolver

    cap = _max_output(max_output)
    if resume and (rerun or rerun_of):  # checked before --resume fills them from the run
        _fail("--resume finishes a run; --rerun starts a new one: give one of them")
    if resume and no_history:
        _fail("--resume records into the run it finishes: --no-history does not apply")
    if resume:
        playbook, inventory, limit, rerun_of = _resumed(db, resume, playbook, inventory, limit, apply)
        rerun = rerun_of.split("@", 1)[0] if rerun_of else None  # a resumed --rerun run: its set
        rerun_of = rerun_of.split("@", 1)[1] if rerun_of else None
    if playbook is None:
        _fail("missing argument PLAYBOOK (only --resume RUN can do without it)")
    setup = _inventory_setup(inventory, vault_password_file, vault_id)
    targets = app.load(
        playbook,
        None,
        limit=limit,
        extra_vars=extra_vars,
        setup=setup,
        credentials=CredentialResolver(prompt=_prompt),  # prompts here, before any connection
    )
    if rerun or rerun_of:
        targets = _rerun(targets, db, rerun or "not-ok", rerun_of)
    options = RunOptions(
        apply=apply,
        forks=forks or setup.forks or DEFAULT_FORKS,
        serial=serial,
        max_fail_percentage=max_fail_percentage,
        host_timeout=host_timeout,
        auth_fail_limit=auth_fail_limit,
        max_output=cap,
    )
    outputs = app.Outputs(
        json=json_out,
        jsonl=jsonl_out,
        junit=junit_out,
        hosts_file=hosts_file,
        history=not no_history,
        db=db,
        force=force,
    )
    plan = app.plan_resume(targets, db, resume, apply=apply) if resume else None
    if max_fail_percentage is not None and not serial:
        click.echo(
            "warning: --max-fail-percentage is checked when a batch ends; without --serial the "
            "whole run is one batch, so it cannot stop anything",
            err=True,
        )
    console = _console(verbose)
    if workers:
        if plan is not None:
            _fail("--resume runs the remaining hosts here; --workers does not apply")
        _dispatch(targets, options, outputs, workers, batch_size, playbook, no_history, console)
    _execute(targets, options, outputs, console, plan)


def _max_output(value: str | None) -> int:
    from remediate.core.capture import DEFAULT_MAX_OUTPUT, parse_size

    try:
        return DEFAULT_MAX_OUTPUT if value is None else parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--max-output") from None


def _resumed(
    db: str | None, ref: str, playbook: str | None, inventory: tuple[str, ...], limit: str | None, apply: bool
) -> tuple[str, tuple[str, ...], str | None, str | None]:
    """--resume: the run's playbook, inventory, pattern and rerun set, unless given (then they
    must match)."""
    from remediate.history.store import Store

    store = Store.open(db, create=False)
    try:
        info = store.run(ref)
    finally:
        store.close()
    if info.mode == "apply" and not apply:
        _fail(f"run {info.id} was an apply: add --apply to resume it (its remaining hosts may be fixed)")
    sources = tuple(info.inventory.split(",")) if info.inventory else ()
    return (
        playbook or info.playbook,
        inventory or sources,
        info.pattern if limit is None else limit,
        info.rerun,
    )


def _rerun(targets: Any, db: str | None, which: str, ref: str | None) -> Any:
    """--rerun: the targets narrowed to the hosts that ended `which` in the run read."""
    from dataclasses import replace

    from remediate.app import run_meta

    m = run_meta(targets, kind="run", apply=False)
    from remediate.history.session import rerun_hosts

    info, records = rerun_hosts(db, which, ref, playbook=m.playbook, inventory=m.inventory)
    wanted = {(r.host, r.address) for r in records}
    hosts = [h for h in targets.hosts if (h.name, h.address) in wanted]
    click.echo(f"--rerun {which}: {len(hosts)} host(s) of run {info.id} ({info.uuid[:8]})", err=True)
    if not hosts:
        raise click.exceptions.Exit(0)
    return replace(targets, hosts=hosts, rerun=f"{which}@{info.uuid}")


def _execute(targets: Any, options: Any, outputs: Any, console: Any, plan: Any = None) -> NoReturn:
    """Run here with live progress, Ctrl-C handling and the recap; exits with the run's code."""
    from remediate import app

    async def go() -> RunResult:
        stop = asyncio.Event()
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_signal() -> None:
            if not stop.is_set():
                stop.set()
                console.error("interrupted: no new hosts; running steps are cancelled (Ctrl-C again aborts)")
            elif task is not None:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            return await app.run(
                targets,
                options,
                outputs,
                credentials=targets.credentials,
                events=console.progress(),
                stop=stop,
                warn=console.error,
                resume=plan,
            )
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(go())
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.error("aborted; finished hosts are recorded (and in the JSONL file if one was given)")
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    console.recap(result)
    if result.run_id is not None:
        console.print(f"recorded as run {result.run_id} ({result.run_uuid})")
    raise click.exceptions.Exit(result.exit_code())


def _dispatch(
    targets: Any,
    options: Any,
    outputs: Any,
    broker: str,
    batch_size: int,
    playbook: str,
    no_history: bool,
    console: Any,
) -> NoReturn:
    """`run --workers`: the site workers run the hosts; this process shows progress and the recap."""
    from remediate.distributed.controller import Dispatch, check, dispatch

    if no_history:
        _fail("--workers records every host in the shared store: --no-history does not apply")
    check(targets, options)  # a host with no site, a secret -e, --serial: before anything is sent
    try:
        result = dispatch(
            targets,
            options,
            outputs,
            Dispatch(broker, batch_size=batch_size),
            playbook=playbook,
            events=console.progress(),
            warn=console.error,
        )
    except KeyboardInterrupt:
        console.error("interrupted: queued batches revoked; running batches finish on their workers")
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    console.recap(result)
    raise click.exceptions.Exit(result.exit_code())


# ---- sweep ----------------------------------------------------------------------------------
@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False))
@_inventory_options
@click.option("-l", "--limit", help="Narrow the playbook's targets (Ansible pattern, @file).")
@click.option(
    "-f", "--forks", type=click.IntRange(1), help=f"Hosts in flight (default as for run: {DEFAULT_FORKS})."
)
@_limit_options
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False),
    help="Write the full report (strftime %-codes expand).",
)
@click.option(
    "--jsonl",
    "jsonl_out",
    type=click.Path(dir_okay=False),
    help="Stream host results (strftime %-codes expand).",
)
@click.option(
    "--junit", "junit_out", type=click.Path(dir_okay=False), help="JUnit XML (strftime %-codes expand)."
)
@click.option(
    "--hosts-file", type=click.Path(dir_okay=False), help="Hosts by verdict (strftime %-codes expand)."
)
@click.option("--force", is_flag=True, help="Replace existing result files.")
@click.option("--max-output", metavar="SIZE", help="Output kept per step and stream (default 4MiB).")
@click.option("-e", "--extra-vars", multiple=True, help="As for run.")
@click.option("--db", help="History database: a path or URL (default $REMEDIATE_DB, else the per-user file).")
@click.option("--resume", metavar="RUN", help="Finish an interrupted or crashed sweep (id or UUID).")
@click.option("-v", "--verbose", is_flag=True, help="Show each host's step output.")
@_lang_option
def sweep(
    playbook: str,
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    limit: str | None,
    forks: int | None,
    host_timeout: float | None,
    auth_fail_limit: int,
    json_out: str | None,
    jsonl_out: str | None,
    junit_out: str | None,
    hosts_file: str | None,
    force: bool,
    max_output: str | None,
    extra_vars: tuple[str, ...],
    db: str | None,
    resume: str | None,
    verbose: bool,
) -> None:
    """A scheduled compliance sweep: a dry run of PLAYBOOK recorded in the history as a sweep.

    Never prompts (cron, systemd timers, Task Scheduler): a password that would need a prompt
    fails the sweep at load, before anything connects. Exit codes as for run; a sweep that
    could not be recorded exits with bit 8 after writing its other outputs."""
    import time as _time

    from remediate import app
    from remediate.engine import RunOptions
    from remediate.inventory.credentials import CredentialResolver

    def dated(path: str | None) -> str | None:
        return _time.strftime(path) if path and "%" in path else path

    setup = _inventory_setup(inventory, vault_password_file, vault_id, interactive=False)
    targets = app.load(
        playbook, None, limit=limit, extra_vars=extra_vars, setup=setup,
        credentials=CredentialResolver(), interactive=False,
    )  # fmt: skip
    options = RunOptions(
        apply=False, forks=forks or setup.forks or DEFAULT_FORKS, host_timeout=host_timeout,
        auth_fail_limit=auth_fail_limit,
        max_output=_max_output(max_output),
    )  # fmt: skip
    outputs = app.Outputs(
        json=dated(json_out), jsonl=dated(jsonl_out), junit=dated(junit_out),
        hosts_file=dated(hosts_file), history=True, kind="sweep", db=db, force=force,
    )  # fmt: skip
    plan = app.plan_resume(targets, db, resume, apply=False) if resume else None
    _execute(targets, options, outputs, _console(verbose), plan)


# ---- worker ---------------------------------------------------------------------------------
@main.command()
@click.option("--site", required=True, help="The site whose queue this worker consumes.")
@_inventory_options
@click.option("--broker", help="Redis URL (default $REMEDIATE_BROKER).")
@click.option("--db", help="The shared history store URL (default $REMEDIATE_DB).")
@click.option(
    "-c", "--concurrency", default=2, show_default=True, type=click.IntRange(1), help="Batches at once."
)
def worker(
    site: str,
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    broker: str | None,
    db: str | None,
    concurrency: int,
) -> None:
    """Run batches of SITE's hosts sent by `remediate run --workers` (a Celery worker).

    -i is this site's own inventory (or ansible.cfg's); vault passwords are read here, at start,
    never from the broker; a worker never prompts."""
    from remediate.distributed.worker import SiteWorker

    setup = _inventory_setup(inventory, vault_password_file, vault_id, interactive=False)
    w = SiteWorker(site, setup.sources[0], broker=broker, db=db, concurrency=concurrency, setup=setup)
    raise click.exceptions.Exit(w.start())


# ---- render ---------------------------------------------------------------------------------
@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False))
@_inventory_options
@click.option("-l", "--limit", help="Hosts to render for (pattern).")
@click.option("-e", "--extra-vars", multiple=True)
def render(
    playbook: str,
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    limit: str | None,
    extra_vars: tuple[str, ...],
) -> None:
    """Print each host's rendered scripts without connecting (facts are unknown here)."""
    from remediate import app

    setup = _inventory_setup(inventory, vault_password_file, vault_id)
    targets = app.load(
        playbook, None, limit=limit, extra_vars=extra_vars, setup=setup, check_credentials=False
    )
    for host, steps in app.render(targets):
        click.echo(f"# {host}")
        for step in steps:
            click.echo(f"## {step.kind} {step.id} ({step.shell})")
            if step.script is None:
                click.echo(f"# cannot render before the checks run: {step.error}")
            else:
                click.echo(step.script)
        click.echo("")


# ---- inventory ------------------------------------------------------------------------------
@main.group(cls=_Group)
def inventory() -> None:
    """Show what an inventory resolves to (secrets masked)."""


def _load_inv(
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    extra: tuple[str, ...],
) -> Any:
    from remediate.app import load_inventory

    setup = _inventory_setup(inventory, vault_password_file, vault_id)
    inv = load_inventory(None, _extra_vars(extra), setup)
    for w in getattr(inv, "warnings", []):
        click.echo(f"warning: {w}", err=True)
    return inv


@inventory.command("list")
@_inventory_options
@click.option("-l", "--limit", help="Pattern.")
@click.option("-e", "--extra-vars", multiple=True)
def inventory_list(
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    limit: str | None,
    extra_vars: tuple[str, ...],
) -> None:
    """JSON like `ansible-inventory --list` (or just the matching hosts with --limit)."""
    inv = _load_inv(inventory, vault_password_file, vault_id, extra_vars)
    if limit:
        data: Any = {h.name: h.masked_vars() for h in inv.select(limit)}
    else:
        data = inv.to_dict()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@inventory.command("graph")
@_inventory_options
def inventory_graph(
    inventory: tuple[str, ...], vault_password_file: tuple[str, ...], vault_id: tuple[str, ...]
) -> None:
    """The group tree, like `ansible-inventory --graph`."""
    click.echo(_load_inv(inventory, vault_password_file, vault_id, ()).graph())


@inventory.command("host")
@click.argument("name")
@_inventory_options
@click.option("-e", "--extra-vars", multiple=True)
def inventory_host(
    name: str,
    inventory: tuple[str, ...],
    vault_password_file: tuple[str, ...],
    vault_id: tuple[str, ...],
    extra_vars: tuple[str, ...],
) -> None:
    """One host's merged variables (secrets masked)."""
    host = _load_inv(inventory, vault_password_file, vault_id, extra_vars).host(name)
    click.echo(json.dumps(host.masked_vars(), indent=2, ensure_ascii=False, default=str))


# ---- domains: parse / explain ----------------------------------------------------------------
def _parse_command(domain_name: str | None) -> click.Command:
    @click.command("parse")
    @click.argument("kind")
    @click.argument("file", default="-")
    def parse_cmd(kind: str, file: str) -> None:
        """Parse saved command output (slmgr /dli, w32tm /query /status, ...) into JSON."""
        from remediate.core.domain import parsers

        table = parsers(domain_name)
        if kind not in table:
            _fail(f"unknown parser kind {kind!r}; known kinds: {', '.join(table)}")
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        try:
            parsed = table[kind][0](data)  # a domain parser takes bytes in any console encoding
        except ValueError as e:
            _fail(str(e))
        click.echo(json.dumps(parsed, indent=2, ensure_ascii=False))

    return parse_cmd


main.add_command(_parse_command(None))


@main.command()
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_lang_option
def explain(code: str, as_json: bool) -> None:
    """What an error code (or event id) means and what to do, from every domain's knowledge base."""
    from remediate.core.domain import explain as domain_explain

    try:
        entry = domain_explain(code)
    except (LookupError, ValueError) as e:
        _fail(str(e).strip("'\""))
    if as_json:
        click.echo(json.dumps(entry, indent=2, ensure_ascii=False))
    else:
        _console().explain(entry)


# ---- lab / demo / history -------------------------------------------------------------------
@main.group(cls=_Group)
def lab() -> None:
    """The emulated Windows fleet."""


@lab.command("up")
@click.option("--hosts", type=click.IntRange(1), help="Number of hosts (overrides the spec).")
@click.option("--spec", type=click.Path(dir_okay=False), help="Fleet spec YAML.")
@click.option("--seed", type=int, help="Random seed for fault assignment.")
@click.option("--inventory-out", required=True, type=click.Path(dir_okay=False), help="Inventory to write.")
@click.option(
    "--procs", type=click.IntRange(1, 64), default=1, show_default=True,
    help="Processes serving the hosts (DNS and KMS stay in the first); 10,000 hosts want 3 or more.",
)  # fmt: skip
def lab_up(hosts: int | None, spec: str | None, seed: int | None, inventory_out: str, procs: int) -> None:
    """Serve an emulated fleet on loopback until Ctrl-C; prints `ready` once listening."""
    from remediate.lab.runtime import serve

    def ready(lab: Any) -> None:
        click.echo(
            f"lab: {len(lab.hosts)} hosts, {lab.procs} process(es), fd limit {lab.fd_limit}, "
            f"up in {lab.start_seconds:.1f} s",
            err=True,
        )
        click.echo("ready")
        sys.stdout.flush()

    try:
        code = serve(
            hosts=hosts,
            spec_path=Path(spec) if spec else None,
            seed=seed,
            inventory_out=Path(inventory_out),
            workdir=None,
            on_ready=ready,
            procs=procs,
        )
    except ValueError as e:  # SpecError
        _fail(str(e))
    raise click.exceptions.Exit(code)


@main.command()
@_lang_option
def demo() -> None:
    """A lab fleet with mixed faults: dry run, apply, recap."""
    from remediate.demo import run_demo

    code = run_demo(_console())
    raise click.exceptions.Exit(int(code or 0))


# the history's read commands live in cli_history.py (history, drift, forecast, report)
from remediate.cli_history import COMMANDS as _HISTORY_COMMANDS  # noqa: E402

for _command in _HISTORY_COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
