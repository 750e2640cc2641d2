"""Records put in time order and grouped per host: what drift, forecast and the report share.

Host identity is (inventory, host, address): two inventories' `WIN-0004` are two hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from remediate.history.records import HostRecord, RunInfo

Identity = tuple[str, str, str]  # (inventory, host, address)

# a host is compliant in a record when nothing is left to fix: it passed, or the run fixed it
COMPLIANT = frozenset({"compliant", "fixed"})
UNREACHABLE = "unreachable"


def identity(r: HostRecord) -> Identity:
    return (r.inventory, r.host, r.address)


def is_compliant(r: HostRecord) -> bool:
    return r.verdict in COMPLIANT


def ordered(runs: Sequence[RunInfo], records: Sequence[HostRecord]) -> list[HostRecord]:
    """Oldest first: by the start of the record's run (unknown runs by the record), then host finish."""
    started = {run.id: run.started for run in runs}
    return sorted(records, key=lambda r: (started.get(r.run_id, r.finished), r.finished, r.run_id))


def per_host(
    runs: Sequence[RunInfo], records: Sequence[HostRecord]
) -> dict[tuple[str, Identity], list[HostRecord]]:
    """Each host's records per playbook, oldest first: a host's kms run and its time-sync run
    are two histories (comparing one's verdict or facts with the other's would be noise)."""
    playbook = {run.id: run.playbook for run in runs}
    out: dict[tuple[str, Identity], list[HostRecord]] = {}
    for r in ordered(runs, records):
        out.setdefault((playbook.get(r.run_id, ""), identity(r)), []).append(r)
    return out


def cutoff(now: datetime, since: timedelta | datetime | None) -> datetime | None:
    """The start of a window given as a length back from `now` or as a time."""
    if since is None or isinstance(since, datetime):
        return since
    return now - since


def trailing(history: Sequence[HostRecord], pred: Callable[[HostRecord], bool]) -> list[HostRecord]:
    """The newest run of consecutive records for which `pred` holds (oldest first)."""
    out: list[HostRecord] = []
    for r in reversed(history):
        if not pred(r):
            break
        out.append(r)
    return out[::-1]
