"""The cmdlets the lab's PowerShell understands, and Windows PowerShell 5.1 output formatting.

Objects are ordered dicts (property name -> value). ConvertTo-Json follows 5.1: `"Name":  value` (two
spaces), 4-space indent, a single object is not wrapped in an array, DateTime as "\\/Date(ms)\\/",
JavaScriptSerializer escaping of ' < > & as \\u0027 \\u003c \\u003e \\u0026. Default formatting follows
PowerShell's rule for objects without a view: up to 4 properties -> table, 5 or more -> list.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any

from remediate.lab.windows import activation
from remediate.lab.windows.ospp import error_desc
from remediate.lab.windows.products import ad_object, avma_host, channel_label
from remediate.lab.windows.state import HostState, Product

Obj = dict[str, Any]


@dataclass
class CmdletError(Exception):
    """A non-terminating error record: message plus the CategoryInfo / FullyQualifiedErrorId lines."""

    message: str
    category: str
    fqid: str


# ---- ConvertTo-Json (Windows PowerShell 5.1) --------------------------------------------------
def _json_scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return json.dumps(v)
    if isinstance(v, datetime):
        ms = int(v.timestamp() * 1000)
        return f'"\\/Date({ms})\\/"'
    s = json.dumps(str(v), ensure_ascii=False)
    for ch, esc in (("'", "\\u0027"), ("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        s = s.replace(ch, esc)
    return s


def to_json(value: Any, indent: int = 0, compress: bool = False) -> str:
    pad = " " * indent
    if isinstance(value, dict):
        if compress:
            return "{" + ",".join(f"{_json_scalar(k)}:{to_json(v, 0, True)}" for k, v in value.items()) + "}"
        items = [f"{pad}    {_json_scalar(k)}:  {to_json(v, indent + 4)}" for k, v in value.items()]
        return "{\r\n" + ",\r\n".join(items) + "\r\n" + pad + "}"
    if isinstance(value, list):
        if compress:
            return "[" + ",".join(to_json(v, 0, True) for v in value) + "]"
        items = [pad + "    " + to_json(v, indent + 4) for v in value]
        return "[\r\n" + ",\r\n".join(items) + "\r\n" + pad + "]"
    return _json_scalar(value)


# ---- default formatting ---------------------------------------------------------------------
def _display(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, datetime):
        return f"{v.month}/{v.day}/{v.year} {v.hour % 12 or 12}:{v:%M:%S} {'AM' if v.hour < 12 else 'PM'}"
    return str(v)


def format_list(obj: Obj) -> str:
    width = max((len(k) for k in obj), default=0)
    return "\r\n".join(f"{k.ljust(width)} : {_display(v)}".rstrip() for k, v in obj.items())


def format_table(objs: list[Obj]) -> str:
    cols = list(objs[0])
    widths = {c: max([len(c)] + [len(_display(o.get(c))) for o in objs]) for c in cols}
    head = " ".join(c.ljust(widths[c]) for c in cols).rstrip()
    rule = " ".join(("-" * len(c)).ljust(widths[c]) for c in cols).rstrip()
    rows = [" ".join(_display(o.get(c)).ljust(widths[c]) for c in cols).rstrip() for o in objs]
    return "\r\n".join([head, rule, *rows])


def format_default(items: list[Any]) -> list[str]:
    """Console text for a pipeline's output when nothing formatted it (one string per item/block)."""
    out: list[str] = []
    objs = [i for i in items if isinstance(i, dict)]
    for i in items:
        if not isinstance(i, dict):
            out.append(_display(i))
    if objs:
        if len(objs[0]) >= 5:
            out.extend("\r\n" + format_list(o) + "\r\n" for o in objs)
        else:
            out.append("\r\n" + format_table(objs) + "\r\n")
    return out


def select(objs: list[Any], props: list[str]) -> list[Any]:
    """Select-Object -Property: project, keeping the requested order; missing properties are null."""
    result = []
    for o in objs:
        src = o if isinstance(o, dict) else {}
        lower = {k.lower(): k for k in src}
        result.append({p: src.get(lower.get(p.lower(), p)) for p in props})
    return result


def expand(objs: list[Any], prop: str) -> list[Any]:
    """Select-Object -ExpandProperty: the property's values, objects without it are skipped."""
    out = []
    for o in objs:
        if isinstance(o, dict):
            lower = {k.lower(): k for k in o}
            if prop.lower() in lower:
                out.append(o[lower[prop.lower()]])
    return out


