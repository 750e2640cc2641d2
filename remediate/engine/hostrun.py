"""One host's run: connect once, run the checks, then the fix policy (plan.py), one HostResult.

Every exception inside becomes this host's result; nothing here raises to the scheduler except
cancellation. Results leave raw: the scheduler redacts each HostResult once (redaction.py); step
events carry a redacted copy.

Faults: the whole host is bounded by its budget (budget.py; --host-timeout overrides it). When
`stop` is set (Ctrl-C) the running step is cancelled (a running fix first gets FIX_STOP_GRACE
seconds to end on its own), which makes the transport signal its
command to terminate (WinRS Signal terminate, PSRP stop, SSH channel close); the step is recorded
with error "interrupted". A check that did not complete leaves the checks that read its facts
skipped ("depends on <id> (timed out)"), never evaluated on an undefined fact (deps.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from remediate.core import diagnosis, parsing
from remediate.core.diagnosis import DIAGNOSIS_FAILED, Diagnosis
from remediate.core.errors import CommandTimeout, TransportError
from remediate.core.errors import error_text as _err
from remediate.core.model import ConnectionSpec
from remediate.core.playbook import Check
from remediate.core.redact import Redactor
from remediate.core.render import context_for
from remediate.core.results import HostResult, Phase, StepResult, Verdict
from remediate.engine import cmdjoin
from remediate.engine.budget import host_budget
from remediate.engine.connect import STEP_GRACE, connect, safe_close
from remediate.engine.deps import fact_refs
from remediate.engine.events import RunEvents
from remediate.engine.lockout import CredentialGuard
from remediate.engine.options import RunOptions
from remediate.engine.plan import FixPolicy
from remediate.engine.reachability import unreachable_diagnosis
from remediate.engine.redaction import redact_step
from remediate.engine.steprecords import unrun_step, why_incomplete
from remediate.transports.base import Transport

if TYPE_CHECKING:
    from remediate.core.playbook import Fix, Playbook
    from remediate.core.render import Renderer
    from remediate.inventory import Host


CLOSE_AFTER_STOP = 2.0  # seconds a host waits to close its connection once the run is stopping
FIX_STOP_GRACE = 2.5  # seconds a running fix may take to end after Ctrl-C before it is cancelled


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C) between two steps of this host."""


class StepFailed(Exception):
    """Internal: ends the host flow with a failed verdict."""


def fix_reports_failure(parsed: Any) -> bool:
    """A fix's parse says it failed: {"success": false} (slmgr-ato / ospp-act shape)."""
    return isinstance(parsed, Mapping) and parsed.get("success") is False


