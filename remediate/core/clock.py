"""`[DateTime]::UtcNow.ToString('o')` from a host -> its time and its skew against this machine.

Both the activation domain (KMS rejects clients more than 4 h off) and the time domain read it,
so it lives in core, registered by each domain as the `utc-time` parser kind.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from remediate.core.errors import ParseError

# round-trip format: 2024-01-15T10:23:45.1234567Z (7 fraction digits; Kind=Local adds +09:00)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?\s*(Z|[+-]\d{2}:?\d{2})?")


def parse_utc_time(text: str, now: datetime | None = None) -> dict[str, Any]:
    """-> {"utc": ISO-8601 with Z, "skew_seconds": host clock minus this machine's clock}."""
    m = _ISO.search(text)
    if not m:
        raise ParseError("no ISO-8601 timestamp found (expected DateTime.ToString('o') output)")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    except ValueError as exc:
        raise ParseError(f"invalid timestamp: {exc}") from None
    tz = m.group(8)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    skew = (dt - (now or datetime.now(UTC))).total_seconds()
    return {"utc": dt.isoformat().replace("+00:00", "Z"), "skew_seconds": round(skew, 3)}
