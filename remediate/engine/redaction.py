"""The one place secrets are masked: every StepResult and HostResult on its way out of the engine.

The scheduler passes each finished HostResult through `redact_host` before anyone sees it (the
RunResult, every observer, so the JSON/JSONL/JUnit files and the store); a step event carries
`redact_step`'s copy. Inside the engine the raw text stays (parsers and templates need it).
"""

from __future__ import annotations

from dataclasses import replace

from remediate.core.diagnosis import Diagnosis
from remediate.core.redact import Redactor
from remediate.core.results import HostResult, StepResult


def redact_step(red: Redactor, s: StepResult) -> StepResult:
    return replace(
        s,
        stdout=red.text(s.stdout),
        stderr=red.text(s.stderr),
        error=None if s.error is None else red.text(s.error),
    )


def _redact_diagnosis(red: Redactor, d: Diagnosis) -> Diagnosis:
    return replace(
        d,
        title=red.text(d.title),
        cause=red.text(d.cause),
        action=red.text(d.action),
        evidence=tuple(red.text(x) for x in d.evidence),
    )


def redact_host(red: Redactor, r: HostResult) -> HostResult:
    """A copy of `r` with every registered secret masked in its text, facts, plan and diagnosis."""
    return replace(
        r,
        facts=red.obj(r.facts),
        steps=[redact_step(red, s) for s in r.steps],
        planned=[red.obj(p) for p in r.planned],
        diagnosis=[_redact_diagnosis(red, d) for d in r.diagnosis],
        error=None if r.error is None else red.text(r.error),
    )
