"""One host's run: connect once, checks -> (planned | fixes -> verify), one HostResult.

Every exception inside becomes this host's result; nothing here raises to the scheduler except
cancellation. All text that leaves (stdout, stderr, errors, facts) goes through the Redactor.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from remediate.core import diagnosis, parsing
from remediate.core.diagnosis import CHECK_CAUSE, Diagnosis
from remediate.core.errors import CommandTimeout, TransportError
from remediate.core.errors import error_text as _err
from remediate.core.model import ConnectionSpec
from remediate.core.playbook import Check
from remediate.core.redact import Redactor
from remediate.core.render import context_for
from remediate.core.results import HostResult, Phase, StepResult, Verdict
from remediate.engine import cmdjoin
from remediate.engine.connect import STEP_GRACE, connect, safe_close
from remediate.engine.events import RunEvents
from remediate.engine.lockout import CredentialGuard
from remediate.engine.reachability import unreachable_diagnosis
from remediate.transports.base import Transport

if TYPE_CHECKING:
    from remediate.core.playbook import Fix, Playbook
    from remediate.core.render import Renderer
    from remediate.engine.scheduler import RunOptions
    from remediate.inventory import Host


DIAGNOSIS_FAILED = "Diagnosis failed"


class Interrupted(Exception):
    """The run was asked to stop (Ctrl-C) between two steps of this host."""


class StepFailed(Exception):
    """Internal: ends the host flow with a failed verdict."""


def _rc_text(rc: int | None) -> str:
    """rc=1, or for HRESULT-like codes also the hex Windows prints: rc=-1073418124 (0xC004F074)."""
    if rc is not None and (rc < 0 or rc > 0xFFFF):
        return f"rc={rc} (0x{rc & 0xFFFFFFFF:08X})"
    return f"rc={rc}"


def template_context(playbook: Playbook, host: Host) -> dict[str, Any]:
    """What templates and expressions see (besides `facts`): playbook vars < host vars (which hold
    the -e extra vars), `host` and `inventory_hostname`; render.context_for is the one definition."""
    return context_for(playbook.vars, host.template_vars(), host=host.name)


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
    ) -> None:
        self.playbook, self.host, self.spec, self.options = playbook, host, spec, options
        self.renderer, self.redactor, self.guard = renderer, redactor, guard
        self.transport_factory, self.events, self.stop = transport_factory, events, stop
        self.facts: dict[str, Any] = {}
        self.steps: list[StepResult] = []
        self.planned: list[dict[str, str]] = []
        self.transport: Transport | None = None
        self.fixes_ran: list[str] = []
        self.findings: list[Diagnosis] | None = None  # the diagnosis the plan is made from
        self.started = time.monotonic()
        self.base_context = template_context(playbook, host)

    # ---- public entry -------------------------------------------------------------------
    async def run(self) -> HostResult:
        try:
            if self.options.host_timeout:
                async with asyncio.timeout(self.options.host_timeout):
                    result = await self._flow()
            else:
                result = await self._flow()
        except TimeoutError:
            verdict: Verdict = "failed" if self.transport is not None else "unreachable"
            result = self._result(verdict, f"host timed out after {self.options.host_timeout:g}s")
        except Interrupted:
            if self.fixes_ran:
                msg = f"interrupted after fixes {', '.join(self.fixes_ran)} ran; not verified"
                result = self._result("failed", msg)
            else:
                result = self._result("skipped", "interrupted")
        except StepFailed as e:
            result = self._diagnosed("failed", str(e))
        except Exception as e:  # any host error becomes this host's result, never the run's
            result = self._result("failed", _err(e))
        finally:
            await self._close()
        return self._redacted(result)

    # ---- flow ---------------------------------------------------------------------------
    async def _flow(self) -> HostResult:
        opts = self.options
        connected = await connect(
            self.spec,
            self.transport_factory,
            self.guard,
            retries=opts.retries,
            backoff=opts.retry_backoff,
            stop=self.stop,
        )
        if isinstance(connected, str):
            result = self._result("unreachable", connected)
            result.diagnosis = [unreachable_diagnosis(connected, self.spec.connection, self.spec.port)]
            return result
        self.transport = connected
        pb = self.playbook
        steps = await self._run_checks(pb.checks, "check")
        checks_ok = all(step.passed for step in steps)
        broken = [f"{step.id}: {step.error}" for step in steps if step.error is not None]
        if checks_ok:
            return self._result("compliant")
        if broken:  # a check could not run: do not act on partial evidence
            return self._diagnosed("failed", "check could not run: " + "; ".join(broken))
        # One diagnosis, made from the checks' facts, decides the plan in a dry run and an apply.
        self.findings = self._diagnose(self._failed_steps())
        causes = self._causes(self.findings)
        if not self.options.apply:
            for fix in pb.fixes:
                link = self._eligible(fix, causes)
                if link is not None:
                    self.planned.append(self._plan(fix, link))
            if self.planned:
                return self._diagnosed("would_fix")
            return self._diagnosed("failed", self._no_fix_text())
        return await self._apply(causes)

    async def _apply(self, causes: dict[str, str]) -> HostResult:
        pb = self.playbook
        held: list[str] = []
        for fix in pb.fixes:
            self._check_stop()
            link = self._eligible(fix, causes)
            if link is None:
                continue
            if fix.recheck:  # read the precondition again right before a fix that replaces state
                by_id = {c.id: c for c in pb.checks}
                fresh = await self._run_checks([by_id[c] for c in fix.recheck], "recheck")
                if bad := [f"{s.id}: {s.error}" for s in fresh if s.error is not None]:
                    why = f"fix {fix.id} not run: recheck failed: {'; '.join(bad)}"
                    return self._diagnosed("failed", why)
                self.findings = self._diagnose(self._failed_steps())
                causes = self._causes(self.findings)
                link = self._eligible(fix, causes)
                if link is None:
                    held.append(fix.id)
                    continue
            self.planned.append(self._plan(fix, link))
            self.fixes_ran.append(fix.id)
            step = await self._step(fix, "fix")
            if not step.passed:
                why = step.error or (_rc_text(step.rc) if step.rc else "its output reports failure")
                return self._diagnosed("failed", f"fix {fix.id} failed: {why}")
        if not self.fixes_ran:
            if held and self._latest_checks_pass():
                return self._result("compliant")  # the recheck found the host fine: nothing to do
            if held:
                failed_diag = any(d.title == DIAGNOSIS_FAILED for d in self.findings or [])
                why = "the diagnosis failed on the rechecked facts" if failed_diag else (
                    "its precondition no longer held when rechecked"
                )
                return self._diagnosed("failed", f"fix {', '.join(held)} not run: {why}")
            return self._diagnosed("failed", self._no_fix_text())
        by_id = {c.id: c for c in pb.checks}
        verify = [by_id[i] for i in pb.verify if i in by_id] or list(pb.checks)
        bad = [step.id for step in await self._run_checks(verify, "verify") if not step.passed]
        if bad:
            return self._diagnosed("failed", "verify failed: " + ", ".join(bad))
        return self._result("fixed")

    def _latest_checks_pass(self) -> bool:
        last = {s.id: s for s in self.steps if s.phase in ("check", "recheck")}
        return all(s.passed for s in last.values())

    # ---- plan: which fixes, for which diagnosed causes --------------------------------------
    def _failed_steps(self) -> list[str]:
        return [s.id for s in self.steps if s.passed is False or s.error is not None]

    def _causes(self, findings: list[Diagnosis]) -> dict[str, str]:
        """Cause id -> title: the diagnosis's causes plus check:<id> for each check that failed
        its expect (the latest run of that check counts)."""
        causes = {d.cause_id: d.title for d in findings if d.cause_id}
        last = {s.id: s for s in self.steps if s.phase in ("check", "recheck")}
        for step in last.values():
            if step.passed is False and step.error is None:
                causes[CHECK_CAUSE + step.id] = f"check {step.id} failed"
        return causes

    def _eligible(self, fix: Fix, causes: dict[str, str]) -> list[str] | None:
        """The causes this fix addresses on this host, if it may run now; else None."""
        link = [c for c in fix.addresses if c in causes]
        if not link or not self._when(fix):
            return None
        return link

    def _plan(self, fix: Fix, link: list[str]) -> dict[str, Any]:
        causes = self._causes(self.findings or [])
        return {
            "id": fix.id,
            "describe": self._describe(fix),
            "addresses": link,
            "cause": "; ".join(dict.fromkeys(causes[c] for c in link)),
        }

    def _no_fix_text(self) -> str:
        fixable = [d.title for d in self.findings or [] if d.automatable]
        if fixable:
            return f"non-compliant and no fix applies (no fix's condition holds for {', '.join(fixable)})"
        return "non-compliant and no fix applies (none addresses a diagnosed cause)"

    # ---- steps --------------------------------------------------------------------------
    async def _run_checks(self, checks: Sequence[Check], phase: Phase) -> list[StepResult]:
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
            self._check_stop()
            batchable = self.options.batch and cmdjoin.independent(check, self.renderer)
            if not batchable:
                await flush()  # a dependent check sees the facts of every check before it
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
        parts: list[str] | None = None
        assert self.transport is not None
        script, shell = cmdjoin.combine([s for _, s in group], mark), group[0][0].shell
        try:
            res = await asyncio.wait_for(
                self.transport.run(script, shell=shell, timeout=timeout), timeout + STEP_GRACE
            )
            parts = cmdjoin.split(res.stdout, mark, len(group))
        except (CommandTimeout, TimeoutError, TransportError):
            parts = None
        if parts is None:
            return [await self._step(c, phase) for c, _ in group]
        share = (time.monotonic() - t0) / len(group)
        results = []
        for (check, _), text in zip(group, parts, strict=True):
            passed, error = self._judge(check, phase, None, text, "")
            result = StepResult(
                id=check.id,
                phase=phase,
                rc=None,  # one command ran them all: only the parsed output speaks for each
                stdout=self.redactor.text(text),
                stderr="",
                started=started,
                duration=share,
                passed=passed,
                error=None if error is None else self.redactor.text(error),
            )
            self.steps.append(result)
            self.events.step_finished(self.host.name, result)
            results.append(result)
        return results

    def _context(self) -> dict[str, Any]:
        # `applied`: fixes planned (dry run) or run (apply) so far, so a later fix can depend on them
        return {**self.base_context, "facts": self.facts, "applied": [p["id"] for p in self.planned]}

    def _check_stop(self) -> None:
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

    def _when(self, fix: Fix) -> bool:
        if not fix.when:
            return True
        try:
            return bool(self.renderer.expr(fix.when, self._context()))
        except Exception as e:
            raise StepFailed(f"fix {fix.id}: when: {_err(e)}") from e

    def _describe(self, fix: Fix) -> str:
        if not fix.describe:
            return fix.id
        try:
            return self.redactor.text(self.renderer.text(fix.describe, self._context()))
        except Exception as e:
            return f"{fix.id} (describe failed: {_err(e)})"

    async def _step(self, step: Check | Fix, phase: Phase) -> StepResult:
        """Render, run, parse and judge one step; record it. Never raises (except cancel/stop)."""
        self._check_stop()
        self.events.step_started(self.host.name, step.id, phase)
        started, t0 = time.time(), time.monotonic()
        rc: int | None = None
        stdout = stderr = ""
        passed: bool | None = False
        error: str | None = None
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
                rc, stdout, stderr = res.rc, res.stdout, res.stderr
            except (CommandTimeout, TimeoutError):
                error = f"timed out after {step.timeout:g}s"
            except TransportError as e:
                error = _err(e)
        if error is None:
            passed, error = self._judge(step, phase, rc, stdout, stderr)
        result = StepResult(
            id=step.id,
            phase=phase,
            rc=rc,
            stdout=self.redactor.text(stdout),
            stderr=self.redactor.text(stderr),
            started=started,
            duration=time.monotonic() - t0,
            passed=passed,
            error=None if error is None else self.redactor.text(error),
        )
        self.steps.append(result)
        self.events.step_finished(self.host.name, result)
        return result

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
            await asyncio.shield(safe_close(t))

    # ---- results ------------------------------------------------------------------------
    def _result(self, verdict: Verdict, error: str | None = None) -> HostResult:
        return HostResult(
            host=self.host.name,
            verdict=verdict,
            facts=self.facts,
            steps=self.steps,
            planned=self.planned,
            diagnosis=[],
            error=error,
            duration=time.monotonic() - self.started,
            changed=bool(self.fixes_ran),
        )

    def _diagnosed(self, verdict: Verdict, error: str | None = None) -> HostResult:
        result = self._result(verdict, error)
        if verdict == "would_fix" and self.findings is not None:
            result.diagnosis = self.findings  # exactly what the plan was made from
        else:
            result.diagnosis = self._diagnose(result.failed_step_ids())
        return result

    def _diagnose(self, failed_steps: list[str]) -> list[Diagnosis]:
        if not self.playbook.diagnose:
            return []
        try:
            found = diagnosis.get(self.playbook.diagnose)
            return list(found.diagnose(self.facts, failed_steps, self.base_context))
        except Exception as e:  # a diagnosis bug must not hide the verdict (and plans no fix)
            return [
                Diagnosis(None, DIAGNOSIS_FAILED, _err(e), "report this as a bug", False),
            ]

    def _redacted(self, r: HostResult) -> HostResult:
        red = self.redactor
        r.facts = red.obj(r.facts)
        r.error = None if r.error is None else red.text(r.error)
        r.planned = [red.obj(p) for p in r.planned]
        r.diagnosis = [
            Diagnosis(
                d.code,
                red.text(d.title),
                red.text(d.cause),
                red.text(d.action),
                d.automatable,
                tuple(red.text(x) for x in d.evidence),
                d.cause_id,
            )
            for d in r.diagnosis
        ]
        return r
