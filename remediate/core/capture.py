"""Bounded capture of a command's output: keep the head and the tail, count what was dropped.

A host can print any amount (a runaway `type`, a hostile machine). Transports feed every piece
they receive into a `BoundedBuffer`; it stores at most `limit` bytes (the first half and the last
half) whatever arrives, so per-host memory stays flat while the stream is still drained to its end.
`join_text` puts the two halves back together with a visible marker where bytes were dropped.
"""

from __future__ import annotations

DEFAULT_MAX_OUTPUT = 4 * 2**20  # bytes kept per stream of one step (stdout, stderr)
MIN_MAX_OUTPUT = 1024


def truncation_marker(dropped: int) -> str:
    """The line that stands where output was dropped (results, JSON, console)."""
    return f"\r\n[... remediate: {dropped} bytes of output truncated ...]\r\n"


class BoundedBuffer:
    """Up to `limit` bytes of a stream: the first limit/2 and the last limit/2."""

    def __init__(self, limit: int = DEFAULT_MAX_OUTPUT) -> None:
        self.limit = max(MIN_MAX_OUTPUT, int(limit))
        self._head_cap = self.limit // 2
        self._tail_cap = self.limit - self._head_cap
        self.head = bytearray()
        self._tail = bytearray()
        self.total = 0  # bytes received

    def append(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        room = self._head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
            if not data:
                return
        if len(data) >= self._tail_cap:
            self._tail[:] = data[-self._tail_cap :]
        else:
            self._tail += data
            excess = len(self._tail) - self._tail_cap
            if excess > 0:
                del self._tail[:excess]

    @property
    def dropped(self) -> int:
        return self.total - len(self.head) - len(self._tail)

    @property
    def tail(self) -> bytes:
        return bytes(self._tail)

    def getvalue(self) -> bytes:
        """Head and tail joined (no marker); the whole stream when nothing was dropped."""
        return bytes(self.head) + bytes(self._tail)


def join_text(head: str, tail: str, dropped: int) -> str:
    """Decoded head and tail with the truncation marker between them (none when nothing dropped)."""
    return head + tail if dropped <= 0 else head + truncation_marker(dropped) + tail


def cap_text(text: str, limit: int) -> tuple[str, int]:
    """A string already in memory (a library handed it over whole) cut to head + tail.

    Returns the text and the number of characters dropped (counted as UTF-8 bytes would be
    too costly; characters are what was removed)."""
    limit = max(MIN_MAX_OUTPUT, int(limit))
    if len(text) <= limit:
        return text, 0
    half = limit // 2
    dropped = len(text) - 2 * half
    return join_text(text[:half], text[-half:], dropped), dropped


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30}  # fmt: skip


def parse_size(text: str | int) -> int:
    """`4194304`, `512k`, `4MiB`, `1 GB` -> bytes (binary units); ValueError otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        raw = str(text).strip().lower().replace(" ", "")
        number = raw.rstrip("kmgib")
        unit = raw[len(number) :]
        if unit not in _UNITS or not number.isdigit():
            raise ValueError(f"expected a size such as 4194304, 512k or 4MiB, got {text!r}")
        value = int(number) * _UNITS[unit]
    if value < MIN_MAX_OUTPUT:
        raise ValueError(f"size must be at least {MIN_MAX_OUTPUT} bytes, got {text!r}")
    return value
