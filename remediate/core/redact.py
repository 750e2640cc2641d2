"""Mask known secret values in any text bound for results, console, logs or the store.

The engine registers every password it resolves from the inventory (and every value the
inventory marks as secret); everything a host sends back is passed through `Redactor.text` /
`Redactor.obj` before it is stored anywhere. A command can echo a password back (a failing
`net use`, a script that prints its arguments), so masking output, not just inputs, matters.

Scale (issue 12): a fleet with one password per host (LAPS) registers 10,000 secrets, one host
at a time. The pattern is compiled lazily (once, at the first text after a change, not at every
`add`: that was O(hosts^2)), and as a trie of the secrets, so matching tries the next character
against one branch per distinct prefix instead of every secret in turn.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "********"
# Values shorter than this are not masked: masking "a" or "1" in every output would destroy it
# without protecting anything (such a password is guessable anyway).
MIN_SECRET_LEN = 3


class Redactor:
    """Replaces every occurrence of a registered secret with MASK. Thread-safe to extend."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._stale = False  # secrets added since the pattern was compiled
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        new = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN and s != MASK}
        if not new - self._secrets:
            return
        with self._lock:
            self._secrets |= new
            self._stale = True

    def _current(self) -> re.Pattern[str] | None:
        if self._stale:
            with self._lock:
                if self._stale:
                    self._pattern = re.compile(_trie_regex(self._secrets))
                    self._stale = False
        return self._pattern

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:  # never show the values themselves
        return f"Redactor({len(self._secrets)} secrets)"

    def text(self, value: str) -> str:
        pattern = self._current()
        if pattern is None or not value:
            return value
        return pattern.sub(MASK, value)

    def obj(self, value: Any) -> Any:
        """Redact strings inside nested dicts/lists/tuples (dict keys too); other values as-is."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.obj(k): self.obj(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.obj(v) for v in value)
        return value


def _trie_regex(secrets: Iterable[str]) -> str:
    """One regex matching any of `secrets`, the longest one at a position (like the alternation
    of them sorted longest first), built as a trie: `(?:ab(?:c(?:d)?)?|x)`. Nesting grows with
    the secrets that are prefixes of others; past what `re` or recursion take, the alternation."""
    items = list(secrets)
    trie: dict[str, Any] = {}
    for s in items:
        node = trie
        for ch in s:
            node = node.setdefault(ch, {})
        node[""] = {}  # a secret ends here

    def walk(node: dict[str, Any]) -> str:
        chain = []
        while len(node) == 1 and "" not in node:  # a run of single characters: no group needed
            ch = next(iter(node))
            chain.append(re.escape(ch))
            node = node[ch]
        branches = [re.escape(ch) + walk(child) for ch, child in sorted(node.items()) if ch]
        body = ""
        if branches:
            body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
            if "" in node:  # a shorter secret ends here: the longer continuation is optional (greedy)
                body = "(?:" + body + ")?"
        return "".join(chain) + body

    try:
        text = walk(trie)
        re.compile(text)
    except (RecursionError, re.error, OverflowError):
        text = "|".join(re.escape(s) for s in sorted(items, key=len, reverse=True))
    return text
