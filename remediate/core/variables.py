"""Typed playbook variables: declarations, conversion, and checking -e / inventory values.

A playbook declares each variable's type (`allow_gvlk: {type: bool, default: false}`, or the
shorthand `kms_port: 1688` whose type comes from the default). Values that arrive as text —
`-e allow_gvlk=false`, an INI inventory — are converted here before anything connects, so a
template sees Python False, never the truthy string 'false'. Anything that does not convert is a
ConfigError naming the variable, where the value came from and what is accepted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, Protocol, cast, get_args

import yaml

from remediate.core.errors import ConfigError, did_you_mean
from remediate.core.yamlpos import PosDict


class _Origin(Protocol):
    @property
    def file(self) -> str | None: ...
    @property
    def line(self) -> int | None: ...
    @property
    def field(self) -> str: ...


class HostVars(Protocol):
    """What typing a host's variables needs of an inventory host (inventory.Host has it)."""

    name: str
    vars: dict[str, Any]

    @property
    def unresolved(self) -> Mapping[str, str]:
        """Variables whose inventory template failed -> why (their vars entry keeps the text)."""
        ...

    def origin(self, key: str) -> _Origin: ...

VarType = Literal["bool", "int", "str", "list", "host", "port"]
TYPES: tuple[VarType, ...] = get_args(VarType)
_DECL_KEYS = ("type", "default", "description", "choices")


class _Required:
    """The default of a declaration without `default:`: the value must come from -e or inventory."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


@dataclass(frozen=True)
class VarSpec:
    name: str
    type: VarType
    default: Any = REQUIRED  # already converted to `type`
    description: str | None = None
    choices: tuple[str, ...] | None = None  # allowed str values / list items

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


# Ansible's boolean(): lib/ansible/module_utils/parsing/convert_bool.py (BOOLEANS_TRUE /
# BOOLEANS_FALSE; strings are lower-cased and stripped; strict: anything else is an error).
# https://github.com/ansible/ansible/blob/devel/lib/ansible/module_utils/parsing/convert_bool.py
BOOLEANS_TRUE: Final = frozenset(("y", "yes", "on", "1", "true", "t", 1, 1.0, True))
BOOLEANS_FALSE: Final = frozenset(("n", "no", "off", "0", "false", "f", 0, 0.0, False))

_EXPECTED: Final[dict[str, str]] = {
    "bool": "a boolean (true/false, yes/no, on/off, 1/0)",
    "int": "an integer",
    "str": "a string",
    "list": "a list (a YAML list, [a, b] or comma-separated text)",
    "host": 'a DNS host name or IP address ("" for none)',
    "port": "a port number (1-65535)",
}
_INT = re.compile(r"^[+-]?\d+$")
_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")  # RFC 1123 (+ '_', as MS DNS)


class _Bad(Exception):
    """Internal: the value does not convert; the message says why (beyond 'expected X')."""

    def __init__(self, hint: str = "") -> None:
        super().__init__(hint)
        self.hint = hint


def convert(
    spec: VarSpec, value: Any, source: str, *, file: str | None = None, line: int | None = None
) -> Any:
    """`value` as `spec.type`; ConfigError naming `source` (e.g. "-e allow_gvlk") otherwise.

    Converting an already-converted value returns it unchanged.
    """
    try:
        out = _CONVERTERS[spec.type](value)
    except _Bad as e:
        hint = f" ({e.hint})" if e.hint else ""
        raise ConfigError(
            f"expected {_EXPECTED[spec.type]}, got {value!r}{hint}", file=file, line=line, field=source
        ) from None
    if spec.choices is not None:
        for item in out if isinstance(out, list) else [out]:
            if item not in spec.choices:
                raise ConfigError(
                    f"expected one of {', '.join(spec.choices)}, got {item!r}"
                    + did_you_mean(item, spec.choices),
                    file=file,
                    line=line,
                    field=source,
                )
    return out


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = value.lower().strip() if isinstance(value, str) else value
    try:
        if key in BOOLEANS_TRUE:
            return True
        if key in BOOLEANS_FALSE:
            return False
    except TypeError:  # unhashable (a list, a mapping)
        pass
    raise _Bad


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad("a boolean is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value.strip())
    raise _Bad


def _to_port(value: Any) -> int:
    port = _to_int(value)
    if not 1 <= port <= 65535:
        raise _Bad("out of range")
    return port


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _Bad("quote it in YAML" if isinstance(value, bool) else "")


def _to_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("[") and value.strip().endswith("]"):
        try:  # -e 'k=["a", "b"]' or -e 'k=[a, b]': a YAML/JSON flow list
            value = yaml.safe_load(value)
        except yaml.YAMLError:
            raise _Bad("not a valid [list]") from None
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list | tuple):
        items = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise _Bad(f"item {item!r} is not text")
            items.append(str(item))
        return items
    raise _Bad


def _to_host(value: Any) -> str:
    text = _to_str(value).strip()
    if not text:
        return ""
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    name = text[:-1] if text.endswith(".") else text
    labels = name.split(".")
    if (
        len(name) <= 253
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()  # 10.0.0.300 is a bad address, not a name
    ):
        return text
    if ":" in text and not text.startswith("["):
        raise _Bad("give the port in its own variable")
    raise _Bad


_CONVERTERS: Final[dict[str, Any]] = {
    "bool": _to_bool,
    "int": _to_int,
    "str": _to_str,
    "list": _to_list,
    "host": _to_host,
    "port": _to_port,
}


# ---- declarations (the playbook's `vars:`) --------------------------------------------------


def declare(name: str, raw: Any, *, file: str, line: int) -> VarSpec:
    """One entry of a playbook's `vars:`: a declaration (a mapping with `type`) or a shorthand
    default whose YAML type gives the variable's type. ConfigError with file/line/field."""
    where = f"vars.{name}"
    if isinstance(raw, PosDict) and "type" in raw:
        return _declaration(name, raw, file=file)
    if isinstance(raw, bool):
        return VarSpec(name, "bool", raw)
    if isinstance(raw, int):
        return VarSpec(name, "int", raw)
    if isinstance(raw, str):
        return VarSpec(name, "str", raw)
    if isinstance(raw, list):
        return VarSpec(name, "list", convert(VarSpec(name, "list"), raw, where, file=file, line=line))
    kind = "null" if raw is None else "mapping" if isinstance(raw, dict) else type(raw).__name__
    raise ConfigError(
        f"cannot tell the type from a {kind} default; declare it: "
        f"{{type: {'|'.join(TYPES)}, default: ..., description: ...}}",
        file=file,
        line=line,
        field=where,
    )


