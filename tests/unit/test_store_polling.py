"""Incremental reads of a run's host records (Store.records_since), as the --workers controller
polls them: each poll reads only the rows written since the last one, on SQLite and PostgreSQL,
including a row that commits after a row with a higher id (two workers on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from remediate.core.results import HostResult
from remediate.distributed.controller import _read, _Watch
from remediate.history.store import Store
from tests.unit.test_store import host, meta


@pytest.fixture
def store(store_db: str) -> Any:
    s = Store.open(store_db, create=True)
    yield s
    s.close()


def test_records_since_returns_only_new_rows(store: Store) -> None:
    other = store.start_run(meta())
    run = store.start_run(meta())
    store.record_host(other.id, host(other.id, "X1"))
    got, cur = store.records_since(run.id)
    assert got == []
    for i in range(5):
        store.record_host(run.id, host(run.id, f"H{i}"))
    store.record_host(other.id, host(other.id, "X2"))  # another run's rows are never returned
    got, cur = store.records_since(run.id, cur)
    assert [r.host for r in got] == [f"H{i}" for i in range(5)]
    got, cur = store.records_since(run.id, cur)
    assert got == []
    store.record_host(run.id, host(run.id, "H9", "failed", error="boom"))
    store.record_host(run.id, host(run.id, "H0", "fixed"))  # recorded again: same row, not new
    got, cur = store.records_since(run.id, cur)
    assert [(r.host, r.verdict, r.error) for r in got] == [("H9", "failed", "boom")]
    # the full read still works and sees the update
    assert {r.host: r.verdict for r in store.host_records(run_id=run.id)}["H0"] == "fixed"


def test_a_row_committed_after_a_higher_id_is_not_missed(store: Store) -> None:
    """PostgreSQL takes a row id at insert and shows the row at commit: worker A inserts (id n),
    worker B inserts and commits (id n+1), the controller polls, then A commits."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: ids commit in order")
    run = store.start_run(meta())
    _, cur = store.records_since(run.id)
    slow = store.engine.connect()
    tx = slow.begin()
    from remediate.history.schema import HostRow

    rec = host(run.id, "SLOW")
    slow.execute(
        HostRow.__table__.insert().values(  # type: ignore[attr-defined]
            run_id=run.id, host=rec.host, address=rec.address, inventory=rec.inventory,
            verdict="fixed", codes=[], titles=[], facts={}, error=None, changed=True, groups=[],
            site=None, steps=[], duration=0.0, finished=rec.finished,
        )
    )  # fmt: skip
    store.record_host(run.id, host(run.id, "FAST"))
    got, cur = store.records_since(run.id, cur)
    assert [r.host for r in got] == ["FAST"]
    assert cur.gaps  # the uncommitted id is remembered
    tx.commit()
    slow.close()
    got, cur = store.records_since(run.id, cur)
    assert [r.host for r in got] == ["SLOW"]
    assert not cur.gaps


def test_controller_poll_reads_only_new_rows(store: Store) -> None:
    """The controller's poll (distributed/controller._read) costs the rows written since the
    last poll, not the run's size: 1,000 recorded hosts, then polls that add 0, 3 and 1."""
    run = store.start_run(meta(host_count=1004))
    finished: list[str] = []

    class Seen:
        def host_finished(self, result: HostResult) -> None:
            finished.append(result.host)

    watch = _Watch(app=None, run_id=run.id, inventory=run.inventory, tasks=[])
    for i in range(1000):
        store.record_host(run.id, host(run.id, f"H{i:04}"))
    events: Any = Seen()
    _read(store, watch, events)
    assert len(finished) == 1000
    per_poll = []
    names = iter(f"N{i}" for i in range(4))
    for new in (0, 3, 0, 1):
        for _ in range(new):
            store.record_host(run.id, host(run.id, next(names)))
        before = store.rows_read
        _read(store, watch, events)
        per_poll.append(store.rows_read - before)
    assert per_poll == [0, 3, 0, 1]
    assert len(finished) == 1004


def test_cursor_gaps_are_asked_for_then_expire() -> None:
    from remediate.history.cursor import GAP_WAIT, RecordCursor

    cur = RecordCursor().advance({10, 11, 14}, first=True, now=0.0)
    assert (cur.last, cur.pending(now=1.0)) == (14, [12, 13])  # ids 1-9: earlier runs, not gaps
    cur = cur.advance({13, 16}, first=False, now=2.0)
    assert (cur.last, cur.pending(now=2.0)) == (16, [12, 15])
    assert cur.pending(now=GAP_WAIT + 1.0) == [15]  # 12 was skipped for good (an upsert, a rollback)
    assert cur.advance(set(), first=False, now=GAP_WAIT + 3.0).gaps == {}
