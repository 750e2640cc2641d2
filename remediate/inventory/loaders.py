"""Ansible-compatible inventory files: YAML, INI, and group_vars/ + host_vars/ beside them."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

from remediate.core import yamlpos
from remediate.core.errors import ConfigError, did_you_mean
from remediate.core.yamlpos import PosDict, VaultValue
from remediate.inventory.builder import Builder, expand_host_range
from remediate.inventory.model import Origin
from remediate.inventory.vault import VaultKeys, VaultSecret, is_vault

YAML_EXTS = (".yml", ".yaml", ".json")
VARS_EXTS = ("", ".yml", ".yaml", ".json")  # Ansible's host_group_vars plugin
_IGNORED_EXTS = (".orig", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".bak", ".rpm", ".md", ".txt", ".rst")
_GROUP_KEYS = ("hosts", "children", "vars")
_HOST_PORT = re.compile(r"^(?P<host>[^:\[\]]+|[^:]*\[[^\]]*\][^:]*):(?P<port>\d+)$")


def split_host_port(token: str) -> tuple[str, int | None]:
    """'web1:2222' -> ('web1', 2222); IPv6 and range patterns like db[1:3] stay whole."""
    if token.startswith("[") and "]:" in token:  # [::1]:22
        host, _, port = token[1:].partition("]:")
        return host, int(port) if port.isdigit() else None
    m = _HOST_PORT.match(token)
    if m and token.count(":") == 1:
        return m.group("host"), int(m.group("port"))
    return token, None


def _check_value(value: Any, origin: Origin, vault: VaultKeys) -> Any:
    """Decrypt inline `!vault` values (at any depth) into VaultSecret strings."""
    if isinstance(value, VaultValue):
        return VaultSecret(
            vault.decrypt(value, file=origin.file or "", line=value.line or origin.line, field=origin.field)
        )
    if isinstance(value, dict):
        for k in value:
            value[k] = _check_value(value[k], origin, vault)
    elif isinstance(value, list):
        value[:] = [_check_value(v, origin, vault) for v in value]
    return value


def _secret_strings(value: Any) -> Any:
    """Every string of a vault-encrypted file becomes a VaultSecret (keys and line info stay)."""
    if isinstance(value, str):
        return VaultSecret(value)
    if isinstance(value, dict):
        for k in value:
            value[k] = _secret_strings(value[k])
    elif isinstance(value, list):
        value[:] = [_secret_strings(v) for v in value]
    return value


def read_text(path: Path, vault: VaultKeys) -> tuple[str, bool]:
    """A file's text, decrypted when it is a whole vault-encrypted file: (text, was_encrypted)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("file is not UTF-8 text", file=str(path)) from None
    if is_vault(text):
        return vault.decrypt(text, file=str(path)), True
    return text, False


def load_yaml_file(path: Path, vault: VaultKeys) -> Any:
    text, encrypted = read_text(path, vault)
    data = yamlpos.loads(text, str(path))
    return _secret_strings(data) if encrypted else data


def _resolve_file_ref(value: Any, base: Path, key: str = "") -> Any:
    """Make password file paths ({file: PATH}, remediate_password_file) relative to the declaring file."""
    if isinstance(value, dict) and list(value) == ["file"] and isinstance(value["file"], str):
        p = Path(value["file"]).expanduser()
        return {"file": str(p if p.is_absolute() else (base / p))}
    if key == "remediate_password_file" and isinstance(value, str) and value:
        p = Path(value).expanduser()
        return str(p if p.is_absolute() else (base / p))
    return value


# -- YAML ------------------------------------------------------------------------------------------


def load_yaml(b: Builder, path: Path, vault: VaultKeys) -> None:
    file = str(path)
    data = load_yaml_file(path, vault)
    if data is None:
        return
    if not isinstance(data, PosDict):
        raise ConfigError("an inventory must be a mapping of group names (e.g. `all:`)", file=file, line=1)
    if "plugin" in data:
        raise ConfigError("inventory plugins are not supported", file=file, line=data.line_of("plugin"))
    for name, body in data.items():
        _yaml_group(
            b, str(name), body, file, data.line_of(name), parent=None, path=Path(file).parent, vault=vault
        )


