"""Input decoding and line handling shared by every text parser.

Console output reaches us as bytes in whatever the host wrote: UTF-16 LE (PowerShell redirect,
`cscript //U`), UTF-8 with or without BOM (chcp 65001), or the OEM codepage (cp932 on ja-JP,
cp936/GBK on zh-CN). Pastes from a console window also carry hard wraps at the window width.
"""

from __future__ import annotations

from collections.abc import Collection

from remediate.core.text import bom, decode_console, sniff_utf16

from .common import ParseError
from .labels import LabelTable, all_known_labels, norm

MAX_INPUT = 8 * 1024 * 1024  # nothing these commands print is anywhere near this
CONSOLE_WIDTHS = (80, 100, 120)  # conhost defaults and the transcript width; such a line was hard-wrapped


def decode(data: str | bytes) -> str:
    """Bytes or str -> str without BOM, with `\\n` line ends."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        text = _decode_bytes(bytes(data))
    else:
        raise ParseError(f"expected text or bytes, got {type(data).__name__}")
    if len(text) > MAX_INPUT:
        raise ParseError(f"input too large ({len(text)} characters)")
    text = text.lstrip("\ufeff")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise ParseError("input contains NUL characters (binary data or a wrong encoding)")
    return text


def _decode_bytes(raw: bytes) -> str:
    """core/text.py's decoder, strict for BOM/UTF-16 input, with this domain's labels as the
    tie-break between cp932 and GBK."""
    if len(raw) > MAX_INPUT * 2:
        raise ParseError(f"input too large ({len(raw)} bytes)")
    found = bom(raw)
    if found is None and (utf16 := sniff_utf16(raw)) is not None:
        found = (utf16, 0)
    if found is None:
        return decode_console(raw, score=_label_score)  # UTF-8, else the OEM guess
    enc, skip = found
    try:
        return raw[skip:].decode(enc)
    except UnicodeDecodeError as exc:
        raise ParseError(f"input is not valid {enc}: {exc.reason} at byte {exc.start}") from None


def _label_score(text: str) -> int:
    key = norm(text)
    return sum(1 for label in all_known_labels() if label in key)


def logical_lines(
    text: str, table: LabelTable, wrappable: Collection[str] = ()
) -> list[tuple[str | None, str]]:
    """(field, value) per logical line; unlabeled lines come back as (None, stripped line).

    A line that carries no known label and directly follows a line of a `wrappable` field (or a
    line exactly as long as the console) is that field's continuation: console hard wraps
    split mid-word, so they are joined without a space; other wraps with one.
    """
    out: list[tuple[str | None, str]] = []
    prev_raw = ""
    prev_field: str | None = None
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            prev_field, prev_raw = None, ""
            continue
        hit = table.split(line)
        if hit is not None:
            out.append(hit)
            prev_field, prev_raw = hit[0], raw.rstrip()
            continue
        hard_wrap = len(prev_raw) in CONSOLE_WIDTHS or len(prev_raw) + 1 in CONSOLE_WIDTHS
        marker = line.startswith(("---", "<", "***", "==="))  # ospp/nslookup separators
        if prev_field is not None and (prev_field in wrappable or hard_wrap) and out and not marker:
            field, value = out[-1]
            joiner = "" if hard_wrap else " "
            out[-1] = (field, value + joiner + line)
            prev_raw = raw.rstrip()
            continue
        out.append((None, line))
        prev_field, prev_raw = None, ""
    return out