class HostRun:
    def __init__(
        self,
        *,
        playbook: Playbook,
        host: Host,
        spec: ConnectionSpec,
        options: RunOptions,
        renderer: Renderer,
        redactor: Redactor,
        guard: CredentialGuard,
        transport_factory: Callable[[ConnectionSpec], Transport],
        events: RunEvents,
        stop: asyncio.Event,
        tcp_probe: bool = False,
    ) -> None:
        self.playbook, self.host, self.spec, self.options = playbook, host, spec, options
        self.renderer, self.redactor, self.guard = renderer, redactor, guard
        self.transport_factory, self.events, self.stop = transport_factory, events, stop
        self.facts: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.transport: Transport | None = None
        self.policy = FixPolicy(playbook, self)
        self.started = time.monotonic()
        self.host_vars = host.template_vars()  # secrets removed; -e vars are their top layer
        self.budget = host_budget(playbook, spec, options)
        self.incomplete: dict[str, str] = {}  # check id -> why it did not complete ("timed out")
        self.tcp_probe = tcp_probe
        self.fix_running = False

    # ---- public entry -------------------------------------------------------------------
    async def run(self) -> HostResult:
        try:
            result = await self._until_stopped()
        except TimeoutError:
            verdict: Verdict = "failed" if self.transport is not None else "unreachable"
            result = self._result(verdict, f"host timed out after {self.budget:g}s")
        except Interrupted:
            if self.policy.ran:
                msg = f"interrupted after fixes {', '.join(self.policy.ran)} ran; not verified"
                result = self._result("failed", msg)
            else:
                result = self._result("skipped", "interrupted")
        except StepFailed as e:
            result = self._diagnosed("failed", str(e))
        except Exception as e:  # any host error becomes this host's result, never the run's
            result = self._result("failed", _err(e))
        finally:
            await self._close()
        return result

    # ---- flow ---------------------------------------------------------------------------
    async def _until_stopped(self) -> HostResult:
        """The flow within the host's budget; cancelled (-> Interrupted) as soon as `stop` is set."""
        flow = asyncio.ensure_future(self._timed())
        stopper = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({flow, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if self.fix_running and not flow.done():
                # A fix that changes the host gets a moment to end on its own (it then stops at
                # check_stop): a cut-short change is worse than a late exit.
                await asyncio.wait({flow}, timeout=FIX_STOP_GRACE)
        finally:
            stopper.cancel()
            if not flow.done():
                flow.cancel()  # the transport signals the running command to terminate
                # let the flow settle (its connection assigned or not) before run() closes it
                await asyncio.wait({flow}, timeout=CLOSE_AFTER_STOP)
        try:
            return await flow
        except asyncio.CancelledError:
            if not self.stop.is_set():
                raise
            raise Interrupted from None

    async def _timed(self) -> HostResult:
        async with asyncio.timeout(self.budget):
            return await self._flow()

    async def _flow(self) -> HostResult:
        opts = self.options
        connected = await connect(
            self.spec,
            self.transport_factory,
            self.guard,
            retries=opts.retries,
            backoff=opts.retry_backoff,
            stop=self.stop,
            tcp_probe=self.tcp_probe,
        )
        if isinstance(connected, str):
            result = self._result("unreachable", connected)
            result.diagnosis = [unreachable_diagnosis(connected, self.spec.connection, self.spec.port)]
            return result
        self.transport = connected
        steps = await self.run_checks(self.playbook.checks, "check")
        broken = [f"{step.id}: {step.error}" for step in steps if step.error is not None]
        if all(step.passed for step in steps):
            return self._result("compliant")
        if broken:  # a check could not run: do not act on partial evidence
            return self._diagnosed("failed", "check could not run: " + "; ".join(broken))
        outcome = await self.policy.apply() if self.options.apply else self.policy.dry_run()
        if outcome.verdict in ("fixed", "compliant"):
            return self._result(outcome.verdict)
        return self._diagnosed(outcome.verdict, outcome.error)

    # ---- steps --------------------------------------------------------------------------
    async def run_checks(self, checks: Sequence[Check], phase: Phase) -> list[StepResult]:
        """Run checks in order; runs of independent plain cmd checks go as one command (cmdjoin.py)."""
        out: list[StepResult] = []
        pending: list[tuple[Check, str]] = []

        async def flush() -> None:
            if len(pending) > 1:
                out.extend(await self._batch(list(pending), phase))
            else:
                out.extend([await self._step(c, phase) for c, _ in pending])
            pending.clear()

        for check in checks:
            self.check_stop()
            batchable = self.options.batch and cmdjoin.independent(check, self.renderer)
            if not batchable:
                await flush()  # a dependent check sees the facts of every check before it
            if missing := self._missing_facts(check):
                out.append(self._skip_dependant(check, phase, missing))
                continue
            if not self._applies(check):
                self.facts[check.id] = None  # skipped: later expressions can test it
                continue
            if batchable:
                try:
                    script = self.renderer.script(check.run, check.shell, self._context())
                except Exception:
                    script = ""  # _step renders again and records the error
                if cmdjoin.plain(script):
                    pending.append((check, script))
                    continue
                await flush()
            out.append(await self._step(check, phase))
        await flush()
        return out

    async def _batch(self, group: list[tuple[Check, str]], phase: Phase) -> list[StepResult]:
        """One WinRS command for several checks; falls back to one by one if it cannot split."""
        for check, _ in group:
            self.events.step_started(self.host.name, check.id, phase)
        mark = cmdjoin.marker()
        timeout = sum(c.timeout for c, _ in group)
        started, t0 = time.time(), time.monotonic()
        assert self.transport is not None
        script, shell = cmdjoin.combine([s for _, s in group], mark), group[0][0].shell
        failure: str | None = None
        parts: list[str] | None = None
        try:
            res = await asyncio.wait_for(
                self.transport.run(script, shell=shell, timeout=timeout), timeout + STEP_GRACE
            )
            # cut output may have lost markers: run the checks one by one instead
            parts = None if res.truncated else cmdjoin.split(res.stdout, mark, len(group))
        except (CommandTimeout, TimeoutError):
            others = ", ".join(c.id for c, _ in group)
            failure = f"timed out after {timeout:g}s (one command with {others})"
        except TransportError as e:
            failure = _err(e)
        except asyncio.CancelledError:
            self._record_cancelled([c for c, _ in group], phase, started, t0)
            raise
        if failure is None and parts is None:  # markers lost (cut output, or they did not add up)
            return [await self._step(c, phase) for c, _ in group]
        # The command's time is shared by its checks, so the steps add up to the host's time.
        share = (time.monotonic() - t0) / len(group)
        results = []
        texts: list[str | None] = [*parts] if parts is not None else [None] * len(group)
        for (check, _), text in zip(group, texts, strict=True):
            if text is None:
                passed, error, text = False, failure, ""
            else:
                passed, error = self._judge(check, phase, None, text, "")
            result = StepResult(
                id=check.id,
                phase=phase,
                rc=None,  # one command ran them all: only the parsed output speaks for each
                stdout=text,
                stderr="",
                started=started,
                duration=share,
                passed=passed,
                error=error,
            )
            results.append(self._record(result))
        return results

    def _context(self) -> dict[str, Any]:
        applied = [p["id"] for p in self.policy.planned]
        return context_for(
            self.playbook.vars, self.host_vars, host=self.host.name, facts=self.facts, applied=applied
        )

    def _record(self, result: StepResult) -> StepResult:
        if result.error is None:
            self.incomplete.pop(result.id, None)
        elif result.phase != "fix":
            self.incomplete[result.id] = why_incomplete(result.error)
        self.steps.append(result)
        self.events.step_finished(self.host.name, redact_step(self.redactor, result))
        return result

    def _missing_facts(self, check: Check) -> list[str]:
        """The incomplete checks whose facts this check reads (it cannot be evaluated)."""
        refs = fact_refs(check.run, check.when)
        return [i for i in self.incomplete if i in refs and i != check.id]

    def _skip_dependant(self, check: Check, phase: Phase, missing: list[str]) -> StepResult:
        why = ", ".join(f"{i} ({self.incomplete[i]})" for i in missing)
        self.events.step_started(self.host.name, check.id, phase)
        return self._record(unrun_step(check.id, phase, time.time(), 0.0, f"skipped: depends on {why}"))

    def _record_cancelled(
        self, steps: Sequence[Check | Fix], phase: Phase, started: float, t0: float
    ) -> None:
        """The steps a cancellation cut short: Ctrl-C ("interrupted") or the host's budget."""
        why = "interrupted" if self.stop.is_set() else f"host timed out after {self.budget:g}s"
        share = (time.monotonic() - t0) / max(1, len(steps))
        for step in steps:
            self._record(unrun_step(step.id, phase, started, share, why))

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Interrupted

    def _applies(self, check: Check) -> bool:
        """A check with a false `when` (if the playbook format has one) is not run."""
        if not check.when:
            return True
        try:
            return bool(self.renderer.expr(check.when, self._context()))
        except Exception as e:
            raise StepFailed(f"check {check.id}: when: {_err(e)}") from e

    def holds(self, fix: Fix) -> bool:
        if not fix.when:
            return True
        try:
            return bool(self.renderer.expr(fix.when, self._context()))
        except Exception as e:
            raise StepFailed(f"fix {fix.id}: when: {_err(e)}") from e

    def describe(self, fix: Fix) -> str:
        if not fix.describe:
            return fix.id
        try:
            return self.renderer.text(fix.describe, self._context())
        except Exception as e:
            return f"{fix.id} (describe failed: {_err(e)})"

    async def claim(self) -> bool:
        """Before the first fix: RunOptions.before_fix (a blocking store call, so off the loop)."""
        hook = self.options.before_fix
        if hook is None:
            return True
        return await asyncio.to_thread(hook, self.host)

    async def run_fix(self, fix: Fix) -> StepResult:
        self.fix_running = True
        try:
            return await self._step(fix, "fix")
        finally:
            self.fix_running = False

    async def _step(self, step: Check | Fix, phase: Phase) -> StepResult:
        """Render, run, parse and judge one step; record it. Never raises (except cancel/stop)."""
        self.check_stop()
        self.events.step_started(self.host.name, step.id, phase)
        started, t0 = time.time(), time.monotonic()
        rc: int | None = None
        stdout = stderr = ""
        passed: bool | None = False
        error: str | None = None
        truncated: dict[str, int] = {}
        try:
            script = self.renderer.script(step.run, step.shell, self._context())
        except Exception as e:
            error = f"render: {_err(e)}"
        else:
            assert self.transport is not None
            try:
                res = await asyncio.wait_for(
                    self.transport.run(script, shell=step.shell, timeout=step.timeout),
                    step.timeout + STEP_GRACE,
                )
                rc, stdout, stderr, truncated = res.rc, res.stdout, res.stderr, dict(res.truncated)
            except (CommandTimeout, TimeoutError):
                error = f"timed out after {step.timeout:g}s"
            except TransportError as e:
                error = _err(e)
            except asyncio.CancelledError:
                self._record_cancelled([step], phase, started, t0)
                raise
        if error is None:
            passed, error = self._judge(step, phase, rc, stdout, stderr)
        result = StepResult(
            id=step.id,
            phase=phase,
            rc=rc,
            stdout=stdout,
            stderr=stderr,
            started=started,
            duration=time.monotonic() - t0,
            passed=passed,
            error=error,
            truncated=truncated,
        )
        return self._record(result)

    def _judge(
        self, step: Check | Fix, phase: Phase, rc: int | None, stdout: str, stderr: str
    ) -> tuple[bool, str | None]:
        parsed: Any = None
        if step.parse:
            try:
                parsed = parsing.parse(step.parse, stdout, stderr)
            except ValueError as e:
                self.facts[step.id] = None
                return False, f"parse {step.parse}: {e}"
            self.facts[step.id] = parsed
        if phase == "fix":
            return (rc == 0 and not fix_reports_failure(parsed)), None
        expect = step.expect if isinstance(step, Check) else None
        if not expect:  # an informational check: it passes when it ran (and parsed, if it parses)
            return (True if step.parse else rc == 0), None
        try:
            return bool(self.renderer.expr(expect, self._context())), None
        except Exception as e:
            return False, f"expect: {_err(e)}"

    # ---- connection ----------------------------------------------------------------------
    async def _close(self) -> None:
        if self.transport is not None:
            t, self.transport = self.transport, None
            # After Ctrl-C the run must end within seconds: do not wait long for a goodbye.
            wait = CLOSE_AFTER_STOP if self.stop.is_set() else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(safe_close(t)), wait)

    # ---- results ------------------------------------------------------------------------
    def _result(self, verdict: Verdict, error: str | None = None) -> HostResult:
        return HostResult(
            host=self.host.name,
            verdict=verdict,
            facts=self.facts,
            steps=self.steps,
            planned=self.policy.planned,
            diagnosis=[],
            error=error,
            duration=time.monotonic() - self.started,
            changed=bool(self.policy.ran),
        )

    def _diagnosed(self, verdict: Verdict, error: str | None = None) -> HostResult:
        result = self._result(verdict, error)
        if verdict == "would_fix" and self.policy.findings is not None:
            result.diagnosis = self.policy.findings  # exactly what the plan was made from
        else:
            result.diagnosis = self.diagnose(result.failed_step_ids())
        return result

    def diagnose(self, failed_steps: list[str]) -> list[Diagnosis]:
        if not self.playbook.diagnose:
            return []
        try:
            found = diagnosis.get(self.playbook.diagnose)
            return list(found.diagnose(self.facts, failed_steps, self._context()))
        except Exception as e:  # a diagnosis bug must not hide the verdict (and plans no fix)
            return [
                Diagnosis(None, DIAGNOSIS_FAILED, _err(e), "report this as a bug", False),
            ]