def host_files(state: HostState) -> list[str]:
    """The files the lab knows exist on a host: the licensing scripts."""
    files = ["C:\\Windows\\System32\\slmgr.vbs"]
    files += [inst.office_dir + "\\ospp.vbs" for inst in state.office]
    return files


def get_child_item(state: HostState, patterns: list[Any]) -> list[Obj]:
    """Get-ChildItem over the known files; wildcards (* ?) as PowerShell matches them, any case."""
    import fnmatch

    found: list[Obj] = []
    for pattern in patterns:
        pat = str(pattern).lower().replace("[", "[[]")
        for path in host_files(state):
            if fnmatch.fnmatchcase(path.lower(), pat) and not any(f["FullName"] == path for f in found):
                name = path.rsplit("\\", 1)[-1]
                found.append({"Mode": "-a----", "Name": name, "FullName": path, "Length": 161234})
    return found


# ---- CIM: SoftwareLicensingProduct / SoftwareLicensingService -------------------------------
def _product_obj(state: HostState, p: Product, kms: tuple[str | None, int | None]) -> Obj:
    minutes = p.grace_minutes
    if p.licensed_until is not None:
        minutes = max(0, int((p.licensed_until - state.now()).total_seconds() // 60))
    disc_host, _, disc_port = (state.kms_discovered or "").partition(":")
    return {
        "Name": p.name,
        "Description": p.description,
        "ApplicationID": p.application_id,
        "ID": p.activation_id,
        "LicenseStatus": int(p.status),
        "LicenseStatusReason": p.status_reason if p.status_reason < 0x80000000 else p.status_reason - 2**32,
        "PartialProductKey": p.partial_key,
        "GracePeriodRemaining": minutes,
        "ProductKeyChannel": channel_label(p),
        "KeyManagementServiceMachine": kms[0],  # null until /skms (WMI docs)
        "KeyManagementServicePort": kms[1] or 0,
        "DiscoveredKeyManagementServiceMachineName": disc_host,
        "DiscoveredKeyManagementServiceMachinePort": int(disc_port) if disc_port.isdigit() else 0,
        "DiscoveredKeyManagementServiceMachineIpAddress": state.kms_client_ip or "",
        "VLActivationInterval": p.activation_interval,
        "VLRenewalInterval": p.renewal_interval,
        # SoftwareLicensingProduct properties slmgr.vbs reads for the "Most recent activation
        # information" block: VLActivationType 1 = AD, the AD* activation object, the AVMA host.
        "KeyManagementServiceProductKeyID": p.kms_pid or "",
        "VLActivationType": 1 if p.activated_by == "ad" else 0,
        **_ad_props(state, p),
        "AutomaticVMActivationHostMachineName": avma_host(state, p) or "",
    }


def _ad_props(state: HostState, p: Product) -> Obj:
    name, dn, pid, act_id = ad_object(state, p) if p.activated_by == "ad" else ("", "", "", "")
    return {
        "ADActivationObjectName": name,
        "ADActivationObjectDN": dn,
        "ADActivationCsvlkPid": pid,
        "ADActivationCsvlkSkuId": act_id,
    }


# Win32_OperatingSystem.OperatingSystemSKU for an EditionID: GetProductInfo's PRODUCT_* values
# (https://learn.microsoft.com/en-us/windows/win32/api/sysinfoapi/nf-sysinfoapi-getproductinfo,
# e.g. PRODUCT_PROFESSIONAL 0x30, PRODUCT_EDUCATION 0x79, PRODUCT_ENTERPRISE_S 0x7D,
# PRODUCT_STANDARD_EVALUATION_SERVER 0x4F, PRODUCT_DATACENTER_EVALUATION_SERVER 0x50).
EDITION_SKU = {
    "enterprise": 4,
    "enterprisen": 27,
    "professional": 48,
    "professionaln": 49,
    "core": 101,
    "education": 121,
    "educationn": 122,
    "enterprises": 125,
    "enterprisesn": 126,
    "professionalworkstation": 161,
    "serverstandard": 7,
    "serverdatacenter": 8,
    "serverenterprise": 10,
    "serverstandardeval": 79,
    "serverdatacentereval": 80,
}


def os_object(state: HostState) -> Obj:
    """Win32_OperatingSystem (the properties the lab knows; BuildNumber is a string in WMI).

    ProductType: 1 Work Station, 3 Server (2 = domain controller is not modelled)
    (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem).
    """
    server = state.edition_id.lower().startswith("server")
    return {
        "Caption": state.os_caption,
        "Version": state.os_version,
        "BuildNumber": str(state.os_build),
        "OperatingSystemSKU": EDITION_SKU.get(state.edition_id.lower(), 0),
        "ProductType": 3 if server else 1,
        "CSName": state.name,
        "Manufacturer": "Microsoft Corporation",
        "OSArchitecture": "64-bit",
        "SystemDirectory": "C:\\Windows\\system32",
        "Locale": {"en-US": "0409", "ja-JP": "0411", "zh-CN": "0804"}.get(state.locale, "0409"),
    }


def _store_error() -> CmdletError:
    hr = activation.E_LICENSE_STORE
    return CmdletError(
        error_desc(hr),
        "NotSpecified: (SoftwareLicensingProduct:String) [Get-CimInstance], CimException",
        f"HRESULT 0x{hr:x},Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
    )


def get_cim(state: HostState, class_name: str, filt: str | None) -> list[Obj]:
    cls = class_name.lower()
    if cls == "softwarelicensingproduct":
        if state.license_store_broken:
            raise _store_error()
        objs: list[Obj] = []
        if state.windows is not None:
            objs.append(
                _product_obj(state, state.windows, (state.kms_registered_host, state.kms_registered_port))
            )
        for inst in state.office:
            if inst.version == "2010":
                continue  # Office 2010 lives in OfficeSoftwareProtectionProduct, not here
            objs += [_product_obj(state, p, (inst.kms_host, inst.kms_port)) for p in inst.products]
        if filt and "partialproductkey is not null" not in filt.lower():
            raise CmdletError(
                "Invalid query ",
                "InvalidArgument: (:) [Get-CimInstance], CimException",
                "HRESULT 0x80041017,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
            )
        return objs
    if cls == "win32_operatingsystem":
        return [os_object(state)]
    if cls == "softwarelicensingservice":
        if state.license_store_broken:
            raise _store_error()
        disc_host, _, disc_port = (state.kms_discovered or "").partition(":")
        return [
            {
                "Version": f"{state.os_version}.1",
                "KeyManagementServiceMachine": state.kms_registered_host,
                "KeyManagementServicePort": state.kms_registered_port or 1688,
                "DiscoveredKeyManagementServiceMachineName": disc_host,
                "DiscoveredKeyManagementServiceMachinePort": int(disc_port) if disc_port.isdigit() else 0,
                "ClientMachineID": state.cmid,
            }
        ]
    raise CmdletError(
        "Invalid class ",
        f"MetadataError: (root\\cimv2:{class_name}:String) [Get-CimInstance], CimException",
        "HRESULT 0x80041010,Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand",
    )


# ---- networking ----------------------------------------------------------------------------
async def resolve_dns_name(state: HostState, name: str, rtype: str) -> list[Obj]:
    ans = await activation.query(state.dns_server, name.rstrip("."), rtype.upper())
    if ans.error or ans.rcode != 0 or not (ans.records or ans.addresses):
        text = "DNS name does not exist" if ans.rcode == 3 else "No records found for given DNS query"
        fq = "DNS_ERROR_RCODE_NAME_ERROR" if ans.rcode == 3 else "ERROR_NO_RECORDS"
        if ans.error:
            text, fq = "This operation returned because the timeout period expired", "ERROR_TIMEOUT"
        return_err = CmdletError(
            f"{name} : {text}",
            f"ResourceUnavailable: ({name}:String) [Resolve-DnsName], Win32Exception",
            f"{fq},Microsoft.DnsClient.Commands.ResolveDnsName",
        )
        raise return_err
    objs: list[Obj] = [
        {
            "Name": name,
            "Type": 33,
            "NameTarget": r.target,
            "Port": r.port,
            "Priority": r.priority,
            "Weight": r.weight,
            "TTL": 600,
            "Section": 1,
        }
        for r in ans.records
    ]
    # Resolve-DnsName also returns the additional section's A records (Section = Additional).
    objs += [
        {"Name": t, "Type": 1, "IPAddress": ip, "TTL": 600, "Section": 3} for t, ip in ans.addresses.items()
    ]
    return objs


async def test_net_connection(state: HostState, host: str, port: int) -> tuple[Obj, str | None]:
    """Real resolution (lab DNS) and a real TCP connect; (object, warning text or None)."""
    ip = await activation.resolve_host(state, host)
    if ip is None:
        obj: Obj = {
            "ComputerName": host,
            "RemoteAddress": None,
            "InterfaceAlias": None,
            "SourceAddress": None,
            "PingSucceeded": False,
        }
        return obj, f"Name resolution of {host} failed"
    alias = "Loopback Pseudo-Interface 1" if ip.startswith("127.") else "Ethernet"
    src = "127.0.0.1" if ip.startswith("127.") else ip
    ok = False
    try:
        real = state.port_map.get((ip, port), port)  # the lab could not bind the real port
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, real), activation.CONNECT_TIMEOUT)
        writer.close()
        ok = True
    except (OSError, TimeoutError):
        ok = False
    obj = {
        "ComputerName": host,
        "RemoteAddress": ip,
        "RemotePort": port,
        "InterfaceAlias": alias,
        "SourceAddress": src,
    }
    if ok:
        obj["TcpTestSucceeded"] = True
        return obj, None
    obj.update({"PingSucceeded": True, "PingReplyDetails (RTT)": "0 ms", "TcpTestSucceeded": False})
    return obj, f"TCP connect to ({ip} : {port}) failed"


