"""Run history store: SQLite file, records runs and hosts, never secrets or output."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.core.diagnosis import Diagnosis
from remediate.core.results import HostResult, RunResult, StepResult
from remediate.output.store import Store, default_url


def _run(started: float, verdict: str = "failed") -> RunResult:
    step = StepResult("license", "check", 1, "stdout with data", "", started, 0.1, False, None)
    diag = Diagnosis("0xC004F074", "KMS unreachable", "cause", "action", False)
    hosts = [
        HostResult(
            "WIN-1",
            verdict,
            facts={"license": {"x": 1}},
            steps=[step],
            diagnosis=[diag],  # type: ignore[arg-type]
            error="fix set-kms failed: rc=1",
        ),
        HostResult("WIN-2", "compliant"),
    ]
    return RunResult("Windows KMS", "apply", started, started + 5, hosts)


def test_record_and_list(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'deep' / 'h.db'}")
    first = store.record(_run(1000.0))
    second = store.record(_run(2000.0, verdict="fixed"))
    assert second != first and store.count() == 2
    runs = store.runs()
    assert [r.id for r in runs] == [second, first]  # newest first
    assert runs[0].exit_code == 0 and runs[1].exit_code == 2
    assert runs[1].counts["failed"] == 1 and runs[1].host_count == 2
    assert runs[1].duration == pytest.approx(5)
    hosts = store.hosts(first)
    assert hosts[0]["host"] == "WIN-1"
    assert hosts[0]["diagnosis"] == [{"code": "0xC004F074", "title": "KMS unreachable"}]
    hist = store.host_history("WIN-1")
    assert [h["verdict"] for h in hist] == ["fixed", "failed"]
    store.close()
    # Persisted: a new Store on the same file sees both runs.
    assert Store(f"sqlite:///{tmp_path / 'deep' / 'h.db'}").count() == 2


def test_store_keeps_no_output(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = Store(f"sqlite:///{db}")
    store.record(_run(1.0))
    store.close()
    raw = db.read_bytes()
    assert b"stdout with data" not in raw and b"WIN-1" in raw


def test_default_url_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("REMEDIATE_DB", str(tmp_path / "x.db"))
    assert default_url() == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("REMEDIATE_DB", "postgresql://u:pw@db/r")
    assert default_url() == "postgresql://u:pw@db/r"
    monkeypatch.delenv("REMEDIATE_DB")
    assert default_url().endswith(".local/share/remediate/history.db")


def test_repr_hides_db_password() -> None:
    s = Store("sqlite://")
    assert "sqlite" in repr(s)
    s.url = "postgresql://u:hunter22@db/r"
    assert "hunter22" not in repr(s)
