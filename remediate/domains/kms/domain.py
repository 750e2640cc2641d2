"""The KMS / volume-activation domain as the framework sees it (entry point `remediate.domains`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from remediate.core.domain import Domain
from remediate.domains.kms import kb
from remediate.domains.kms.diagnose import DIAGNOSER
from remediate.domains.kms.fleet import fleet_findings
from remediate.domains.kms.functions import FUNCTIONS
from remediate.domains.kms.parsers import KINDS, parse
from remediate.domains.kms.tracking import CHANGE_RULES, expiries

DOMAIN = Domain(
    name="kms",
    description="Windows and Office activation (KMS, MAK, retail)",
    parsers={kind: partial(parse, kind) for kind in KINDS},
    # Kinds whose outcome (nxdomain, a failed TCP test) is written to the error stream.
    stderr_kinds=frozenset({"nslookup-srv", "resolve-srv", "tnc"}),
    functions=FUNCTIONS,
    diagnoser=DIAGNOSER,
    explain=kb.explain,
    tracked_facts=(
        "license.products",
        "office.products",
        "kms_config.kms_registered",
        "kms_config.client_machine_id",
        "srv.records",
        "kms_port.reachable",
    ),
    playbooks=Path(__file__).parent / "playbooks",
    fleet=fleet_findings,
    change_rules=CHANGE_RULES,
    expiries=expiries,
)
