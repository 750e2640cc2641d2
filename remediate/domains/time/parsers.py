"""Parsers for w32tm output; every parser returns plain JSON-able dicts and raises ParseError.

Kinds: w32tm-status (`w32tm /query /status [/verbose]`), w32tm-source (`w32tm /query /source`),
w32tm-config (`w32tm /query /configuration`), w32tm-stripchart (`w32tm /stripchart /computer:X
/samples:N /dataonly`) and utc-time (`[DateTime]::UtcNow.ToString('o')`, skew against this machine).

Formats, from real outputs (the case files under tests/cases/<kind>/ cite each):
- en-US status: "Leap Indicator: 0(no warning)", "Stratum: 4 (secondary reference - syncd by
  (S)NTP)", "Last Successful Sync Time: unspecified", "Source: Local CMOS Clock", "Poll Interval:
  10 (1024s)"; /verbose adds "Phase Offset:", "Last Sync Error:", "Time since Last Good Sync Time:"
  (https://pastebin.com/qULtU8Ks, https://pastebin.com/NFMfxpdp).
- ja-JP status labels: 閏インジケーター, 階層, 精度, ルート遅延, ルート分散, 参照 ID,
  最終正常同期時刻, ソース, ポーリング間隔 (a real Windows Server 2019 session, code-search id
  62231477300); /verbose labels フェーズ オフセット, 最終同期エラー, 最終正常同期時刻からの時間
  and the value 未指定 (unspecified), measured on a ja-JP machine (code-search id
  71025958131). Source names such as "Local CMOS Clock" stay English.
- Errors: "The following error occurred: The service has not been started. (0x80070426)" (en-US),
  "发生下列错误: 服务尚未启动。 (0x80070426)" (zh-CN): any line ending in an HRESULT in parentheses.
- Stripchart samples: "21:45:57, -6829.4511649s" (the reference's time minus this clock) and
  "14:16:50, error: 0x800705B4" (github.com/Azure/azure-sphere-samples, PrivateNetworkServices).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from remediate.core.clock import parse_utc_time
from remediate.core.errors import ParseError as CoreParseError

from .text import ParseError, decode, hresult, integer, number

# label (as printed) -> field; en-US first, then ja-JP
STATUS_LABELS = {
    "leap indicator": "leap_indicator", "閏インジケーター": "leap_indicator",
    "stratum": "stratum", "階層": "stratum",
    "precision": "precision", "精度": "precision",
    "root delay": "root_delay", "ルート遅延": "root_delay",
    "root dispersion": "root_dispersion", "ルート分散": "root_dispersion",
    "referenceid": "reference_id", "参照 id": "reference_id",
    "last successful sync time": "last_sync", "最終正常同期時刻": "last_sync",
    "source": "source", "ソース": "source",
    "poll interval": "poll_interval", "ポーリング間隔": "poll_interval",
    "phase offset": "phase_offset", "フェーズ オフセット": "phase_offset",
    "last sync error": "last_sync_error", "最終同期エラー": "last_sync_error",
    "time since last good sync time": "since_last_sync", "最終正常同期時刻からの時間": "since_last_sync",
}  # fmt: skip
UNSPECIFIED = frozenset({"unspecified", "未指定"})
SERVICE_NOT_STARTED = "0x80070426"  # HRESULT_FROM_WIN32(ERROR_SERVICE_NOT_ACTIVE)
# Source names w32time prints for its built-in providers (never localized)
SOURCE_KINDS = {
    "local cmos clock": "local_cmos",
    "free-running system clock": "free_running",
    "vm ic time synchronization provider": "vm_ic",
}
SYNC_TYPES = ("NT5DS", "NTP", "NoSync", "AllSync")
_SAMPLE = re.compile(r"^(\d{1,2}:\d{2}:\d{2}),\s*(?:([+-]?\d+(?:[.,]\d+)?)s|error:\s*(0x[0-9A-Fa-f]{8}))")
_TRACKING = re.compile(r"^Tracking\s+(\S+)\s+\[([^\]]*)\]")
_SYNC_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%Y/%m/%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S")


def source_kind(source: str | None) -> str | None:
    """ "local_cmos" | "free_running" | "vm_ic" | "peer" (an NTP peer or a domain controller)."""
    if not source:
        return None
    return SOURCE_KINDS.get(source.strip().lower(), "peer")


def split_peer(value: str) -> tuple[str, str | None]:
    """ "time.windows.com,0x9" -> ("time.windows.com", "0x9"); "10.30.0.3,8" -> ("10.30.0.3", "0x8")."""
    name, _, flags = value.strip().partition(",")
    if not flags:
        return name, None
    flags = flags.strip()
    return name, flags if flags.lower().startswith("0x") else f"0x{flags}"


def _error(text: str) -> dict[str, Any] | None:
    """w32tm's one-line failure ("The following error occurred: <message> (0x...)"), if that is all."""
    code = hresult(text)
    if code is None:
        return None
    line = next(ln.strip() for ln in text.split("\n") if code[2:].lower() in ln.lower())
    message = line.split(": ", 1)[-1] if ": " in line else line
    message = re.sub(r"\s*\(0x[0-9A-Fa-f]{8}\)\s*$", "", message).strip()
    return {"error_code": code, "error": message or None, "service_running": code != SERVICE_NOT_STARTED}


