"""A YAML loader that remembers where every key and item came from.

Mappings load as `PosDict` and sequences as `PosList`; both carry the 1-based line of the
node, of each key, and of each value, so validation errors can name file, line and field.
Duplicate keys are errors (PyYAML silently keeps the last one). `!vault` values load as
`VaultValue` (with their line) for the inventory to decrypt (remediate/inventory/vault.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from remediate.core.errors import ConfigError


class PosDict(dict[Any, Any]):
    line: int = 0
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]

    def __init__(self) -> None:
        super().__init__()
        self.key_lines = {}
        self.value_lines = {}

    def line_of(self, key: Any) -> int:
        """Line of the value for `key` (or of the mapping when the key is absent)."""
        return self.value_lines.get(key, self.key_lines.get(key, self.line))


class PosList(list[Any]):
    line: int = 0
    item_lines: list[int]

    def __init__(self) -> None:
        super().__init__()
        self.item_lines = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class VaultValue(str):
    """An Ansible Vault ciphertext (`!vault |`), still encrypted."""

    line: int = 0


# libyaml's parser when PyYAML was built with it: same nodes and marks, ~10x faster (a 10,000-host
# inventory is 3 MB of YAML; issue 12).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[valid-type,misc]
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = PosDict()
    data.line = node.start_mark.line + 1
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be plain scalars", key_node.start_mark
            )
        if key in data:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = key_node.start_mark.line + 1
        data.value_lines[key] = value_node.start_mark.line + 1


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Any:
    data = PosList()
    data.line = node.start_mark.line + 1
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(item.start_mark.line + 1)


def _construct_vault(loader: _Loader, node: yaml.Node) -> VaultValue:
    value = VaultValue(loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else "")
    value.line = node.start_mark.line + 1
    return value


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("!vault", _construct_vault)
_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def loads(text: str, file: str) -> Any:
    """Parse YAML text; syntax errors become ConfigError with the file and line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        if exc.context and "duplicate" not in problem:
            problem = f"{exc.context}, {problem}"
        raise ConfigError(f"invalid YAML: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None


def load(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable files become ConfigError."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("file is not UTF-8 text", file=str(path)) from None
    return loads(text, str(path))
