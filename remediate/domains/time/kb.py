"""Knowledge base of Windows Time errors for `remediate explain` (entries in data/errors.yaml)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "SYS1000": "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1000-1299-",
        "SYS1300": "https://learn.microsoft.com/en-us/windows/win32/debug/system-error-codes--1300-1699-",
        "WSA": "https://learn.microsoft.com/en-us/windows/win32/winsock/windows-sockets-error-codes-2",
        "TOOLS": "https://learn.microsoft.com/en-us/windows-server/networking/windows-time-service/"
        "windows-time-service-tools-and-settings",
    }
)
# Words that name the code-less w32tm entries
ALIASES = {"no-data": "w32tm:no-data", "no-time-data": "w32tm:no-data"}
_HEX = re.compile(r"^(?:0x)?([0-9a-f]{1,8})$", re.IGNORECASE)


def normalize(code: str) -> str:
    """ "0x80070426", "80070426", "-2147023834", "2147943462" -> "0x80070426"; names -> "w32tm:<name>"."""
    text = code.strip().lower()
    if text.startswith("w32tm:") or text in ALIASES:
        return ALIASES.get(text, text)
    if "resync because no time data" in text:
        return "w32tm:no-data"
    if re.fullmatch(r"-?\d{1,10}", text) and not re.fullmatch(r"\d{8}", text):
        value = int(text)
    elif (m := _HEX.match(text)) and (text.startswith("0x") or len(m.group(1)) == 8):
        value = int(m.group(1), 16)
    else:
        raise ValueError(f"not an error code: {code!r} (expected e.g. 0x80070426)")
    if not -(2**31) <= value < 2**32:
        raise ValueError(f"not a 32-bit error code: {code!r}")
    return f"0x{value & 0xFFFFFFFF:08X}"


@cache
def entries() -> Mapping[str, Mapping[str, Any]]:
    text = resources.files("remediate.domains.time").joinpath("data/errors.yaml").read_text(encoding="utf-8")
    out: dict[str, Mapping[str, Any]] = {}
    for raw in yaml.safe_load(text):
        code = str(raw["code"])
        if code in out:
            raise ValueError(f"time KB: duplicate entry {code}")
        out[code] = MappingProxyType({**raw, "source": SOURCES.get(raw["source"], raw["source"])})
    return MappingProxyType(out)


def explain(code: str) -> dict[str, Any]:
    """{"kind": "error", "code", "title", ...entry}; LookupError for an unknown or malformed code."""
    try:
        key = normalize(code)
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    entry = entries().get(key)
    if entry is None:
        raise LookupError(f"{key} is not in the Windows Time knowledge base ({len(entries())} entries)")
    title = str(entry["message"]).rstrip(".")
    return {"kind": "error", "title": title, **entry, "code": key, "causes": list(entry["causes"])}
