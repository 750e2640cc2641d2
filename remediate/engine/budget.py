"""The default per-host timeout, derived from the playbook (`--host-timeout` overrides it).

A host's budget is its connect budget (every connect attempt's TCP probe and connect timing out,
plus the backoff between attempts: connect.connect_budget) plus, for every step it may run, the
step's `timeout` and the grace the engine gives a transport to report it (connect.STEP_GRACE):
the checks; in an apply also every fix, the checks each fix rechecks, and the verify checks.
A host past its budget ends `failed` ("host timed out after Ns"), or `unreachable` if it never
connected. A run's budget is the sum over its batches of ceil(batch / forks) host budgets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from remediate.engine.connect import STEP_GRACE, connect_budget
from remediate.engine.options import RunOptions

if TYPE_CHECKING:
    from remediate.core.model import ConnectionSpec
    from remediate.core.playbook import Playbook


def steps_budget(playbook: Playbook, apply: bool) -> float:
    checks = list(playbook.checks)
    steps: list[float] = [c.timeout for c in checks]
    if apply:
        by_id = {c.id: c for c in checks}
        verify = [by_id[i] for i in playbook.verify if i in by_id] or checks
        for fix in playbook.fixes:
            steps.append(fix.timeout)
            steps += [by_id[i].timeout for i in fix.recheck if i in by_id]
        steps += [c.timeout for c in verify]
    return sum(t + STEP_GRACE for t in steps)


def host_budget(playbook: Playbook, spec: ConnectionSpec, options: RunOptions) -> float:
    """Seconds one host may take: --host-timeout if given, else derived (see the module doc)."""
    if options.host_timeout:
        return options.host_timeout
    return connect_budget(spec, options.retries, options.retry_backoff) + steps_budget(
        playbook, options.apply
    )


def run_budget(batches: Sequence[Sequence[float]], forks: int) -> float:
    """The longest a run can take: per batch (of host budgets), ceil(hosts / forks) times the
    batch's largest host budget."""
    forks = max(1, forks)
    return sum(math.ceil(len(b) / forks) * max(b) for b in batches if b)
