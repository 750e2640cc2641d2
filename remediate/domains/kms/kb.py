"""Knowledge base of volume-activation error codes: meaning, causes, checks, fix, automatable.

The entries live in domains/kms/data/errors.yaml (one per code, each citing the Microsoft page it was
taken from); this module loads them once, normalizes codes and answers `remediate explain`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from remediate.core.i18n import _

CATEGORIES = frozenset({"network", "dns", "key", "store", "time", "kms_host", "permissions", "other"})

_LEARN = "https://learn.microsoft.com"
_TS = f"{_LEARN}/troubleshoot/windows-server/licensing-and-activation"
# Abbreviations used in the YAML `source` field.
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "T": f"{_TS}/troubleshoot-activation-error-codes",
        "F074": f"{_TS}/error-0xc004f074-activate-windows",
        "DNS": f"{_LEARN}/windows-server/get-started/common-troubleshooting-procedures-kms-dns",
        "TOK": f"{_TS}/rebuild-tokens-dotdat-file",
        "E015": f"{_TS}/error-0xc004e015-sl-e-eul-consumption-failed-activate-windows",
        "F015": f"{_TS}/error-0xc004f015-activate-windows-10",
        "E8198": f"{_TS}/activation-event-8198-error-0xc0020017-0x8007139f-kms-contact-failure",
        "000D": f"{_TS}/0x8007000d-activate-machine",
        "F063": f"{_TS}/0xc004f063-when-activating-oem-version",
        "E8200": f"{_TS}/event-id-8208-8200-900",
        "GVLK": f"{_LEARN}/windows-server/get-started/kms-client-activation-keys",
        "SLERR": "Windows SDK slerror.h (MessageText); " + f"{_TS}/troubleshoot-activation-error-codes",
        # Microsoft's consumer page ("Get help with Windows activation errors") for retail/OEM codes.
        "HELP": "https://support.microsoft.com/windows/get-help-with-windows-activation-errors-"
        "09d8fb64-8768-4815-0c30-159fa7d89d85",
        "267C": f"{_TS}/windows-activation-fails-with-error-0x8007267",
        "FE33": "https://support.microsoft.com/topic/windows-activation-or-validation-fails-with-error-code-"
        "0x8004fe33-a9afe65e-230b-c1ed-3414-39acd7fddf52",
        "WININET": f"{_LEARN}/windows/win32/wininet/wininet-errors",
        "SYS1000": f"{_LEARN}/windows/win32/debug/system-error-codes--1000-1299-",
        "HRESULT": f"{_LEARN}/windows/win32/seccrypto/common-hresult-values",
        "OFFICE": f"{_LEARN}/office/volume-license-activation/tools-to-manage-volume-activation-of-office",
    }
)

_HEX8 = re.compile(r"^[0-9A-Fa-f]{8}$")
_HEX = re.compile(r"^0[xX][0-9A-Fa-f]{1,8}$")
_DEC = re.compile(r"^-?[0-9]{1,10}$")


def normalize_code(code: str | int) -> str:
    """Any spelling of a 32-bit HRESULT -> "0x" + 8 uppercase hex digits.

    Accepts 0xc004f074, C004F074, hr=0xC004F074, -1073418124 (signed) and 3221549172 (unsigned).
    An 8-character all-digit string such as "80070005" is read as hex (how Windows prints codes
    without a prefix); other digit strings are decimal. Raises ValueError for anything else.
    """
    if isinstance(code, bool):
        raise ValueError(f"not an error code: {code!r}")
    if isinstance(code, int):
        value = code
    elif isinstance(code, str):
        text = code.strip().removeprefix("hr=").removeprefix("HR=").strip()
        if _HEX.match(text):
            value = int(text, 16)
        elif _HEX8.match(text):  # 8 hex digits without 0x, as in 'Error code 8007000d'
            value = int(text, 16)
        elif _DEC.match(text):
            value = int(text, 10)
        else:
            raise ValueError(f"not an error code: {code!r} (expected e.g. 0xC004F074)")
    else:
        raise ValueError(f"not an error code: {code!r}")
    if not -(2**31) <= value < 2**32:
        raise ValueError(f"not a 32-bit error code: {code!r}")
    return f"0x{value & 0xFFFFFFFF:08X}"


@dataclass(frozen=True)
class KBEntry:
    code: str  # "0xC004F074"
    symbol: str | None  # "SL_E_VL_BINDING_SERVICE_UNAVAILABLE", None when Microsoft names none
    message: str  # Microsoft's message text
    meaning: str  # plain words
    causes: tuple[str, ...]
    checks: tuple[str, ...]
    fix: str
    automatable: bool  # can a playbook fix it unattended
    playbook: str  # which playbook/var fixes it, or "none: ..."
    category: str  # network|dns|key|store|time|kms_host|permissions|other
    source: str  # URL of the Microsoft page the entry is taken from
    # Transient on Microsoft's side (activation service busy or timing out): retry later with
    # backoff (RETRY_ADVICE) instead of changing anything on the host.
    retry_later: bool = False

    @property
    def informational(self) -> bool:
        """Success-severity codes (0x4...) are status, not failures."""
        return int(self.code, 16) & 0x80000000 == 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["causes"] = list(self.causes)
        d["checks"] = list(self.checks)
        d["informational"] = self.informational
        return d


RETRY_ADVICE = (
    "Transient: retry later with backoff (for example after 15 minutes, 1 hour, then 4 hours) "
    "instead of changing the host; a KMS client retries by itself every 2 hours."
)
_FIELDS = frozenset(
    {"code", "symbol", "message", "meaning", "causes", "checks", "fix", "automatable", "playbook",
     "category", "source", "retry_later"}
)  # fmt: skip


def _entry(raw: Mapping[str, Any]) -> KBEntry:
    unknown = set(raw) - _FIELDS
    if unknown:
        raise ValueError(f"KB {raw.get('code')!r}: unknown field(s) {sorted(unknown)}")
    retry_later = raw.get("retry_later", False)
    if not isinstance(retry_later, bool):
        raise ValueError(f"KB {raw.get('code')!r}: retry_later must be true or false")
    code = normalize_code(str(raw["code"]))
    if raw["code"] != code:
        raise ValueError(f"KB code {raw['code']!r} is not normalized ({code})")
    category = str(raw["category"])
    if category not in CATEGORIES:
        raise ValueError(f"KB {code}: unknown category {category!r}")
    source = str(raw["source"])
    return KBEntry(
        code=code,
        symbol=raw.get("symbol"),
        message=str(raw["message"]),
        meaning=str(raw["meaning"]),
        causes=tuple(str(c) for c in raw["causes"]),
        checks=tuple(str(c) for c in raw["checks"]),
        fix=str(raw["fix"]),
        automatable=bool(raw["automatable"]),
        playbook=str(raw["playbook"]),
        category=category,
        source=SOURCES.get(source, source),
        retry_later=retry_later,
    )


@cache
def _load() -> Mapping[str, KBEntry]:
    text = resources.files("remediate.domains.kms").joinpath("data/errors.yaml").read_text(encoding="utf-8")
    entries: dict[str, KBEntry] = {}
    for raw in yaml.safe_load(text):
        e = _entry(raw)
        if e.code in entries:
            raise ValueError(f"KB: duplicate entry {e.code}")
        entries[e.code] = e
    return MappingProxyType(entries)


ENTRIES: Mapping[str, KBEntry] = _load()


def lookup(code: str | int) -> KBEntry | None:
    """The entry for an error code in any spelling; None if the KB has none. ValueError if malformed."""
    return ENTRIES.get(normalize_code(code))


def explain(code_or_event: str) -> dict[str, Any]:
    """A JSON-ready dict for `remediate explain`: an error code or an SPP event.

    Title, meaning, fix (and an event's meaning and evidence) are in the current language
    (remediate.core.i18n); Microsoft's message text, causes and checks stay as Microsoft wrote them.

    "0xC004F074" / "C004F074" / "-1073418124" -> {"kind": "error", ...entry};
    "event:12288" or a bare number of up to 5 digits ("12288") -> {"kind": "event", ...entry}.
    Raises LookupError with a readable message for unknown or malformed input.
    """
    from remediate.domains.kms.events import EVENTS, lookup_event  # events imports nothing from here

    text = code_or_event.strip()
    low = text.lower()
    if low.startswith("event:") or (text.isdigit() and len(text) <= 5):
        num = low.removeprefix("event:").strip()
        if not num.isdigit():
            raise LookupError(f"not an event id: {code_or_event!r} (expected e.g. event:12288)")
        ev = lookup_event(int(num))
        if ev is None:
            known = ", ".join(str(i) for i in sorted(EVENTS))
            raise LookupError(f"event {num} is not in the knowledge base (known SPP events: {known})")
        title = _(ev.message.split(" Info:")[0])
        d = ev.to_dict()
        d["meaning"], d["evidence"] = _(ev.meaning), _(ev.evidence)
        return {"kind": "event", "code": f"event:{ev.id}", "title": title, **d}
    try:
        code = normalize_code(text)
    except ValueError as exc:
        raise LookupError(str(exc)) from None
    entry = ENTRIES.get(code)
    if entry is None:
        raise LookupError(
            _("{code} is not in the knowledge base ({n} codes). On the host, "
              "'slui.exe 0x2a {code}' shows Windows' own text; see {url}").format(
                code=code, n=len(ENTRIES), url=SOURCES["T"]
            )
        )  # fmt: skip
    d = entry.to_dict()
    d["meaning"], d["fix"] = _(entry.meaning), _(entry.fix)
    if entry.retry_later:
        d["fix"] = f"{d['fix']} {_(RETRY_ADVICE)}"
    return {"kind": "error", "code": code, "title": title_of(d["meaning"]), **d}


def title_of(meaning: str) -> str:
    """A short heading for the console: the meaning's first sentence (English or Japanese)."""
    if "。" in meaning:
        return meaning.split("。")[0]
    return meaning.split(". ")[0].rstrip(".")