# ---- events / time ---------------------------------------------------------------------------
def get_win_event(state: HostState, filt: dict[str, Any], max_events: int | None) -> list[Obj]:
    provider = str(filt.get("ProviderName", "")).lower()
    log = str(filt.get("LogName", "")).lower()
    ids = filt.get("Id")
    wanted = {int(i) for i in (ids if isinstance(ids, list) else [ids]) if str(i).isdigit()} if ids else set()
    events = [
        e
        for e in reversed(state.events)
        if (not provider or e.provider.lower() == provider)
        and (not log or e.log.lower() == log)
        and (not wanted or e.id in wanted)
    ]
    events = events[:max_events] if max_events else events
    if not events:
        raise CmdletError(
            "No events were found that match the specified selection criteria.",
            "ObjectNotFound: (:) [Get-WinEvent], Exception",
            "NoMatchingEventsFound,Microsoft.PowerShell.Commands.GetWinEventCommand",
        )
    return [
        {
            "Id": e.id,
            "LevelDisplayName": e.level,
            "TimeCreated": e.time.astimezone(UTC),
            "Message": e.message,
            "ProviderName": e.provider,
            "LogName": e.log,
        }
        for e in events
    ]


def iso_o(when: datetime) -> str:
    """.NET's round-trip 'o' format for a UTC DateTime: 7 fractional digits and Z."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"


# ---- network location (off_network profile) ---------------------------------------------------
class PsEnum(IntEnum):
    """A CIM enum: ConvertTo-Json (5.1) writes its number, the console its name."""

    def __str__(self) -> str:
        return self.name


# MSFT_NetConnectionProfile.NetworkCategory and IPv4Connectivity values
# (https://learn.microsoft.com/previous-versions/windows/desktop/networkconnectprov/msft-netconnectionprofile)
class NetworkCategory(PsEnum):
    Public = 0
    Private = 1
    DomainAuthenticated = 2


class Connectivity(PsEnum):
    Disconnected = 0
    NoTraffic = 1
    Subnet = 2
    LocalNetwork = 3
    Internet = 4


def get_net_connection_profile(state: HostState) -> list[Obj]:
    """One connected interface; its network name is the domain on the corporate LAN, the home
    Wi-Fi's name otherwise (lab names)."""
    corp = state.network_category == "DomainAuthenticated"
    return [
        {
            "Name": state.domain if corp else "HomeNetwork",
            "InterfaceAlias": "Ethernet" if corp else "Wi-Fi",
            "InterfaceIndex": 12,
            "NetworkCategory": NetworkCategory[state.network_category],
            "IPv4Connectivity": Connectivity.Internet,
            "IPv6Connectivity": Connectivity.NoTraffic,
        }
    ]


def get_vpn_connection(state: HostState) -> list[Obj]:
    """Get-VpnConnection's VpnConnection objects (Name, ServerAddress, ConnectionStatus; lab subset of
    https://learn.microsoft.com/powershell/module/vpnclient/get-vpnconnection)."""
    return [
        {
            "Name": name,
            "ServerAddress": f"vpn.{state.domain}",
            "ConnectionStatus": "Connected" if up else "Disconnected",
            "TunnelType": "Automatic",
            "SplitTunneling": False,
        }
        for name, up in state.vpn_profiles.items()
    ]
