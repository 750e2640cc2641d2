"""Inventories load like Ansible loads them (checked against the real ansible-inventory)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jinja2 import Undefined

from remediate.core.errors import ConfigError, CredentialError
from remediate.inventory import MASK, Inventory
from remediate.inventory.connection import connection_spec
from remediate.inventory.credentials import CredentialResolver
from remediate.transports.wsman_common import winrm_client

CASES = Path(__file__).parent.parent / "cases" / "inventories"

INI = """\
# comment
lonely ansible_host=10.0.0.9

[web]
web[01:02].corp.test ansible_port=5985 role=front
web03.corp.test:5999

[db]
db1 ansible_host=10.0.0.5 kms_port=1700 flag=True

[windows:children]
web
db

[windows:vars]
ansible_connection=winrm
ansible_user=admin
kms_port=1688
ansible_winrm_scheme=http

[web:vars]
tier = web tier
"""


@pytest.fixture
def ini_inventory(tmp_path: Path) -> Path:
    (tmp_path / "hosts").write_text(INI)
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("site: hq\nkms_port: 1\n")
    (tmp_path / "group_vars" / "windows.yaml").write_text("site: eu\nansible_winrm_transport: ntlm\n")
    (tmp_path / "group_vars" / "web").mkdir()
    (tmp_path / "group_vars" / "web" / "10-a.yml").write_text("tier: from-dir\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "db1").write_text("kms_port: 1800\nremediate_password_env: DB_PW\n")
    return tmp_path / "hosts"


def test_ini_groups_children_vars_and_precedence(ini_inventory: Path) -> None:
    inv = Inventory.load(ini_inventory, extra_vars={"role": "cli"})
    assert list(inv.hosts) == ["lonely", "web01.corp.test", "web02.corp.test", "web03.corp.test", "db1"]
    web1, db1 = inv.hosts["web01.corp.test"], inv.hosts["db1"]
    assert web1.groups == ["web", "windows"] and inv.hosts["lonely"].groups == ["ungrouped"]
    # inventory group vars < group_vars/all < group_vars/<group> < host vars < host_vars/ < -e
    assert web1.vars["site"] == "eu" and web1.vars["tier"] == "from-dir" and web1.vars["role"] == "cli"
    assert web1.vars["ansible_port"] == 5985 and inv.hosts["web03.corp.test"].vars["ansible_port"] == 5999
    assert db1.vars["kms_port"] == 1800 and db1.vars["flag"] is True
    assert inv.hosts["lonely"].vars["kms_port"] == 1


@pytest.mark.ansible
def test_same_vars_and_graph_as_ansible_inventory(ini_inventory: Path) -> None:
    exe = Path(sys.executable).with_name("ansible-inventory")
    if not exe.exists() and not shutil.which("ansible-inventory"):
        pytest.skip("ansible-inventory not installed")
    cmd = [str(exe if exe.exists() else "ansible-inventory"), "-i", str(ini_inventory)]
    env = {"ANSIBLE_LOCAL_TEMP": str(ini_inventory.parent / ".tmp"), "HOME": str(ini_inventory.parent)}
    ours = Inventory.load(ini_inventory)
    listed = json.loads(
        subprocess.run([*cmd, "--list"], capture_output=True, text=True, check=True, env=env).stdout
    )
    for name, host in ours.hosts.items():
        assert listed["_meta"]["hostvars"][name] == host.vars, name
    graph = subprocess.run([*cmd, "--graph"], capture_output=True, text=True, check=True, env=env).stdout
    assert ours.graph() == graph.rstrip("\n")


def test_yaml_inventory_and_connection_specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "inv.yml").write_text(
        """\
all:
  vars:
    ansible_user: admin
    ansible_password: {env: WIN_PW}
  children:
    windows:
      vars: {ansible_connection: winrm, ansible_winrm_transport: [ntlm, kerberos]}
      hosts:
        w-https: {ansible_host: 10.0.0.1}
        w-http: {ansible_port: 5985, remediate_output_encoding: cp932, remediate_codepage: 932}
        w-scheme: {ansible_winrm_scheme: http, ansible_winrm_server_cert_validation: ignore}
        p1: {ansible_connection: psrp, ansible_psrp_protocol: http, ansible_psrp_auth: ntlm}
        s1: {ansible_connection: ssh, ansible_port: 5985, remediate_ssh_port: 2222}
        w-py: {ansible_port: 5985, remediate_winrm_client: pywinrm}
        w-krb: {ansible_port: 5985, ansible_winrm_transport: kerberos,
                ansible_winrm_kerberos_hostname_override: w1.corp.test}
        w-credssp: {ansible_port: 5985, ansible_winrm_transport: credssp}