def _fields(text: str, labels: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in text.split("\n"):
        label, sep, value = raw.strip().partition(":")
        if not sep:
            continue
        key = labels.get(re.sub(r"\s+", " ", label.strip()).lower())
        if key is not None and key not in out:
            out[key] = value.strip()
    return out


def _local_time(value: str | None) -> str | None:
    """A sync time in a known unambiguous layout -> ISO 8601 without zone (the host's local time)."""
    if not value:
        return None
    for fmt in _SYNC_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).isoformat()
        except ValueError:
            continue
    return None


def parse_status(text: str) -> dict[str, Any]:
    f = _fields(text, STATUS_LABELS)
    if not f:
        err = _error(text)
        if err is None:
            raise ParseError("no w32tm /query /status fields and no w32tm error")
        return {**_empty_status(), **err}
    last = f.get("last_sync")
    unspecified = last is None or last.strip().lower() in UNSPECIFIED
    source = f.get("source") or None
    poll = f.get("poll_interval") or ""
    poll_s = re.search(r"\((\d+)s\)", poll)
    leap, stratum = integer(f.get("leap_indicator")), integer(f.get("stratum"))
    ref = re.match(r"\s*(0x[0-9A-Fa-f]{8})", f.get("reference_id") or "")
    since = f.get("since_last_sync")
    return {
        **_empty_status(),
        "service_running": True,
        "leap_indicator": leap,
        "synchronized": None if leap is None else leap != 3 and stratum != 0,
        "stratum": stratum,
        "precision": integer(f.get("precision")),
        "root_delay_seconds": number(f.get("root_delay")),
        "root_dispersion_seconds": number(f.get("root_dispersion")),
        "reference_id": ref.group(1).upper().replace("0X", "0x") if ref else None,
        "last_sync": None if unspecified else last,
        "last_sync_local": None if unspecified else _local_time(last),
        "never_synced": unspecified,
        "source": source,
        "source_kind": source_kind(source),
        "poll_interval": integer(poll),
        "poll_interval_seconds": int(poll_s.group(1)) if poll_s else None,
        "phase_offset_seconds": number(f.get("phase_offset")),
        "last_sync_error": f.get("last_sync_error"),
        "since_last_sync_seconds": number(since) if since and since.lower() not in UNSPECIFIED else None,
    }


def _empty_status() -> dict[str, Any]:
    keys = (
        "leap_indicator", "synchronized", "stratum", "precision", "root_delay_seconds",
        "root_dispersion_seconds", "reference_id", "last_sync", "last_sync_local", "never_synced",
        "source", "source_kind", "poll_interval", "poll_interval_seconds", "phase_offset_seconds",
        "last_sync_error", "since_last_sync_seconds", "error_code", "error",
    )  # fmt: skip
    return {"service_running": None, **dict.fromkeys(keys)}


def parse_source(text: str) -> dict[str, Any]:
    err = _error(text)
    empty = {"source": None, "source_kind": None, "peer": None, "flags": None}
    if err is not None:
        return {**empty, **err}
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) != 1:
        raise ParseError(f"expected one line (the time source), got {len(lines)}")
    source = lines[0]
    kind = source_kind(source)
    peer, flags = split_peer(source) if kind == "peer" else (None, None)
    out = {"source": source, "source_kind": kind, "peer": peer, "flags": flags}
    return {**out, "service_running": True, "error_code": None, "error": None}


