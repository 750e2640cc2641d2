"""The CLI through click's CliRunner: exit codes, reports, config errors, secrets, other commands."""

from __future__ import annotations

import json
import re
import signal
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

import remediate.transports
from remediate.cli import main
from remediate.core.errors import CertificateError
from remediate.core.model import ConnectionSpec
from remediate.transports.fake import FakeFleet, FakeTransport, Reply

PASSWORD = "Cli-S3cret-pw!"

INVENTORY = f"""\
all:
  children:
    windows:
      hosts:
        win1: {{ansible_host: 127.0.0.1}}
        win2: {{ansible_host: 127.0.0.2}}
        win3: {{ansible_host: 127.0.0.3, site: osaka}}
      vars:
        ansible_connection: fake
        ansible_user: admin
        ansible_password: "{PASSWORD}"
"""

PLAYBOOK = """\
name: Activation
targets: windows
vars:
  kms_host: kms1.lab.test
checks:
  - id: license
    shell: cmd
    run: status
    parse: text
    expect: "facts.license == 'licensed'"
fixes:
  - id: activate
    addresses: [check:license]
    shell: cmd
    when: "facts.license != 'licensed'"
    run: activate {{ kms_host }}
    describe: "activate against {{ kms_host }}"
verify: [license]
"""


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    inv, pb = tmp_path / "inv.yml", tmp_path / "pb.yml"
    inv.write_text(INVENTORY, encoding="utf-8")
    pb.write_text(PLAYBOOK, encoding="utf-8")
    return {"inv": inv, "pb": pb, "db": tmp_path / "history.db", "dir": tmp_path}


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> FakeFleet:
    """Every host unlicensed; `activate` licenses it. The engine's default factory finds it."""
    fleet = FakeFleet()
    for name in ("win1", "win2", "win3"):
        h = fleet.host(name)
        h.state["licensed"] = False
        h.on("status", lambda s, st: "licensed" if st["licensed"] else "unlicensed")
        h.on("activate", lambda s, st: (st.update(licensed=True), "ok")[1])

    def factory(spec: ConnectionSpec) -> FakeTransport:
        return fleet.factory(spec)

    monkeypatch.setattr(remediate.transports, "make_transport", factory)
    return fleet


