"""The shop's inventory pattern against the lab: templated connection variables and KMS host.

`ansible_password: "{{ vault_winrm_password }}"` and `new_kms_host: "{{ site_kms }}"` in
group_vars. On the code before inventory templating the first was sent literally: every host
failed authentication (test_templated_password_and_kms_host fails there with 401s). A hostile
value reached through a template is still quoted like a literal; a missing password env variable
fails the run at load with no connection made.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from remediate import app
from remediate.cli import main
from remediate.engine import RunOptions

PW = "Lab-Passw0rd!"
ECHO = Path(__file__).parent / "playbooks" / "echo-site.yml"


def templated_inventory(lab: Any, directory: Path, group_vars: dict[str, Any]) -> Path:
    """The lab's inventory with the password moved to group_vars/windows.yml behind a template."""
    directory.mkdir(parents=True, exist_ok=True)
    inv = directory / "inventory.yml"
    lab.write_inventory(inv)
    data = yaml.safe_load(inv.read_text())
    windows = data["all"]["children"]["windows"]
    windows["vars"].pop("ansible_password")
    inv.write_text(yaml.safe_dump(data))
    (directory / "group_vars").mkdir(exist_ok=True)
    (directory / "group_vars" / "windows.yml").write_text(
        yaml.safe_dump(
            {"ansible_password": "{{ vault_winrm_password }}", "vault_winrm_password": PW, **group_vars}
        )
    )
    return inv


@pytest.mark.timeout(180)
def test_templated_password_authenticates(lab_factory: Any, tmp_path: Path) -> None:
    """Before inventory templating the text "{{ vault_winrm_password }}" was the password: a 401."""
    lab = lab_factory({"hosts": 2, "password": PW, "profiles": {"healthy": 100}})
    inv = templated_inventory(lab, tmp_path, {"site_label": "plain"})
    result = asyncio.run(app.run(app.load(ECHO, inv), RunOptions(retries=0)))
    assert [(h.verdict, h.error) for h in result.hosts] == [("compliant", None)] * 2


@pytest.mark.timeout(180)
def test_templated_password_and_kms_host(lab_factory: Any, tmp_path: Path) -> None:
    lab = lab_factory(
        {
            "hosts": 2,
            "password": PW,
            "kms_hosts": [{"name": "kms01"}, {"name": "kms02"}],
            "srv_records": ["kms01"],
            "profiles": {"healthy": 100},
        }
    )
    inv = templated_inventory(
        lab,
        tmp_path,
        {"site_kms": "kms02.{{ lab_domain }}", "lab_domain": "lab.test", "new_kms_host": "{{ site_kms }}"},
    )
    targets = app.load("kms-host-set.yml", inv)
    result = asyncio.run(app.run(targets, RunOptions(forks=4)))
    assert [h.verdict for h in result.hosts] == ["would_fix", "would_fix"], [h.error for h in result.hosts]
    for h in result.hosts:
        probe = next(s for s in h.steps if s.id == "new_kms_port")  # Test-NetConnection {{ new_kms_host }}
        assert (
            "ComputerName     : kms02.lab.test" in probe.stdout and "TcpTestSucceeded : True" in probe.stdout
        )
        assert any(p["describe"].endswith("-> kms02.lab.test:1688") for p in h.planned)
        assert PW not in str(h.to_dict())


@pytest.mark.timeout(180)
# Each value runs a program when not quoted (checked with `| raw`: hostname / whoami are started).
@pytest.mark.parametrize("value", ["kms; Remove-Item C:\\ -Recurse; hostname", "kms & whoami"])
def test_hostile_value_behind_a_template_is_quoted(lab_factory: Any, tmp_path: Path, value: str) -> None:
    lab = lab_factory({"hosts": 1, "password": PW, "profiles": {"healthy": 100}})
    inv = templated_inventory(lab, tmp_path, {"site_kms": value, "site_label": "{{ site_kms }}"})
    result = asyncio.run(app.run(app.load(ECHO, inv), RunOptions()))
    (host,) = result.hosts
    emulated = next(iter(lab.hosts.values())).emulated
    # echo and Write-Output are builtins: any program but the transport's powershell.exe is injected
    started = [argv[0] for argv in emulated.executed if argv[0].lower() != "powershell.exe"]
    assert started == [], started
    outputs = {s.id: s.stdout.strip() for s in host.steps}
    assert outputs["echo-ps"] == value
    assert value in outputs["echo-cmd"] or host.steps[0].error  # cmd echo keeps quotes, or refused


class CountingListener:
    """A TCP port that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[CountingListener]:
    lst = CountingListener()
    yield lst
    lst.close()


def test_missing_password_env_fails_the_run_before_any_connection(
    listener: CountingListener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESENT_WINRM_PW", "x")
    monkeypatch.delenv("ABSENT_WINRM_PW", raising=False)
    (tmp_path / "inv.yml").write_text(
        f"""\
all:
  children:
    windows:
      hosts:
        ok1: {{remediate_password_env: PRESENT_WINRM_PW}}
        missing1: {{ansible_password: "{{{{ lookup('env', 'ABSENT_WINRM_PW') }}}}"}}
      vars:
        ansible_host: 127.0.0.1
        ansible_port: {listener.port}
        ansible_winrm_scheme: http
        ansible_user: admin
        remediate_connect_timeout: 2
"""
    )
    r = CliRunner().invoke(
        main,
        ["run", "windows-kms.yml", "-i", str(tmp_path / "inv.yml"), "--no-history"],
        catch_exceptions=False,
    )
    assert r.exit_code != 0
    assert "host missing1: ansible_password: environment variable ABSENT_WINRM_PW is not set" in r.output
    assert listener.accepted == 0  # ok1 was not contacted either
