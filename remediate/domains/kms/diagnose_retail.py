"""Online activation (RETAIL/OEM) and the home PC: findings that replace generic KMS/retail advice.

- RETAIL/OEM + 0x80072EE7 -> Microsoft's activation endpoints are unreachable (WinHTTP proxy or a
  firewall): the proxy and the Test-NetConnection result are the evidence, `netsh winhttp` the advice.
- 0xC004F213 -> a digital licence that no longer matches the hardware (motherboard change): the
  Installation ID (slmgr /dti) for phone activation, `slui 4` for the user.
- Transient server-side codes -> retry later with backoff, not a failure to fix.
- A KMS client whose KMS path fails while Microsoft's endpoints answer, on a network that is not
  DomainAuthenticated and with no VPN up -> off the corporate network (needs VPN), not a firewall.
None of these is fixable by a playbook: no KMS setting, no key change (retail never gets KMS).
Facts read: license, winhttp (netsh-winhttp), ms_endpoint (tnc to a Microsoft activation endpoint),
iid (slmgr-dti), net_profile (net-profile), vpn (vpn-connection), events, activation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.domains.kms.evidence import ENDPOINT_FACTS, View, as_map, code_of, host_name, maps
from remediate.domains.kms.network import diag

NO_INTERNET = "0x80072EE7"  # WININET_E_NAME_NOT_RESOLVED
HW_CHANGE = "0xC004F213"  # no product key found: the digital licence does not match this hardware
# Server-side / transient: HTTP 500, 503, 504 from the activation service (HTTP_E_STATUS_SERVER_ERROR,
# _SERVICE_UNAVAIL, _GATEWAY_TIMEOUT in winerror.h: https://learn.microsoft.com/windows/win32/com/com-error-codes-10)
# and ERROR_INTERNET_TIMEOUT (WinINet 12002: https://learn.microsoft.com/windows/win32/wininet/wininet-errors).
RETRY_LATER = frozenset({"0x801901F4", "0x801901F7", "0x801901F8", "0x80072EE2"})
ONLINE = frozenset({NO_INTERNET, HW_CHANGE}) | RETRY_LATER
ONLINE_CAUSES = frozenset({"activation.no_internet", "activation.hardware_change", "activation.retry_later"})


def endpoint_reach(facts: Mapping[str, Any]) -> dict[str, bool]:
    """Microsoft activation endpoint -> reachable, from the ENDPOINT_FACTS."""
    out: dict[str, bool] = {}
    for key in ENDPOINT_FACTS:
        t = as_map(facts.get(key))
        if (h := host_name(t.get("computer_name"))) and isinstance(t.get("reachable"), bool):
            out[h] = bool(t["reachable"])
    return out


def _codes(facts: Mapping[str, Any], p: Mapping[str, Any], v: View) -> set[str]:
    codes = {c for c in (code_of(p.get("status_reason")),) if c}
    act = as_map(facts.get("activation"))
    if act.get("success") is False and (c := code_of(act.get("error_code"))):
        codes.add(c)
    return codes | (set(v.codes) & ONLINE)


def _reach_words(reach: Mapping[str, bool]) -> list[str]:
    return [f"TCP 443 to {h}: {'open' if ok else 'closed'}" for h, ok in reach.items()]


def retail_finding(facts: Mapping[str, Any], p: Mapping[str, Any], channel: str, v: View) -> Diagnosis | None:
    """The finding for an unlicensed RETAIL/OEM product when its codes say more than "retail"."""
    name = str(p.get("name") or "Windows")
    codes = _codes(facts, p, v)
    ev = [f"{name}: {p.get('license_status')}, channel {channel}", *[f"code {c}" for c in sorted(codes)]]
    reach = endpoint_reach(facts)
    proxy = as_map(facts.get("winhttp")).get("proxy")
    if HW_CHANGE in codes:
        iid = as_map(facts.get("iid")).get("installation_id")
        return diag(
            "activation.hardware_change", HW_CHANGE,
            f"{name} has a digital license that no longer matches this hardware (e.g. a new "
            "motherboard), so Windows finds no product key for it.",
            "Sign in and run the Activation troubleshooter (Settings > Activation > \"I changed hardware "
            "on this device recently\"), or activate by phone: the user runs slui 4 and reads the "
            "Installation ID below to Microsoft. KMS cannot help; do not install a KMS client key.",
            False, [*ev, f"Installation ID (slmgr /dti): {iid}" if iid else "Installation ID: not read"],
        )  # fmt: skip
    if codes & RETRY_LATER:
        code = sorted(codes & RETRY_LATER)[0]
        return diag(
            "activation.retry_later", code,
            f"Microsoft's activation service answered {code} (server busy or timed out): a transient "
            "condition on Microsoft's side, not a fault of this host.",
            "Retry later with backoff (slmgr /ato in an hour, then a few hours apart); nothing to fix "
            "here unless the code persists for days.",
            False, [*ev, *_reach_words(reach)],
        )  # fmt: skip
    blocked = [h for h, ok in reach.items() if not ok]
    # 0x80072EE7 alone (an old 8198 event) stays the plain retail finding; with evidence it is this
    if blocked or (proxy and NO_INTERNET in codes):
        proxy_words = f"WinHTTP proxy: {proxy}" if proxy else "WinHTTP proxy: direct access"
        if proxy:
            why = f"its WinHTTP proxy {proxy} does not get it through"
        elif blocked:
            why = "direct access to them is blocked (firewall)"
        else:
            why = "it has no route or name resolution to them"
        action = (
            "Check the proxy: netsh winhttp show proxy; fix it (netsh winhttp set proxy <proxy:port> "
            '"<local>") or remove it (netsh winhttp reset proxy), and let it reach '
            "activation-v2.sls.microsoft.com / validation-v2.sls.microsoft.com on TCP 443 "
            "unauthenticated; then slmgr /ato. No KMS settings for a retail license."
        )
        return diag(
            "activation.no_internet", NO_INTERNET if NO_INTERNET in codes else None,
            f"{name} activates with Microsoft over the Internet, but cannot reach Microsoft's "
            f"activation servers: {why}.",
            action, False, [*ev, proxy_words, *_reach_words(reach)],
        )  # fmt: skip
    return None


def off_network(facts: Mapping[str, Any], net: Diagnosis, v: View) -> Diagnosis | None:
    """A KMS path finding that really means "at home without VPN", or None."""
    if net.cause_id not in ("kms.firewall", "kms.dns_failed", "kms.insufficient", "kms.no_srv"):
        return None
    reach = endpoint_reach(facts)
    prof = as_map(facts.get("net_profile"))
    vpn = as_map(facts.get("vpn"))
    cats = [c for c in prof.get("categories") or [] if isinstance(c, str)]
    if not any(reach.values()) or not cats or prof.get("domain_authenticated") is not False:
        return None
    if vpn.get("connected") is True:
        return None
    names = [str(c.get("name")) for c in maps(vpn.get("connections"))]
    return diag(
        "kms.off_network", net.code,
        "This KMS client is off the corporate network: the internet answers but the KMS host and the "
        "corporate DNS do not, its network is not DomainAuthenticated and no VPN is connected.",
        f"Connect the VPN ({', '.join(names) or 'the corporate VPN'}) and activate (slmgr /ato), or "
        "bring the PC to the office; KMS clients renew every 7 days and work 180 days without contact. "
        "Nothing to change on the host.",
        False,
        [*net.evidence, f"network category: {', '.join(cats)}",
         "VPN: " + (", ".join(f"{n} disconnected" for n in names) or "no VPN profile"),
         *_reach_words(reach)],
    )  # fmt: skip
