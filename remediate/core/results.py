"""Result records: StepResult -> HostResult -> RunResult, and the exit code they imply.

These are plain dataclasses so the writers (JSON, JSONL, JUnit), the console and the history
store all read the same shape. Everything here is already redacted by the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from remediate.core.diagnosis import Diagnosis
from remediate.core.fleet import FleetFinding

Verdict = Literal["compliant", "would_fix", "fixed", "failed", "unreachable", "skipped"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
Phase = Literal["check", "recheck", "fix", "verify"]  # recheck: a fix's precondition, read again
Mode = Literal["dry_run", "apply"]

# Exit codes (DESIGN.md): bits combine, 2|4 -> 6.
EXIT_OK = 0
EXIT_USAGE = 1
EXIT_NONCOMPLIANT = 2
EXIT_UNREACHABLE = 4
EXIT_OUTPUT = 8  # a result file (JSON, JSONL, JUnit, hosts file) could not be written
EXIT_INTERRUPTED = 130


@dataclass
class StepResult:
    id: str
    phase: Phase
    rc: int | None  # None: the command never completed (timeout, transport error)
    stdout: str
    stderr: str
    started: float  # epoch seconds
    duration: float  # seconds
    passed: bool | None  # check/verify: expect held; fix: rc == 0 and parse did not report failure
    error: str | None = None  # why the step could not run or be judged
    # stream -> bytes dropped from the middle of its output (the output cap, core/capture.py)
    truncated: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "phase": self.phase,
            "rc": self.rc,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "started": round(self.started, 3),
            "duration": round(self.duration, 3),
            "passed": self.passed,
            "error": self.error,
        }
        if self.truncated:
            d["truncated"] = dict(self.truncated)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepResult:
        return cls(
            id=d["id"],
            phase=d["phase"],
            rc=d.get("rc"),
            stdout=d.get("stdout", ""),
            stderr=d.get("stderr", ""),
            started=float(d.get("started", 0.0)),
            duration=float(d.get("duration", 0.0)),
            passed=d.get("passed"),
            error=d.get("error"),
            truncated={str(k): int(v) for k, v in (d.get("truncated") or {}).items()},
        )


@dataclass
class HostResult:
    host: str
    verdict: Verdict
    facts: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    # [{id, describe, addresses: [cause ids], cause: titles}]: planned (dry run) or run (apply)
    planned: list[dict[str, Any]] = field(default_factory=list)
    diagnosis: list[Diagnosis] = field(default_factory=list)
    error: str | None = None
    duration: float = 0.0
    changed: bool = False  # at least one fix ran on this host in this run (the breaker counts these)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "verdict": self.verdict,
            "error": self.error,
            "duration": round(self.duration, 3),
            "changed": self.changed,
            "planned": [dict(p) for p in self.planned],
            "diagnosis": [d.to_dict() for d in self.diagnosis],
            "facts": self.facts,
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HostResult:
        diags = [
            Diagnosis(
                code=x.get("code"),
                title=x.get("title", ""),
                cause=x.get("cause", ""),
                action=x.get("action", ""),
                automatable=bool(x.get("automatable", False)),
                evidence=tuple(x.get("evidence", ())),
                cause_id=x.get("cause_id"),
            )
            for x in d.get("diagnosis", [])
        ]
        return cls(
            host=d["host"],
            verdict=d["verdict"],
            facts=dict(d.get("facts") or {}),
            steps=[StepResult.from_dict(s) for s in d.get("steps", [])],
            planned=[dict(p) for p in d.get("planned", [])],
            diagnosis=diags,
            error=d.get("error"),
            duration=float(d.get("duration", 0.0)),
            changed=bool(d.get("changed", False)),
        )

    def failed_step_ids(self) -> list[str]:
        return [s.id for s in self.steps if s.passed is False or s.error is not None]


def host_groups(hosts: Sequence[HostResult]) -> dict[str, dict[str, list[str]]]:
    """Every host's name by verdict, by planned change (fix id) and by diagnosis title.

    `planned` holds the fixes a dry run would run, or an apply ran (a failed one included). A
    host is in one verdict group and in as many planned/diagnosis groups as it has entries. Run
    order inside a group; groups by verdict order, the others largest first.
    """
    verdict: dict[str, list[str]] = {v: [] for v in VERDICTS}
    planned: dict[str, list[str]] = {}
    diagnosis: dict[str, list[str]] = {}
    for h in hosts:
        verdict[h.verdict].append(h.host)
        for fix_id in dict.fromkeys(str(p.get("id", "?")) for p in h.planned):
            planned.setdefault(fix_id, []).append(h.host)
        for title in dict.fromkeys(d.title for d in h.diagnosis):
            diagnosis.setdefault(title, []).append(h.host)

    def largest_first(g: dict[str, list[str]]) -> dict[str, list[str]]:
        return dict(sorted(g.items(), key=lambda kv: (-len(kv[1]), kv[0])))

    return {
        "verdict": {v: names for v, names in verdict.items() if names},
        "planned": largest_first(planned),
        "diagnosis": largest_first(diagnosis),
    }


@dataclass
class RunResult:
    playbook: str
    mode: Mode
    started: float
    finished: float | None = None
    hosts: list[HostResult] = field(default_factory=list)
    interrupted: bool = False
    # across hosts (Domain.fleet), filled by the app after the run
    fleet_findings: list[FleetFinding] = field(default_factory=list)
    # Security opt-outs in force for this run (TLS validation off, ssh host keys unchecked, Basic
    # over http), one line each, naming the hosts: also logged once when the run starts.
    warnings: list[str] = field(default_factory=list)
    # result files that could not be written ("junit: FILE: reason"); set after the run, not saved
    output_errors: list[str] = field(default_factory=list)
    run_id: int | None = None  # the history store's row id and UUID, when the run was recorded
    run_uuid: str | None = None

    def counts(self) -> dict[str, int]:
        """Hosts per verdict, every verdict present (zeros included), in VERDICTS order."""
        c = Counter(h.verdict for h in self.hosts)
        return {v: c.get(v, 0) for v in VERDICTS}

    def groups(self) -> dict[str, dict[str, list[str]]]:
        """See host_groups: the JSON report's `groups` and the --hosts-file content."""
        return host_groups(self.hosts)

    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        code = EXIT_OK
        verdicts = {h.verdict for h in self.hosts}
        # would_fix is non-compliant in a dry run; skipped hosts were not made compliant either.
        if verdicts & {"failed", "would_fix", "skipped"}:
            code |= EXIT_NONCOMPLIANT
        if "unreachable" in verdicts:
            code |= EXIT_UNREACHABLE
        if self.output_errors:
            code |= EXIT_OUTPUT
        return code

    def to_dict(self) -> dict[str, Any]:
        return {
            "playbook": self.playbook,
            "mode": self.mode,
            "started": round(self.started, 3),
            "finished": None if self.finished is None else round(self.finished, 3),
            "interrupted": self.interrupted,
            "run_id": self.run_id,
            "run_uuid": self.run_uuid,
            "warnings": list(self.warnings),
            "exit_code": self.exit_code(),
            "counts": self.counts(),
            "groups": self.groups(),
            "fleet_findings": [f.to_dict() for f in self.fleet_findings],
            "hosts": [h.to_dict() for h in self.hosts],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunResult:
        return cls(
            playbook=d["playbook"],
            mode=d["mode"],
            started=float(d["started"]),
            finished=d.get("finished"),
            hosts=[HostResult.from_dict(h) for h in d.get("hosts", [])],
            interrupted=bool(d.get("interrupted", False)),
            fleet_findings=[FleetFinding.from_dict(f) for f in d.get("fleet_findings", [])],
            warnings=[str(w) for w in d.get("warnings", [])],
        )
