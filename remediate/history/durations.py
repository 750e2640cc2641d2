"""`--since 7d`, `--older-than 180d`: a duration as people write it, to a timedelta."""

from __future__ import annotations

import re
from datetime import timedelta

from remediate.core.errors import ConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)


MAX_DAYS = 100 * 366  # a century: longer is a typo (and overflows datetime arithmetic)


def parse_duration(text: str, *, option: str = "duration") -> timedelta:
    """'90m', '12h', '7d', '2w' (s/m/h/d/w); a bare number is days; at most a century."""
    if re.fullmatch(r"\s*\d+\s*", text):
        seconds = float(text) * 86400
    else:
        m = _DURATION.match(text)
        if not m:
            raise ConfigError(f"{option}: expected a duration like 30m, 12h, 7d or 2w, got {text!r}")
        seconds = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if seconds > MAX_DAYS * 86400:
        raise ConfigError(f"{option}: {text!r} is longer than {MAX_DAYS // 366} years")
    return timedelta(seconds=seconds)
