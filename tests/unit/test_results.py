"""Results model, exit codes, writers (JSON, JSONL, JUnit), redaction and the parser registry."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from remediate.core import parsing
from remediate.core.diagnosis import Diagnosis
from remediate.core.errors import ParseError
from remediate.core.redact import MASK, Redactor
from remediate.core.results import HostResult, RunResult, StepResult
from remediate.output.writers import JsonlWriter, junit_xml, read_jsonl, write_json, write_junit


def _host(name: str, verdict: str, **kw: object) -> HostResult:
    return HostResult(host=name, verdict=verdict, **kw)  # type: ignore[arg-type]


def _run(*hosts: HostResult, interrupted: bool = False) -> RunResult:
    return RunResult(
        playbook="kms",
        mode="dry_run",
        started=1000.0,
        finished=1002.5,
        hosts=list(hosts),
        interrupted=interrupted,
    )


@pytest.mark.parametrize(
    ("verdicts", "code"),
    [
        (["compliant", "fixed"], 0),
        ([], 0),
        (["compliant", "would_fix"], 2),
        (["failed"], 2),
        (["skipped", "compliant"], 2),
        (["unreachable", "compliant"], 4),
        (["unreachable", "failed"], 6),
    ],
)
def test_exit_codes(verdicts: list[str], code: int) -> None:
    assert _run(*[_host(f"h{i}", v) for i, v in enumerate(verdicts)]).exit_code() == code


def test_interrupted_exit_code_wins() -> None:
    assert _run(_host("a", "failed"), interrupted=True).exit_code() == 130


def test_counts_include_every_verdict() -> None:
    c = _run(_host("a", "fixed"), _host("b", "fixed"), _host("c", "failed")).counts()
    assert c == {"compliant": 0, "would_fix": 0, "fixed": 2, "failed": 1, "unreachable": 0, "skipped": 0}


def _rich_host() -> HostResult:
    step = StepResult("license", "check", 0, "状態: ライセンスされています", "", 1000.1, 0.25, False, None)
    diag = Diagnosis("0xC004F074", "KMS unreachable", "port closed", "open 1688", False, ("srv ok",))
    return _host(
        "WIN-0001",
        "would_fix",
        facts={"license": {"products": []}},
        steps=[step],
        planned=[{"id": "set-kms", "describe": "KMS -> kms1"}],
        diagnosis=[diag],
        duration=1.5,
    )


def test_dict_round_trip() -> None:
    h = _rich_host()
    back = HostResult.from_dict(json.loads(json.dumps(h.to_dict())))
    assert back == h
    run = _run(h)
    assert RunResult.from_dict(run.to_dict()).hosts == [h]


def test_jsonl_streams_and_flushes_each_host(tmp_path: Path) -> None:
    p = tmp_path / "out" / "r.jsonl"
    w = JsonlWriter(p)
    w.write(_rich_host())
    # Readable before close: a crash after this point keeps the host.
    first = p.read_text(encoding="utf-8").splitlines()
    assert len(first) == 1 and json.loads(first[0])["host"] == "WIN-0001"
    assert "ライセンス" in first[0]  # UTF-8, not \u escapes
    w.write(_host("WIN-0002", "compliant"))
    w.close()
    assert [h.host for h in read_jsonl(p)] == ["WIN-0001", "WIN-0002"]
    with pytest.raises(ValueError):
        w.write(_host("x", "compliant"))


def test_json_report(tmp_path: Path) -> None:
    p = tmp_path / "r.json"
    write_json(_run(_rich_host(), _host("b", "unreachable", error="refused")), p)
    d = json.loads(p.read_text(encoding="utf-8"))
    assert d["exit_code"] == 6
    assert d["counts"]["would_fix"] == 1 and d["counts"]["unreachable"] == 1
    assert d["hosts"][0]["diagnosis"][0]["code"] == "0xC004F074"
    assert not (tmp_path / "r.json.tmp").exists()


def test_junit_one_testcase_per_host(tmp_path: Path) -> None:
    run = _run(
        _rich_host(),
        _host("ok", "compliant"),
        _host("down", "unreachable", error="refused"),
        _host("later", "skipped", error="not started: interrupted"),
    )
    p = tmp_path / "j.xml"
    write_junit(run, p)
    root = ET.parse(p).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "4" and suite.get("failures") == "2" and suite.get("skipped") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"WIN-0001", "ok", "down", "later"}
    assert cases["ok"].find("failure") is None
    down = cases["down"].find("failure")
    assert down is not None and down.get("type") == "unreachable" and down.get("message") == "refused"
    wf = cases["WIN-0001"].find("failure")
    assert wf is not None and wf.get("type") == "non_compliant" and "set-kms" in (wf.get("message") or "")
    assert cases["later"].find("skipped") is not None


def test_junit_escapes_hostile_output() -> None:
    h = _host("h", "failed", error='<script>&"]]>')
    xml = junit_xml(_run(h))
    assert ET.fromstring(xml.split("\n", 1)[1]).find(".//failure").get("message") == '<script>&"]]>'  # type: ignore[union-attr]


def test_redactor_masks_text_and_nested() -> None:
    r = Redactor(["S3cret!pw", None, "ab", "S3cret!pw-long"])
    assert len(r) == 2  # None and too-short values ignored
    assert r.text("pw=S3cret!pw-long; S3cret!pw") == f"pw={MASK}; {MASK}"
    assert r.obj({"k": ["x S3cret!pw", ("S3cret!pw",)], "S3cret!pw": 1}) == {
        "k": [f"x {MASK}", (MASK,)],
        MASK: 1,
    }
    assert "S3cret" not in repr(r)
    r.add("new$(pass)")
    assert r.text("new$(pass)") == MASK  # regex metacharacters are literal


def test_redactor_without_secrets_is_identity() -> None:
    assert Redactor().text("anything") == "anything"


def test_builtin_parsers() -> None:
    assert parsing.parse("json", '\ufeff{"a": [1, 2]}\r\n') == {"a": [1, 2]}
    assert parsing.parse("json", "  ") is None
    assert parsing.parse("lines", "a\r\n\r\n  b  \n") == ["a", "b"]
    assert parsing.parse("text", "  x y \r\n") == "x y"
    with pytest.raises(ParseError, match="json"):
        parsing.parse("json", "{not json")
    with pytest.raises(ParseError, match="unknown parser"):
        parsing.parse("no-such-parser", "")
    assert parsing.known_parsers()[:3] == ("json", "lines", "text")
