"""The fix policy: which fixes run on a host, for which diagnosed causes.

One diagnosis, made from the checks' facts, decides the plan in a dry run and in an apply, so the
dry run is the plan of the apply. A fix is eligible when its `addresses` names a cause on this
host (a diagnoser's cause id, or check:<id> for a check that failed its expect) and its `when`
holds. Before a fix with `recheck`, those checks run again and the diagnosis is made again from
the fresh facts: the fix runs only if it is still eligible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from remediate.core.diagnosis import CHECK_CAUSE, DIAGNOSIS_FAILED, Diagnosis
from remediate.core.results import StepResult, Verdict

if TYPE_CHECKING:
    from remediate.core.playbook import Check, Fix, Playbook
    from remediate.core.results import Phase


class HostSteps(Protocol):
    """What the policy needs from one host's run (hostrun.HostRun)."""

    steps: list[StepResult]

    async def run_checks(self, checks: Sequence[Check], phase: Phase) -> list[StepResult]: ...

    async def run_fix(self, fix: Fix) -> StepResult: ...

    async def claim(self) -> bool: ...  # may this host be changed? (RunOptions.before_fix)

    def holds(self, fix: Fix) -> bool: ...  # the fix's `when` on the current facts

    def describe(self, fix: Fix) -> str: ...

    def check_stop(self) -> None: ...

    def diagnose(self, failed_steps: list[str]) -> list[Diagnosis]: ...


CLAIMED_ELSEWHERE = "already claimed"  # the host's fixes belong to another process (before_fix)


@dataclass
class Outcome:
    verdict: Verdict  # would_fix, fixed, failed (or skipped: another process claimed the host)
    error: str | None = None


def rc_text(rc: int | None) -> str:
    """rc=1, or for HRESULT-like codes also the hex Windows prints: rc=-1073418124 (0xC004F074)."""
    if rc is not None and (rc < 0 or rc > 0xFFFF):
        return f"rc={rc} (0x{rc & 0xFFFFFFFF:08X})"
    return f"rc={rc}"


@dataclass
class FixPolicy:
    playbook: Playbook
    host: HostSteps
    findings: list[Diagnosis] | None = None  # the diagnosis the plan is made from
    planned: list[dict[str, Any]] = field(default_factory=list)  # planned (dry run) or run (apply)
    ran: list[str] = field(default_factory=list)  # ids of the fixes that ran

    def diagnose_once(self) -> dict[str, str]:
        """Diagnose from the facts so far; returns the host's causes (id -> title)."""
        self.findings = self.host.diagnose(self._failed_steps())
        return self._causes()

    def dry_run(self) -> Outcome:
        causes = self.diagnose_once()
        for fix in self.playbook.fixes:
            link = self._eligible(fix, causes)
            if link is not None:
                self.planned.append(self._plan(fix, link, causes))
        if self.planned:
            return Outcome("would_fix")
        return Outcome("failed", self._no_fix_text())

    async def apply(self) -> Outcome:
        pb, host = self.playbook, self.host
        causes = self.diagnose_once()
        by_id = {c.id: c for c in pb.checks}
        held: list[str] = []
        for fix in pb.fixes:
            host.check_stop()
            link = self._eligible(fix, causes)
            if link is None:
                continue
            if fix.recheck:  # read the precondition again right before a fix that replaces state
                fresh = await host.run_checks([by_id[c] for c in fix.recheck], "recheck")
                if bad := [f"{s.id}: {s.error}" for s in fresh if s.error is not None]:
                    return Outcome("failed", f"fix {fix.id} not run: recheck failed: {'; '.join(bad)}")
                causes = self.diagnose_once()
                link = self._eligible(fix, causes)
                if link is None:
                    held.append(fix.id)
                    continue
            if not self.ran and not await host.claim():
                return Outcome("skipped", CLAIMED_ELSEWHERE)
            self.planned.append(self._plan(fix, link, causes))
            self.ran.append(fix.id)
            step = await host.run_fix(fix)
            if not step.passed:
                why = step.error or (rc_text(step.rc) if step.rc else "its output reports failure")
                return Outcome("failed", f"fix {fix.id} failed: {why}")
        if not self.ran:
            if held and self._latest_checks_pass():
                return Outcome("compliant")  # the recheck found the host fine: nothing to do
            if held:
                broke = any(d.title == DIAGNOSIS_FAILED for d in self.findings or [])
                why = "the diagnosis failed on the rechecked facts" if broke else (
                    "its precondition no longer held when rechecked"
                )
                return Outcome("failed", f"fix {', '.join(held)} not run: {why}")
            return Outcome("failed", self._no_fix_text())
        verify = [by_id[i] for i in pb.verify if i in by_id] or list(pb.checks)
        bad = [step.id for step in await host.run_checks(verify, "verify") if not step.passed]
        if bad:
            return Outcome("failed", "verify failed: " + ", ".join(bad))
        return Outcome("fixed")

    def _latest_checks_pass(self) -> bool:
        last = {s.id: s for s in self.host.steps if s.phase in ("check", "recheck")}
        return all(s.passed for s in last.values())

    def _failed_steps(self) -> list[str]:
        return [s.id for s in self.host.steps if s.passed is False or s.error is not None]

    def _causes(self) -> dict[str, str]:
        """Cause id -> title: the diagnosis's causes plus check:<id> for each check that failed
        its expect (the latest run of that check counts)."""
        causes = {d.cause_id: d.title for d in self.findings or [] if d.cause_id}
        last = {s.id: s for s in self.host.steps if s.phase in ("check", "recheck")}
        for step in last.values():
            if step.passed is False and step.error is None:
                causes[CHECK_CAUSE + step.id] = f"check {step.id} failed"
        return causes

    def _eligible(self, fix: Fix, causes: dict[str, str]) -> list[str] | None:
        """The causes this fix addresses on this host, if it may run now; else None."""
        link = [c for c in fix.addresses if c in causes]
        if not link or not self.host.holds(fix):
            return None
        return link

    def _plan(self, fix: Fix, link: list[str], causes: dict[str, str]) -> dict[str, Any]:
        return {
            "id": fix.id,
            "describe": self.host.describe(fix),
            "addresses": link,
            "cause": "; ".join(dict.fromkeys(causes[c] for c in link)),
        }

    def _no_fix_text(self) -> str:
        fixable = [d.title for d in self.findings or [] if d.automatable]
        if fixable:
            return f"non-compliant and no fix applies (no fix's condition holds for {', '.join(fixable)})"
        return "non-compliant and no fix applies (none addresses a diagnosed cause)"
