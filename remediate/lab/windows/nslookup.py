"""`nslookup [-type=SRV|-q=SRV] NAME [SERVER]` against the host's lab DNS server (real DNS queries).

Shape from real output (e.g. the `nslookup -type=srv _vlmcs._tcp.vircloud.net` transcript in xtboke.cn's
2020 KMS post): `Server:  <name|UnKnown>` / `Address:  <ip>` / blank, then
`<name>\\tSRV service location:` with `\\t  priority       = 0` ... `\\t  svr hostname   = <target>` and
`<target>\\tinternet address = <ip>` from the additional section. Failures go to stderr:
`*** UnKnown can't find <name>: Non-existent domain`. Like Windows, a name without a trailing dot is
tried with the primary DNS suffix appended first, then as given.
"""

from __future__ import annotations

import dns.rcode

from remediate.lab.windows.activation import query
from remediate.lab.windows.messages import msg
from remediate.lab.windows.state import HostState


def _reverse_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


# Failure text of real Windows nslookup runs:
# - no answer: "DNS request timed out.\n    timeout was 2 seconds." per try, and when even the server's
#   PTR lookup timed out that pair comes before `Server:  UnKnown`; the run ends with
#   "*** Request to UnKnown timed-out" (a real paste of `nslookup droneyaan.com` against fd00::1 in a public
#   chat transcript on GitHub; the same two lines before `Default Server:  UnKnown` in Technology Toolbox's
#   public operations notes, EXT-DC03, 2016).
# - an answer with an error rcode: "*** SERVER can't find NAME: REASON" with REASON "Non-existent domain"
#   (NXDOMAIN), "Query refused" (REFUSED; real: "*** Can't list domain bjfu.edu.cn: Query refused" in a
#   public nslookup transcript), "Server failed" (SERVFAIL; unverified wording, docs/lab-commands.md).
TIMEOUT_LINES = "DNS request timed out.\r\n    timeout was 2 seconds.\r\n"
RCODE_REASON: dict[int, str] = {
    dns.rcode.NXDOMAIN: "Non-existent domain",
    dns.rcode.SERVFAIL: "Server failed",
    dns.rcode.REFUSED: "Query refused",
}


async def _server_name(state: HostState) -> tuple[str, bool]:
    """Windows nslookup first resolves its server's own address (PTR); "UnKnown" when that fails.

    The flag says the PTR query timed out (nslookup then prints the timeout lines first)."""
    ans = await query(state.dns_server, _reverse_name(state.dns_server[0]), "PTR", waits=(1.0,))
    return (ans.names[0] if ans.names else "UnKnown"), ans.error is not None


async def run_nslookup(state: HostState, args: list[str]) -> tuple[int, str, str]:
    loc = state.locale
    rdtype, name = "A", None
    for a in args:
        low = a.lower()
        if low.startswith(("-type=", "-q=", "-querytype=")):
            rdtype = a.split("=", 1)[1].upper()
        elif not a.startswith("-") and name is None:
            name = a
    server, ptr_timed_out = await _server_name(state)
    head = f"{msg(loc, 'ns_server')}{server}\r\n{msg(loc, 'ns_address')}{state.dns_server[0]}\r\n\r\n"
    if ptr_timed_out:
        head = TIMEOUT_LINES + head
    if name is None:  # interactive mode needs a console; WinRS has none
        return 1, head + "> ", ""
    if name.endswith("."):
        candidates = [name.rstrip(".")]
    else:
        candidates = [f"{name}.{state.domain}", name]
    last_rcode: int = dns.rcode.NXDOMAIN
    for i, cand in enumerate(candidates):
        ans = await query(state.dns_server, cand, rdtype)
        if ans.error:
            return 1, head + TIMEOUT_LINES * 2, f"*** Request to {server} timed-out\r\n"
        last_rcode = ans.rcode
        if ans.rcode in (dns.rcode.SERVFAIL, dns.rcode.REFUSED):
            if i == 0:
                break  # the server failed the name in its own zone: nslookup reports that
            # the devolved bare name (`_vlmcs._tcp`) leaves the offline lab's zone, where its DNS
            # server has no forwarder; a real resolver gets NXDOMAIN from the root for it
            last_rcode = dns.rcode.NXDOMAIN
        if ans.rcode != dns.rcode.NOERROR or not (ans.records or ans.addresses):
            continue
        lines = [] if ans.authoritative else [msg(loc, "ns_nonauth")]
        if rdtype == "SRV":
            for r in ans.records:
                lines.append(msg(loc, "ns_srv", name=cand))
                lines.append(f"\t  priority       = {r.priority}")
                lines.append(f"\t  weight         = {r.weight}")
                lines.append(f"\t  port           = {r.port}")
                lines.append(f"\t  svr hostname   = {r.target}")
            for target, ip in ans.addresses.items():
                lines.append(msg(loc, "ns_inet", name=target, ip=ip))
        else:
            lines.append(f"Name:    {cand}")
            lines.append(f"Address:  {next(iter(ans.addresses.values()))}")
        return 0, head + "".join(line + "\r\n" for line in lines) + "\r\n", ""
    reason = RCODE_REASON.get(last_rcode, "No response from server")
    if last_rcode == dns.rcode.NOERROR:
        reason = "No answer"  # real nslookup prints the zone's SOA here; the lab keeps it short
    err = msg(loc, "ns_cant_find", server=server, name=cand, reason=reason) + "\r\n"
    return 1, head, err