def _declaration(name: str, d: PosDict, *, file: str) -> VarSpec:
    where = f"vars.{name}"
    for key in d:
        if key not in _DECL_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in a variable declaration{did_you_mean(str(key), _DECL_KEYS)}",
                file=file,
                line=d.key_lines[key],
                field=f"{where}.{key}",
            )
    type_ = d["type"]
    if type_ not in TYPES:
        raise ConfigError(
            f"expected one of {', '.join(TYPES)}, got {type_!r}{did_you_mean(str(type_), TYPES)}",
            file=file,
            line=d.line_of("type"),
            field=f"{where}.type",
        )
    description = d.get("description")
    if description is not None and not isinstance(description, str):
        raise ConfigError(
            "expected a string", file=file, line=d.line_of("description"), field=f"{where}.description"
        )
    choices = _choices(name, d, cast(VarType, type_), file)
    spec = VarSpec(name, cast(VarType, type_), REQUIRED, description, choices)
    if "default" not in d:
        return spec
    default = convert(spec, d["default"], f"{where}.default", file=file, line=d.line_of("default"))
    return VarSpec(name, spec.type, default, description, choices)


def _choices(name: str, d: PosDict, type_: VarType, file: str) -> tuple[str, ...] | None:
    if d.get("choices") is None:
        return None
    field_ = f"vars.{name}.choices"
    line = d.line_of("choices")
    if type_ not in ("str", "list"):
        raise ConfigError(
            f"choices apply to str and list variables, not {type_}", file=file, line=line, field=field_
        )
    raw = d["choices"]
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise ConfigError("expected a non-empty list of strings", file=file, line=line, field=field_)
    return tuple(raw)


# ---- -e extra vars ---------------------------------------------------------------------------


@dataclass
class ExtraVars:
    """What -e gave, as given (strings from k=v), and which @file each key came from."""

    values: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def source(self, key: str) -> tuple[str, str | None]:
        """(field, file) for error messages: ("-e allow_gvlk", None) or ("-e allow_gvlk", "v.yml")."""
        return f"-e {key}", self.files.get(key)


