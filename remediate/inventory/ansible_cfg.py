"""The `ansible.cfg` settings remediate honours, and their ANSIBLE_* environment variables.

Search order, first readable file wins (ansible-core config/manager.py `find_ini_config_file`;
https://docs.ansible.com/ansible/latest/reference_appendices/config.html#the-configuration-file):
$ANSIBLE_CONFIG (a directory means DIR/ansible.cfg), ./ansible.cfg, ~/.ansible.cfg,
/etc/ansible/ansible.cfg. ./ansible.cfg is ignored, with a warning, when the current directory is
world-writable (https://docs.ansible.com/ansible/latest/reference_appendices/config.html#cfg-in-world-writable-dir).

Settings read from [defaults] (lib/ansible/config/base.yml): inventory (ANSIBLE_INVENTORY, a
comma-separated path list), forks (ANSIBLE_FORKS), host_key_checking (ANSIBLE_HOST_KEY_CHECKING),
vault_password_file (ANSIBLE_VAULT_PASSWORD_FILE), vault_identity_list (ANSIBLE_VAULT_IDENTITY_LIST).
An environment variable overrides the file; command-line options override both. Relative paths
in the file are relative to the file's directory, in the environment to the current directory.
Booleans are spelled as Ansible's `boolean()` reads them (module_utils/parsing/convert_bool.py):
y/yes/on/1/true/t and n/no/off/0/false/f, any case.
"""

from __future__ import annotations

import configparser
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from remediate.core.errors import ConfigError

WORLD_WRITABLE_WARNING = (
    "Ansible is being run in a world writable directory ({cwd}), ignoring it as an ansible.cfg source. "
    "For more information see "
    "https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir"
)
_TRUE = frozenset(("y", "yes", "on", "1", "true", "t"))
_FALSE = frozenset(("n", "no", "off", "0", "false", "f"))


@dataclass(frozen=True)
class AnsibleConfig:
    """The settings found (None / empty: not set anywhere) and where each came from."""

    file: Path | None = None
    inventory: tuple[str, ...] = ()
    forks: int | None = None
    host_key_checking: bool | None = None
    vault_password_file: str | None = None
    vault_identity_list: tuple[str, ...] = ()
    origins: dict[str, str] = field(default_factory=dict)  # setting -> "ansible.cfg path" | "$VAR"
    warnings: tuple[str, ...] = ()


def find_config(env: Mapping[str, str], cwd: Path, home: Path) -> tuple[Path | None, list[str]]:
    """The ansible.cfg Ansible would use, and the world-writable warning if one applies."""
    candidates: list[Path] = []
    from_env: Path | None = None
    if "ANSIBLE_CONFIG" in env:
        from_env = Path(os.path.expanduser(env["ANSIBLE_CONFIG"]))
        if not from_env.is_absolute():
            from_env = cwd / from_env
        if from_env.is_dir():
            from_env = from_env / "ansible.cfg"
        candidates.append(from_env)
    skipped_public = False
    try:
        if cwd.stat().st_mode & stat.S_IWOTH:
            skipped_public = (cwd / "ansible.cfg").exists()
        else:
            candidates.append(cwd / "ansible.cfg")
    except OSError:
        pass
    candidates += [home / ".ansible.cfg", Path("/etc/ansible/ansible.cfg")]
    found = next((p for p in candidates if p.exists() and os.access(p, os.R_OK)), None)
    warnings = [WORLD_WRITABLE_WARNING.format(cwd=cwd)] if skipped_public and found != from_env else []
    return found, warnings


def parse_bool(value: str, *, where: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ConfigError(f"{where}: expected a boolean (yes/no, true/false, on/off, 1/0), got {value!r}")


def _unquote(value: str) -> str:
    """Ansible unquotes ini values (config/manager.py ensure_type, origin_ftype == 'ini')."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[1:-1]
    return v


def _path(value: str, base: Path) -> str:
    p = Path(os.path.expandvars(os.path.expanduser(value)))
    return str(p if p.is_absolute() else base / p)


def _read_defaults(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot parse ansible.cfg: {exc}", file=str(path)) from None
    return dict(parser["defaults"]) if parser.has_section("defaults") else {}


def load_config(
    env: Mapping[str, str] | None = None, cwd: Path | None = None, home: Path | None = None
) -> AnsibleConfig:
    """Read ansible.cfg (search order above) and apply the ANSIBLE_* environment on top."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    home = Path.home() if home is None else home
    path, warnings = find_config(env, cwd, home)
    raw: dict[str, tuple[str, Path, str]] = {}  # setting -> (value, base dir for paths, origin)
    if path is not None:
        for key, value in _read_defaults(path).items():
            raw[key] = (_unquote(value), path.parent, str(path))
    for key, var in (
        ("inventory", "ANSIBLE_INVENTORY"),
        ("forks", "ANSIBLE_FORKS"),
        ("host_key_checking", "ANSIBLE_HOST_KEY_CHECKING"),
        ("vault_password_file", "ANSIBLE_VAULT_PASSWORD_FILE"),
        ("vault_identity_list", "ANSIBLE_VAULT_IDENTITY_LIST"),
    ):
        if env.get(var):
            raw[key] = (env[var], cwd, f"${var}")

    def where(key: str) -> str:
        return f"{raw[key][2]}: {key}"

    inventory: tuple[str, ...] = ()
    if "inventory" in raw:
        value, base, _ = raw["inventory"]
        inventory = tuple(_path(x.strip(), base) for x in value.split(",") if x.strip())
    forks = None
    if "forks" in raw:
        try:
            forks = int(raw["forks"][0])
        except ValueError:
            raise ConfigError(f"{where('forks')}: expected an integer, got {raw['forks'][0]!r}") from None
        if forks < 1:
            raise ConfigError(f"{where('forks')}: must be at least 1")
    hkc = None
    if "host_key_checking" in raw:
        hkc = parse_bool(raw["host_key_checking"][0], where=where("host_key_checking"))
    vpf = None
    if raw.get("vault_password_file", ("",))[0]:
        value, base, _ = raw["vault_password_file"]
        vpf = _path(value, base)
    ids: tuple[str, ...] = ()
    if "vault_identity_list" in raw:
        ids = tuple(x.strip() for x in raw["vault_identity_list"][0].split(",") if x.strip())
    return AnsibleConfig(
        file=path,
        inventory=inventory,
        forks=forks,
        host_key_checking=hkc,
        vault_password_file=vpf,
        vault_identity_list=ids,
        origins={k: v[2] for k, v in raw.items()},
        warnings=tuple(warnings),
    )
