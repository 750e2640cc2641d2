"""Quote one value so a shell reads it back as exactly one literal argument.

PowerShell: single-quoted string, with `'` and the typographic single quotes PowerShell also
treats as quote characters (U+2018, U+2019, U+201A, U+201B) doubled. See the PowerShell language
spec, "2.3.5.2.5 String literals" (single-quote-character), and about_Quoting_Rules.
cmd: bare when the value is a plain token ([A-Za-z0-9._:-]); otherwise wrapped in double quotes,
where `& | < > ^ ( ) , ; =` and spaces are literal. cmd expands `%` even inside quotes and `!`
under delayed expansion, and a `"` or line break cannot be carried at all: such values are
refused. Trailing backslashes are doubled so CommandLineToArgvW does not read `\"` as a quote.
sh: bare for plain tokens, else POSIX single quotes (`'` written as '\\'').
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

# fullmatch, not match + "$": "$" also matches before a trailing newline ("kms01\n").
PLAIN = re.compile(r"[A-Za-z0-9._:-]+")
PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_PS_QUOTE_RE = re.compile(f"([{PS_QUOTES}])")
_CMD_REFUSED = {'"': "a double quote", "%": "'%'", "!": "'!'", "\r": "a line break", "\n": "a line break"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class UnsafeValue(ValueError):
    """The value cannot be written safely for this shell (the renderer names the variable)."""


def _scalar_text(value: Any, shell: str) -> str | None:
    """Numbers and booleans render plainly; None when the value is not such a scalar."""
    if isinstance(value, bool):
        if shell == "powershell":
            return "$true" if value else "$false"
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsafeValue(f"{value!r} is not a finite number")
        return repr(value)
    return None


def quote_powershell(value: Any) -> str:
    plain = _scalar_text(value, "powershell")
    if plain is not None:
        return plain
    if value is None:
        return "$null"
    if isinstance(value, list | tuple):
        return "@(" + ", ".join(quote_powershell(v) for v in value) + ")"
    if isinstance(value, Mapping):
        items = "; ".join(f"{quote_powershell(str(k))} = {quote_powershell(v)}" for k, v in value.items())
        return "@{" + items + "}"
    text = str(value)
    if "\x00" in text:
        raise UnsafeValue("contains a NUL character")
    return "'" + _PS_QUOTE_RE.sub(r"\1\1", text) + "'"


def quote_cmd(value: Any) -> str:
    plain = _scalar_text(value, "cmd")
    if plain is not None:
        return plain
    if value is None:
        return '""'
    if isinstance(value, list | tuple):
        return " ".join(quote_cmd(v) for v in value)
    if isinstance(value, Mapping):
        raise UnsafeValue("a mapping cannot be passed to cmd")
    text = str(value)
    for ch, what in _CMD_REFUSED.items():
        if ch in text:
            raise UnsafeValue(f"contains {what}, which cmd cannot carry safely")
    if _CONTROL.search(text):
        raise UnsafeValue("contains a control character, which cmd cannot carry safely")
    if PLAIN.fullmatch(text):
        return text
    stripped = text.rstrip("\\")
    return '"' + stripped + "\\" * (2 * (len(text) - len(stripped))) + '"'


def quote_sh(value: Any) -> str:
    plain = _scalar_text(value, "sh")
    if plain is not None:
        return plain
    if value is None:
        return "''"
    if isinstance(value, list | tuple):
        return " ".join(quote_sh(v) for v in value)
    if isinstance(value, Mapping):
        raise UnsafeValue("a mapping cannot be passed to sh")
    text = str(value)
    if "\x00" in text:
        raise UnsafeValue("contains a NUL character")
    if PLAIN.fullmatch(text):
        return text
    return "'" + text.replace("'", "'\\''") + "'"


def quote(value: Any, shell: str) -> str:
    if shell == "powershell":
        return quote_powershell(value)
    if shell == "cmd":
        return quote_cmd(value)
    if shell == "sh":
        return quote_sh(value)
    raise ValueError(f"unknown shell {shell!r}")
