"""The compliance report's content, built from history records (render.py draws it as HTML / CSV).

Compliance % is compliant hosts / hosts recorded in the run (an unreachable or failed host is
not known to be compliant, so it counts against). Groups, sites, top diagnoses and the hosts
non-compliant longest use each host's latest record in the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from remediate.core import domain as domain_registry
from remediate.history.drift import DriftEvent, DriftReport, host_events
from remediate.history.forecast import Forecast, ForecastEntry, finish, host_entries
from remediate.history.records import HostRecord, RunInfo, jsonable
from remediate.history.timeline import cutoff, identity, is_compliant, per_host, trailing


class _Compliance:
    compliant: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.compliant / self.total if self.total else 0.0


@dataclass(frozen=True)
class CompliancePoint(_Compliance):
    run_id: int
    started: datetime
    kind: str
    compliant: int
    total: int


@dataclass(frozen=True)
class Share(_Compliance):
    name: str  # a group or a site
    compliant: int
    total: int


@dataclass(frozen=True)
class Diagnosis:
    code: str
    title: str
    hosts: int


@dataclass(frozen=True)
class HostRow:
    """One host's latest record in the window (a CSV row)."""

    inventory: str
    host: str
    address: str
    site: str | None
    groups: tuple[str, ...]
    verdict: str
    codes: tuple[str, ...]
    error: str | None
    last_run: int
    last_seen: datetime
    non_compliant_since: datetime | None  # the first of its latest non-compliant records in a row
    last_reached: datetime | None  # its latest record that was not unreachable


@dataclass(frozen=True)
class WindowRow:
    host: str
    address: str
    before: str | None  # verdict in the last sweep before the change window
    during: str  # verdict in the apply run
    after: str | None  # verdict in the first sweep after it


@dataclass(frozen=True)
class ChangeWindow:
    run: RunInfo
    before_run: int | None
    after_run: int | None
    rows: list[WindowRow]


@dataclass(frozen=True)
class Report:
    generated: datetime
    since: datetime
    runs: list[RunInfo]  # newest first
    series: list[CompliancePoint]  # oldest first, one per run
    by_group: list[Share]
    by_site: list[Share]
    top_diagnoses: list[Diagnosis]
    longest: list[HostRow]  # non-compliant hosts, longest first
    hosts: list[HostRow]
    drift: DriftReport
    forecast: Forecast
    change_window: ChangeWindow | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["drift"] = self.drift.to_dict()
        d["forecast"] = self.forecast.to_dict()
        out: dict[str, Any] = jsonable(d)
        return out



def _shares(rows: Sequence[HostRow], keys: Any) -> list[Share]:
    total: Counter[str] = Counter()
    ok: Counter[str] = Counter()
    for r in rows:
        for k in keys(r):
            total[k] += 1
            ok[k] += r.verdict in ("compliant", "fixed")
    return [Share(k, ok[k], n) for k, n in sorted(total.items(), key=lambda kv: (ok[kv[0]] / kv[1], kv[0]))]


def _change_runs(runs: Sequence[RunInfo]) -> tuple[RunInfo, RunInfo | None, RunInfo | None] | None:
    """The last apply in the window, the last sweep before it and the first sweep after it."""
    applies = [r for r in runs if r.mode == "apply"]
    if not applies:
        return None
    last = max(applies, key=lambda r: r.started)
    end = last.finished or last.started
    sweeps = sorted((r for r in runs if r.kind == "sweep"), key=lambda r: r.started)
    before = next((s for s in reversed(sweeps) if s.started < last.started), None)
    after = next((s for s in sweeps if s.started >= end), None)
    return last, before, after


