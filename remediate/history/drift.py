"""Drift: hosts whose verdict or tracked facts changed, between two runs or over a window.

What counts as a change of which fact is the domains' business (Domain.change_rules); this
module only applies the rules. Facts are compared only where both observations have them: an
unreachable host reports no facts, so its facts are compared with the last record that had them
(coming back after a month away shows what changed meanwhile, not "everything vanished").
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from remediate.core import domain as domain_registry
from remediate.core.tracking import ChangeRule
from remediate.history.records import HostRecord, RunInfo
from remediate.history.timeline import UNREACHABLE, cutoff, identity, is_compliant, per_host


@dataclass(frozen=True)
class Change:
    fact: str  # "verdict", "codes" or a tracked fact path
    label: str  # for people: "became non-compliant", "Windows licence: channel"
    before: Any
    after: Any
    item: str | None = None  # the list item (product) it is about, matched by the rule's key


@dataclass(frozen=True)
class DriftEvent:
    inventory: str
    host: str
    address: str
    run_before: int
    run_after: int
    at: datetime  # when the later observation was made
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["at"] = self.at.isoformat()
        return d


@dataclass(frozen=True)
class DriftReport:
    events: list[DriftEvent]  # newest first
    since: datetime | None = None
    run_a: int | None = None
    run_b: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "run_a": self.run_a,
            "run_b": self.run_b,
            "events": [e.to_dict() for e in self.events],
        }


def shown(v: Any, none: str = "-") -> str:
    """A fact's value for people (tables, the report): lists joined, mappings as k=v."""
    if v is None:
        return none
    if isinstance(v, list | tuple):
        return ", ".join(shown(x, none) for x in v) or "(none)"
    if isinstance(v, dict):
        return " ".join(f"{k}={shown(x, none)}" for k, x in v.items())
    return str(v)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def _same(a: Any, b: Any, rule: ChangeRule) -> bool:
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (a, b))
    if numbers and rule.tolerance is not None:
        return bool(abs(a - b) <= rule.tolerance)
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(_canon, a)) == sorted(map(_canon, b))  # order carries no meaning
    return _canon(a) == _canon(b)


def _keyed(items: list[Any], key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i.get(key)): i for i in items if isinstance(i, Mapping)}


def fact_changes(path: str, before: Any, after: Any, rule: ChangeRule | None) -> list[Change]:
    """The changes between two observations of one fact, as its rule defines them."""
    rule = rule or ChangeRule(path)
    if rule.key and isinstance(before, list) and isinstance(after, list):
        a, b = _keyed(before, rule.key), _keyed(after, rule.key)
        out: list[Change] = []
        for k in [*a, *(k for k in b if k not in a)]:
            if k not in b:
                out.append(Change(path, f"{rule.label} removed", k, None, item=k))
            elif k not in a:
                out.append(Change(path, f"{rule.label} added", None, k, item=k))
            else:
                for fld, label in (rule.fields or {f: f for f in {*a[k], *b[k]}}).items():
                    x, y = a[k].get(fld), b[k].get(fld)
                    if not _same(x, y, rule):
                        out.append(Change(f"{path}.{fld}", f"{rule.label}: {label}", x, y, item=k))
        return out
    return [] if _same(before, after, rule) else [Change(path, rule.label, before, after)]


def _verdict_change(a: HostRecord, b: HostRecord) -> Change | None:
    if a.verdict == b.verdict or (is_compliant(a) and is_compliant(b)):
        return None  # fixed -> compliant is the same state
    if b.verdict == UNREACHABLE:
        label = "became unreachable"
    elif a.verdict == UNREACHABLE:
        label = "reachable again" + ("" if is_compliant(b) else ", not compliant")
    elif is_compliant(a) and not is_compliant(b):
        label = "became non-compliant"
    elif is_compliant(b) and not is_compliant(a):
        label = "became compliant"
    else:
        label = "verdict changed"
    return Change("verdict", label, a.verdict, b.verdict)


