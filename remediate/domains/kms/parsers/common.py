"""Shared helpers: the parse error, error-code normalisation, host:port and number extraction."""

from __future__ import annotations

import ipaddress
import re

from remediate.core.errors import ParseError as CoreParseError
from remediate.domains.kms.kb import normalize_code as kb_normalize_code

# Error codes are HRESULTs; Windows prints them as 0xC004F074, slmgr's Hex() drops the
# leading zeros (0x4004F040 but also 0x80070005 / 0xC004F074), CIM returns uint32 decimal
# (3221549172) and some tools print signed int32 decimal (-1073418124).
_HEX_RE = re.compile(r"(?<![0-9A-Za-z])(?:0x)?([0-9A-Fa-f]{8})(?![0-9A-Za-z])")
# 8 hex digits may run into the text after them when a paste lost the space ("0xC004F074The ...")
_HEX_PREFIXED_RE = re.compile(r"0x([0-9A-Fa-f]{8})(?![0-9A-Fa-f])|0x([0-9A-Fa-f]{1,7})(?![0-9A-Za-z])")
_INT_RE = re.compile(r"-?\d[\d,]*")


class ParseError(CoreParseError):
    """The input is not the output of the command the parser expects (or the kind is unknown)."""


def normalize_code(value: object) -> str | None:
    """`0xc004f074`, `C004F074`, `-1073418124`, `3221549172` -> `0xC004F074`; None if not a code.

    The lenient face of the knowledge base's normaliser (one set of spelling rules): a trailing
    full stop is ignored and anything that is not a code reads as None instead of raising.
    """
    if not isinstance(value, int | str):
        return None
    try:
        return kb_normalize_code(value.strip().rstrip(".") if isinstance(value, str) else value)
    except ValueError:
        return None


def find_code(text: str) -> str | None:
    """First HRESULT-looking token in free text (`0x...` preferred, then 8 bare hex digits)."""
    m = _HEX_PREFIXED_RE.search(text)
    if m:  # the digits after 0x are hex however many there are ("0x12345", "0x80070005")
        return normalize_code(int(m.group(1) or m.group(2), 16))
    m = _HEX_RE.search(text)
    if m and re.search(r"[A-Fa-f]", m.group(1)):  # bare 8 digits only when it is clearly hex
        return normalize_code(m.group(1))
    return None


def first_int(text: str | None) -> int | None:
    """First integer in a value such as `43200 minute(s) (30 day(s))` or `259197 分钟(180天）`."""
    if not text:
        return None
    m = _INT_RE.search(text)
    if not m:
        return None
    try:
        return int(m.group(0).replace(",", ""))
    except ValueError:
        return None


def split_host_port(value: str | None) -> tuple[str | None, int | None]:
    """`kms.lab.test:1688` -> ("kms.lab.test", 1688); `[fe80::1]:1688`; bare names keep port None."""
    if value is None:
        return None, None
    text = value.strip().rstrip(".")
    if not text:
        return None, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = _port(rest[1:]) if rest.startswith(":") else None
        return (host or None), port
    if text.count(":") == 1:
        host, _, port_text = text.partition(":")
        return (host.strip() or None), _port(port_text)
    return text, None


def _port(text: str) -> int | None:
    text = text.strip()
    if text.isdigit() and 0 < int(text) < 65536:
        return int(text)
    return None


def valid_ip(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def looks_like_host(text: str | None) -> bool:
    """A DNS name or IP literal (rejects sentences such as `KMS name not available`)."""
    if not text or " " in text.strip():
        return False
    return bool(re.fullmatch(r"[\w.\-:\[\]%]+", text.strip()))
