"""Parser registry for `parse: NAME` in playbooks.

Built-ins: `json` (the whole stdout as JSON; empty output -> None), `lines` (non-blank lines,
stripped), `text` (stdout stripped), `reg-query`. Every domain adds its kinds (core/domain.py);
a kind the domain marks as reading stderr gets stdout followed by stderr. The parsed value becomes
`facts[<step id>]`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from remediate.core import domain
from remediate.core.errors import ParseError

BUILTINS: dict[str, Callable[[str], Any]] = {}


def _builtin(name: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    def register(fn: Callable[[str], Any]) -> Callable[[str], Any]:
        BUILTINS[name] = fn
        return fn

    return register


@_builtin("json")
def _parse_json(stdout: str) -> Any:
    text = stdout.strip().lstrip("\ufeff")
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"json: {e.msg} at line {e.lineno} column {e.colno}") from None


@_builtin("lines")
def _parse_lines(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip()]


@_builtin("text")
def _parse_text(stdout: str) -> str:
    return stdout.strip()


@_builtin("reg-query")
def _parse_reg_query(stdout: str) -> dict[str, Any]:
    """`reg query KEY [/v NAME]` -> {"key", "values": {name: data}}; a missing key gives no values."""
    key: str | None = None
    values: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("HKEY_"):
            key = line.strip()
        elif line.startswith("    ") and key is not None:
            parts = line.strip().split("    ")
            name, data = parts[0], "    ".join(p for p in parts[2:]).strip() if len(parts) > 2 else ""
            values[name] = data
    return {"key": key, "values": values}


def known_parsers() -> tuple[str, ...]:
    """Every name `parse:` accepts right now (built-ins first)."""
    return tuple(BUILTINS) + tuple(k for k in domain.parsers() if k not in BUILTINS)


def parse(name: str, stdout: str, stderr: str = "") -> Any:
    """Parse one step's output. Raises ParseError for unknown names or unparseable output."""
    fn = BUILTINS.get(name)
    if fn is not None:
        return fn(stdout)
    found = domain.parsers().get(name)
    if found is None:
        raise ParseError(f"unknown parser {name!r}; known: {', '.join(known_parsers())}")
    parser, with_stderr = found
    if stderr.strip() and with_stderr:  # the outcome (nxdomain, a failed TCP test) is on stderr
        stdout = stdout.rstrip("\r\n") + "\r\n" + stderr
    try:
        return parser(stdout)
    except ValueError as e:  # a domain's ParseError (a ParseError, so a ValueError) or a plain one
        raise ParseError(f"{name}: {e}") from None
