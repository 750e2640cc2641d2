"""A host's result as the store keeps it (HostRecord) and back, for the controller's console.

Workers write HostRecords; the controller reads them and hands HostResults to the same RunEvents
observers a local run uses. The round trip keeps the verdict, error, changed, duration, step
outcomes, tracked facts and the diagnosis codes and titles (what the recap groups by); it does
not keep a diagnosis's cause/action text or the planned fixes' descriptions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.core.results import HostResult, StepResult, Verdict
from remediate.history.records import HostRecord

STEP_KEYS = ("id", "phase", "rc", "passed", "error", "stdout", "stderr", "started", "duration")


def tracked(facts: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """The facts worth keeping: dotted path -> value, for the paths present."""
    out: dict[str, Any] = {}
    for path in paths:
        node: Any = facts
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                break
            node = node[part]
        else:
            out[path] = node
    return out


def record_of(
    run_id: int,
    result: HostResult,
    *,
    address: str,
    inventory: str,
    groups: tuple[str, ...] = (),
    site: str | None = None,
    tracked_facts: tuple[str, ...] = (),
) -> HostRecord:
    return HostRecord(
        run_id=run_id,
        host=result.host,
        address=address,
        inventory=inventory,
        verdict=result.verdict,
        finished=datetime.now(UTC),
        codes=tuple(d.code or d.cause_id or "" for d in result.diagnosis),
        titles=tuple(d.title for d in result.diagnosis),
        facts=tracked(result.facts, tracked_facts),
        error=result.error,
        changed=result.changed,
        groups=groups,
        site=site,
        steps=tuple({k: v for k, v in s.to_dict().items() if k in STEP_KEYS} for s in result.steps),
        duration=result.duration,
    )


def result_of(record: HostRecord) -> HostResult:
    verdict: Verdict = record.verdict  # type: ignore[assignment]  # the store keeps our verdicts
    diagnosis = [
        Diagnosis(code or None, title, "", "", False)
        for code, title in zip(record.codes, record.titles, strict=False)
    ]
    return HostResult(
        host=record.host,
        verdict=verdict,
        facts=dict(record.facts),
        steps=[StepResult.from_dict(dict(s)) for s in record.steps if "id" in s and "phase" in s],
        diagnosis=diagnosis,
        error=record.error,
        duration=record.duration,
        changed=record.changed,
    )
