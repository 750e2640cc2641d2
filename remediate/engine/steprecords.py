"""Records of steps that did not run to completion: skipped dependants, cancelled steps."""

from __future__ import annotations

from remediate.core.results import Phase, StepResult


def unrun_step(step_id: str, phase: Phase, started: float, duration: float, error: str) -> StepResult:
    """A step that produced no output: skipped (passed None) or cut short (passed False)."""
    return StepResult(
        id=step_id,
        phase=phase,
        rc=None,
        stdout="",
        stderr="",
        started=started,
        duration=duration,
        passed=None if error.startswith("skipped: ") else False,
        error=error,
    )


def why_incomplete(error: str) -> str:
    """The word a dependant's skip reason gives for a check that did not complete."""
    if error.startswith(("timed out", "host timed out")):
        return "timed out"
    if error == "interrupted":
        return "interrupted"
    if error.startswith("skipped: "):
        return "skipped"
    return "error"
