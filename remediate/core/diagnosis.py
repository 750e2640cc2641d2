"""What the engine attaches to a host result to explain it: error code -> cause -> action.

A finding may name a cause id (`kms.no_srv`): fixes declare the cause ids they address
(`addresses:` in a playbook), and the engine runs a fix only on a host whose diagnosis names one
of them. A diagnoser publishes its catalogue of cause ids so playbooks are checked at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

CHECK_CAUSE = "check:"  # "check:<id>": the generic cause "check <id> failed its expect"
DIAGNOSIS_FAILED = "Diagnosis failed"  # the title of the finding that stands for a diagnoser's crash


@dataclass(frozen=True)
class Diagnosis:
    code: str | None  # "0xC004F074", an event id like "event:12288", or None for evidence-only findings
    title: str  # short name for recaps, e.g. "Firewall between host and KMS"
    cause: str  # what is wrong on this host, from the evidence
    action: str  # what to do next
    automatable: bool  # can a playbook fix it
    evidence: tuple[str, ...] = ()  # the facts that led here, human readable
    cause_id: str | None = None  # stable id a fix can address ("kms.no_srv"); None: nothing to fix

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = list(self.evidence)
        return d


DiagnoseFn = Callable[[Mapping[str, Any], Sequence[str], Mapping[str, Any]], list[Diagnosis]]


@dataclass(frozen=True)
class Diagnoser:
    """A named diagnoser: `diagnose(facts, failed_steps, variables)` and its cause catalogue."""

    name: str
    diagnose: DiagnoseFn
    causes: Mapping[str, str]  # cause id -> title


# Run-time registrations (tests, plugins); every domain's diagnoser is found through its Domain.
_REGISTRY: dict[str, Diagnoser] = {}


def _all() -> dict[str, Diagnoser]:
    from remediate.core.domain import domains  # domain.py imports this module

    found = {n: d.diagnoser for n, d in domains().items() if d.diagnoser is not None}
    return {**found, **_REGISTRY}


def names() -> tuple[str, ...]:
    return tuple(_all())


def register(name: str, diagnoser: Diagnoser) -> None:
    _REGISTRY[name] = diagnoser


def get(name: str) -> Diagnoser:
    """The diagnoser named `name` (a domain's, or registered); KeyError when unknown."""
    return _all()[name]
