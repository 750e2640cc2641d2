"""Fleet-level findings: what only shows across hosts (a cloned image's shared CMID, a KMS host
every client names but DNS does not know, a site whose clients all fail the same way).

A domain computes them from the run's host results (Domain.fleet); the app stores them in
RunResult.fleet_findings, so the engine stays domain-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FleetFinding:
    code: str  # stable id, e.g. "kms.duplicate_cmid"
    title: str  # the recap's words
    cause: str  # what the hosts have in common, with the shared value (the CMID, the host name)
    action: str  # what to do about it
    hosts: tuple[str, ...]  # every host concerned, in run order

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "cause": self.cause,
            "action": self.action,
            "hosts": list(self.hosts),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FleetFinding:
        return cls(
            code=str(d.get("code", "")),
            title=str(d.get("title", "")),
            cause=str(d.get("cause", "")),
            action=str(d.get("action", "")),
            hosts=tuple(str(h) for h in d.get("hosts", ())),
        )