def parse_extra_vars(items: Sequence[str]) -> ExtraVars:
    """Like ansible-playbook -e: `k=v` (values stay text; several pairs per -e, quotes group
    words: `msg="a b"`), `@vars.yml` / `@vars.json`, or an inline JSON/YAML mapping. Later wins."""
    out = ExtraVars()
    for item in items:
        if item.startswith("@"):
            path = item[1:]
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # JSON is YAML
            if not isinstance(data, dict):
                raise ConfigError("expected a mapping of variables", file=path, field="-e")
            _merge(out, data, path)
        elif item.lstrip().startswith("{"):
            try:
                data = yaml.safe_load(item)
            except yaml.YAMLError:
                data = None
            if not isinstance(data, dict):  # the text may hold passwords: not echoed
                raise ConfigError("expected an inline JSON/YAML mapping ({...})", field="-e")
            _merge(out, data, None)
        elif "=" in item:
            previous: str | None = None
            for pair in _split_words(item):
                key, sep, value = pair.partition("=")
                if not sep and previous is not None:
                    # most likely the rest of an unquoted value (`-e "ansible_password=a b"`):
                    # never echo it, it may be part of a password
                    raise ConfigError(
                        f"expected key=value, got a word without '=' after {previous}=...; "
                        'quote a value with spaces: key="a b" (the word is not shown)',
                        field="-e",
                    )
                if not sep or not key.isidentifier():
                    shown = repr(key) if sep else repr(pair)
                    raise ConfigError(f"expected key=value, got the key {shown}", field="-e")
                previous = key
                _merge(out, {key: value}, None)
        else:
            raise ConfigError(f"expected key=value, @file or a JSON mapping, got {item!r}", field="-e")
    return out


def _merge(out: ExtraVars, data: Mapping[Any, Any], file: str | None) -> None:
    for k, v in data.items():
        key = str(k)
        out.values[key] = v
        if file is None:
            out.files.pop(key, None)
        else:
            out.files[key] = file


def _split_words(text: str) -> list[str]:
    """Split on blanks outside quotes and drop the quotes; backslashes stay (Windows paths)."""
    words: list[str] = []
    current: list[str] = []
    quote: str | None = None
    started = False
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "'\"":
            quote, started = ch, True
        elif ch.isspace():
            if started:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(ch)
            started = True
    if quote:
        raise ConfigError(f"unterminated {quote} quote in {text!r}", field="-e")
    if started:
        words.append("".join(current))
    return words


def typed_extra_vars(specs: Mapping[str, VarSpec], extra: ExtraVars) -> dict[str, Any]:
    """-e values converted to their declared types; undeclared ones stay as given."""
    out: dict[str, Any] = {}
    for key, value in extra.values.items():
        spec = specs.get(key)
        if spec is None:
            out[key] = value
            continue
        source, file = extra.source(key)
        out[key] = convert(spec, value, source, file=file)
    return out


# ---- inventory (per host) --------------------------------------------------------------------


def typed_host_vars(specs: Mapping[str, VarSpec], host: HostVars) -> dict[str, Any]:
    """`host.vars` with every declared variable converted; errors name the host and where the
    value was set (file, line, inventory field). A required variable must be set."""
    out = dict(host.vars)
    for name, spec in specs.items():
        if name not in out:
            if spec.required:
                raise ConfigError(
                    f"host {host.name}: variable {name!r} has no default; set it with "
                    f"-e {name}=... or in the inventory",
                    field=f"vars.{name}",
                )
            continue
        if name in host.unresolved:  # the real cause, not "expected a host name, got '{{ x }}'"
            raise ConfigError(f"host {host.name}: {host.unresolved[name]}")
        origin = host.origin(name)
        if origin.field.startswith("-e "):
            source = origin.field
        else:
            source = f"host {host.name}: {origin.field}"
        out[name] = convert(spec, out[name], source, file=origin.file, line=origin.line)
    return out


def apply_types(specs: Mapping[str, VarSpec], hosts: Iterable[HostVars]) -> None:
    """Convert every declared variable in each host's vars, in place (the engine reads
    host.vars). Call after selecting hosts and before anything connects."""
    for host in hosts:
        host.vars = typed_host_vars(specs, host)
