"""Ansible host patterns: names, groups, globs, ~regex, !exclude, &intersect, [subscripts], @file.

Terms are split on commas (or on colons outside [...] when there is no comma). Plain terms are
unioned first, then `&` terms intersect, then `!` terms exclude, like Ansible; a pattern made only
of `&`/`!` terms starts from `all`. `@FILE` reads one term per line (blank lines and # comments
skipped), e.g. the failed hosts of the last run. Results follow inventory order.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from remediate.core.errors import ConfigError, did_you_mean

_SUBSCRIPT = re.compile(r"^(.+)\[(?:(-?\d+)|(-?\d+)?:(-?\d+)?)\]$")
_GLOB_CHARS = set("*?[")


def split_pattern(pattern: str) -> list[str]:
    if "," in pattern:
        return [t.strip() for t in pattern.split(",") if t.strip()]
    terms, depth, cur = [], 0, ""
    for ch in pattern:  # split on ':' outside brackets
        depth += ch == "["
        depth -= ch == "]"
        if ch == ":" and depth == 0:
            terms.append(cur)
            cur = ""
        else:
            cur += ch
    terms.append(cur)
    return [t.strip() for t in terms if t.strip()]


def _read_file_terms(term: str) -> list[str]:
    path = Path(term[1:]).expanduser()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read host list: {exc.strerror}", file=str(path), field="pattern") from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


class Matcher:
    """Resolves single terms against an inventory's host and group names."""

    def __init__(
        self, host_names: Sequence[str], group_hosts: Callable[[str], list[str]], group_names: Sequence[str]
    ) -> None:
        self.host_names = list(host_names)
        self.group_hosts = group_hosts
        self.group_names = list(group_names)
        self._hosts_set = set(host_names)

    def term(self, term: str) -> list[str]:
        if term in ("all", "*"):
            return list(self.host_names)
        m = _SUBSCRIPT.match(term)
        if m and not term.startswith("~"):
            return self._subscript(m.group(1), m.group(2), m.group(3), m.group(4), term)
        if term.startswith("~"):
            try:
                rx = re.compile(term[1:])
            except re.error as exc:
                raise ConfigError(f"invalid regular expression {term!r}: {exc}", field="pattern") from None
            return self._union_names(lambda name: rx.match(name) is not None)
        if _GLOB_CHARS & set(term):
            return self._union_names(lambda name: fnmatch.fnmatchcase(name, term))
        if term in self.group_names:
            return self.group_hosts(term)
        if term in self._hosts_set:
            return [term]
        hint = did_you_mean(term, self.group_names + self.host_names)
        raise ConfigError(f"no host or group named {term!r}{hint}", field="pattern")

    def _union_names(self, pred: Callable[[str], bool]) -> list[str]:
        found: list[str] = []
        for g in self.group_names:
            if pred(g):
                found.extend(self.group_hosts(g))
        found.extend(h for h in self.host_names if pred(h))
        return found

    def _subscript(
        self, base: str, index: str | None, start: str | None, end: str | None, term: str
    ) -> list[str]:
        hosts = self.term(base)
        if index is not None:
            i = int(index)
            if not -len(hosts) <= i < len(hosts):
                raise ConfigError(f"{term!r}: index out of range ({len(hosts)} hosts)", field="pattern")
            return [hosts[i]]
        lo = int(start) if start else 0
        hi = int(end) if end else len(hosts) - 1
        if hi < 0:
            hi += len(hosts)
        return hosts[lo : hi + 1]  # Ansible slices include the end


def select(pattern: str, matcher: Matcher) -> list[str]:
    """Host names matching an Ansible pattern, in inventory order."""
    if not pattern or not pattern.strip():
        raise ConfigError("empty host pattern", field="pattern")
    regular: list[str] = []
    intersect: list[str] = []
    exclude: list[str] = []
    for raw in split_pattern(pattern):
        kind, term = ("!", raw[1:]) if raw[0] == "!" else ("&", raw[1:]) if raw[0] == "&" else ("", raw)
        terms = _read_file_terms(term) if term.startswith("@") else [term]
        target = {"!": exclude, "&": intersect, "": regular}[kind]
        target.extend(terms)
    if not regular:
        regular = ["all"]
    chosen: set[str] = set()
    for t in regular:
        chosen.update(matcher.term(t))
    for t in intersect:
        chosen &= set(matcher.term(t))
    for t in exclude:
        chosen -= set(matcher.term(t))
    return [h for h in matcher.host_names if h in chosen]
