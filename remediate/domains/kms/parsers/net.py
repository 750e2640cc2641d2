"""Network checks: `nslookup -type=SRV`, Test-NetConnection, Resolve-DnsName (P4 JSON)."""

from __future__ import annotations

import re
from typing import Any

from . import labels as L
from .common import ParseError, first_int, valid_ip
from .jsonio import as_records, split_json

_KV_EQ = re.compile(r"^\s*([A-Za-z][A-Za-z ]*?)\s*=\s*(.*?)\s*$")
_KV_COLON = re.compile(r"^\s*([A-Za-z][A-Za-z() ]*?)\s*:\s?(.*?)\s*$")
_NSLOOKUP_HEADER = ("Server:", "サーバー:", "服务器:", "Default Server:", "Address:")
_SRV_KEYS = {norm_key: field for field, keys in L.NSLOOKUP_SRV.items() for norm_key in keys}


def parse_nslookup_srv(text: str) -> dict[str, Any]:
    """nslookup SRV answer -> {"records": [{target, port, priority, weight}], "error"}."""
    records: list[dict[str, Any]] = []
    cur: dict[str, Any] | None = None
    recognised = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if "SRV service location" in line:
            cur = dict.fromkeys(("target", "port", "priority", "weight"))
            records.append(cur)
            recognised = True
            continue
        if line.startswith(_NSLOOKUP_HEADER):
            recognised = True
            continue
        m = _KV_EQ.match(line)
        if not m:
            continue
        field = _SRV_KEYS.get(m.group(1).strip().lower())
        if field is None:
            continue
        if cur is None or cur[field] is not None:  # an SRV body without its header line
            cur = dict.fromkeys(("target", "port", "priority", "weight"))
            records.append(cur)
        cur[field] = m.group(2).rstrip(".") if field == "target" else first_int(m.group(2))
        recognised = True
    records = [r for r in records if r["target"]]
    error = None if records else L.find_in(text, L.NSLOOKUP_ERRORS)
    if not records and error is None and not recognised:
        raise ParseError("not nslookup output (no 'Server:' header, SRV record or DNS error)")
    return {"records": records, "error": error}


def parse_tnc(text: str) -> dict[str, Any]:
    """Test-NetConnection (list, table or -InformationLevel Quiet) -> reachable/port/name."""
    fields: dict[str, str] = {}
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]
    warnings = [ln for ln in lines if re.match(r"^\s*(WARNING|警告)\s*[:：]", ln)]
    body = [ln for ln in lines if ln not in warnings]
    if len(body) == 1 and body[0].strip() in ("True", "False"):
        reachable_q = body[0].strip() == "True"
        return {"reachable": reachable_q, "remote_port": None, "computer_name": None, "remote_address": None}
    table = _table_fields(body)
    if table is not None:
        fields = table
    else:
        for ln in body:
            m = _KV_COLON.match(ln)
            if m:
                fields[m.group(1).strip()] = m.group(2).strip()
    if "ComputerName" not in fields and "TcpTestSucceeded" not in fields:
        raise ParseError("not Test-NetConnection output (no ComputerName / TcpTestSucceeded)")
    tcp = fields.get("TcpTestSucceeded")
    if tcp in ("True", "False"):
        reachable: bool | None = tcp == "True"
    elif any("TCP connect" in w or "Name resolution" in w for w in warnings):
        reachable = False
    else:
        reachable = None
    port = first_int(fields.get("RemotePort"))
    return {
        "reachable": reachable,
        "remote_port": port,
        "computer_name": fields.get("ComputerName") or None,
        "remote_address": valid_ip(fields.get("RemoteAddress")),
    }


def _table_fields(lines: list[str]) -> dict[str, str] | None:
    """`Select-Object` table form: header row, dashes row, one value row."""
    for i in range(len(lines) - 2):
        if re.fullmatch(r"[\s-]+", lines[i + 1]) and "-" in lines[i + 1]:
            names = lines[i].split()
            values = lines[i + 2].split()
            if len(names) == len(values):
                return dict(zip(names, values, strict=True))
    return None


def parse_resolve_srv(text: str) -> dict[str, Any]:
    """Resolve-DnsName ... | ConvertTo-Json (stdout, then any error text) -> nslookup-srv shape."""
    data, rest = split_json(text)
    records: list[dict[str, Any]] = []
    for item in as_records(data):
        rtype = item.get("Type", item.get("QueryType"))
        if rtype not in (33, "SRV") and not item.get("NameTarget"):
            continue  # additional-section A/AAAA records and the SOA of an empty answer
        target = item.get("NameTarget")
        if not isinstance(target, str) or not target:
            continue
        records.append(
            {
                "target": target.rstrip("."),
                "port": _int_or_none(item.get("Port")),
                "priority": _int_or_none(item.get("Priority")),
                "weight": _int_or_none(item.get("Weight")),
            }
        )
    error = None if records else L.find_in(rest, L.RESOLVE_ERRORS)
    if data is None and error is None and rest.strip():
        raise ParseError("not Resolve-DnsName JSON and no known DNS error text")
    return {"records": records, "error": error}


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None
