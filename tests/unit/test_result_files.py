"""Result files under concurrency: unique temp names, claims (no overwrite, one run per file),
and the bounded capture buffer the transports use."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from remediate.core.capture import BoundedBuffer, cap_text, parse_size
from remediate.core.errors import ConfigError
from remediate.core.results import HostResult, RunResult, StepResult
from remediate.output.claim import claim_outputs
from remediate.output.writers import write_json


def _run(n: int) -> RunResult:
    step = StepResult("s", "check", 0, "x" * 100, "", 0.0, 0.1, True, truncated={"stdout": 5})
    return RunResult("pb", "dry_run", 0.0, 1.0, [HostResult(f"h{n}", "compliant", steps=[step])])


@pytest.mark.parametrize("same_path", [False, True])
def test_fifty_concurrent_json_writers_never_fail(tmp_path: Path, same_path: bool) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(50)

    def one(n: int) -> None:
        barrier.wait()
        try:
            write_json(_run(n), tmp_path / ("r.json" if same_path else f"r{n}.json"))
        except BaseException as e:  # collected: the assertion below shows every failure
            errors.append(e)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    files = sorted(tmp_path.iterdir())
    assert len(files) == (1 if same_path else 50)  # no temp file left behind
    for f in files:
        assert json.loads(f.read_text())["hosts"][0]["steps"][0]["truncated"] == {"stdout": 5}


def test_claim_refuses_a_second_run_and_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "r.jsonl"
    with claim_outputs([target, None]):
        with pytest.raises(ConfigError, match="another remediate run"):
            claim_outputs([target], force=True)
        target.write_text("{}\n")
    with pytest.raises(ConfigError, match="already exists"):
        claim_outputs([target])
    claim_outputs([target], force=True).release()
    with pytest.raises(ConfigError, match="two outputs"):
        claim_outputs([target, str(target)], force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]


def test_bounded_buffer_keeps_head_and_tail() -> None:
    buf = BoundedBuffer(2048)
    data = bytes(range(256)) * 100
    for i in range(0, len(data), 333):
        buf.append(data[i : i + 333])
    assert buf.total == len(data) and buf.dropped == len(data) - 2048
    assert bytes(buf.head) == data[:1024] and buf.tail == data[-1024:]
    small = BoundedBuffer(2048)
    small.append(b"abc")
    assert small.getvalue() == b"abc" and small.dropped == 0
    text, dropped = cap_text("a" * 5000, 2048)
    assert dropped == 5000 - 2048 and text.startswith("a" * 1024) and "truncated" in text


def test_parse_size() -> None:
    assert parse_size("4MiB") == 4 * 2**20 and parse_size("512k") == 512 * 1024 and parse_size(4096) == 4096
    for bad in ("lots", "10", "-5M"):
        with pytest.raises(ValueError):
            parse_size(bad)
