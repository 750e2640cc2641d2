"""`netsh winhttp show proxy`: the WinHTTP proxy a host's services (and online activation) use.

en-US: "Current WinHTTP proxy settings:" then "    Direct access (no proxy server)." or
"    Proxy Server(s) :  <proxy>" / "    Bypass List     :  <list|(none)>", as Microsoft's KMS/
activation diagnostic script writes them back (LogLinePrefix & "    Proxy Server(s) :  " ...) and
as https://techcommunity.microsoft.com/t5/core-infrastructure-and-security/proxies-proxies-everywhere-but-still-no-internet-overview-of-the/ba-p/4108939
shows. ja-JP: "現在の WinHTTP プロキシ設定:" / "    直接アクセス (プロキシ サーバーなし)。" /
"    プロキシ サーバー:  1.2.3.4:5678" / "    バイパス一覧     : (なし)" (a real transcript in
Masahiro Hiramori's post "プロキシ環境下でWindows 10のライセンス認証する", 2020-02-08). zh-CN prints
the English text (unverified). Other netsh contexts answer with netsh's usage error.
"""

from __future__ import annotations

from remediate.lab.windows.state import HostState

_TEXT = {
    "en-US": ("Current WinHTTP proxy settings:", "Direct access (no proxy server).",
              "Proxy Server(s) :  ", "Bypass List     :  ", "(none)"),
    "ja-JP": ("現在の WinHTTP プロキシ設定:", "直接アクセス (プロキシ サーバーなし)。",
              "プロキシ サーバー:  ", "バイパス一覧     : ", "(なし)"),
}  # fmt: skip


def show_proxy(state: HostState) -> str:
    head, direct, server, bypass, none = _TEXT.get(state.locale, _TEXT["en-US"])
    lines = ["", head, ""]
    if state.winhttp_proxy is None:
        lines.append("    " + direct)
    else:
        lines.append("    " + server + state.winhttp_proxy)
        lines.append("    " + bypass + (state.winhttp_bypass or none))
    return "".join(line + "\r\n" for line in lines) + "\r\n"


def run_netsh(state: HostState, args: list[str]) -> tuple[int, str, str]:
    low = [a.lower() for a in args]
    if low[:3] == ["winhttp", "show", "proxy"]:
        return 0, show_proxy(state), ""
    # lab: only the read-only command the playbooks run exists (unverified wording)
    return 1, "The following command was not found: " + " ".join(args) + ".\r\n", ""
