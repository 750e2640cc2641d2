"""Input decoding and small value readers shared by the w32tm parsers.

w32tm writes with the console's OEM code page (cp932 on ja-JP), UTF-16 when PowerShell redirects
it, or UTF-8 after `chcp 65001`; numbers use `.` or `,` as the decimal mark depending on the locale.
"""

from __future__ import annotations

import re

from remediate.core.errors import ParseError as CoreParseError
from remediate.core.text import UnreadableText, decode_text

MAX_INPUT = 4 * 1024 * 1024
# "(0x80070426)" at the end of w32tm's error sentence; 0x8... only (failure HRESULTs)
HRESULT = re.compile(r"0x([0-9A-Fa-f]{8})\b")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


class ParseError(CoreParseError):
    """The input is not the output of the w32tm command the parser expects."""


def decode(data: str | bytes) -> str:
    """Bytes or str -> str with `\\n` line ends and no BOM (core/text.py); ParseError for binary
    or huge input."""
    try:
        return decode_text(data, max_chars=MAX_INPUT)
    except UnreadableText as exc:
        raise ParseError(str(exc)) from None


def hresult(text: str) -> str | None:
    """The first failure HRESULT in `text` ("0x80070426"), normalized to upper case."""
    for m in HRESULT.finditer(text):
        value = int(m.group(1), 16)
        if value & 0x80000000:
            return f"0x{value:08X}"
    return None


def number(text: str | None) -> float | None:
    """First number in a value ("0.0312500s", "+00,0123456s", "-23 (119.209ns per tick)")."""
    if not text:
        return None
    m = _NUMBER.search(text)
    return float(m.group(0).replace(",", ".")) if m else None


def integer(text: str | None) -> int | None:
    value = number(text)
    return int(value) if value is not None and value == int(value) else None
