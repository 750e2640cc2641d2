"""Run a host's independent cmd checks as one WinRS command: fewer round trips per host.

A check qualifies when it is a cmd check with a parser (its verdict comes from the parsed output,
not the exit code) and neither its `run` nor its `when` reads `facts` or `applied`, so its script
is known before the checks before it have run. The scripts are joined with `&` and a marker line
echoed between them; `2>&1` keeps each check's error stream with its own output (nslookup and
Test-NetConnection report failures there). Scripts holding cmd operators stay unbatched: joining
them could change what they mean.
"""

from __future__ import annotations

import secrets

from remediate.core.playbook import Check
from remediate.core.render import Renderer

_OPERATORS = set("&|<>()^\r\n")
_DEPENDENT = {"facts", "applied"}


def marker() -> str:
    return f"__remediate_step_{secrets.token_hex(4)}__"


def independent(check: Check, renderer: Renderer) -> bool:
    """Could this check run before the checks ahead of it (batchable if its script is plain)?"""
    if check.shell != "cmd" or not check.parse:
        return False
    reads = renderer.variables(check.run)
    if check.when:
        reads |= renderer.variables(f"{{{{ {check.when} }}}}")
    return not reads & _DEPENDENT


def plain(script: str) -> bool:
    """A single simple command: nothing that `&` joining could regroup."""
    return bool(script.strip()) and not (_OPERATORS & set(script))


def combine(scripts: list[str], mark: str) -> str:
    return f" & echo {mark} & ".join(f"{s.strip()} 2>&1" for s in scripts)


def split(stdout: str, mark: str, count: int) -> list[str] | None:
    """Each check's output, or None when the markers do not add up (then run them one by one)."""
    parts: list[list[str]] = [[]]
    for line in stdout.splitlines(keepends=True):
        if line.strip() == mark:
            parts.append([])
        else:
            parts[-1].append(line)
    return ["".join(p) for p in parts] if len(parts) == count else None
