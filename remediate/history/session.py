"""One run's life in the history store: opened before the first connection, each host written
as it finishes (Recorder), closed last; and what --resume and --rerun read back from it.

A store that cannot be opened or written does not stop the run: the problem is returned as a
message that the app adds to the run's output errors (exit bit 8) after every other output is
written, so a cron job cannot lose its history silently.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from remediate.core.errors import error_text
from remediate.core.results import HostResult, RunResult
from remediate.engine.events import RunEvents
from remediate.history.errors import HistoryError
from remediate.history.recorder import Recorder, host_result
from remediate.history.records import HostRecord, RunInfo, RunMeta
from remediate.history.store import Store
from remediate.inventory.model import Host

WORKER_LOST = "worker lost"  # a site worker's host the controller gave up on: --resume runs it
NOT_STARTED = "not started: interrupted"  # a host Ctrl-C kept from starting: --resume runs it
RerunWhich = Literal["failed", "unreachable", "not-ok"]
RERUN: dict[str, frozenset[str]] = {
    "failed": frozenset({"failed"}),
    "unreachable": frozenset({"unreachable"}),
    "not-ok": frozenset({"failed", "unreachable", "would_fix", "skipped"}),
}


class Recording:
    """The run row and its recorder; `close` ends it. Build with `open_recording`."""

    def __init__(self, store: Store, info: RunInfo, recorder: Recorder) -> None:
        self.store = store
        self.info = info
        self.recorder = recorder
        self.closed = False

    def drain(self) -> list[str]:
        """Wait until every finished host is written; the problems to report (exit bit 8)."""
        self.recorder.flush()
        if self.recorder.error is None:
            return []
        return [
            f"history: {self.recorder.failures} host(s) could not be recorded in "
            f"{self.store.url_display}: {error_text(self.recorder.error)}"
        ]

    def close(self, result: RunResult) -> list[str]:
        """Close the row with the run's status and exit code (drain first); the problems."""
        problems: list[str] = []
        try:
            status: Literal["finished", "interrupted"] = "interrupted" if result.interrupted else "finished"
            self.store.finish_run(self.info.id, status=status, exit_code=result.exit_code())
        except Exception as e:
            problems.append(f"history: could not close run {self.info.id}: {error_text(e)}")
        finally:
            self.closed = True
            self.store.close()
        return problems

    def abort(self) -> None:
        """The run was cancelled (a second Ctrl-C): write what finished, close the row as
        interrupted; best effort, bounded."""
        if self.closed:
            return
        self.closed = True
        self.recorder.flush(timeout=10)
        # a row left open (the store failing now) shows as crashed, which is still the truth
        with contextlib.suppress(Exception):
            self.store.finish_run(self.info.id, status="interrupted", exit_code=130)
        self.store.close()


def open_recording(
    db: str | None,
    meta: RunMeta,
    hosts: Sequence[Host],
    tracked_facts: Sequence[str],
    *,
    then: RunEvents | None = None,
) -> Recording:
    """Open (or, with meta.uuid, reopen) the run's row; HistoryError when the store cannot.
    `then` is told about each host once it is in the store (the JSONL file)."""
    store = Store.open(db, create=True)
    try:
        info = store.start_run(meta)
    except Exception:
        store.close()
        raise
    recorder = Recorder(store, info.id, info.inventory, hosts, tracked_facts, then=then)
    return Recording(store, info, recorder)


@dataclass
class Resume:
    """A run to finish: its row, the hosts it recorded (kept) and the ones still to run."""

    info: RunInfo
    done: list[HostResult] = field(default_factory=list)  # in the order they were recorded
    todo: list[Host] = field(default_factory=list)


def plan_resume(
    db: str | None,
    ref: str,
    hosts: Sequence[Host],
    *,
    meta: RunMeta,
) -> Resume:
    """What `--resume REF` runs: the targets the run has not recorded (and those a lost site
    worker left `failed: worker lost`). The playbook's bytes, the inventory and the -e values
    (by hash), the mode and the pattern must be the run's: a resumed run finishes the same
    plan, it does not start another one."""
    store = Store.open(db, create=False)
    try:
        info = store.run(ref)
        records = store.host_records(run_id=info.id)
    finally:
        store.close()
    if info.status == "running":
        raise HistoryError(f"run {info.id} is still running on {info.controller} (pid alive)")
    mismatches = [
        f"{what}: run {info.id} had {theirs!r}, now {ours!r}"
        for what, theirs, ours in (
            ("playbook", info.playbook_hash, meta.playbook_hash),
            ("inventory", info.inventory, meta.inventory),
            ("inventory contents (sha256)", info.inventory_hash, meta.inventory_hash),
            ("-e values", info.vars_hash, meta.vars_hash),
            ("mode", info.mode, meta.mode),
            ("--limit", info.pattern, meta.pattern),
            ("--rerun", info.rerun, meta.rerun),
        )
        # "" is a hash a 0.1 run never had; a pattern or rerun set of None is a real value
        if theirs != ours and (theirs or what in ("--limit", "--rerun"))
    ]
    if mismatches:
        shown = [m.replace(info.playbook_hash, "sha256 " + info.playbook_hash[:12]) for m in mismatches]
        raise HistoryError(
            f"cannot resume run {info.id}: it must run the same plan; different " + "; ".join(shown)
        )
    kept = [r for r in records if not _unfinished(r)]
    recorded = {(r.host, r.address) for r in kept}
    todo = [h for h in hosts if (h.name, h.address) not in recorded]
    if not todo and info.status == "finished":
        raise HistoryError(f"run {info.id} finished with every host recorded: nothing to resume")
    return Resume(info, [host_result(r) for r in kept], todo)


def _unfinished(r: HostRecord) -> bool:
    """Recorded, but never run to its end: run again by --resume."""
    error = r.error or ""
    return (r.verdict == "failed" and error.startswith(WORKER_LOST)) or (
        r.verdict == "skipped" and error.startswith(NOT_STARTED)
    )


def rerun_hosts(
    db: str | None, which: str, ref: str | None, *, playbook: str, inventory: str
) -> tuple[RunInfo, list[HostRecord]]:
    """Bolt's --rerun: the hosts of run REF (default: the newest run of this playbook and
    inventory) whose verdict is `which` (failed, unreachable, not-ok)."""
    if which not in RERUN:
        raise HistoryError(f"--rerun: expected one of {', '.join(RERUN)}, got {which!r}")
    store = Store.open(db, create=False)
    try:
        if ref is not None:
            info = store.run(ref)
        else:
            found = store.runs(playbook=playbook, inventory=inventory, limit=1)
            if not found:
                raise HistoryError(
                    f"--rerun: no earlier run of {playbook} on {inventory} in {store.url_display}"
                )
            info = found[0]
        records = [r for r in store.host_records(run_id=info.id) if r.verdict in RERUN[which]]
    finally:
        store.close()
    return info, records
