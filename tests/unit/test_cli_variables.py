"""-e and inventory values reach templates typed: `-e allow_gvlk=false` is False, not 'false'.

The first test is the bug report end to end: on the old code the string 'false' was truthy and
the dry run planned the opt-in fix anyway.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import remediate.transports
from remediate import app
from remediate.cli import main
from remediate.core.model import ConnectionSpec
from remediate.core.render import context_for
from remediate.inventory import Host
from remediate.transports.fake import FakeFleet, FakeTransport


def context(targets: app.Targets, host: Host) -> dict[str, Any]:
    """What the engine's templates see on `host` before any check ran."""
    return context_for(targets.playbook.vars, host.template_vars(), host=host.name)


INVENTORY = """\
all:
  children:
    windows:
      hosts:
        win1: {ansible_host: 127.0.0.1}
        win2: {ansible_host: 127.0.0.2}
      vars:
        ansible_connection: fake
        ansible_user: admin
        ansible_password: {env: REMEDIATE_TEST_UNUSED}
"""

PLAYBOOK = """\
name: Opt-in
targets: windows
vars:
  allow_gvlk: {type: bool, default: false}
checks:
  - id: license
    shell: cmd
    run: status
    parse: text
    expect: "facts.license == 'licensed'"
fixes:
  - id: rearm
    addresses: [check:license]
    shell: cmd
    run: rearm
  - id: install-gvlk
    addresses: [check:license]
    shell: cmd
    when: allow_gvlk
    run: install-gvlk
"""

FALSE = ["false", "no", "False", "0", "off"]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("REMEDIATE_TEST_UNUSED", "pw")
    inv, pb = tmp_path / "inv.yml", tmp_path / "pb.yml"
    inv.write_text(INVENTORY, encoding="utf-8")
    pb.write_text(PLAYBOOK, encoding="utf-8")
    return {"inv": inv, "pb": pb, "dir": tmp_path}


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> FakeFleet:
    fleet = FakeFleet()
    for name in ("win1", "win2"):
        fleet.host(name).on("status", lambda s, st: "unlicensed")

    def factory(spec: ConnectionSpec) -> FakeTransport:
        return fleet.factory(spec)

    monkeypatch.setattr(remediate.transports, "make_transport", factory)
    return fleet


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("value", FALSE)
def test_e_false_does_not_plan_the_opt_in_fix(files: dict[str, Path], fleet: FakeFleet, value: str) -> None:
    out = files["dir"] / "r.json"
    r = invoke(
        "run", files["pb"], "-i", files["inv"], "--no-history", "--json", out, "-e", f"allow_gvlk={value}"
    )
    assert r.exit_code == 2, r.output
    planned = [p["id"] for h in json.loads(out.read_text(encoding="utf-8"))["hosts"] for p in h["planned"]]
    assert planned == ["rearm", "rearm"]  # never install-gvlk: the admin said no


def test_e_true_plans_it(files: dict[str, Path], fleet: FakeFleet) -> None:
    out = files["dir"] / "r.json"
    r = invoke("run", files["pb"], "-i", files["inv"], "--no-history", "--json", out, "-e", "allow_gvlk=yes")
    assert r.exit_code == 2, r.output
    planned = [p["id"] for h in json.loads(out.read_text(encoding="utf-8"))["hosts"] for p in h["planned"]]
    assert planned.count("install-gvlk") == 2


@pytest.mark.parametrize("value", FALSE)
def test_shipped_windows_kms_context_is_python_false(files: dict[str, Path], value: str) -> None:
    targets = app.load("windows-kms.yml", files["inv"], extra_vars=[f"allow_gvlk={value}"])
    assert targets.extra_vars["allow_gvlk"] is False
    for host in targets.hosts:
        assert context(targets, host)["allow_gvlk"] is False


def test_shipped_kms_host_set_rollback_false(files: dict[str, Path]) -> None:
    args = ["rollback=false new_kms_port=1700 new_kms_host=kms02.corp"]
    targets = app.load("kms-host-set.yml", files["inv"], limit="win1", extra_vars=args)
    ctx = context(targets, targets.hosts[0])
    assert ctx["rollback"] is False and ctx["new_kms_port"] == 1700 and ctx["new_kms_host"] == "kms02.corp"
    assert ctx["activate_after_move"] is True  # the playbook default, typed


def test_bad_bool_exits_1_before_connecting(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke("run", "windows-kms.yml", "-i", files["inv"], "--no-history", "-e", "allow_gvlk=maybe")
    assert r.exit_code == 1
    assert r.output.strip() == (
        "error: -e allow_gvlk: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'"
    )
    assert fleet.connects == [] and fleet.commands == []


def test_bad_inventory_value_names_host_file_and_line(files: dict[str, Path], fleet: FakeFleet) -> None:
    inv = files["dir"] / "bad.yml"
    inv.write_text(
        INVENTORY.replace("{ansible_host: 127.0.0.2}", '{ansible_host: 127.0.0.2, kms_port: "abc"}')
    )
    r = invoke("run", "windows-kms.yml", "-i", inv, "--no-history")
    assert r.exit_code == 1
    assert r.output.strip() == (
        f"error: {inv}:6: host win2: hosts.win2.kms_port: expected a port number (1-65535), got 'abc'"
    )
    assert fleet.connects == []
    r = invoke("render", "windows-kms.yml", "-i", inv, "-e", "kms_port=1688")  # -e wins over inventory
    assert r.exit_code == 0, r.output


def test_render_validates_e_host(files: dict[str, Path], fleet: FakeFleet) -> None:
    r = invoke("render", "kms-host-set.yml", "-i", files["inv"], "-l", "win1", "-e", 'new_kms_host="kms 02"')
    assert r.exit_code == 1 and "-e new_kms_host: expected a DNS host name or IP address" in r.output
    assert fleet.connects == []


def test_auth_fail_limit_reaches_the_engine(monkeypatch: Any, tmp_path: Any) -> None:
    """--auth-fail-limit is the lockout guard's limit (RunOptions.auth_fail_limit); 0 is refused."""
    from click.testing import CliRunner

    from remediate import cli

    seen: dict[str, Any] = {}

    def execute(targets: Any, options: Any, outputs: Any, console: Any, plan: Any = None) -> None:
        seen["limit"] = options.auth_fail_limit
        raise SystemExit(0)

    monkeypatch.setattr(cli, "_execute", execute)
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  children:\n    windows:\n      hosts:\n        h1: {}\n", encoding="utf-8")
    r = CliRunner().invoke(
        cli.main, ["run", "kms-health.yml", "-i", str(inv), "--auth-fail-limit", "10", "--no-history"]
    )
    assert r.exit_code == 0 and seen["limit"] == 10, r.output
    r = CliRunner().invoke(cli.main, ["sweep", "kms-health.yml", "-i", str(inv), "--auth-fail-limit", "0"])
    assert r.exit_code == 2 and "auth-fail-limit" in r.output