def _yaml_group(
    b: Builder,
    name: str,
    body: Any,
    file: str,
    line: int,
    *,
    parent: str | None,
    path: Path,
    vault: VaultKeys,
) -> None:
    b.group(name)
    if parent is not None:
        b.add_child(parent, name, file=file, line=line)
    if body is None:
        return
    if not isinstance(body, PosDict):
        raise ConfigError(
            "a group must be a mapping with hosts, children or vars", file=file, line=line, field=name
        )
    for key in body:
        if key not in _GROUP_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in group{did_you_mean(str(key), _GROUP_KEYS)}; "
                "expected hosts, children or vars",
                file=file,
                line=body.key_lines[key],
                field=f"{name}.{key}",
            )
    vars_ = body.get("vars")
    if vars_ is not None:
        _require_mapping(vars_, file, body.line_of("vars"), f"{name}.vars")
        for k, v in vars_.items():
            origin = Origin(file, vars_.line_of(k), f"{name}.vars.{k}")
            b.set_group_var(
                name, str(k), _resolve_file_ref(_check_value(v, origin, vault), path, str(k)), origin
            )
    hosts = body.get("hosts")
    if hosts is not None:
        _require_mapping(hosts, file, body.line_of("hosts"), f"{name}.hosts")
        for pattern, hvars in hosts.items():
            hline = hosts.key_lines[pattern]
            host_token, port = split_host_port(str(pattern))
            if hvars is not None:
                _require_mapping(hvars, file, hline, f"hosts.{pattern}")
            for host in expand_host_range(host_token, file=file, line=hline):
                b.add_host(host, name)
                if port is not None:
                    b.set_host_var(host, "ansible_port", port, Origin(file, hline, f"hosts.{pattern}"))
                for k, v in (hvars or {}).items():
                    origin = Origin(file, hvars.line_of(k), f"hosts.{host}.{k}")
                    b.set_host_var(
                        host, str(k), _resolve_file_ref(_check_value(v, origin, vault), path, str(k)), origin
                    )
    children = body.get("children")
    if children is not None:
        _require_mapping(children, file, body.line_of("children"), f"{name}.children")
        for child, cbody in children.items():
            _yaml_group(
                b, str(child), cbody, file, children.key_lines[child], parent=name, path=path, vault=vault
            )


def _require_mapping(value: Any, file: str, line: int, field: str) -> None:
    if not isinstance(value, dict):
        raise ConfigError(
            f"expected a mapping, got {type(value).__name__}", file=file, line=line, field=field
        )


# -- INI -------------------------------------------------------------------------------------------

_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")


