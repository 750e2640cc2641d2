"""Template functions the time playbooks call (`time_peers(ntp_peers)`, `time_config_ok(...)`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from remediate.domains.time.parsers import split_peer


def time_peers(ntp_peers: Any) -> list[str]:
    """["time.example.com,0x8", "ntp2"] or "a b" -> ["time.example.com", "ntp2"] (names, lower case)."""
    items = ntp_peers.split() if isinstance(ntp_peers, str) else list(ntp_peers or [])
    return [split_peer(str(p))[0].lower() for p in items if str(p).strip()]


def time_config_ok(config: Any, ntp_peers: Any) -> bool:
    """The configured sync type matches the policy: NT5DS/AllSync (domain hierarchy) when no
    ntp_peers are given, else NTP with exactly those peers."""
    if not isinstance(config, Mapping) or config.get("error_code"):
        return False
    peers = time_peers(ntp_peers)
    if not peers:
        return config.get("type") in ("NT5DS", "AllSync")
    configured = sorted(str(p).lower() for p in config.get("peers") or [])
    return config.get("type") == "NTP" and configured == sorted(peers)


def time_manualpeerlist(ntp_peers: Any) -> str:
    """The /manualpeerlist value: each peer with flag 0x8 (client mode) unless it carries its own."""
    items = ntp_peers.split() if isinstance(ntp_peers, str) else list(ntp_peers or [])
    return " ".join(p if "," in p else f"{p},0x8" for p in (str(i).strip() for i in items) if p)


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "time_peers": time_peers,
    "time_config_ok": time_config_ok,
    "time_manualpeerlist": time_manualpeerlist,
}
