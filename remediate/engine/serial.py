"""`--serial` batches: "N", "P%", or a list "1,10%,50%" (the last size repeats), like Ansible.

The first batch is the canary. Percentages are of the whole selection, rounded down, at least 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from remediate.core.errors import ConfigError

T = TypeVar("T")


def _size(token: str, total: int) -> int:
    token = token.strip()
    try:
        if token.endswith("%"):
            pct = float(token[:-1])
            if not 0 < pct <= 100:
                raise ValueError
            return max(1, int(total * pct / 100))
        n = int(token)
        if n < 1:
            raise ValueError
        return n
    except ValueError:
        raise ConfigError(
            f"expected a positive count or a percentage like 25%, got {token!r}", field="--serial"
        ) from None


def batch_sizes(serial: str | None, total: int) -> list[int]:
    if total <= 0:
        return []
    if not serial:
        return [total]
    sizes = [_size(t, total) for t in serial.split(",") if t.strip()]
    if not sizes:
        raise ConfigError("empty --serial value", field="--serial")
    out: list[int] = []
    remaining = total
    i = 0
    while remaining > 0:
        n = min(sizes[min(i, len(sizes) - 1)], remaining)
        out.append(n)
        remaining -= n
        i += 1
    return out


def make_batches(items: Sequence[T], serial: str | None) -> list[list[T]]:
    out: list[list[T]] = []
    start = 0
    for n in batch_sizes(serial, len(items)):
        out.append(list(items[start : start + n]))
        start += n
    return out