def compare(
    a: HostRecord, b: HostRecord, rules: Mapping[str, ChangeRule], facts_a: Mapping[str, Any] | None = None
) -> list[Change]:
    """Everything that changed from observation `a` to `b` of one host (`facts_a`: a's facts
    carried forward from an older record when `a` had none)."""
    out: list[Change] = []
    verdict = _verdict_change(a, b)
    if verdict:
        out.append(verdict)
    # an unreachable host was not diagnosed: its missing codes are no news
    reached = UNREACHABLE not in (a.verdict, b.verdict)
    new = [c for c in b.codes if c not in a.codes] if reached else []
    gone = [c for c in a.codes if c not in b.codes] if reached else []
    if new:
        out.append(Change("codes", "new diagnosis codes", list(a.codes), new))
    if gone:
        out.append(Change("codes", "diagnosis codes gone", gone, list(b.codes)))
    before = a.facts if facts_a is None else facts_a
    for path in [*before, *(p for p in b.facts if p not in before)]:
        if path in before and path in b.facts:
            out += fact_changes(path, before[path], b.facts[path], rules.get(path))
    return out


def _event(a: HostRecord, b: HostRecord, changes: list[Change]) -> DriftEvent:
    return DriftEvent(b.inventory, b.host, b.address, a.run_id, b.run_id, b.finished, tuple(changes))


def drift(
    runs: Sequence[RunInfo],
    records: Sequence[HostRecord],
    now: datetime,
    *,
    since: timedelta | datetime | None = None,
    run_a: int | None = None,
    run_b: int | None = None,
    rules: Mapping[str, ChangeRule] | None = None,
) -> DriftReport:
    """Between RUN_A and RUN_B (hosts recorded in both), or each host's changes inside the window
    `since` (a record just before the window is the baseline); newest first.

    `records` must include the baseline (records older than the window) for window mode.
    `rules`: tracked fact path -> rule; default every installed domain's.
    """
    rules = domain_registry.change_rules() if rules is None else rules
    events: list[DriftEvent] = []
    if run_a is not None or run_b is not None:
        if run_a is None or run_b is None:
            raise ValueError("drift between runs needs both RUN_A and RUN_B")
        a_recs = {identity(r): r for r in records if r.run_id == run_a}
        for r in records:
            if r.run_id == run_b and identity(r) in a_recs:
                changes = compare(a_recs[identity(r)], r, rules)
                if changes:
                    events.append(_event(a_recs[identity(r)], r, changes))
        events.sort(key=lambda e: e.at, reverse=True)
        return DriftReport(events, run_a=run_a, run_b=run_b)
    return drift_histories(per_host(runs, records).values(), now, since=since, rules=rules)


def drift_histories(
    histories: Iterable[Sequence[HostRecord]],
    now: datetime,
    *,
    since: timedelta | datetime | None = None,
    rules: Mapping[str, ChangeRule] | None = None,
) -> DriftReport:
    """Window mode over per-host histories (Store.histories streams them one at a time)."""
    rules = domain_registry.change_rules() if rules is None else rules
    start = cutoff(now, since)
    events = [e for history in histories for e in host_events(history, start, rules)]
    events.sort(key=lambda e: e.at, reverse=True)
    return DriftReport(events, since=start)


def host_events(
    history: Sequence[HostRecord], start: datetime | None, rules: Mapping[str, ChangeRule]
) -> list[DriftEvent]:
    """One host's changes (oldest first) whose later observation is at or after `start`."""
    events: list[DriftEvent] = []
    facts: dict[str, Any] = {}  # the latest value of each fact seen so far
    for a, b in pairwise(history):
        facts.update(a.facts)
        if start is not None and b.finished < start:
            continue
        changes = compare(a, b, rules, facts)
        if changes:
            events.append(_event(a, b, changes))
    return events
