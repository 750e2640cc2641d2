"""Run events: what the engine tells its observer (the console) as a run progresses.

Subclass and override what you need; every method is a no-op by default. Called on the event
loop thread; keep them quick (no I/O that blocks for long).
"""

from __future__ import annotations

from collections.abc import Sequence

from remediate.core.results import HostResult, Phase, RunResult, StepResult


class RunEvents:
    def run_started(self, playbook: str, hosts: Sequence[str], mode: str) -> None: ...

    def host_started(self, host: str) -> None: ...

    def step_started(self, host: str, step_id: str, phase: Phase) -> None: ...

    def step_finished(self, host: str, step: StepResult) -> None: ...

    def host_finished(self, result: HostResult) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...
