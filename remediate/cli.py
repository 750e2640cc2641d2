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


LANGUAGES = ("en", "ja")


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
@click.argument("playbook", type=click.Path(dir_okay=False))
@click.option("-i", "--inventory", required=True, type=click.Path(), help="Inventory file (YAML or INI).")
@click.option("-l", "--limit", help="Narrow the playbook's targets (Ansible pattern, @file).")
@click.option("--apply", is_flag=True, help="Run the fixes (default: dry run).")
@click.option("-f", "--forks", default=50, show_default=True, type=click.IntRange(1), help="Hosts in flight.")
@click.option("--serial", help="Batches: N, P% or a list like 1,10% (the first is the canary).")
@click.option(
    "--max-fail-percentage",
    type=click.FloatRange(0, 100),
    help="Skip the remaining batches once more than P% of a batch was changed but not fixed.",
)
@click.option("--host-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per host.")
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
@click.option("-v", "--verbose", is_flag=True, help="Show each host's step output.")
@_lang_option
def run(
    playbook: str,
    inventory: str,
    limit: str | None,
    apply: bool,
    forks: int,
    serial: str | None,
    max_fail_percentage: float | None,
    host_timeout: float | None,
    json_out: str | None,
    jsonl_out: str | None,
    junit_out: str | None,
    force: bool,
    max_output: str | None,
    hosts_file: str | None,
    extra_vars: tuple[str, ...],
    db: str | None,
    no_history: bool,
    verbose: bool,
) -> None:
    """Run PLAYBOOK on the inventory's hosts: checks, then fixes (with --apply), then verify."""
    from remediate import app
    from remediate.core.capture import DEFAULT_MAX_OUTPUT, parse_size
    from remediate.engine import RunOptions
    from remediate.inventory.credentials import CredentialResolver

    try:
        cap = DEFAULT_MAX_OUTPUT if max_output is None else parse_size(max_output)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--max-output") from None
    targets = app.load(playbook, inventory, limit=limit, extra_vars=extra_vars)
    options = RunOptions(
        apply=apply,
        forks=forks,
        serial=serial,
        max_fail_percentage=max_fail_percentage,
        host_timeout=host_timeout,
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
    if max_fail_percentage is not None and not serial:
        click.echo(
            "warning: --max-fail-percentage is checked when a batch ends; without --serial the "
            "whole run is one batch, so it cannot stop anything",
            err=True,
        )
    console = _console(verbose)

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
                credentials=CredentialResolver(prompt=_prompt),
                events=console.progress(),
                stop=stop,
                warn=console.error,
            )
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        result = asyncio.run(go())
    except (KeyboardInterrupt, asyncio.CancelledError):
        console.error("aborted; finished hosts are in the JSONL file if one was given")
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    console.recap(result)
    raise click.exceptions.Exit(result.exit_code())


# ---- render ---------------------------------------------------------------------------------
@main.command()
@click.argument("playbook", type=click.Path(dir_okay=False))
@click.option("-i", "--inventory", required=True, type=click.Path())
@click.option("-l", "--limit", help="Hosts to render for (pattern).")
@click.option("-e", "--extra-vars", multiple=True)
def render(playbook: str, inventory: str, limit: str | None, extra_vars: tuple[str, ...]) -> None:
    """Print each host's rendered scripts without connecting (facts are unknown here)."""
    from remediate import app

    targets = app.load(playbook, inventory, limit=limit, extra_vars=extra_vars)
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


def _load_inv(path: str, extra: tuple[str, ...]) -> Any:
    from remediate.inventory import Inventory

    inv = Inventory.load(path, extra_vars=_extra_vars(extra))
    for w in getattr(inv, "warnings", []):
        click.echo(f"warning: {w}", err=True)
    return inv


@inventory.command("list")
@click.option("-i", "--inventory", "path", required=True, type=click.Path())
@click.option("-l", "--limit", help="Pattern.")
@click.option("-e", "--extra-vars", multiple=True)
def inventory_list(path: str, limit: str | None, extra_vars: tuple[str, ...]) -> None:
    """JSON like `ansible-inventory --list` (or just the matching hosts with --limit)."""
    inv = _load_inv(path, extra_vars)
    if limit:
        data: Any = {h.name: h.masked_vars() for h in inv.select(limit)}
    else:
        data = inv.to_dict()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@inventory.command("graph")
@click.option("-i", "--inventory", "path", required=True, type=click.Path())
def inventory_graph(path: str) -> None:
    """The group tree, like `ansible-inventory --graph`."""
    click.echo(_load_inv(path, ()).graph())


@inventory.command("host")
@click.argument("name")
@click.option("-i", "--inventory", "path", required=True, type=click.Path())
@click.option("-e", "--extra-vars", multiple=True)
def inventory_host(name: str, path: str, extra_vars: tuple[str, ...]) -> None:
    """One host's merged variables (secrets masked)."""
    host = _load_inv(path, extra_vars).host(name)
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


@main.command()
@click.option("--db", help="Database URL (default $REMEDIATE_DB or ~/.local/share/remediate/history.db).")
@click.option("--run", "run_id", type=int, help="Show one run's hosts.")
@click.option("--host", help="Show one host's verdicts across runs.")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(1))
@click.option("--json", "as_json", is_flag=True)
def history(db: str | None, run_id: int | None, host: str | None, limit: int, as_json: bool) -> None:
    """Past runs, newest first."""
    from remediate.output.store import Store

    store = Store(db)
    try:
        rows: list[Any]
        if run_id is not None:
            rows = store.hosts(run_id)
        elif host:
            rows = store.host_history(host, limit)
        else:
            runs = store.runs(limit)
            if not as_json:
                _console().history(runs)
                return
            rows = [{**r.__dict__, "started": r.started.isoformat()} for r in runs]
        if as_json or run_id is not None or host:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    finally:
        store.close()


if __name__ == "__main__":  # pragma: no cover
    main()
