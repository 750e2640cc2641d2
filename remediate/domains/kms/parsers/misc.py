"""Clock (P5 `[DateTime]::UtcNow.ToString('o')`) and SPP events (P6 Get-WinEvent JSON)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .common import ParseError, find_code
from .jsonio import as_records, load_json, ms_date

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
    reference = now or datetime.now(UTC)
    skew = (dt - reference).total_seconds()
    return {"utc": dt.isoformat().replace("+00:00", "Z"), "skew_seconds": round(skew, 3)}


def parse_spp_events(text: str) -> dict[str, Any]:
    """P6 JSON -> {"events": [{id, level, time, message, error_code}]} (no output = no events)."""
    events: list[dict[str, Any]] = []
    for item in as_records(load_json(text)):
        event_id = item.get("Id")
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            raise ParseError("not a Get-WinEvent record (no integer Id)")
        message = item.get("Message") if isinstance(item.get("Message"), str) else None
        level = item.get("LevelDisplayName")
        events.append(
            {
                "id": event_id,
                "level": level if isinstance(level, str) else None,
                "time": ms_date(item.get("TimeCreated")),
                "message": message,
                "error_code": _event_code(message),
            }
        )
    return {"events": events}


def _event_code(message: str | None) -> str | None:
    """8198 says `hr=0xC004F074`; 12288/12289 list `Info: 0xC004F074, ...`; 0 means success."""
    if not message:
        return None
    m = re.search(r"hr\s*=\s*(0x[0-9A-Fa-f]{1,8})", message)
    code = find_code(m.group(1)) if m else find_code(message)
    return None if code == "0x00000000" else code
