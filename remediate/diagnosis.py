"""What the engine attaches to a host result to explain it: error code -> cause -> action."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Diagnosis:
    code: str | None  # "0xC004F074", an event id like "event:12288", or None for evidence-only findings
    title: str  # short name for recaps, e.g. "Firewall between host and KMS"
    cause: str  # what is wrong on this host, from the evidence
    action: str  # what to do next
    automatable: bool  # can a playbook fix it
    evidence: tuple[str, ...] = ()  # the facts that led here, human readable

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["evidence"] = list(self.evidence)
        return d


class Diagnoser(Protocol):
    """Turns a host's facts (check id -> parsed output) and step outcomes into findings."""

    def __call__(self, facts: Mapping[str, Any], failed_steps: Sequence[str]) -> list[Diagnosis]: ...
