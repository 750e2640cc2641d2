"""Console host lines and recap, the report's `groups`, and the --hosts-file writer."""

from __future__ import annotations

import io
import json
from pathlib import Path

import yaml

from remediate.console import VARIES, Console, planned_phrase
from remediate.core.diagnosis import Diagnosis
from remediate.core.results import HostResult, RunResult
from remediate.output.writers import write_hosts_file, write_json

SET_KMS = {"id": "set-kms", "describe": "KMS host none -> kms01.lab.test:1688", "cause": "No KMS host"}
ACTIVATE = {"id": "activate", "describe": "activate against kms01.lab.test"}


def gvlk_diag(edition: str, key: str) -> Diagnosis:
    return Diagnosis(
        "0xC004F035", "Wrong product key", f"{edition} has a non-KMS key", f"install {key}", True
    )


def sample_run() -> RunResult:
    hosts = [
        HostResult("w01", "would_fix", planned=[dict(SET_KMS), dict(ACTIVATE)]),
        HostResult("w02", "would_fix", planned=[dict(SET_KMS)]),
        HostResult(
            "w03", "would_fix", planned=[{**SET_KMS, "describe": "KMS host old -> kms01.lab.test:1688"}]
        ),
        HostResult("pro", "failed", diagnosis=[gvlk_diag("Professional", "W269N-WFGWX-YVC9B-4J6C9-T83GX")]),
        HostResult("ent", "failed", diagnosis=[gvlk_diag("Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43")]),
        HostResult("dc1", "failed", diagnosis=[gvlk_diag("Enterprise", "NPPR9-FWDCX-D2C8J-H872K-2YT43")]),
    ]
    hosts += [HostResult(f"ok{i:02d}", "compliant") for i in range(10)]
    return RunResult("KMS", "dry_run", 0.0, 1.0, hosts)


def plain_console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(buf, plain=True), buf


def test_planned_phrase_is_one_short_line() -> None:
    assert planned_phrase([SET_KMS, ACTIVATE]) == "set-kms: KMS host none -> kms01.lab.test:1688 (+ activate)"
    assert planned_phrase([{"id": "x"}]) == "x"
    assert planned_phrase([]) == ""
    long = planned_phrase([{"id": "x", "describe": "k" * 500}])
    assert len(long) < 100 and long.endswith("...")


def test_would_fix_host_line_shows_the_planned_change() -> None:
    c, buf = plain_console()
    ev = c.progress()
    ev.run_started("KMS", ["w01", "ok"], "dry_run")
    ev.host_finished(HostResult("w01", "would_fix", planned=[SET_KMS, ACTIVATE], duration=1.0))
    ev.host_finished(HostResult("ok", "compliant"))
    lines = buf.getvalue().splitlines()
    assert lines[1] == (
        "[1/2] w01 would_fix 1.0s  set-kms: KMS host none -> kms01.lab.test:1688 (+ activate)"
    )
    assert lines[2] == "[2/2] ok compliant 0.0s"


def test_recap_shows_an_action_only_when_every_host_shares_it() -> None:
    c, buf = plain_console()
    c.recap(sample_run())
    out = buf.getvalue()
    gvlk = next(line for line in out.splitlines() if "Wrong product key" in line)
    # Professional and Enterprise hosts in one group: no one host's key stands for all.
    assert "W269N" not in gvlk and "NPPR9" not in gvlk and VARIES in gvlk
    assert " 3  Wrong product key (0xC004F035)" in gvlk

    run = sample_run()
    run.hosts = [h for h in run.hosts if h.host != "pro"]
    c, buf = plain_console()
    c.recap(run)
    gvlk = next(line for line in buf.getvalue().splitlines() if "Wrong product key" in line)
    assert gvlk.endswith("-> install NPPR9-FWDCX-D2C8J-H872K-2YT43")


def test_recap_groups_hosts_by_planned_change() -> None:
    c, buf = plain_console()
    c.recap(sample_run())
    lines = buf.getvalue().splitlines()
    start = lines.index("PLANNED CHANGES")
    set_kms, activate = lines[start + 1], lines[start + 2]
    assert set_kms.split()[:2] == ["set-kms", "3"]
    assert "2 variants; most common (2 hosts): KMS host none -> kms01.lab.test:1688" in set_kms
    assert "[w01, w02, w03]" in set_kms and set_kms.endswith("for: No KMS host")
    assert activate.split()[:2] == ["activate", "1"] and "activate against kms01.lab.test  [w01]" in activate


def test_recap_rich_mode_has_the_changes_table() -> None:
    buf = io.StringIO()
    Console(buf, plain=False).recap(sample_run())
    out = buf.getvalue()
    assert "planned changes" in out and "set-kms" in out and "No KMS host" in out


def test_report_groups_list_every_host(tmp_path: Path) -> None:
    run = sample_run()
    groups = run.to_dict()["groups"]
    assert groups["verdict"]["compliant"] == [f"ok{i:02d}" for i in range(10)]  # never "+N"
    assert list(groups["verdict"]) == ["compliant", "would_fix", "failed"]
    assert groups["planned"] == {"set-kms": ["w01", "w02", "w03"], "activate": ["w01"]}
    assert groups["diagnosis"] == {"Wrong product key": ["pro", "ent", "dc1"]}
    write_json(run, tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["groups"] == groups


def test_hosts_file_is_yaml_of_the_groups_and_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("old content that is much longer than nothing\n" * 100, encoding="utf-8")
    run = sample_run()
    write_hosts_file(run, path)
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == run.groups()
    assert path.read_text(encoding="utf-8").startswith("# remediate: KMS (dry run)")
    assert [p.name for p in tmp_path.iterdir()] == ["hosts.yml"]  # no temp file left behind
