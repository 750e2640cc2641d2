"""Clock (P5 `[DateTime]::UtcNow.ToString('o')`) and SPP events (P6 Get-WinEvent JSON)."""

from __future__ import annotations

import re
from typing import Any

from .common import ParseError, find_code
from .jsonio import as_records, load_json, ms_date


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
