"""An inventory whose WinRM password lives in Ansible Vault (made by the real `ansible-vault`)
runs against the lab unchanged, through `remediate run` as a process; the password shows nowhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import LabFactory
from tests.vault_tools import encrypt_file, encrypt_string, password_file

PW = "Lab-Vault-Passw0rd!"
VAULT_PW = "vault-pass-for-tests"


def _vaulted_inventory(
    lab_inventory: Path, directory: Path, *, inline: bool, templated: bool = False
) -> Path:
    """The lab's inventory without its password; the password in vault (a group_vars file or inline)."""
    data = yaml.safe_load(lab_inventory.read_text(encoding="utf-8"))
    assert data["all"]["children"]["windows"]["vars"].pop("ansible_password") == PW
    pw = password_file(directory, VAULT_PW)
    inv = directory / "inventory.yml"
    text = yaml.safe_dump(data, sort_keys=False)
    if inline:
        value = encrypt_string(PW, "ansible_password", pw, label="lab")
        lines = "".join(f"        {line}\n" for line in value.splitlines())
        assert "\n      vars:\n" in text
        text = text.replace("\n      vars:\n", "\n      vars:\n" + lines, 1)
    elif templated:
        # Ansible's documented layout: the secret in vault.yml under a vault_ name, referenced by
        # a plain vars.yml; the user is templated too (from a variable set elsewhere)
        gv = directory / "group_vars" / "windows"
        gv.mkdir(parents=True)
        (gv / "vault.yml").write_text(f"vault_winrm_password: {PW}\n", encoding="utf-8")
        encrypt_file(gv / "vault.yml", pw, label="lab")
        user = data["all"]["children"]["windows"]["vars"].pop("ansible_user")
        (gv / "vars.yml").write_text(
            'ansible_password: "{{ vault_winrm_password }}"\n'
            'ansible_user: "{{ site_admin }}"\n'
            f"site_admin: {user}\n",
            encoding="utf-8",
        )
    else:
        gv = directory / "group_vars" / "windows"  # the layout that failed: "expected a mapping"
        gv.mkdir(parents=True)
        (gv / "vault.yml").write_text(f"ansible_password: {PW}\n", encoding="utf-8")
        encrypt_file(gv / "vault.yml", pw, label="lab")
    inv.write_text(text, encoding="utf-8")
    return inv


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("inline", "templated"),
    [(False, False), (True, False), (False, True)],
    ids=["group_vars-file", "inline-value", "vault-var-templated"],
)
def test_vaulted_password_runs_against_the_lab(
    lab_factory: LabFactory, tmp_path: Path, inline: bool, templated: bool
) -> None:
    lab = lab_factory({"hosts": 2, "seed": 4, "password": PW, "profiles": {"healthy": 100}})
    inv = _vaulted_inventory(
        lab.write_inventory(tmp_path / "lab.yml"), tmp_path, inline=inline, templated=templated
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["HOME"] = str(tmp_path)
    base = [sys.executable, "-m", "remediate.cli", "run", "windows-kms.yml", "-i", str(inv), "--no-history"]

    # without a password: refused at load, naming the vault, before anything connects
    r = subprocess.run(base, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 1 and "vault" in r.stderr and "--vault-password-file" in r.stderr, r.stderr

    out = tmp_path / "run.json"
    env["ANSIBLE_VAULT_IDENTITY_LIST"] = f"lab@{tmp_path / 'vault-pass.txt'}"
    r = subprocess.run(
        [*base, "--json", str(out), "-v"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "literal password" not in r.stderr, r.stderr  # a vault value is no literal in the file
    result = json.loads(out.read_text(encoding="utf-8"))
    assert sorted(h["verdict"] for h in result["hosts"]) == ["compliant", "compliant"]
    for text in (r.stdout, r.stderr, out.read_text(encoding="utf-8")):
        assert PW not in text and VAULT_PW not in text
