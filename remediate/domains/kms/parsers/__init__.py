"""Parsers for the output of the commands the KMS playbooks run; `parse(kind, data)` is the API.

Every parser returns plain JSON-able dicts (the facts contract in docs/parsers.md), accepts
str or bytes in any console encoding, and raises ParseError, never anything else, on input
it does not recognise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from remediate.core.clock import parse_utc_time
from remediate.core.errors import ParseError as CoreParseError

from . import acl, cim, kmshost, misc, net, netenv, ospp, slmgr
from .common import ParseError, normalize_code
from .text import decode, normalize_paste

__all__ = ["KINDS", "ParseError", "normalize_code", "parse"]

_PARSERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "slmgr-dli": slmgr.parse_dli,
    "slmgr-dlv": slmgr.parse_dli,  # /dlv prints a superset of /dli's labels
    "slmgr-dlv-host": kmshost.parse_dlv_host,  # /dlv on a KMS host: + its KMS host section
    "slmgr-xpr": slmgr.parse_xpr,
    "slmgr-ato": slmgr.parse_ato,
    "ospp-dstatus": ospp.parse_dstatus,
    "ospp-act": ospp.parse_act,
    "nslookup-srv": net.parse_nslookup_srv,
    "tnc": net.parse_tnc,
    "resolve-srv": net.parse_resolve_srv,
    "cim-license": cim.parse_cim_license,
    "cim-service": cim.parse_cim_service,
    "cim-os": cim.parse_cim_os,
    "utc-time": parse_utc_time,  # core/clock.py: the time domain registers the same one
    "spp-events": misc.parse_spp_events,
    "sc-query": kmshost.parse_sc_query,
    "icacls": acl.parse_icacls,
    "netsh-winhttp": netenv.parse_winhttp_proxy,
    "slmgr-dti": netenv.parse_dti,
    "net-profile": netenv.parse_net_profile,
    "vpn-connection": netenv.parse_vpn,
}

KINDS: tuple[str, ...] = tuple(_PARSERS)

# kinds for which empty output is a valid answer (an empty pipeline prints nothing)
_EMPTY_OK = frozenset({"resolve-srv", "spp-events", "vpn-connection"})
# console-text kinds: read as a human would read a pasted copy (prompts, quoting, fences, full-width
# punctuation, odd spaces are dropped first; see text.normalize_paste). JSON kinds are left alone.
_PASTED = frozenset(
    {"slmgr-dli", "slmgr-dlv", "slmgr-xpr", "slmgr-ato", "ospp-dstatus", "ospp-act", "nslookup-srv", "tnc"}
)


def parse(kind: str, data: str | bytes) -> dict[str, Any]:
    """Parse one command's output. Raises ParseError for an unknown kind or unparseable input.

    For `resolve-srv` and `tnc`, pass stdout followed by stderr: the error stream carries the
    outcome ("DNS name does not exist", "WARNING: TCP connect to ... failed").
    """
    parser = _PARSERS.get(kind)
    if parser is None:
        raise ParseError(f"unknown parser kind {kind!r}; known kinds: {', '.join(KINDS)}")
    text = decode(data)
    if kind in _PASTED:
        text = normalize_paste(text)
    if not text.strip() and kind not in _EMPTY_OK:
        raise ParseError(f"{kind}: empty input")
    try:
        return parser(text)
    except CoreParseError as exc:  # this domain's ParseError, or core's (core/clock.py)
        raise ParseError(f"{kind}: {exc}") from None
    except Exception as exc:  # a parser bug must still surface as a ParseError to callers
        raise ParseError(f"{kind}: unparseable input ({type(exc).__name__}: {exc})") from exc
