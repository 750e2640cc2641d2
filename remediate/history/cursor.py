"""Where an incremental read of a run's host records stopped (Store.records_since).

A row id is taken when a writer inserts but the row is visible only when it commits: on
PostgreSQL two workers can commit out of id order, so "every id above the highest seen" would
miss the slower one. The cursor also remembers the ids it skipped below its top and asks for
them again for GAP_WAIT seconds (ids are also skipped for good: an upsert that updated takes
one, and other runs' rows take others; those simply expire).
"""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass, field

GAP_WAIT = 60.0  # seconds a skipped row id is still asked for (a writer not yet committed)
MAX_GAPS = 5_000  # skipped row ids kept per cursor; the oldest are dropped first


@dataclass(frozen=True)
class RecordCursor:
    last: int = 0  # the highest row id read
    gaps: dict[int, float] = field(default_factory=dict)  # skipped row id -> monotonic time first missed

    def pending(self, now: float | None = None) -> list[int]:
        """The skipped ids still worth asking for."""
        now = time.monotonic() if now is None else now
        return sorted(i for i, t in self.gaps.items() if now - t < GAP_WAIT)

    def advance(self, seen: Collection[int], *, first: bool, now: float | None = None) -> RecordCursor:
        """The cursor after a read that returned rows with these ids. first: the run's first
        read (ids below its lowest row belong to earlier runs, not gaps)."""
        now = time.monotonic() if now is None else now
        gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_WAIT and i not in seen}
        top = max(seen, default=self.last)
        top = max(top, self.last)
        start = min(seen, default=top) if first else self.last + 1
        gaps.update((i, now) for i in range(start, top) if i not in seen and i not in gaps)
        if len(gaps) > MAX_GAPS:
            for i in sorted(gaps, key=gaps.__getitem__)[: len(gaps) - MAX_GAPS]:
                del gaps[i]
        return RecordCursor(top, gaps)
