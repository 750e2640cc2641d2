"""Run events: what the engine tells its observers (the console, the JSONL stream) as a run goes.

Subclass and override what you need; every method is a no-op by default. Called on the event
loop thread; keep them quick (a JSONL line, a progress redraw). Everything an observer receives
is already redacted. `Observers` fans one run's events out to several observers.
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


class Observers(RunEvents):
    """Several observers as one, called in the order given (None entries are left out)."""

    def __init__(self, *observers: RunEvents | None) -> None:
        self.observers = [o for o in observers if o is not None]

    def run_started(self, playbook: str, hosts: Sequence[str], mode: str) -> None:
        for o in self.observers:
            o.run_started(playbook, hosts, mode)

    def host_started(self, host: str) -> None:
        for o in self.observers:
            o.host_started(host)

    def step_started(self, host: str, step_id: str, phase: Phase) -> None:
        for o in self.observers:
            o.step_started(host, step_id, phase)

    def step_finished(self, host: str, step: StepResult) -> None:
        for o in self.observers:
            o.step_finished(host, step)

    def host_finished(self, result: HostResult) -> None:
        for o in self.observers:
            o.host_finished(result)

    def run_finished(self, result: RunResult) -> None:
        for o in self.observers:
            o.run_finished(result)
