"""Input decoding and small value readers shared by the w32tm parsers.

w32tm writes with the console's OEM code page (cp932 on ja-JP), UTF-16 when PowerShell redirects
it, or UTF-8 after `chcp 65001`; numbers use `.` or `,` as the decimal mark depending on the locale.
"""

from __future__ import annotations

import codecs
import re

MAX_INPUT = 4 * 1024 * 1024
# "(0x80070426)" at the end of w32tm's error sentence; 0x8... only (failure HRESULTs)
HRESULT = re.compile(r"0x([0-9A-Fa-f]{8})\b")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


class ParseError(ValueError):
    """The input is not the output of the w32tm command the parser expects."""


def decode(data: str | bytes) -> str:
    """Bytes or str -> str with `\\n` line ends and no BOM; ParseError for binary or huge input."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        text = _decode_bytes(bytes(data))
    else:
        raise ParseError(f"expected text or bytes, got {type(data).__name__}")
    if len(text) > MAX_INPUT:
        raise ParseError(f"input too large ({len(text)} characters)")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ParseError("input contains NUL characters (binary data or a wrong encoding)")
    return text


def _decode_bytes(raw: bytes) -> str:
    for bom, enc in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le")):
        if raw.startswith(bom):
            return raw[len(bom) :].decode(enc, errors="replace")
    sample = raw[:4096]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 2 * 0.3 and not sample[0::2].count(0):
        return raw.decode("utf-16-le", errors="replace")  # BOM-less UTF-16 LE
    for enc in ("utf-8", "cp932"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("cp437", errors="replace")


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