def _ini_value(text: str) -> Any:
    """Like Ansible's INI plugin: Python literals when they parse, else the string itself."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if value is ... or isinstance(value, complex | bytes):
        return text
    return value


def load_ini(b: Builder, path: Path, vault: VaultKeys) -> None:
    file = str(path)
    text, encrypted = read_text(path, vault)
    lines = text.splitlines()
    group, state = "ungrouped", "hosts"
    pending: dict[str, tuple[int, str]] = {}  # group referenced before declaration -> (line, how)
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = _SECTION.match(line)
        if m:
            group, state = m.group(1), m.group(2) or "hosts"
            if state not in ("hosts", "children", "vars"):
                raise ConfigError(
                    f"section [{group}:{state}] has unknown type {state!r}", file=file, line=lineno
                )
            if state != "vars":
                pending.pop(group, None)
            elif group not in b.groups:
                pending.setdefault(group, (lineno, f"section [{group}:vars] names an undefined group"))
            b.group(group)
            continue
        if line.startswith("["):
            raise ConfigError(f"invalid section header {line!r}", file=file, line=lineno)
        if state == "hosts":
            _ini_host_line(b, line, group, file, lineno, path.parent, secret=encrypted)
        elif state == "vars":
            key, eq, value = line.partition("=")
            if not eq or not key.strip():
                raise ConfigError(f"expected key=value, got {line!r}", file=file, line=lineno)
            k = key.strip()
            origin = Origin(file, lineno, f"{group}:vars.{k}")
            v = _ini_value(value.strip())
            b.set_group_var(
                group, k, _resolve_file_ref(_secret_strings(v) if encrypted else v, path.parent, k), origin
            )
        else:  # children
            child = line.split("#")[0].split(";")[0].strip()
            if not child or any(c.isspace() or c in ":]" for c in child):
                raise ConfigError(f"expected a group name, got {line!r}", file=file, line=lineno)
            if child not in b.groups:
                pending.setdefault(
                    child, (lineno, f"section [{group}:children] includes undefined group {child!r}")
                )
            b.add_child(group, child, file=file, line=lineno)
    for _name, (lineno, message) in pending.items():
        raise ConfigError(message, file=file, line=lineno)


def _ini_host_line(
    b: Builder, line: str, group: str, file: str, lineno: int, base: Path, *, secret: bool = False
) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ConfigError(f"cannot parse host line: {exc}", file=file, line=lineno) from None
    host_token, port = split_host_port(tokens[0])
    if host_token.endswith(":"):
        raise ConfigError(
            f"invalid host {tokens[0]!r}: a trailing ':' must give a port", file=file, line=lineno
        )
    hosts = expand_host_range(host_token, file=file, line=lineno)
    for host in hosts:
        b.add_host(host, group)
        if port is not None:
            b.set_host_var(host, "ansible_port", port, Origin(file, lineno, f"hosts.{host}"))
        for token in tokens[1:]:
            key, eq, value = token.partition("=")
            if not eq or not key:
                raise ConfigError(
                    f"expected key=value, got {token!r}", file=file, line=lineno, field=f"hosts.{host}"
                )
            b.set_host_var(
                host,
                key,
                _resolve_file_ref(
                    _secret_strings(_ini_value(value)) if secret else _ini_value(value), base, key
                ),
                Origin(file, lineno, f"hosts.{host}.{key}"),
            )


# -- group_vars/ and host_vars/ --------------------------------------------------------------------


def _vars_files(directory: Path, name: str) -> list[Path]:
    found: list[Path] = []
    for ext in VARS_EXTS:
        p = directory / f"{name}{ext}"
        if p.is_file():
            found.append(p)
        elif ext == "" and p.is_dir():
            found.extend(
                sorted(
                    f
                    for f in p.rglob("*")
                    if f.is_file() and f.suffix in VARS_EXTS and not f.name.startswith(".")
                )
            )
    return found


def load_vars_dirs(b: Builder, base: Path, vault: VaultKeys) -> None:
    """Apply group_vars/<group> and host_vars/<host> found in `base` (files or directories)."""
    for kind in ("group_vars", "host_vars"):
        directory = base / kind
        if not directory.is_dir():
            continue
        names = list(b.groups) if kind == "group_vars" else list(b.host_order)
        for name in names:
            for f in _vars_files(directory, name):
                data = load_yaml_file(f, vault)
                if data is None:
                    continue
                _require_mapping(data, str(f), 1, "")
                for k, v in data.items():
                    origin = Origin(str(f), data.line_of(k), str(k))
                    value = _resolve_file_ref(_check_value(v, origin, vault), f.parent, str(k))
                    if kind == "group_vars":
                        g = b.groups[name]
                        if k == "ansible_group_priority":
                            b.set_group_var(name, "ansible_group_priority", value, origin)
                            continue
                        g.dir_vars[str(k)], g.dir_origins[str(k)] = value, origin
                    else:
                        b.host_dir_vars.setdefault(name, {})[str(k)] = value
                        b.host_dir_origins.setdefault(name, {})[str(k)] = origin


def load_source(b: Builder, path: Path, vault: VaultKeys) -> None:
    """One inventory file (by extension: YAML for .yml/.yaml/.json, else INI) or a directory."""
    if path.is_dir():
        for f in sorted(path.iterdir()):
            if (
                f.name.startswith(".")
                or f.name in ("group_vars", "host_vars")
                or f.suffix in _IGNORED_EXTS
                or f.name.endswith("~")
            ):
                continue
            if f.is_file():
                load_source(b, f, vault)
        return
    if not path.is_file():
        raise ConfigError("inventory not found", file=str(path))
    if path.suffix in YAML_EXTS:
        load_yaml(b, path, vault)
    else:
        load_ini(b, path, vault)