"""
    )
    monkeypatch.setenv("WIN_PW", "s3cret")
    inv = Inventory.load(tmp_path / "inv.yml")
    creds = CredentialResolver()
    spec = {n: connection_spec(h, creds) for n, h in inv.hosts.items()}
    assert (spec["w-https"].address, spec["w-https"].port, spec["w-https"].scheme) == (
        "10.0.0.1",
        5986,
        "https",
    )
    assert (spec["w-http"].port, spec["w-http"].scheme, spec["w-http"].auth) == (5985, "http", "ntlm")
    assert (spec["w-http"].codepage, spec["w-http"].output_encoding) == (932, "cp932")
    assert (spec["w-scheme"].port, spec["w-scheme"].cert_validation) == (5985, False)
    assert (spec["p1"].connection, spec["p1"].port, spec["p1"].auth) == ("psrp", 5985, "ntlm")
    assert (spec["s1"].connection, spec["s1"].port) == ("ssh", 2222)
    # which winrm client: native unless asked for pywinrm or the auth needs it
    assert (spec["w-http"].winrm_client, winrm_client(spec["w-http"])) == ("auto", "native")
    assert (spec["w-py"].winrm_client, winrm_client(spec["w-py"])) == ("pywinrm", "pywinrm")
    assert (spec["w-krb"].winrm_client, winrm_client(spec["w-krb"])) == ("auto", "native")
    assert spec["w-krb"].kerberos_host == "w1.corp.test"
    assert (spec["w-credssp"].winrm_client, winrm_client(spec["w-credssp"])) == ("auto", "pywinrm")
    assert spec["w-https"].password == "s3cret" and spec["w-https"].credential_id == "admin@env:WIN_PW"
    assert "s3cret" not in repr(spec["w-https"])


def test_credentials_sources_and_masking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pw.txt").write_text("from-file\n")
    (tmp_path / "inv.yml").write_text(
        """\
all:
  hosts:
    lit1: {ansible_user: a, ansible_password: "Lit3ral!"}
    lit2: {ansible_user: a, ansible_password: "Lit3ral!"}
    f1: {ansible_user: b, ansible_password: {file: pw.txt}}
    p1: {ansible_user: c, remediate_password_prompt: true}
    p2: {ansible_user: c, remediate_password_prompt: true}
    e1: {ansible_user: d, ansible_password: "{{ lookup('env', 'MISSING_PW_VAR') }}"}
"""
    )
    monkeypatch.delenv("MISSING_PW_VAR", raising=False)
    inv = Inventory.load(tmp_path / "inv.yml")
    assert len(inv.warnings) == 2 and all(
        "literal password" in w and "Lit3ral" not in w for w in inv.warnings
    )
    asked: list[str] = []
    creds = CredentialResolver(prompt=lambda label: asked.append(label) or "typed")
    lit = [creds.password_for(inv.hosts[n]) for n in ("lit1", "lit2")]
    assert lit[0] == lit[1] and lit[0][0] == "Lit3ral!" and "Lit3ral" not in lit[0][1]
    assert creds.password_for(inv.hosts["f1"]) == ("from-file", f"b@file:{tmp_path / 'pw.txt'}")
    assert (
        creds.password_for(inv.hosts["p1"]) == creds.password_for(inv.hosts["p2"]) == ("typed", "c@prompt:c")
    )
    assert len(asked) == 1
    with pytest.raises(CredentialError, match="MISSING_PW_VAR is not set"):
        creds.password_for(inv.hosts["e1"])
    h = inv.hosts["lit1"]
    assert (
        h.masked_vars()["ansible_password"] == MASK and "Lit3ral" not in repr(h) and "Lit3ral" not in str(h)
    )
    assert isinstance(h.template_vars()["ansible_password"], Undefined)
    assert inv.hosts["f1"].masked_vars()["ansible_password"] == {"file": str(tmp_path / "pw.txt")}
    assert "Lit3ral" not in json.dumps(inv.to_dict())


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_bad_inventory_case(case: Path) -> None:
    expected = case.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(ConfigError) as info:
        Inventory.load(case)
    assert str(info.value).startswith(str(case) + expected), str(info.value)


def test_missing_inventory() -> None:
    with pytest.raises(ConfigError, match="inventory not found"):
        Inventory.load("/nonexistent/inv.yml")
