"""What the history store gives its readers: one run's metadata and one host's outcome in it.

The store (store.py) returns these; drift, forecast and the report read only these, so they
are plain data with no database session behind them. Times are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RunKind = Literal["run", "sweep"]
# running: open and its controller process is alive; crashed: open and it is not (kill -9,
# power loss); interrupted: closed after Ctrl-C / SIGTERM; finished: closed normally.
RunStatus = Literal["running", "finished", "interrupted", "crashed"]


@dataclass(frozen=True)
class RunInfo:
    id: int  # the row id (short, for people)
    uuid: str  # the run id (unique across stores, for workers and files)
    kind: RunKind
    playbook: str  # the playbook file (absolute path): what --resume and --rerun load again
    playbook_hash: str  # sha256 of the playbook file's bytes
    inventory: str  # the inventory path as resolved (absolute)
    inventory_hash: str  # sha256 over the inventory file(s) read
    pattern: str | None  # --limit
    mode: str  # dry_run | apply
    vars_hash: str  # sha256 of the redacted -e variables (canonical JSON)
    operator: str  # the OS user who started it
    controller: str  # the controller's host name
    version: str  # remediate's version
    started: datetime
    finished: datetime | None
    status: RunStatus
    exit_code: int | None  # None while open or crashed
    host_count: int  # hosts targeted
    counts: dict[str, int] = field(default_factory=dict)  # verdict -> hosts recorded
    rerun: str | None = None  # a --rerun run: "failed@<uuid of the run it read>"


@dataclass(frozen=True)
class HostRecord:
    run_id: int
    host: str  # the inventory's name
    address: str  # what it connected to (ansible_host, else the name)
    inventory: str  # the run's inventory path: host identity is (inventory, host, address)
    verdict: str
    finished: datetime
    codes: tuple[str, ...] = ()  # diagnosis codes ("0xC004F074") or cause ids when no code
    titles: tuple[str, ...] = ()  # diagnosis titles, same order
    # tracked facts only (Domain.tracked_facts): dotted path -> value, e.g.
    # {"license.products": [...], "kms_config.kms_registered": "kms01:1688"}
    facts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    changed: bool = False
    groups: tuple[str, ...] = ()  # inventory groups the host is in
    site: str | None = None  # remediate_site, when the inventory sets it
    # step outcomes [{id, phase, rc, passed, error, stdout, stderr}], outputs cut to the store's
    # configured size
    steps: tuple[dict[str, Any], ...] = ()
    duration: float = 0.0


@dataclass(frozen=True)
class RunMeta:
    """What a run says about itself when it opens its row (Store.start_run)."""

    kind: RunKind
    playbook: str
    playbook_hash: str
    inventory: str
    inventory_hash: str
    pattern: str | None
    mode: str
    vars_hash: str
    operator: str
    controller: str
    version: str
    host_count: int
    uuid: str | None = None  # None: the store makes one (a resumed run passes its own)
    rerun: str | None = None  # a --rerun run: "failed@<uuid of the run it read>"


def jsonable(v: Any) -> Any:
    """Records, reports and their parts as JSON-ready data: times as ISO 8601 (UTC)."""
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return {k: jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [jsonable(x) for x in v]
    return v