def _change_window(
    which: tuple[RunInfo, RunInfo | None, RunInfo | None] | None, kept: dict[int, list[HostRecord]]
) -> ChangeWindow | None:
    if which is None:
        return None
    last, before, after = which
    verdicts = {
        run.id: {identity(r): r.verdict for r in kept.get(run.id, [])} for run in (before, after) if run
    }
    rows = [
        WindowRow(
            r.host,
            r.address,
            verdicts[before.id].get(identity(r)) if before else None,
            r.verdict,
            verdicts[after.id].get(identity(r)) if after else None,
        )
        for r in kept.get(last.id, [])
    ]
    return ChangeWindow(last, before.id if before else None, after.id if after else None, rows)


def _host_row(hist: Sequence[HostRecord]) -> HostRow:
    last = hist[-1]
    bad = trailing(hist, lambda r: not is_compliant(r))
    reached = [r for r in hist if r.verdict != "unreachable"]
    return HostRow(
        last.inventory, last.host, last.address, last.site, last.groups, last.verdict, last.codes,
        last.error, last.run_id, last.finished, bad[0].finished if bad else None,
        reached[-1].finished if reached else None,
    )  # fmt: skip


def build_report(
    runs: Sequence[RunInfo],
    records: Sequence[HostRecord],
    now: datetime,
    since: timedelta | datetime = timedelta(days=30),
    *,
    days: int = 30,
) -> Report:
    """The report over runs started since `since` (records before it serve as drift's baseline)."""
    return build_report_from(runs, per_host(runs, records).values(), now, since, days=days)


def build_report_from(
    runs: Sequence[RunInfo],
    histories: Iterable[Sequence[HostRecord]],
    now: datetime,
    since: timedelta | datetime = timedelta(days=30),
    *,
    days: int = 30,
) -> Report:
    """The report from per-host histories, read once, one host at a time (Store.histories), so
    memory holds the report, not the history: `runs` gives the series' totals per run."""
    start = cutoff(now, since)
    assert start is not None
    window_runs = sorted((r for r in runs if r.started >= start), key=lambda r: r.started)
    in_window = {r.id for r in window_runs}
    which = _change_runs(window_runs)
    kept: dict[int, list[HostRecord]] = {r.id: [] for r in (which or ()) if r is not None}
    ok: Counter[int] = Counter()
    total: Counter[int] = Counter()
    rows: list[HostRow] = []
    titles: dict[str, str] = {}
    counts: Counter[str] = Counter()
    rules = domain_registry.change_rules()
    read = domain_registry.expiries
    events: list[DriftEvent] = []
    entries: list[ForecastEntry] = []
    for history in histories:
        events += host_events(history, start, rules)
        entries += host_entries(history, now, read)
        hist = [r for r in history if r.run_id in in_window]
        for r in hist:
            total[r.run_id] += 1
            ok[r.run_id] += is_compliant(r)
            if r.run_id in kept:
                kept[r.run_id].append(r)
        if not hist:
            continue
        rows.append(_host_row(hist))
        last = hist[-1]
        for i, code in enumerate(dict.fromkeys(last.codes)):
            counts[code] += 1
            if not titles.get(code):
                titles[code] = last.titles[i] if i < len(last.titles) else ""
    series = [
        CompliancePoint(run.id, run.started, run.kind, ok[run.id], total[run.id]) for run in window_runs
    ]
    rows.sort(key=lambda r: (r.inventory, r.host, r.address))
    longest = sorted(
        (r for r in rows if r.non_compliant_since), key=lambda r: (r.non_compliant_since, r.host)
    )
    events.sort(key=lambda e: e.at, reverse=True)
    return Report(
        generated=now,
        since=start,
        runs=window_runs[::-1],
        series=series,
        by_group=_shares(rows, lambda r: r.groups or ("(none)",)),
        by_site=_shares(rows, lambda r: (r.site or "(none)",)),
        top_diagnoses=[Diagnosis(c, titles[c], n) for c, n in counts.most_common(10)],
        longest=longest,
        hosts=rows,
        drift=DriftReport(events, since=start),
        forecast=finish(entries, now, days),
        change_window=_change_window(which, kept),
    )
