"""The real `ansible-vault` for tests: files and inline values made by Ansible itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def ansible_vault() -> str:
    """The ansible-vault beside this interpreter (the venv), else on PATH; skip the test if missing."""
    found = shutil.which("ansible-vault", path=str(Path(sys.executable).parent)) or shutil.which(
        "ansible-vault"
    )
    if found is None:
        pytest.skip("ansible-vault is not installed")
    return found


def _run(args: list[str], cwd: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(cwd / "no-such-ansible.cfg")  # never read the developer's config
    env["HOME"] = str(cwd)
    proc = subprocess.run(
        [ansible_vault(), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def password_file(directory: Path, password: str, name: str = "vault-pass.txt") -> Path:
    p = directory / name
    p.write_text(password + "\n", encoding="utf-8")
    return p


def encrypt_file(path: Path, pwfile: Path, label: str | None = None) -> None:
    """`ansible-vault encrypt` in place: 1.1 without a label, 1.2 with --vault-id LABEL@FILE."""
    ident = ["--vault-id", f"{label}@{pwfile}"] if label else ["--vault-password-file", str(pwfile)]
    _run(["encrypt", *ident, str(path)], path.parent)


def encrypt_string(value: str, name: str, pwfile: Path, label: str | None = None) -> str:
    """`ansible-vault encrypt_string`: a YAML line `name: !vault |` and its indented envelope."""
    ident = ["--vault-id", f"{label}@{pwfile}"] if label else ["--vault-password-file", str(pwfile)]
    return _run(["encrypt_string", *ident, "--name", name, value], pwfile.parent)
