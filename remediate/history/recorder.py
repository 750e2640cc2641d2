"""Writes each host to the history store the moment it finishes (an engine observer).

The run row is opened before the first connection and closed last, so `kill -9` loses no
finished host and leaves the run open (shown as crashed). A store that fails does not stop the
run: the first error is kept, later hosts are still tried, and the app turns it into exit bit 8.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.core.results import VERDICTS, HostResult, StepResult, Verdict
from remediate.engine.events import RunEvents
from remediate.history.records import HostRecord
from remediate.history.store import Store
from remediate.inventory.model import Host

STEP_TEXT = 4096  # characters kept per step stream in the store (head); the JSON report has all


def fact_at(facts: Mapping[str, Any], path: str) -> Any:
    """facts["license"]["products"] for "license.products"; None when any part is missing."""
    value: Any = facts
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def tracked(facts: Mapping[str, Any], paths: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        value = fact_at(facts, path)
        if value is not None:
            out[path] = value
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more characters]"


def host_record(
    result: HostResult,
    *,
    run_id: int,
    inventory: str,
    address: str,
    groups: Sequence[str] = (),
    site: str | None = None,
    tracked_facts: Sequence[str] = (),
    step_text: int = STEP_TEXT,
) -> HostRecord:
    return HostRecord(
        run_id=run_id,
        host=result.host,
        address=address,
        inventory=inventory,
        verdict=result.verdict,
        finished=datetime.now(UTC),
        codes=tuple(d.code or d.cause_id or "" for d in result.diagnosis),
        titles=tuple(d.title for d in result.diagnosis),
        facts=tracked(result.facts, tracked_facts),
        error=result.error,
        changed=result.changed,
        groups=tuple(groups),
        site=site,
        steps=tuple(
            {
                "id": s.id,
                "phase": s.phase,
                "rc": s.rc,
                "passed": s.passed,
                "error": s.error,
                "stdout": _cut(s.stdout, step_text),
                "stderr": _cut(s.stderr, step_text),
                "started": round(s.started, 3),
                "duration": round(s.duration, 3),
            }
            for s in result.steps
        ),
        duration=result.duration,
    )


def host_result(record: HostRecord) -> HostResult:
    """A stored host back as a result, for a console or report that reads the store (site
    workers, --resume). It keeps the verdict, error, changed, duration, step outcomes, tracked
    facts and the diagnosis codes and titles (what the recap groups by); not a diagnosis's
    cause/action text or the planned fixes' descriptions."""
    verdict: Verdict = record.verdict if record.verdict in VERDICTS else "failed"  # type: ignore[assignment]
    return HostResult(
        host=record.host,
        verdict=verdict,
        facts=dict(record.facts),
        steps=[StepResult.from_dict(dict(s)) for s in record.steps if "id" in s and "phase" in s],
        diagnosis=[
            Diagnosis(code or None, title, "", "", False)
            for code, title in zip(record.codes, record.titles, strict=False)
        ],
        error=record.error,
        duration=record.duration,
        changed=record.changed,
    )


class Recorder(RunEvents):
    """Records each finished host of `hosts` (by name) into run `run_id`, on its own thread, in
    the order the hosts finished: a slow or locked store never stalls the engine's event loop.
    `then` (the JSONL file) is told about a host after the store has it, so after kill -9 the
    store holds every host the file shows. After GIVE_UP consecutive failures the store is taken
    as down for this run: later hosts are counted as not recorded without waiting on it again.
    `flush` before reading the counters and before closing `then`."""

    GIVE_UP = 3

    def __init__(
        self,
        store: Store,
        run_id: int,
        inventory: str,
        hosts: Sequence[Host],
        tracked_facts: Sequence[str] = (),
        *,
        site: str | None = None,
        then: RunEvents | None = None,
    ) -> None:
        self.store = store
        self.site = site  # for hosts whose inventory names none (a site worker's own inventory)
        self.run_id = run_id
        self.inventory = inventory
        self.hosts = {h.name: h for h in hosts}
        self.tracked_facts = tuple(tracked_facts)
        self.then = then
        self.recorded = 0
        self.failures = 0
        self.error: BaseException | None = None
        self._in_a_row = 0
        self._queue: queue.SimpleQueue[HostResult | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._drain, name="remediate-history", daemon=True)
        self._thread.start()

    def host_finished(self, result: HostResult) -> None:
        self._queue.put(result)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for every queued host to be written (and passed on); False if `timeout` ran out."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _drain(self) -> None:
        while (result := self._queue.get()) is not None:
            self._write(result)
            if self.then is not None:
                self.then.host_finished(result)

    def _write(self, result: HostResult) -> None:
        if self._in_a_row >= self.GIVE_UP:
            self.failures += 1
            return
        host = self.hosts.get(result.host)
        record = host_record(
            result,
            run_id=self.run_id,
            inventory=self.inventory,
            address=host.address if host else result.host,
            groups=host.groups if host else (),
            site=(host.site if host else None) or self.site,
            tracked_facts=self.tracked_facts,
        )
        try:
            self.store.record_host(self.run_id, record)
        except Exception as e:  # the run goes on; the app reports it (exit bit 8)
            self.failures += 1
            self._in_a_row += 1
            self.error = self.error or e
        else:
            self.recorded += 1
            self._in_a_row = 0
