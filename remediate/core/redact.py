"""Mask known secret values in any text bound for results, console, logs or the store.

The engine registers every password it resolves from the inventory (and every value the
inventory marks as secret); everything a host sends back is passed through `Redactor.text` /
`Redactor.obj` before it is stored anywhere. A command can echo a password back (a failing
`net use`, a script that prints its arguments), so masking output, not just inputs, matters.
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
        self._lock = threading.Lock()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        new = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LEN and s != MASK}
        if not new - self._secrets:
            return
        with self._lock:
            self._secrets |= new
            # Longest first so a secret containing another one is masked whole.
            alts = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in alts))

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:  # never show the values themselves
        return f"Redactor({len(self._secrets)} secrets)"

    def text(self, value: str) -> str:
        pattern = self._pattern
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
