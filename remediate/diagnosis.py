"""What the engine attaches to a host result to explain it: error code -> cause -> action.

A finding may name a cause id (`kms.no_srv`): fixes declare the cause ids they address
(`addresses:` in a playbook), and the engine runs a fix only on a host whose diagnosis names one
of them. A diagnoser publishes its catalogue of cause ids so playbooks are checked at load time.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

CHECK_CAUSE = "check:"  # "check:<id>": the generic cause "check <id> failed its expect"


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


# name -> a Diagnoser, or "module:attribute" of one, imported on first use (core stays domain-free).
_REGISTRY: dict[str, str | Diagnoser] = {"kms": "remediate.kms.diagnose:DIAGNOSER"}


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def register(name: str, target: str | Diagnoser) -> None:
    _REGISTRY[name] = target


def get(name: str) -> Diagnoser:
    """The diagnoser registered as `name`; KeyError when unknown."""
    target = _REGISTRY[name]
    if isinstance(target, Diagnoser):
        return target
    module, _, attr = target.partition(":")
    found = getattr(importlib.import_module(module), attr)
    if not isinstance(found, Diagnoser):
        raise TypeError(f"{target} is not a Diagnoser")
    _REGISTRY[name] = found
    return found
