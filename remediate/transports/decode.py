"""Turn console bytes from a Windows host into text.

Order: the host's `output_encoding` override (cp932, gbk...) when set; else UTF-8, because every
transport asks for codepage 65001; else, when the bytes are not UTF-8 (a host that ignored the
request, or Windows OpenSSH writing in the OEM codepage), a guess among the OEM codepages the
fleet uses. A leading UTF-8 BOM is dropped.

PowerShell run non-interactively writes its error stream to stderr as CLIXML
(`#< CLIXML` then `<Objs>` with `<S S="Error">` lines, special characters escaped as `_xHHHH_`);
`clixml_to_text` turns that into the plain lines a console would have shown. The format follows
what Ansible's `_parse_clixml` handles (ansible/plugins/shell/powershell.py) and what PowerShell
5.1 writes, e.g. `<S S="Error">Out-File : Access denied._x000D__x000A_</S>`.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET

CLIXML_HEADER = "#< CLIXML"
_PS_NS = "{http://schemas.microsoft.com/powershell/2004/04}"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_KANA = re.compile(r"[\u3040-\u30ff]")  # full-width only: GBK bytes read as cp932 give half-width kana
# ideographs, kana, CJK punctuation, full-width forms (not half-width katakana U+FF61-FF9F)
_WIDE = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff01-\uff60]")


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _plausible(text: str) -> bool:
    """Whether nearly every non-ASCII character is CJK text (ideographs, kana, full-width forms)."""
    wide = [c for c in text if ord(c) > 0x7F]
    good = sum(1 for c in wide if _WIDE.match(c))
    return bool(wide) and good >= 0.9 * len(wide)


def guess_oem(data: bytes) -> str:
    """Name of the OEM codepage that most plausibly produced `data` (which is not UTF-8).

    cp932 and gbk are both double-byte; Japanese text carries kana, Chinese never does, and
    bytes from the other codepage decode to half-width katakana or stray symbols, which fail
    the plausibility test. Anything else is taken as cp437 (en-US console), which decodes
    every byte.
    """
    as_932 = _strict(data, "cp932")
    if as_932 is not None and _KANA.search(as_932) and _plausible(as_932):
        return "cp932"
    as_936 = _strict(data, "gbk")
    if as_936 is not None and _plausible(as_936):
        return "gbk"
    if as_932 is not None and _plausible(as_932):
        return "cp932"
    return "cp437"


def decode_output(data: bytes, encoding: str | None = None) -> str:
    """Decode console output; never raises (undecodable bytes become U+FFFD)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if encoding:
        text = data.decode(encoding, errors="replace")
    else:
        text = _strict(data, "utf-8") or data.decode(guess_oem(data), errors="replace")
    return text.removeprefix("\ufeff")


def _unescape(value: str) -> str:
    """Undo PowerShell's XML string escaping: `_x000D_` -> CR, surrogate pairs, `_x005F_` -> `_`."""
    raw = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    # Astral characters arrive as two escaped UTF-16 surrogates; re-pair them.
    return raw.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def clixml_to_text(text: str) -> str:
    """Render `#< CLIXML` documents in `text` as plain error lines; other text passes through.

    Only the error stream (`<S S="Error">`) is kept: progress records are what a console shows
    as a progress bar, not output. Several documents may be concatenated (one per write).
    """
    if CLIXML_HEADER not in text:
        return text
    out: list[str] = []
    for chunk in text.split(CLIXML_HEADER):
        chunk = chunk.strip("\r\n")
        if not chunk:
            continue
        start = chunk.find("<Objs")
        end = chunk.rfind("</Objs>")
        if start < 0 or end < 0:
            out.append(chunk)
            continue
        if chunk[:start].strip():
            out.append(chunk[:start].rstrip("\r\n"))
        try:
            root = ET.fromstring(chunk[start : end + len("</Objs>")])  # noqa: S314 - our own peer's output, no DTDs
        except ET.ParseError:
            out.append(chunk)
            continue
        for elem in root:
            if elem.tag in (f"{_PS_NS}S", "S") and elem.get("S") == "Error":
                out.append(_unescape(elem.text or ""))
        tail = chunk[end + len("</Objs>") :].strip("\r\n")
        if tail:
            out.append(tail)
    return "".join(line if line.endswith("\n") else line + "\r\n" for line in out).rstrip("\r\n")


def decode_stderr(data: bytes, encoding: str | None = None) -> str:
    """Decode stderr and unwrap any CLIXML error records in it."""
    return clixml_to_text(decode_output(data, encoding))
