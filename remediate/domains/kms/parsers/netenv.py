"""The host's network environment for online activation: WinHTTP proxy, Installation ID, network
location and VPN (`netsh winhttp show proxy`, `slmgr /dti`, Get-NetConnectionProfile,
Get-VpnConnection | ConvertTo-Json). Sources of the formats are cited in the lab modules that
print them (remediate/lab/windows/netsh.py, slmgr.py, pwsh_cmdlets.py).
"""

from __future__ import annotations

import re
from typing import Any

from .common import ParseError
from .jsonio import as_records, load_json

_WINHTTP_HEAD = ("Current WinHTTP proxy settings", "現在の WinHTTP プロキシ設定")
_DIRECT = ("Direct access (no proxy server)", "直接アクセス (プロキシ サーバーなし)")
_PROXY = re.compile(r"^\s*(?:Proxy Server\(s\)|プロキシ サーバー)\s*[:：]\s*(.*?)\s*$")
_BYPASS = re.compile(r"^\s*(?:Bypass List|バイパス一覧)\s*[:：]\s*(.*?)\s*$")
_NONE = ("(none)", "(なし)", "")
_IID = re.compile(r"^\s*(?:Installation ID|インストール ID|安装 ID)\s*[:：]\s*([0-9 -]+?)\s*$")
# MSFT_NetConnectionProfile.NetworkCategory (ConvertTo-Json writes the number)
_CATEGORY = {0: "Public", 1: "Private", 2: "DomainAuthenticated"}


def parse_winhttp_proxy(text: str) -> dict[str, Any]:
    """-> {"proxy": "host:port" | None, "bypass": str | None, "direct": bool}."""
    if not any(h in text for h in _WINHTTP_HEAD) and not any(d in text for d in _DIRECT):
        raise ParseError("not `netsh winhttp show proxy` output")
    proxy = bypass = None
    for line in text.splitlines():
        if m := _PROXY.match(line):
            proxy = m.group(1) or None
        elif m := _BYPASS.match(line):
            bypass = None if m.group(1) in _NONE else m.group(1)
    direct = proxy is None and any(d in text for d in _DIRECT)
    if proxy is None and not direct:
        raise ParseError("WinHTTP settings without a proxy line or 'Direct access'")
    return {"proxy": proxy, "bypass": bypass, "direct": direct}


def parse_dti(text: str) -> dict[str, Any]:
    """slmgr /dti -> {"installation_ids": [digits...], "installation_id": first, "digits": n}."""
    ids = [re.sub(r"\D", "", m.group(1)) for line in text.splitlines() if (m := _IID.match(line))]
    ids = [i for i in ids if i]
    if not ids:
        raise ParseError("no 'Installation ID:' line")
    return {"installation_ids": ids, "installation_id": ids[0], "digits": len(ids[0])}


def _category(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return _CATEGORY.get(value)
    return str(value) if isinstance(value, str) and value else None


def parse_net_profile(text: str) -> dict[str, Any]:
    """Get-NetConnectionProfile | ConvertTo-Json -> {"profiles": [...], "categories": [...],
    "domain_authenticated": bool}."""
    recs = as_records(load_json(text))
    if not recs:
        raise ParseError("no connection profile")
    profiles = [
        {
            "name": r.get("Name"),
            "interface_alias": r.get("InterfaceAlias"),
            "network_category": _category(r.get("NetworkCategory")),
        }
        for r in recs
    ]
    cats = [p["network_category"] for p in profiles if p["network_category"]]
    return {"profiles": profiles, "categories": cats, "domain_authenticated": "DomainAuthenticated" in cats}


def parse_vpn(text: str) -> dict[str, Any]:
    """Get-VpnConnection | ConvertTo-Json (empty: no VPN profile) -> {"connections", "connected"}."""
    recs = as_records(load_json(text)) if text.strip() else []
    conns = [
        {
            "name": r.get("Name"),
            "server_address": r.get("ServerAddress"),
            "connected": str(r.get("ConnectionStatus") or "").lower() == "connected",
        }
        for r in recs
    ]
    return {"connections": conns, "connected": any(c["connected"] for c in conns)}
