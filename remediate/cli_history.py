"""The history's read commands: `remediate history [prune]`, `drift`, `forecast`, `report`.

Every command opens the store with create=False (a read never creates a file, a directory or a
table) and reports a bad --db, an unknown run or a bad option as `error: <one line>`, exit 1:
the errors are RemediateErrors, which the `main` group (cli.py) turns into that line. Tables go
through the Console; --json prints JSON instead, and only with --json. Times in tables are local
with their UTC offset; JSON times are ISO 8601 UTC.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from remediate.core.errors import ConfigError
from remediate.history.durations import parse_duration
from remediate.history.records import jsonable

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported by the commands that read it, not at startup
    from remediate.history.records import HostRecord, RunInfo, RunKind
    from remediate.history.store import Store

DB_HELP = "History database: a path or URL (default $REMEDIATE_DB, else the per-user file)."
MIN_PRUNE_AGE = timedelta(days=1)  # below this, prune wants --force: a typo like 1h must not wipe history


def _console() -> Any:
    from remediate.console import Console

    return Console()


def _db_option(f: Any) -> Any:
    return click.option("--db", help=DB_HELP)(f)


def _inventory_option(f: Any) -> Any:
    return click.option(
        "--inventory", "-i", "inventory", type=click.Path(), help="Only runs of this inventory (a path)."
    )(f)


def _json_option(f: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(f)


@contextlib.contextmanager
def _store(db: str | None) -> Iterator[Store]:
    from remediate.history.store import Store

    store = Store.open(db, create=False)
    try:
        yield store
    finally:
        store.close()


def _now() -> datetime:
    return datetime.now(UTC)


def _inventory(path: str | None) -> str | None:
    """An inventory as the store records it: the absolute, resolved path."""
    return None if path is None else str(Path(path).expanduser().resolve())


def _inv_match(stored: str, wanted: str | None) -> bool:
    """A run read from several inventory sources records them joined by commas: any one matches."""
    return wanted is None or stored == wanted or wanted in stored.split(",")


def _print_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False, default=str))


# ---- formatting for tables -----------------------------------------------------------------
def when(t: datetime | None) -> str:
    """Local time with its UTC offset (a scheduled sweep's log is read next to local clocks)."""
    if t is None:
        return "-"
    local = t.astimezone()
    return local.strftime("%Y-%m-%d %H:%M ") + local.strftime("%z")


def span(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def cut(text: str | None, n: int = 60) -> str:
    if not text:
        return "-"
    line = " ".join(text.split())
    return line if len(line) <= n else line[: n - 1] + "…"


def short_inventory(inv: str) -> str:
    """The last two parts of each source: enough to tell estate.yml from lab/estate.yml."""
    if not inv:
        return "-"
    return ",".join("/".join(Path(s).parts[-2:]) for s in inv.split(","))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{v} {n}" for v, n in sorted(counts.items()) if n) or "-"


def run_rows(runs: Sequence[RunInfo]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for r in runs:
        took = span((r.finished - r.started).total_seconds()) if r.finished else r.status
        out.append(
            (
                str(r.id), r.uuid[:8], r.kind, r.status, r.playbook, short_inventory(r.inventory),
                r.mode, when(r.started), took, str(r.host_count), _counts(r.counts),
                "-" if r.exit_code is None else str(r.exit_code),
            )
        )  # fmt: skip
    return out


RUN_HEAD = ("id", "uuid", "kind", "status", "playbook", "inventory", "mode", "started", "took", "hosts",
            "verdicts", "exit")  # fmt: skip


def run_meta_rows(r: RunInfo) -> list[tuple[str, str]]:
    took = span((r.finished - r.started).total_seconds()) if r.finished else "-"
    return [
        ("run", f"{r.id} ({r.uuid})"), ("kind", r.kind), ("status", r.status), ("playbook", r.playbook),
        ("inventory", r.inventory or "-"), ("limit", r.pattern or "-"), ("mode", r.mode),
        ("started", f"{when(r.started)} ({r.started.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"),
        ("finished", when(r.finished)), ("took", took), ("hosts targeted", str(r.host_count)),
        ("verdicts", _counts(r.counts)), ("exit code", "-" if r.exit_code is None else str(r.exit_code)),
        ("operator", f"{r.operator} on {r.controller}"), ("version", r.version),
        ("playbook sha256", r.playbook_hash or "-"), ("inventory sha256", r.inventory_hash or "-"),
    ]  # fmt: skip


def host_rows(records: Sequence[HostRecord]) -> list[tuple[str, ...]]:
    return [
        (h.host, h.address, h.verdict, " ".join(h.codes) or "-", cut(h.error), when(h.finished))
        for h in records
    ]


# ---- history -------------------------------------------------------------------------------
@click.group(invoke_without_command=True)
@_db_option
@click.option("--run", "run_ref", help="One run's metadata and hosts (row id, UUID or UUID prefix).")
@click.option("--host", help="One host's verdicts across runs, newest first.")
@click.option("--since", help="Only runs started in this window (30m, 12h, 7d, 2w; a number is days).")
@_inventory_option
@click.option("--playbook", help="Only runs of this playbook (as it was given).")
@click.option("--kind", type=click.Choice(["run", "sweep"]), help="Only runs or only sweeps.")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(1), help="Rows at most.")
@_json_option
@click.pass_context
def history(
    ctx: click.Context,
    db: str | None,
    run_ref: str | None,
    host: str | None,
    since: str | None,
    inventory: str | None,
    playbook: str | None,
    kind: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Past runs and sweeps, newest first; --run and --host for detail; `prune` to forget."""
    ctx.ensure_object(dict)["db"] = db
    if ctx.invoked_subcommand is not None:
        return
    start = _now() - parse_duration(since, option="--since") if since else None
    wanted = _inventory(inventory)
    with _store(db) as store:
        if run_ref is not None:
            _one_run(store, run_ref, host, as_json)
            return
        runs = [
            r
            for r in store.runs(since=start, playbook=playbook, kind=cast("RunKind | None", kind))
            if _inv_match(r.inventory, wanted)
        ]
        if host:
            _one_host(store, host, runs, start, limit, as_json)
            return
        runs = runs[:limit]
        if as_json:
            _print_json([asdict(r) for r in runs])
            return
        con = _console()
        if not runs:
            con.print(
                f"no runs in {store.url_display}"
                + (" match" if since or inventory or playbook or kind else "")
            )
            return
        con.table(f"runs in {store.url_display}", RUN_HEAD, run_rows(runs))


def _one_run(store: Store, ref: str, host: str | None, as_json: bool) -> None:
    run = store.run(ref)  # HistoryError "no run ... in <db>" when unknown
    records = [r for r in store.host_records(run_id=run.id) if host is None or r.host == host]
    if as_json:
        _print_json({"run": asdict(run), "hosts": [asdict(r) for r in records]})
        return
    con = _console()
    con.fields(f"run {run.id}", run_meta_rows(run))
    head = ("host", "address", "verdict", "codes", "error", "finished")
    if records:
        con.table(f"hosts of run {run.id}", head, host_rows(records))
    else:
        con.print(f"no host recorded in run {run.id}" + (f" named {host}" if host else ""))


def _one_host(
    store: Store, host: str, runs: Sequence[RunInfo], start: datetime | None, limit: int, as_json: bool
) -> None:
    by_id = {r.id: r for r in runs}
    records = [r for r in store.host_records(host=host, since=start) if r.run_id in by_id][::-1]
    # identity is (inventory, host, address): two inventories' WIN-0004 are two machines
    groups: dict[tuple[str, str], list[HostRecord]] = {}
    for r in records:
        mine = groups.setdefault((r.inventory, r.address), [])
        if len(mine) < limit:  # -n: rows per machine
            mine.append(r)
    if as_json:
        out = []
        for recs in groups.values():
            for r in recs:
                run = by_id[r.run_id]
                out.append(
                    {**asdict(r), "run_kind": run.kind, "run_started": run.started, "run_mode": run.mode}
                )
        _print_json(out)
        return
    con = _console()
    if not records:
        con.print(f"no records of host {host} in {store.url_display}")
        return
    head = ("run", "kind", "mode", "started", "verdict", "codes", "error", "finished")
    for (inv, address), recs in groups.items():
        rows = [
            (str(r.run_id), by_id[r.run_id].kind, by_id[r.run_id].mode, when(by_id[r.run_id].started),
             r.verdict, " ".join(r.codes) or "-", cut(r.error), when(r.finished))
            for r in recs
        ]  # fmt: skip
        con.table(f"{host} ({address}) in {inv or '-'}", head, rows)


@history.command("prune")
@click.option("--older-than", required=True, help="Delete runs started before this long ago (180d, 26w).")
@_db_option
@click.option("--dry-run", is_flag=True, help="Only count the runs that would go.")
@click.option("--force", is_flag=True, help=f"Allow --older-than under {MIN_PRUNE_AGE.days} day.")
@click.pass_context
def history_prune(ctx: click.Context, older_than: str, db: str | None, dry_run: bool, force: bool) -> None:
    """Delete runs (and their hosts) that started before now minus --older-than."""
    age = parse_duration(older_than, option="--older-than")
    if age < MIN_PRUNE_AGE and not force:
        raise ConfigError(
            f"--older-than {older_than} would delete every run of the last day too; "
            f"give at least 1d, or --force if that is really meant"
        )
    db = db if db is not None else (ctx.obj or {}).get("db")
    before = _now() - age
    with _store(db) as store:
        if dry_run:
            n = sum(1 for r in store.runs() if r.started < before)
            click.echo(f"would prune {n} run(s) started before {when(before)} from {store.url_display}")
            return
        n = store.prune(before)
        click.echo(f"pruned {n} run(s) started before {when(before)} from {store.url_display}")


# ---- drift / forecast / report -------------------------------------------------------------
@click.command()
@click.argument("runs", nargs=-1, metavar="[RUN_A RUN_B]")
@click.option("--since", help="Changes inside this window (default 7d; 30m, 12h, 7d, 2w).")
@_inventory_option
@_json_option
@_db_option
def drift(
    runs: tuple[str, ...], since: str | None, inventory: str | None, as_json: bool, db: str | None
) -> None:
    """Hosts whose verdict or tracked facts changed: inside --since, or from RUN_A to RUN_B."""
    from remediate.history.drift import drift as compute
    from remediate.history.drift import drift_histories, shown

    if runs and len(runs) != 2:
        raise ConfigError("drift takes two runs (RUN_A RUN_B) or none (--since)")
    if runs and since:
        raise ConfigError("drift takes either --since or RUN_A RUN_B, not both")
    wanted = _inventory(inventory)
    now = _now()
    with _store(db) as store:
        if runs:
            a, b = store.run(runs[0]), store.run(runs[1])
            records = [
                r
                for run in (a, b)
                for r in store.host_records(run_id=run.id)
                if _inv_match(r.inventory, wanted)
            ]
            report = compute([a, b], records, now, run_a=a.id, run_b=b.id)
        else:
            # each host's records in the window after its last one before it (the baseline),
            # streamed one host at a time: memory does not grow with the history
            window = parse_duration(since or "7d", option="--since")
            histories = store.histories(since=now - window, inventory=wanted)
            report = drift_histories(histories, now, since=window)
        where = store.url_display
    if as_json:
        _print_json(report.to_dict())
        return
    rows = [
        (when(e.at), f"{e.host} ({e.address})", f"{e.run_before} -> {e.run_after}", c.label, c.item or "-",
         f"{shown(c.before)} -> {shown(c.after)}")
        for e in report.events
        for c in e.changes
    ]  # fmt: skip
    con = _console()
    scope = f"runs {report.run_a} -> {report.run_b}" if runs else f"since {when(report.since)}"
    if not rows:
        con.print(f"no drift {scope} in {where}")
        return
    con.table(f"drift {scope}", ("when", "host", "runs", "change", "item", "before -> after"), rows)


def _days_from(now: datetime, t: datetime) -> str:
    days = (t - now).total_seconds() / 86400
    if days >= 0:
        return f"in {days:.0f} days" if days >= 1 else "within a day"
    return f"{-days:.0f} days ago" if days <= -1 else "today"


@click.command()
@click.option("--days", default=30, show_default=True, type=click.IntRange(0, 36500), help="Horizon in days.")
@_inventory_option
@_json_option
@_db_option
def forecast(days: int, inventory: str | None, as_json: bool, db: str | None) -> None:
    """Hosts whose activation runs out within --days (and those already out), soonest first."""
    from remediate.history.forecast import forecast_histories

    wanted = _inventory(inventory)
    now = _now()
    with _store(db) as store:  # one host's history at a time
        result = forecast_histories(store.histories(inventory=wanted), now, days=days)
        shown = store.url_display
    if as_json:
        _print_json(result.to_dict())
        return
    con = _console()
    if not result.entries:
        con.print(f"no licence runs out within {days} days ({shown})")
        return
    rows = []
    for e in result.entries:
        unreachable = (
            f"{when(e.unreachable_since)} ({e.unreachable_sweeps} in a row)" if e.unreachable_sweeps else "-"
        )
        out = f"{when(e.expires_at)} ({_days_from(now, e.expires_at)})"
        rows.append(
            (out + (f" -> {e.next_state}" if e.next_state else ""), f"{e.host} ({e.address})", e.product,
             e.channel or "-", e.license_status or "-", when(e.observed_at),
             when(e.last_renewal) + (" (overdue)" if e.renewal_overdue else ""), unreachable)
        )  # fmt: skip
    head = ("runs out", "host", "product", "channel", "status seen", "seen at", "last renewal (est.)",
            "unreachable since")  # fmt: skip
    con.table(f"licences running out within {days} days", head, rows)


def _write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """write(tmp) in the target's directory, then rename: a reader never sees half a report."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@click.command()
@click.option("--since", default="30d", show_default=True, help="The report's window (30m, 12h, 7d, 2w).")
@click.option(
    "--days", default=30, show_default=True, type=click.IntRange(0, 36500), help="Forecast horizon."
)
@_inventory_option
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Self-contained HTML report.")
@click.option("--csv", "csv_out", type=click.Path(dir_okay=False), help="One row per host (CSV).")
@_db_option
@click.option("--force", is_flag=True, help="Replace existing files.")
def report(
    since: str,
    days: int,
    inventory: str | None,
    html_out: str | None,
    csv_out: str | None,
    db: str | None,
    force: bool,
) -> None:
    """The compliance report: % over time, groups and sites, diagnoses, drift, forecast."""
    from remediate.history.render import render_csv, render_html
    from remediate.history.report import build_report_from

    if not html_out and not csv_out:
        raise ConfigError("report needs --html FILE and/or --csv FILE")
    window = parse_duration(since, option="--since")
    targets = [Path(p) for p in (html_out, csv_out) if p]
    for p in targets:
        if p.exists() and not force:
            raise ConfigError(f"{p} exists (use --force to replace it)")
        if not p.parent.is_dir():
            raise ConfigError(f"{p}: the directory {p.parent} does not exist")
    wanted = _inventory(inventory)
    now = _now()
    with _store(db) as store:  # runs for the series' totals; hosts streamed one at a time
        runs = [r for r in store.runs(since=now - window) if _inv_match(r.inventory, wanted)]
        built = build_report_from(runs, store.histories(inventory=wanted), now, window, days=days)
    if html_out:
        html = render_html(built)
        _write_atomic(Path(html_out), lambda tmp: tmp.write_text(html, encoding="utf-8"))
        click.echo(f"wrote {html_out}")
    if csv_out:
        _write_atomic(Path(csv_out), lambda tmp: render_csv(built, tmp))
        click.echo(f"wrote {csv_out}")


COMMANDS = (history, drift, forecast, report)
