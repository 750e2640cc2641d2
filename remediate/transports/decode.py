"""Turn console bytes from a Windows host into text.

Bytes become text through core/text.py (the decoder the parsers share): the host's
`output_encoding` override (cp932, gbk...) when set; else a BOM, BOM-less UTF-16, UTF-8 (every
transport asks for codepage 65001), and for bytes that are not UTF-8 (a host that ignored the
request, or Windows OpenSSH writing in the OEM codepage) a guess among the fleet's OEM codepages.

PowerShell run non-interactively writes its error stream to stderr as CLIXML
(`#< CLIXML` then `<Objs>` with `<S S="Error">` lines, special characters escaped as `_xHHHH_`);
`clixml_to_text` turns that into the plain lines a console would have shown. The format follows
what Ansible's `_parse_clixml` handles (ansible/plugins/shell/powershell.py) and what PowerShell
5.1 writes, e.g. `<S S="Error">Out-File : Access denied._x000D__x000A_</S>`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from remediate.core import xmlsafe
from remediate.core.capture import BoundedBuffer, join_text
from remediate.core.text import decode_console, guess_oem

__all__ = ["clixml_to_text", "decode_capture", "decode_output", "decode_stderr", "guess_oem", "truncated_map"]

CLIXML_HEADER = "#< CLIXML"
_PS_NS = "{http://schemas.microsoft.com/powershell/2004/04}"
_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def decode_output(data: bytes, encoding: str | None = None) -> str:
    """Decode console output (core/text.py: override, BOM, UTF-16, UTF-8, OEM guess); never raises."""
    return decode_console(data, encoding)


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
            root = xmlsafe.parse(chunk[start : end + len("</Objs>")])  # a host's output: no DTDs
        except (ET.ParseError, xmlsafe.XMLForbidden):
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


def decode_capture(
    buf: BoundedBuffer, encoding: str | None = None, *, stderr: bool = False
) -> tuple[str, int]:
    """Text of a bounded capture and the bytes dropped from its middle (0: the whole stream).

    Head and tail are decoded apart (the cut may split a character) and joined with the marker."""
    decode = decode_stderr if stderr else decode_output
    if buf.dropped <= 0:
        return decode(buf.getvalue(), encoding), 0
    return join_text(decode(bytes(buf.head), encoding), decode(buf.tail, encoding), buf.dropped), buf.dropped


def truncated_map(**dropped: int) -> dict[str, int]:
    """{stream: bytes dropped} for the streams that lost bytes."""
    return {name: n for name, n in dropped.items() if n > 0}
