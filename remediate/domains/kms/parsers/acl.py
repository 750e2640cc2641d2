"""`icacls <folder>` and `sc query <service>` -> facts (formats cited in lab/windows/officestore.py).

icacls: "<path> <principal>:<flags>" then continuation lines indented under the first principal,
a blank line and "Successfully processed N files; Failed processing M files". sc query:
"SERVICE_NAME: x", "STATE : 4  RUNNING", "WIN32_EXIT_CODE : 5  (0x5)".
"""

from __future__ import annotations

import re
from typing import Any

from .common import ParseError

_ACE = re.compile(r"^(?P<who>[^:()]+?):(?P<flags>(\([A-Z,]+\))+)$", re.IGNORECASE)
_NETWORK_SERVICE = ("nt authority\\network service", "*s-1-5-20", "s-1-5-20")


def parse_icacls(text: str) -> dict[str, Any]:
    """-> {"path", "entries": [{principal, rights}], "network_service_full": bool}."""
    lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    body = [
        ln for ln in lines if not ln.lstrip().lower().startswith(("successfully processed", "processed file"))
    ]
    if len(body) == len(lines) and not body:
        raise ParseError("not icacls output")
    path: str | None = None
    entries: list[dict[str, str]] = []
    for i, ln in enumerate(body):
        s = ln.strip()
        if i == 0:
            m = re.match(r"^(?P<path>.+?) (?P<ace>[^ ][^:]*:(\([A-Z,]+\))+)$", s, re.IGNORECASE)
            if m is None:
                raise ParseError(f"not an icacls listing: {s!r}")
            path, s = m.group("path"), m.group("ace")
        m = _ACE.match(s)
        if m is None:
            continue
        entries.append({"principal": m.group("who").strip(), "rights": m.group("flags")})
    if path is None:
        raise ParseError("not an icacls listing (no path)")
    ns_full = any(
        e["principal"].lower() in _NETWORK_SERVICE
        and "(F)" in e["rights"].upper()
        and "(IO)" not in e["rights"].upper()
        for e in entries
    )
    return {"path": path, "entries": entries, "network_service_full": ns_full}
