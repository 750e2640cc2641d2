"""Ansible Vault in inventories, against files and values made by the real `ansible-vault`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from jinja2 import Undefined

from remediate.cli import main
from remediate.core.errors import ConfigError
from remediate.engine.scheduler import _secrets_of
from remediate.inventory import MASK, Inventory
from remediate.inventory.vault import VaultKeys, VaultSecret, load_keys, parse_envelope
from tests.vault_tools import encrypt_file, encrypt_string, password_file

PW = "Winrm-Passw0rd!"  # the secret the vault holds
VAULT_PW = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _no_ansible_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in list(os.environ):
        if k.startswith("ANSIBLE_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)


def _inventory(tmp: Path, *, label: str | None = None) -> tuple[Path, Path]:
    """inv.yml + group_vars/windows/vault.yml (whole-file vault) + an inline !vault value."""
    pw = password_file(tmp, VAULT_PW)
    gv = tmp / "group_vars" / "windows"
    gv.mkdir(parents=True)
    (gv / "vars.yml").write_text("ansible_user: admin\n", encoding="utf-8")
    vault_yml = gv / "vault.yml"
    vault_yml.write_text(f"ansible_password: {PW}\nvault_site: site-b\n", encoding="utf-8")
    encrypt_file(vault_yml, pw, label)
    inline = encrypt_string("kms.corp.example", "kms_host", pw, label)
    inv = tmp / "inv.yml"
    inline_indented = "".join("      " + line + "\n" for line in inline.splitlines())
    inv.write_text(
        "all:\n  children:\n    windows:\n      hosts:\n        w1:\n        w2:\n"
        f"  vars:\n    ansible_connection: winrm\n{inline_indented[2:]}",
        encoding="utf-8",
    )
    # the inline value sits under all.vars (4 spaces for the key)
    text = inv.read_text(encoding="utf-8").replace("      kms_host: !vault |", "    kms_host: !vault |")
    inv.write_text(text, encoding="utf-8")
    return inv, pw


@pytest.mark.parametrize("label", [None, "prod"], ids=["1.1", "1.2-label"])
def test_vault_file_and_inline_value_decrypt(tmp_path: Path, label: str | None) -> None:
    inv_path, pw = _inventory(tmp_path, label=label)
    header = (tmp_path / "group_vars/windows/vault.yml").read_text().splitlines()[0]
    assert header == (f"$ANSIBLE_VAULT;1.2;AES256;{label}" if label else "$ANSIBLE_VAULT;1.1;AES256")
    keys = load_keys([f"{label}@{pw}"] if label else [], [] if label else [str(pw)])
    inv = Inventory.load(inv_path, vault=keys)
    w1 = inv.host("w1")
    assert w1.vars["ansible_password"] == PW and isinstance(w1.vars["ansible_password"], VaultSecret)
    assert w1.vars["kms_host"] == "kms.corp.example"
    assert w1.vars["ansible_user"] == "admin"
    # decrypted values are masked in listings whatever their names, and no warning; under a
    # name that is not secret-like they reach templates (the admin put them there to be used)
    masked = w1.masked_vars()
    assert masked["kms_host"] == MASK and masked["vault_site"] == MASK and masked["ansible_user"] == "admin"
    assert w1.template_vars()["kms_host"] == "kms.corp.example" and not w1.is_secret("kms_host")
    assert isinstance(w1.template_vars()["ansible_password"], Undefined)
    assert inv.warnings == []
    assert PW not in json.dumps(inv.to_dict()) and PW not in repr(w1)


def test_label_of_the_envelope_is_tried_first_then_the_others(tmp_path: Path) -> None:
    inv_path, pw = _inventory(tmp_path, label="prod")
    other = password_file(tmp_path, "not it", "other.txt")
    # the right password under another label still works (Ansible's vault_id_match = False)
    keys = load_keys([f"dev@{other}", f"staging@{pw}"])
    assert Inventory.load(inv_path, vault=keys).host("w2").vars["ansible_password"] == PW


def test_wrong_password_names_file_and_vault_id_never_the_secret(tmp_path: Path) -> None:
    inv_path, _ = _inventory(tmp_path, label="prod")
    wrong = password_file(tmp_path, "Wrong-Vault-Pw", "wrong.txt")
    with pytest.raises(ConfigError) as info:
        Inventory.load(inv_path, vault=load_keys([f"prod@{wrong}"]))
    msg = str(info.value)
    assert msg.startswith(f"{inv_path}:9: all.vars.kms_host: vault-encrypted value")
    assert "vault id 'prod'" in msg and "tried vault ids: prod" in msg and "wrong vault password" in msg
    assert "Wrong-Vault-Pw" not in msg and "kms.corp" not in msg


def test_wrong_password_on_a_whole_file_names_the_file(tmp_path: Path) -> None:
    inv_path, _ = _inventory(tmp_path)
    inv_path.write_text("all:\n  children:\n    windows:\n      hosts: {w1: }\n", encoding="utf-8")
    wrong = password_file(tmp_path, "nope-nope", "wrong.txt")
    with pytest.raises(ConfigError) as info:
        Inventory.load(inv_path, vault=load_keys([], [str(wrong)]))
    vault_yml = tmp_path / "group_vars" / "windows" / "vault.yml"
    assert str(info.value).startswith(f"{vault_yml}: vault-encrypted file: no vault password")
    assert "tried vault ids: default" in str(info.value)


def test_missing_password_is_a_load_error_saying_how(tmp_path: Path) -> None:
    """Before: group_vars/windows/vault.yml failed with "expected a mapping, got str"."""
    inv_path, _ = _inventory(tmp_path)
    inv_path.write_text("all:\n  children:\n    windows:\n      hosts: {w1: }\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Inventory.load(inv_path)
    vault_yml = tmp_path / "group_vars" / "windows" / "vault.yml"
    assert str(info.value) == (
        f"{vault_yml}: vault-encrypted file but no vault password was given: pass one with "
        "--vault-password-file FILE, --vault-id [LABEL@]FILE, ANSIBLE_VAULT_PASSWORD_FILE or "
        "vault_password_file in ansible.cfg"
    )


def test_executable_password_file_is_run(tmp_path: Path) -> None:
    inv_path, _ = _inventory(tmp_path)
    script = tmp_path / "vault-pass.sh"
    script.write_text(f"#!/bin/sh\necho '{VAULT_PW}'\n", encoding="utf-8")
    script.chmod(0o700)
    inv = Inventory.load(inv_path, vault=load_keys([], [str(script)]))
    assert inv.host("w1").vars["ansible_password"] == PW


def test_client_script_gets_its_vault_id(tmp_path: Path) -> None:
    inv_path, _ = _inventory(tmp_path, label="prod")
    script = tmp_path / "vault-client.sh"  # Ansible: *-client[.ext] scripts get --vault-id LABEL
    script.write_text(
        f'#!/bin/sh\n[ "$1" = --vault-id ] && [ "$2" = prod ] && echo \'{VAULT_PW}\' && exit 0\nexit 2\n',
        encoding="utf-8",
    )
    script.chmod(0o700)
    inv = Inventory.load(inv_path, vault=load_keys([f"prod@{script}"]))
    assert inv.host("w1").vars["kms_host"] == "kms.corp.example"


def test_failing_script_and_missing_file_and_prompt_without_tty(tmp_path: Path) -> None:
    script = tmp_path / "fail.sh"
    script.write_text("#!/bin/sh\nexit 3\n", encoding="utf-8")
    script.chmod(0o700)
    with pytest.raises(ConfigError, match="vault password script exited with 3"):
        load_keys([], [str(script)])
    with pytest.raises(ConfigError, match="vault password file not found"):
        load_keys(["x@/nonexistent/pw"])
    with pytest.raises(ConfigError, match="needs an interactive terminal"):
        load_keys(["ops@prompt"])
    assert load_keys(["ops@prompt"], prompt=lambda label: VAULT_PW).passwords[0].label == "ops"


def test_envelope_parsing() -> None:
    env = parse_envelope("$ANSIBLE_VAULT;1.2;AES256;prod\n6162\n6364\n", file="f")
    assert (env.version, env.cipher, env.label, env.body) == ("1.2", "AES256", "prod", b"61626364")
    with pytest.raises(ConfigError, match="not supported"):
        parse_envelope("$ANSIBLE_VAULT;1.0;AES\n00\n", file="f")
    with pytest.raises(ConfigError, match="malformed vault data"):
        VaultKeys(load_keys(["prompt"], prompt=lambda _: "x").passwords).decrypt(
            "$ANSIBLE_VAULT;1.1;AES256\nzz\n", file="f"
        )


def test_cli_inventory_list_with_vault_password_file(tmp_path: Path) -> None:
    inv_path, pw = _inventory(tmp_path)
    r = CliRunner().invoke(
        main, ["inventory", "host", "w1", "-i", str(inv_path), "--vault-password-file", str(pw)]
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["ansible_password"] == MASK and data["kms_host"] == MASK
    assert PW not in r.output
    r = CliRunner().invoke(main, ["inventory", "list", "-i", str(inv_path)])
    assert r.exit_code == 1 and "vault" in r.output and "--vault-password-file" in r.output
    assert "Traceback" not in r.output


def test_vault_held_kms_host_reaches_templates_and_output(tmp_path: Path) -> None:
    """Ansible's layout: `kms_host: "{{ vault_kms_host }}"` in vars.yml, the value in vault.yml.
    Before: the value was hidden from templates (render showed `/skms "":1688`, the playbook's
    default) and registered with the redactor (the recap showed the KMS host as ********)."""
    pw = password_file(tmp_path, VAULT_PW)
    gv = tmp_path / "group_vars" / "windows"
    gv.mkdir(parents=True)
    (gv / "vars.yml").write_text(
        'ansible_user: admin\nansible_password: "{{ vault_winrm_password }}"\n'
        'kms_host: "{{ vault_kms_host }}"\n',
        encoding="utf-8",
    )
    vault_yml = gv / "vault.yml"
    vault_yml.write_text(f"vault_winrm_password: {PW}\nvault_kms_host: kms.vault.test\n", encoding="utf-8")
    encrypt_file(vault_yml, pw, None)
    inv_path = tmp_path / "inv.yml"
    inv_path.write_text("all:\n  children:\n    windows:\n      hosts:\n        w1:\n", encoding="utf-8")
    args = ["-i", str(inv_path), "--vault-password-file", str(pw)]
    r = CliRunner().invoke(main, ["render", "windows-kms", *args])
    assert r.exit_code == 0, r.output
    assert "/skms kms.vault.test:1688" in r.output and "-ComputerName 'kms.vault.test'" in r.output
    assert PW not in r.output
    r = CliRunner().invoke(main, ["inventory", "host", "w1", *args])
    data = json.loads(r.output)  # still masked in listings
    assert data["kms_host"] == MASK and data["vault_kms_host"] == MASK and data["ansible_password"] == MASK
    w1 = Inventory.load(inv_path, vault=load_keys([], [str(pw)])).host("w1")
    redacted = _secrets_of(w1, None)  # what the engine's redactor gets: the password, not the KMS host
    assert PW in redacted and "kms.vault.test" not in redacted
