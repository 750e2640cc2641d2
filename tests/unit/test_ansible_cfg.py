"""ansible.cfg search order, ANSIBLE_* overrides and the command line on top."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from remediate.app import load_inventory
from remediate.cli import main
from remediate.core.errors import ConfigError
from remediate.inventory.ansible_cfg import load_config, parse_bool
from remediate.inventory.connection import build_spec, security_optouts
from remediate.inventory.setup import InventoryOptions, resolve

INV = "all:\n  hosts:\n    h1: {ansible_connection: ssh}\n"


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A private cwd and HOME; no ANSIBLE_* from the developer's shell."""
    for k in list(os.environ):
        if k.startswith("ANSIBLE_"):
            monkeypatch.delenv(k)
    cwd, home = tmp_path / "work", tmp_path / "home"
    cwd.mkdir(mode=0o755)
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    return cwd, home


def cfg(path: Path, **defaults: str) -> Path:
    path.write_text("[defaults]\n" + "".join(f"{k} = {v}\n" for k, v in defaults.items()), encoding="utf-8")
    return path


def test_search_order(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, home = dirs
    cfg(home / ".ansible.cfg", forks="7")
    assert load_config().forks == 7
    cfg(cwd / "ansible.cfg", forks="8")
    assert load_config().forks == 8  # ./ansible.cfg before ~/.ansible.cfg
    other = cwd / "conf"
    other.mkdir()
    cfg(other / "ansible.cfg", forks="9")
    monkeypatch.setenv("ANSIBLE_CONFIG", str(other))  # a directory: DIR/ansible.cfg
    c = load_config()
    assert (c.forks, c.file) == (9, other / "ansible.cfg")


def test_world_writable_cwd_is_ignored_with_a_warning(dirs: tuple[Path, Path]) -> None:
    cwd, home = dirs
    cfg(cwd / "ansible.cfg", forks="8")
    cfg(home / ".ansible.cfg", forks="7")
    cwd.chmod(0o777)
    try:
        c = load_config()
    finally:
        cwd.chmod(0o755)
    assert c.forks == 7
    assert c.warnings and "world writable directory" in c.warnings[0] and str(cwd) in c.warnings[0]


def test_env_overrides_file_and_paths_resolve(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd, _ = dirs
    sub = cwd / "ops"
    sub.mkdir()
    cfg(
        sub / "ansible.cfg",
        inventory="inv/prod.yml, inv/lab.ini",
        forks="10",
        host_key_checking="False",
        vault_password_file="~/.vault_pass",
        vault_identity_list="prod@prod.txt, dev@prompt",
    )
    monkeypatch.setenv("ANSIBLE_CONFIG", str(sub / "ansible.cfg"))
    c = load_config()
    assert c.inventory == (str(sub / "inv/prod.yml"), str(sub / "inv/lab.ini"))  # relative to the file
    assert (c.forks, c.host_key_checking) == (10, False)
    assert c.vault_password_file == str(Path.home() / ".vault_pass")
    assert c.vault_identity_list == ("prod@prod.txt", "dev@prompt")
    monkeypatch.setenv("ANSIBLE_INVENTORY", "here.yml")
    monkeypatch.setenv("ANSIBLE_FORKS", "3")
    monkeypatch.setenv("ANSIBLE_HOST_KEY_CHECKING", "yes")
    c = load_config()
    assert c.inventory == (str(cwd / "here.yml"),)  # the environment: relative to the cwd
    assert (c.forks, c.host_key_checking) == (3, True)
    assert c.origins["forks"] == "$ANSIBLE_FORKS"


@pytest.mark.parametrize("text", ["y", "YES", "On", "1", "true", "T"])
def test_true_spellings(text: str) -> None:
    assert parse_bool(text, where="x") is True


@pytest.mark.parametrize("text", ["n", "No", "OFF", "0", "False", "f"])
def test_false_spellings(text: str) -> None:
    assert parse_bool(text, where="x") is False


def test_bad_values_are_config_errors(dirs: tuple[Path, Path]) -> None:
    cwd, _ = dirs
    cfg(cwd / "ansible.cfg", forks="many")
    with pytest.raises(ConfigError, match=r"ansible.cfg: forks: expected an integer, got 'many'"):
        load_config()


def test_host_key_checking_false_is_the_ssh_opt_out(dirs: tuple[Path, Path]) -> None:
    cwd, _ = dirs
    (cwd / "inv.yml").write_text(
        INV + "    h2: {ansible_connection: ssh, ansible_ssh_host_key_checking: true}\n"
    )
    cfg(cwd / "ansible.cfg", inventory="inv.yml", host_key_checking="false")
    inv = load_inventory(None, {}, resolve(InventoryOptions()))
    h1 = build_spec(inv.host("h1"), password=None, credential_id=None)
    h2 = build_spec(inv.host("h2"), password=None, credential_id=None)
    assert h1.cert_validation is False and security_optouts(h1) == [
        "ssh host key checking is off (ansible_ssh_host_key_checking: false)"
    ]
    assert h2.cert_validation is True  # the host's own variable wins


def test_no_inventory_anywhere_is_a_clear_error(dirs: tuple[Path, Path]) -> None:
    r = CliRunner().invoke(main, ["inventory", "graph"])
    assert r.exit_code == 1
    assert "no inventory: pass -i FILE, set ANSIBLE_INVENTORY" in r.output


def test_cli_i_is_optional_and_wins(dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cwd, _ = dirs
    (cwd / "a.yml").write_text("all:\n  hosts:\n    from-cfg:\n", encoding="utf-8")
    (cwd / "b.yml").write_text("all:\n  hosts:\n    from-env:\n", encoding="utf-8")
    (cwd / "c.yml").write_text("all:\n  hosts:\n    from-cli:\n", encoding="utf-8")
    cfg(cwd / "ansible.cfg", inventory="a.yml")

    def hosts(*args: str) -> list[str]:
        r = CliRunner().invoke(main, ["inventory", "list", *args])
        assert r.exit_code == 0, r.output
        return list(json.loads(r.output)["_meta"]["hostvars"])

    assert hosts() == ["from-cfg"]
    monkeypatch.setenv("ANSIBLE_INVENTORY", "b.yml")
    assert hosts() == ["from-env"]
    assert hosts("-i", "c.yml") == ["from-cli"]


def test_vault_password_file_from_ansible_cfg(dirs: tuple[Path, Path]) -> None:
    """ansible.cfg's vault_password_file is used when no option gives one (read before connecting)."""
    cwd, _ = dirs
    cfg(cwd / "ansible.cfg", vault_password_file="missing-pass.txt")
    with pytest.raises(ConfigError, match="vault password file not found") as info:
        resolve(InventoryOptions(inventory=("x.yml",)))
    assert info.value.file == str(cwd / "missing-pass.txt")
