"""The Windows time domain as the framework sees it (entry point `remediate.domains`: time)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from remediate.core.domain import Domain
from remediate.core.tracking import ChangeRule
from remediate.domains.time import kb
from remediate.domains.time.diagnose import DIAGNOSER
from remediate.domains.time.functions import FUNCTIONS
from remediate.domains.time.parsers import KINDS, parse

DOMAIN = Domain(
    name="time",
    description="Windows time synchronization (w32time): service, source, skew",
    parsers={kind: partial(parse, kind) for kind in KINDS},
    functions=FUNCTIONS,
    diagnoser=DIAGNOSER,
    explain=kb.explain,
    tracked_facts=("status.source", "status.source_kind", "config.type", "clock.skew_seconds"),
    playbooks=Path(__file__).parent / "playbooks",
    change_rules={
        "status.source": ChangeRule("time source"),
        "status.source_kind": ChangeRule("time source kind"),
        "config.type": ChangeRule("w32time Type (NT5DS / NTP)"),
        # Kerberos' default "Maximum tolerance for computer clock synchronization" is 5 minutes
        # (https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/maximum-tolerance-for-computer-clock-synchronization):
        # smaller moves of the measured skew are noise, not drift.
        "clock.skew_seconds": ChangeRule("clock skew (s)", tolerance=300.0),
    },
)
