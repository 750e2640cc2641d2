"""Console bytes from a Windows host -> text: the one decoder the transports and the parsers share.

Windows writes console output as UTF-16 LE (PowerShell redirects, `cscript //U`), UTF-8 with or
without a BOM (chcp 65001, which every transport requests), or the OEM codepage of the host's
UI language: cp437 (en-US), cp932 (ja-JP), cp936/GBK (zh-CN). cp932 and GBK are both double-byte
and often both decode the same bytes: Japanese text carries kana, Chinese never does, and bytes
from the other codepage decode to half-width katakana or stray symbols. A domain may add a score
(e.g. how many of its known output labels a candidate contains) to break ties.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

OEM_CANDIDATES = ("gbk", "cp932")  # on a full tie GBK: Japanese text would carry kana
_KANA = re.compile(r"[\u3040-\u30ff]")  # full-width only: GBK bytes read as cp932 give half-width kana
# ideographs, kana, CJK punctuation, full-width forms (not half-width katakana U+FF61-FF9F)
_WIDE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff60]")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def bom(data: bytes) -> tuple[str, int] | None:
    """(encoding, BOM length) when `data` starts with a UTF-8 or UTF-16 BOM."""
    for mark, enc in _BOMS:
        if data.startswith(mark):
            return enc, len(mark)
    return None


def sniff_utf16(data: bytes) -> str | None:
    """BOM-less UTF-16: mostly-ASCII text has a NUL in every other byte."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nuls, odd_nuls, half = sample[0::2].count(0), sample[1::2].count(0), len(sample) // 2
    if odd_nuls > half * 0.3 and even_nuls < half * 0.05:
        return "utf-16-le"
    if even_nuls > half * 0.3 and odd_nuls < half * 0.05:
        return "utf-16-be"
    return None


def plausible_cjk(text: str) -> bool:
    """Whether nearly every non-ASCII character is CJK text (ideographs, kana, full-width forms)."""
    wide = [c for c in text if ord(c) > 0x7F]
    good = sum(1 for c in wide if _WIDE.match(c))
    return bool(wide) and good >= 0.9 * len(wide)


def guess_oem(data: bytes, score: Callable[[str], int] | None = None) -> str:
    """The OEM codepage that most plausibly produced `data` (bytes that are not UTF-8).

    Each candidate that decodes strictly is ranked by: plausible CJK text, then the domain's
    `score`, then kana (Japanese), then the candidate order. Nothing plausible: cp437, which
    decodes every byte.
    """
    ranked: list[tuple[int, int, int, int, str]] = []
    for rank, enc in enumerate(OEM_CANDIDATES):
        text = strict(data, enc)
        if text is None:
            continue
        kana = len(_KANA.findall(text)) if enc == "cp932" else 0
        extra = score(text) if score is not None else 0
        ranked.append((int(plausible_cjk(text)), extra, kana, -rank, enc))
    best = max(ranked, default=None)
    if best is None or (not best[0] and not best[1]):
        return "cp437"
    return best[4]


def decode_console(
    data: bytes, encoding: str | None = None, score: Callable[[str], int] | None = None
) -> str:
    """Decode console output; never raises (undecodable bytes become U+FFFD). `encoding` (a
    host's output_encoding override) wins; then a BOM, BOM-less UTF-16, UTF-8, the OEM guess."""
    if encoding:
        found = bom(data)
        if found is not None and found[0] == "utf-8":
            data = data[found[1] :]
        return data.decode(encoding, errors="replace").removeprefix("\ufeff")
    found = bom(data)
    if found is not None:
        return data[found[1] :].decode(found[0], errors="replace")
    utf16 = sniff_utf16(data)
    if utf16 is not None:
        return data.decode(utf16, errors="replace")
    text = strict(data, "utf-8")
    if text is not None:
        return text
    return data.decode(guess_oem(data, score), errors="replace")


class UnreadableText(ValueError):
    """Input that is not console text: binary, too large, or invalid in its declared encoding."""


def decode_text(
    data: str | bytes, *, max_chars: int, score: Callable[[str], int] | None = None
) -> str:
    """Saved or received command output -> str without BOM, with `\\n` line ends, for parsers.
    Strict where the encoding is certain (a BOM, UTF-16), else decode_console's guess."""
    if isinstance(data, str):
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_chars * 2:
            raise UnreadableText(f"input too large ({len(raw)} bytes)")
        found = bom(raw)
        if found is None and (utf16 := sniff_utf16(raw)) is not None:
            found = (utf16, 0)
        if found is None:
            text = decode_console(raw, score=score)  # UTF-8, else the OEM guess
        else:
            try:
                text = raw[found[1] :].decode(found[0])
            except UnicodeDecodeError as exc:
                raise UnreadableText(
                    f"input is not valid {found[0]}: {exc.reason} at byte {exc.start}"
                ) from None
    else:
        raise UnreadableText(f"expected text or bytes, got {type(data).__name__}")
    if len(text) > max_chars:
        raise UnreadableText(f"input too large ({len(text)} characters)")
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if "\x00" in text:
        raise UnreadableText("input contains NUL characters (binary data or a wrong encoding)")
    return text
