"""Input decoding and line handling shared by every text parser.

Console output reaches us as bytes in whatever the host wrote: UTF-16 LE (PowerShell redirect,
`cscript //U`), UTF-8 with or without BOM (chcp 65001), or the OEM codepage (cp932 on ja-JP,
cp936/GBK on zh-CN). Pastes from a console window also carry hard wraps at the window width.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from remediate.core.text import UnreadableText, decode_text

from .common import ParseError
from .labels import LabelTable, all_known_labels, norm

MAX_INPUT = 8 * 1024 * 1024  # nothing these commands print is anywhere near this
CONSOLE_WIDTHS = (80, 100, 120)  # conhost defaults and the transcript width; such a line was hard-wrapped


def decode(data: str | bytes) -> str:
    """Bytes or str -> str without BOM, with `\\n` line ends (core/text.py, this domain's labels
    breaking the cp932/GBK tie)."""
    try:
        return decode_text(data, max_chars=MAX_INPUT, score=_label_score)
    except UnreadableText as exc:
        raise ParseError(str(exc)) from None


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


# ---- pasted output -------------------------------------------------------------------------
# Outputs reach us the way admins paste them (forums, tickets, chat, web pages): with the shell
# prompt that ran the command, Markdown fences and `> ` quoting, bullets, wrapping quote marks,
# full-width punctuation from a CJK input method, no-break and zero-width spaces. `normalize_paste`
# strips all of that so the line parsers see console text. Rules are general, never per-sample.

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# every Unicode space separator (NBSP, narrow NBSP, figure / ideographic space ...) -> ' '
_SPACES = dict.fromkeys((*range(0x2000, 0x200B), 0x00A0, 0x1680, 0x202F, 0x205F, 0x3000), " ")
# full-width ASCII forms (U+FF01..U+FF5E: `：`, `（）`, `０-９`, `Ａ-Ｚ`) -> ASCII
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_TRANSLATE = {**_INVISIBLE, **_SPACES, **_FULLWIDTH, ord("\t"): " "}

_FENCE = re.compile(r"^\s*(```|~~~)[\w+\-]*\s*$")
_QUOTE_PREFIX = re.compile(r"^\s*(?:>\s?)+")  # Markdown / mail quoting, nested or not
_BULLET = re.compile(r"^\s*[-*+\u2022\u00b7\u30fb\u25e6\u2023\u25aa\u25cf]\s+(?=\S)")
# `C:\Windows\system32>cscript slmgr.vbs /dli`, `PS C:\> slmgr /xpr`, `[C:\Program Files\...]$ slmgr`,
# `admin@HOST C:\>`: a line that is only a prompt plus the command typed after it carries no output
_PROMPT = re.compile(
    r"^\s*(?:PS\s+)?(?:[\w.\-]+@[\w.\-]+\s+)?(?:[A-Za-z]:\\[^<>|\"\n]*>|\[[A-Za-z]:\\[^\]]*\][$#>])"
)
_WRAP_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("'", "'"), ("`", "`"), ("\u300c", "\u300d"))


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)  # HTML line breaks from web pages
_BULLETS = frozenset("-*+\u2022\u00b7\u30fb\u25e6\u2023\u25aa\u25cf")  # _BULLET's first characters
_LEFT_QUOTES = frozenset(left for left, _ in _WRAP_QUOTES)


def normalize_paste(text: str) -> str:
    """Console text as the program printed it, from a human paste of it (see above)."""
    # Each regex runs only when the substring it needs is there: console output (every line the
    # controller reads from a host) rarely has any, and this runs on every line of it.
    text = text.translate(_TRANSLATE)
    if "<" in text:
        text = _BR.sub("\n", text)
    out: list[str] = []
    for line in text.split("\n"):
        if ("```" in line or "~~~" in line) and _FENCE.match(line):
            continue
        head = line.lstrip()[:1]
        if head == ">":
            line = _QUOTE_PREFIX.sub("", line, count=1)
            head = line.lstrip()[:1]
        if ":\\" in line and _PROMPT.match(line):  # both prompt forms hold a drive `X:\`
            continue
        if head in _BULLETS:
            line = _BULLET.sub("", line, count=1)
        out.append(_unwrap_quotes(line))
    _unquote_block(out)
    return "\n".join(out)


def _unwrap_quotes(line: str) -> str:
    """`"License Status: Licensed"` -> the text inside (a quoted single line)."""
    s = line.strip()
    if s[:1] not in _LEFT_QUOTES:
        return line
    for left, right in _WRAP_QUOTES:
        if len(s) > 2 and s.startswith(left) and s.endswith(right) and left not in s[1:-1]:
            return s[1:-1]
    return line


def _unquote_block(lines: list[str]) -> None:
    """A whole multi-line paste wrapped in one pair of quote marks: drop the outer pair."""
    idx = [i for i, ln in enumerate(lines) if ln.strip()]
    if len(idx) < 2:
        return
    first, last = idx[0], idx[-1]
    head, tail = lines[first].lstrip(), lines[last].rstrip()
    for left, right in _WRAP_QUOTES[:2]:
        if head.startswith(left) and tail.endswith(right):
            lines[first] = head[1:]
            lines[last] = tail[:-1]
            return