def _config_value(raw: str) -> str:
    """ "time.windows.com,0x9 (Local)" -> "time.windows.com,0x9" (the setting's origin dropped)."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", raw.strip())


def parse_config(text: str) -> dict[str, Any]:
    err = _error(text) if "[Configuration]" not in text else None
    out: dict[str, Any] = {
        "type": None, "ntp_server": None, "peers": [], "ntp_client_enabled": None,
        "ntp_server_enabled": None, "vmic_provider_enabled": None, "announce_flags": None,
        "special_poll_interval": None, "max_pos_phase_correction": None,
        "max_neg_phase_correction": None, "configuration": {}, "providers": {},
        "service_running": True, "error_code": None, "error": None,
    }  # fmt: skip
    if err is not None:
        return {**out, **err}
    if "[Configuration]" not in text and "[TimeProviders]" not in text:
        raise ParseError("no [Configuration] or [TimeProviders] section")
    section, provider = "", None
    config: dict[str, str] = out["configuration"]
    providers: dict[str, dict[str, str]] = out["providers"]
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            section, provider = line[1:-1], None
            continue
        key, sep, value = line.partition(": ")
        if not sep and section == "TimeProviders":  # "NtpClient (Local)": a provider block starts
            provider = _config_value(line)
            providers.setdefault(provider, {})
            continue
        if not sep:
            continue
        (providers[provider] if provider is not None else config)[key.strip()] = _config_value(value)
    client = providers.get("NtpClient", {})
    ntp_server = client.get("NtpServer") or config.get("NtpServer")
    sync_type = client.get("Type") or config.get("Type")
    out.update(
        type=next((t for t in SYNC_TYPES if sync_type and t.lower() == sync_type.lower()), sync_type),
        ntp_server=ntp_server,
        peers=[split_peer(p)[0] for p in (ntp_server or "").split() if p],
        ntp_client_enabled=_flag(client.get("Enabled")),
        ntp_server_enabled=_flag(providers.get("NtpServer", {}).get("Enabled")),
        vmic_provider_enabled=_flag(providers.get("VMICTimeProvider", {}).get("Enabled")),
        announce_flags=integer(config.get("AnnounceFlags")),
        special_poll_interval=integer(client.get("SpecialPollInterval")),
        max_pos_phase_correction=integer(config.get("MaxPosPhaseCorrection")),
        max_neg_phase_correction=integer(config.get("MaxNegPhaseCorrection")),
    )
    return out


def _flag(value: str | None) -> bool | None:
    n = integer(value)
    return None if n is None else n != 0


def parse_stripchart(text: str) -> dict[str, Any]:
    target = address = None
    samples: list[dict[str, Any]] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if m := _TRACKING.match(line):
            target, address = m.group(1), m.group(2).rstrip(".")
            continue
        if m := _SAMPLE.match(line):
            offset = float(m.group(2).replace(",", ".")) if m.group(2) else None
            code = m.group(3).upper().replace("0X", "0x") if m.group(3) else None
            samples.append({"time": m.group(1), "offset_seconds": offset, "error_code": code})
    if not samples:
        err = _error(text)
        if err is None:
            raise ParseError("no stripchart samples and no w32tm error")
        base: dict[str, Any] = {"target": target, "address": address, "samples": [], "offset_seconds": None}
        return {**base, "skew_seconds": None, "reachable": False, **err}
    good = [s["offset_seconds"] for s in samples if s["offset_seconds"] is not None]
    errors = [s["error_code"] for s in samples if s["error_code"]]
    offset = sorted(good)[len(good) // 2] if good else None  # the median sample
    return {
        "target": target,
        "address": address,
        "samples": samples,
        "offset_seconds": offset,
        # this host's clock minus the reference's (the sign of utc-time's skew)
        "skew_seconds": None if offset is None else round(-offset, 7) + 0.0,
        "reachable": bool(good),
        "error_code": errors[0] if errors and not good else None,
        "error": None,
    }


_PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "w32tm-status": parse_status,
    "w32tm-source": parse_source,
    "w32tm-config": parse_config,
    "w32tm-stripchart": parse_stripchart,
    "utc-time": parse_utc_time,
}
KINDS: tuple[str, ...] = tuple(_PARSERS)


def parse(kind: str, data: str | bytes) -> dict[str, Any]:
    """Parse one command's output; ParseError (a ValueError) for an unknown kind or bad input."""
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ParseError(f"unknown parser kind {kind!r}; known kinds: {', '.join(KINDS)}")
    text = decode(data)
    if not text.strip():
        raise ParseError(f"{kind}: empty input")
    try:
        return parser(text)
    except CoreParseError as exc:  # this domain's, or core's (core/clock.py)
        raise ParseError(f"{kind}: {exc}") from None
    except Exception as exc:  # a parser bug still surfaces as a ParseError
        raise ParseError(f"{kind}: unparseable input ({type(exc).__name__}: {exc})") from exc
