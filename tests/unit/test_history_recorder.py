"""The recorder writes on its own thread: a store that hangs never blocks the engine's loop, the
JSONL file learns of a host only after the store has it, and a store that is down is given up
on after a few failures instead of being waited on for every host."""

from __future__ import annotations

import threading
from typing import Any

from remediate.core.results import HostResult
from remediate.engine.events import RunEvents
from remediate.history.recorder import Recorder
from remediate.history.records import HostRecord
from remediate.inventory.model import Host


class BlockingStore:
    """record_host waits until released (a SQLite file another process holds locked)."""

    def __init__(self, fail: bool = False) -> None:
        self.release = threading.Event()
        self.written: list[str] = []
        self.calls = 0
        self.fail = fail

    def record_host(self, run_id: int, record: HostRecord) -> None:
        self.calls += 1
        if self.fail:
            raise OSError("database is locked")
        self.release.wait(30)
        self.written.append(record.host)


class Seen(RunEvents):
    def __init__(self, store: BlockingStore) -> None:
        self.store = store
        self.hosts: list[str] = []
        self.in_store_first = True

    def host_finished(self, result: HostResult) -> None:
        self.in_store_first &= result.host in self.store.written
        self.hosts.append(result.host)


def _recorder(store: Any, then: RunEvents | None = None) -> Recorder:
    hosts = [Host(f"H{i}", {}, []) for i in range(5)]
    return Recorder(store, 1, "/inv.yml", hosts, then=then)


def test_a_hanging_store_does_not_block_the_caller_and_the_file_follows_the_store() -> None:
    store = BlockingStore()
    seen = Seen(store)
    recorder = _recorder(store, then=seen)
    done = threading.Event()

    def engine() -> None:  # what the event loop does: tell the observers, go on
        for i in range(5):
            recorder.host_finished(HostResult(host=f"H{i}", verdict="compliant"))
        done.set()

    threading.Thread(target=engine, daemon=True).start()
    # before: host_finished wrote synchronously, so the engine waited on the locked store
    assert done.wait(10), "the engine was blocked by the store"
    assert store.written == [] and seen.hosts == []  # nothing claimed written yet
    store.release.set()
    assert recorder.flush(timeout=10)
    assert store.written == [f"H{i}" for i in range(5)] == seen.hosts  # in finish order
    assert seen.in_store_first and recorder.recorded == 5 and recorder.error is None


def test_a_store_that_is_down_is_given_up_on_after_a_few_failures() -> None:
    store = BlockingStore(fail=True)
    seen = Seen(store)
    recorder = _recorder(store, then=seen)
    for i in range(5):
        recorder.host_finished(HostResult(host=f"H{i}", verdict="compliant"))
    assert recorder.flush(timeout=10)
    assert store.calls == Recorder.GIVE_UP  # not 5: each call may wait out a busy timeout
    assert recorder.failures == 5 and recorder.recorded == 0 and isinstance(recorder.error, OSError)
    assert seen.hosts == [f"H{i}" for i in range(5)]  # the JSONL file still gets every host
