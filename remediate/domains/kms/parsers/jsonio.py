"""Reading Windows PowerShell 5.1 `ConvertTo-Json` output.

5.1 prints a single object unwrapped (no array), an empty pipeline as nothing at all, DateTime
as `"\\/Date(1700000000000)\\/"`, and enums as numbers. Error-stream text may follow the JSON
when the caller passes stdout and stderr together.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from .common import ParseError

_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")


def split_json(text: str) -> tuple[Any, str]:
    """(parsed JSON or None when the text has no JSON, the text that is not JSON)."""
    stripped = text.strip()
    if not stripped:
        return None, ""
    start = min((i for i in (stripped.find("["), stripped.find("{")) if i >= 0), default=-1)
    if start < 0 or (stripped[:start].strip() and not _only_noise(stripped[:start])):
        return None, stripped
    try:
        data, end = json.JSONDecoder().raw_decode(stripped, start)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
    return data, (stripped[:start] + "\n" + stripped[end:]).strip()


def _only_noise(prefix: str) -> bool:
    return all(not ln.strip() or ln.lstrip().startswith("#<") for ln in prefix.splitlines())


def load_json(text: str) -> Any:
    data, rest = split_json(text)
    if data is None and rest:
        raise ParseError("expected ConvertTo-Json output")
    return data


def as_records(data: Any) -> list[dict[str, Any]]:
    """One object or an array of objects -> list of dicts (non-objects are an error)."""
    if data is None:
        return []
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(x, dict) for x in items):
        raise ParseError("expected a JSON object or an array of objects")
    return items


def ms_date(value: object) -> str | None:
    """`/Date(1700000000000)/` (5.1) or an ISO string (7.x) -> ISO-8601 UTC with `Z`."""
    if not isinstance(value, str):
        return None
    m = _MS_DATE.match(value.strip())
    try:
        if m:
            dt = datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
        else:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return dt.isoformat().replace("+00:00", "Z")