def invoke(*args: Any, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def run_args(files: dict[str, Path], *extra: Any) -> list[Any]:
    return ["run", files["pb"], "-i", files["inv"], "--db", f"sqlite:///{files['db']}", *extra]


def test_dry_run_exit_2_and_reports(files: dict[str, Path], fleet: FakeFleet) -> None:
    d = files["dir"]
    r = invoke(*run_args(files, "--json", d / "r.json", "--jsonl", d / "r.jsonl", "--junit", d / "r.xml"))
    assert r.exit_code == 2, r.output
    assert not any("activate" in s for _, s in fleet.commands)  # dry run
    report = json.loads((d / "r.json").read_text(encoding="utf-8"))
    assert report["counts"]["would_fix"] == 3 and report["mode"] == "dry_run"
    assert len((d / "r.jsonl").read_text(encoding="utf-8").splitlines()) == 3
    assert len(ET.parse(d / "r.xml").getroot().findall(".//testcase")) == 3
    assert "RECAP Activation (dry run)" in r.output
    assert "\x1b[" not in r.output  # not a TTY: plain, no colour codes or animation
    for p in (d / "r.json", d / "r.jsonl", d / "r.xml", files["db"]):
        assert PASSWORD.encode() not in p.read_bytes()
    assert PASSWORD not in r.output


def test_hosts_file_and_planned_change_lines(files: dict[str, Path], fleet: FakeFleet) -> None:
    out = files["dir"] / "groups.yml"
    r = invoke(*run_args(files, "--hosts-file", out, "--json", files["dir"] / "r.json"))
    assert r.exit_code == 2, r.output
    assert "win1 would_fix" in r.output and "s  activate: activate against kms1.lab.test" in r.output
    groups = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert groups == {
        "verdict": {"would_fix": ["win1", "win2", "win3"]},
        "planned": {"activate": ["win1", "win2", "win3"]},
        "diagnosis": {},
    }
    assert json.loads((files["dir"] / "r.json").read_text(encoding="utf-8"))["groups"] == groups
    assert "PLANNED CHANGES" in r.output


def test_breaker_without_serial_warns(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke(*run_args(files, "--max-fail-percentage", "5"))
    assert "warning: --max-fail-percentage" in r.stderr


def test_apply_exit_0_and_history(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke(*run_args(files, "--apply", "--forks", "2"))
    assert r.exit_code == 0, r.output
    assert fleet.scripts_for("win1") == ["status", "activate kms1.lab.test", "status"]
    h = invoke("history", "--db", f"sqlite:///{files['db']}", "--json")
    assert h.exit_code == 0
    runs = json.loads(h.output)
    assert runs[0]["playbook"].endswith("pb.yml") and runs[0]["counts"]["fixed"] == 3
    plain = invoke("history", "--db", f"sqlite:///{files['db']}")
    assert "pb.yml" in plain.output and "apply" in plain.output


def test_unreachable_and_failed_exit_6(files: dict[str, Path], fleet: FakeFleet) -> None:
    fleet.host("win1").connect_errors = [CertificateError("untrusted")]  # not retried: fast
    fleet.host("win2").rules.insert(0, (re.compile("activate"), Reply(rc=5)))
    r = invoke(*run_args(files, "--apply", "--limit", "win1,win2"))
    assert r.exit_code == 6, r.output
    assert "win3" not in r.output  # --limit narrowed the targets


def test_extra_vars_override(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke(*run_args(files, "--apply", "-e", "kms_host=kms9.corp", "--limit", "win1"))
    assert r.exit_code == 0, r.output
    assert "activate kms9.corp" in fleet.scripts_for("win1")


def test_sigint_exits_130_with_finished_hosts(files: dict[str, Path], fleet: FakeFleet) -> None:
    def status(script: str, st: dict[str, Any]) -> str:
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the first host runs its check
        return "licensed"

    fleet.host("win1").rules.insert(0, (re.compile("status"), status))
    out = files["dir"] / "r.jsonl"
    r = invoke(*run_args(files, "--forks", "1", "--jsonl", out))
    assert r.exit_code == 130, r.output
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [(x["host"], x["verdict"]) for x in lines] == [
        ("win1", "compliant"),
        ("win2", "skipped"),
        ("win3", "skipped"),
    ]


def test_config_error_is_one_line_with_file_and_line(files: dict[str, Path]) -> None:
    bad = files["dir"] / "bad.yml"
    bad.write_text(
        PLAYBOOK.replace("    parse: text\n", "    parse: text\n    expekt: x\n"), encoding="utf-8"
    )
    r = CliRunner().invoke(main, ["run", str(bad), "-i", str(files["inv"])])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    line = r.output.strip()
    assert line.startswith(f"error: {bad}:") and "\n" not in line
    assert ":11:" in line or ":10:" in line  # the line of the bad key


def test_bad_inventory_and_usage_errors(files: dict[str, Path]) -> None:
    inv = files["dir"] / "bad-inv.yml"
    inv.write_text(INVENTORY.replace("ansible_host: 127.0.0.2", "ansible_port: abc"), encoding="utf-8")
    r = CliRunner().invoke(main, ["run", str(files["pb"]), "-i", str(inv)])
    assert r.exit_code == 1 and r.output.startswith(f"error: {inv}:"), r.output
    r = CliRunner().invoke(main, ["run", str(files["pb"]), "-i", str(files["inv"]), "--serial", "0"])
    assert r.exit_code == 1 and "--serial" in r.output
    r = CliRunner().invoke(main, ["run", str(files["pb"]), "-i", str(files["inv"]), "-e", "novalue"])
    assert r.exit_code == 1 and "key=value" in r.output
    r = CliRunner().invoke(main, ["run", str(files["pb"]), "-i", str(files["dir"] / "missing.yml")])
    assert r.exit_code == 1 and "missing.yml" in r.output
    r = CliRunner().invoke(main, ["run", str(files["pb"]), "-i", str(files["inv"]), "--limit", "nomatch*"])
    assert r.exit_code == 1
    r = CliRunner().invoke(main, ["run"])  # click usage error
    assert r.exit_code == 2 or r.exit_code == 1


def test_inventory_commands_mask_secrets(files: dict[str, Path]) -> None:
    r = invoke("inventory", "list", "-i", files["inv"])
    assert r.exit_code == 0
    assert "warning:" in r.stderr  # literal password in the inventory is discouraged
    data = json.loads(r.stdout)
    assert data["_meta"]["hostvars"]["win1"]["ansible_password"] == "********"
    r = invoke("inventory", "host", "win3", "-i", files["inv"])
    assert json.loads(r.stdout)["site"] == "osaka"
    assert PASSWORD not in r.output
    r = invoke("inventory", "graph", "-i", files["inv"])
    assert "@windows:" in r.output and "win2" in r.output


def test_render_prints_scripts_without_connecting(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke("render", files["pb"], "-i", files["inv"], "--limit", "win2", "-e", "kms_host=k&b")
    assert r.exit_code == 0, r.output
    assert "# win2" in r.output and "## check license (cmd)" in r.output
    assert 'activate "k&b"' in r.output  # the value arrives quoted for cmd
    assert fleet.connects == []


def test_explain(files: dict[str, Path]) -> None:
    r = invoke("explain", "0xC004F074", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output)["code"] == "0xC004F074"
    r = invoke("explain", "c004f074")
    assert r.exit_code == 0 and "0xC004F074" in r.output
    r = CliRunner().invoke(main, ["explain", "0x12345678"])
    assert r.exit_code == 1 and r.output.startswith("error: ")


def test_kms_parse_errors_are_usage_errors(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_bytes(b"garbage")
    r = CliRunner().invoke(main, ["kms", "parse", "no-such-kind", str(f)])
    assert r.exit_code == 1 and r.output.startswith("error: ")


def test_console_rich_mode_renders_progress_and_recap() -> None:
    import io

    from remediate.console import Console
    from remediate.core.diagnosis import Diagnosis
    from remediate.core.results import HostResult, RunResult, StepResult

    buf = io.StringIO()
    c = Console(buf, plain=False, verbose=True)
    ev = c.progress()
    ev.run_started("KMS", ["a", "b"], "apply")
    ev.host_started("a")
    ev.step_started("a", "license", "check")
    rendered = io.StringIO()
    from rich.console import Console as RC

    RC(file=rendered, width=100).print(ev)  # the live view: bar, counts, slowest running host
    assert "0/2" in rendered.getvalue() and "check license" in rendered.getvalue()
    diag = Diagnosis("0xC004F074", "KMS unreachable", "port closed", "open TCP 1688", False)
    step = StepResult("license", "check", 1, "out line", "err line", 0.0, 0.1, False, None)
    a = HostResult("a", "failed", steps=[step], diagnosis=[diag], error="verify failed: license")
    ev.host_finished(a)
    b = HostResult("b", "fixed")
    ev.host_finished(b)
    run = RunResult("KMS", "apply", 0.0, 1.0, [a, b])
    ev.run_finished(run)
    c.recap(run)
    out = buf.getvalue()
    assert "KMS unreachable (0xC004F074)" in out and "open TCP 1688" in out
    assert "stdout| out line" in out  # -v step output


def test_history_read_creates_nothing_and_takes_a_path(files: dict[str, Path], fleet: FakeFleet) -> None:
    missing = files["dir"] / "nowhere" / "x.db"
    r = invoke("history", "--db", f"sqlite:///{missing}")
    assert r.exit_code == 1 and "error: no history database at" in r.stderr and "Traceback" not in r.output
    assert not missing.parent.exists()
    assert invoke(*run_args(files, "--apply")).exit_code == 0
    h = invoke("history", "--db", str(files["db"]), "--run", "1", "--json")  # a plain path, as everywhere
    hosts = {row["host"] for row in json.loads(h.output)["hosts"]}
    assert h.exit_code == 0 and hosts == {"win1", "win2", "win3"}
    r = invoke("history", "--db", str(files["db"]), "--run", "999")
    assert r.exit_code == 1 and "no run '999'" in r.stderr
