"""Software Protection Platform (SPP) and KMS event IDs: what each says and what it proves.

Client events come from provider Microsoft-Windows-Security-SPP in the Application log; KMS host
events 12290 (log "Key Management Service") and 12293/12294 from the KMS host. Messages are
Microsoft's; sources are cited per entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

_TS = "https://learn.microsoft.com/troubleshoot/windows-server/licensing-and-activation"
# Volume Activation operations guide, "KMS Events Logged in the Windows Event Log" (Table 11).
OPS_GUIDE = "https://learn.microsoft.com/previous-versions/ff793440(v=technet.10)"
# Microsoft-Windows-Security-SPP manifest messages, as listed with sample events (hayabusa-sample-evtx)
# for events Microsoft's articles do not describe.
SPP_MANIFEST = "https://detection-wiki-dev.pages.dev/microsoft-windows-security-spp"
SPP = "Microsoft-Windows-Security-SPP"


@dataclass(frozen=True)
class EventEntry:
    id: int
    provider: str
    level: str  # Information | Warning | Error, as usually logged
    logged_by: str  # "client", "kms_host" or "any"
    message: str  # Microsoft's message text (%1.. are the insertion strings)
    meaning: str
    evidence: str  # what the event proves for a diagnosis
    related_codes: tuple[str, ...]
    source: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["related_codes"] = list(self.related_codes)
        return d


def _e(id_: int, level: str, by: str, message: str, meaning: str, evidence: str, codes: tuple[str, ...],
       source: str, provider: str = SPP) -> EventEntry:  # fmt: skip
    return EventEntry(id_, provider, level, by, message, meaning, evidence, codes, source)


_EVENTS = [
    _e(
        900,
        "Information",
        "any",
        "The Software Protection service is starting.",
        "sppsvc is starting (Parameters: caller=...).",
        "None by itself; frequent starts are normal.",
        (),
        f"{_TS}/event-id-8208-8200-900",
    ),
    _e(
        902,
        "Information",
        "any",
        "The Software Protection service has started.",
        "sppsvc started.",
        "The licensing service can run; rules out a service that never starts.",
        (),
        f"{_TS}/event-id-8208-8200-900",
    ),
    _e(
        903,
        "Information",
        "any",
        "The Software Protection service has stopped.",
        "sppsvc stopped (it stops when idle).",
        "Normal when idle; on a KMS host a stopped sppsvc with no restart explains 0xC004F074 on clients.",
        ("0xC004F074",),
        f"{_TS}/error-0xc004f074-activate-windows",
    ),
    _e(
        1003,
        "Information",
        "any",
        "The Software Protection service has completed licensing status check.",
        "Per-SKU licensing status after a status check; SKUs without a key show 0xC004F014, which is normal.",
        "Shows each SKU's status code; not an error by itself.",
        ("0xC004F014",),
        OPS_GUIDE,
    ),
    _e(
        1014,
        "Error",
        "any",
        "Acquisition of End User License failed.",
        "Online license acquisition (activation) failed; the data holds the hr code.",
        "Activation against Microsoft's servers failed; look at the hr (0x80072EE7 = no Internet).",
        ("0x80072EE7",),
        OPS_GUIDE,
    ),
    _e(
        1025,
        "Information",
        "any",
        "Grace period has been started.",
        "A grace period began for a SKU: the product is not activated yet (initial, out-of-tolerance or "
        "non-genuine grace).",
        "Dates when activation stopped being current; with 1040 just before it, a hardware change "
        "started it.",
        ("0x4004F00C", "0x4004F00D"),
        f"{SPP_MANIFEST}/1025",
    ),
    _e(
        1040,
        "Information",
        "any",
        "Hardware has changed from previous boot.",
        "The Software Protection service saw a hardware change since the last boot (AppId, SkuId).",
        "Explains reactivation needs and 0xC004F00F / 0xC004F211 after a hardware or VM change.",
        ("0xC004F00F", "0xC004F211"),
        f"{SPP_MANIFEST}/1040",
    ),
    _e(
        1058,
        "Warning",
        "any",
        "Installation of the Proof of Purchase from the ACPI table failed. Error code: %1",
        "OEM systems: test activation data from manufacturing in the ACPI table.",
        "Can be safely ignored on OEM systems after reboot; unrelated to KMS.",
        ("0xC004F057",),
        f"{_TS}/application-event-log-warning-id-1058",
    ),
    _e(
        8198,
        "Error",
        "client",
        "License Activation (slui.exe) failed with the following error code: hr=%1 "
        "Command-line arguments: %2",
        "An activation attempt failed; hr is its code (0xC0020017 / 0x8007139F = KMS contact failure).",
        "Confirms a failed activation and gives its code.",
        ("0xC0020017", "0x8007139F", "0x80072EE7", "0x80004005", "0xC004F017"),
        f"{_TS}/activation-event-8198-error-0xc0020017-0x8007139f-kms-contact-failure",
    ),
    _e(
        8200,
        "Error",
        "any",
        "License acquisition failure details. hr=%1",
        "Genuine-ticket / license acquisition failed (0x80072EE7: no Internet access).",
        "On KMS clients without Internet this is noise, not a licensing problem.",
        ("0x80072EE7",),
        f"{_TS}/event-id-8208-8200-900",
    ),
    _e(
        8208,
        "Error",
        "any",
        "Acquisition of genuine ticket failed (hr=%1) for template Id %2",
        "Windows Genuine Advantage ticket could not be fetched (0x80072EE7: no Internet access).",
        "Not a licensing problem by itself.",
        ("0x80072EE7",),
        f"{_TS}/event-id-8208-8200-900",
    ),
    _e(
        12288,
        "Information",
        "client",
        "The client has sent an activation request to the key management service machine. Info: %1",
        "One KMS request: Info = hr, status flags, KMS host:port, CMID, client time, VM info, "
        "license status, "
        "minutes to expiration, activation ID, N-policy (minimum count).",
        "hr != 0x0 is this attempt's failure (0xC004F074 unreachable, 0xC004F06C clock, 0xC004F038 count); "
        "the host:port shows which KMS host was tried.",
        ("0xC004F074", "0xC004F06C", "0xC004F038"),
        f"{_TS}/error-0xc004f074-activate-windows",
    ),
    _e(
        12289,
        "Information",
        "client",
        "The client has processed an activation response from the key management service machine. Info: %1",
        "The KMS host answered: Info = hr, status, activated flag, unused, KMS current count, activation "
        "interval, renewal interval.",
        "Proves the KMS host was reached over TCP 1688; count below 25 (5 for servers) explains 0xC004F038.",
        ("0xC004F038",),
        OPS_GUIDE,
    ),
    _e(
        12290,
        "Information",
        "kms_host",
        "An activation request has been processed. Info: %1",
        "KMS host side (log: Key Management Service): hr, N-count, client name, CMID, time, ...",
        "On the KMS host: shows the request arrived and the code it was answered with.",
        ("0xC004F06C", "0xC004F042"),
        f"{_TS}/error-0xc004f074-activate-windows",
        provider="Microsoft-Windows-Security-Licensing-SLC",
    ),
    _e(
        12293,
        "Error",
        "kms_host",
        "Publishing the Key Management Service (KMS) to DNS in the '%2' domain failed. Info: %1",
        "The KMS host could not register its _vlmcs._tcp SRV record (0x80072338: no rights on the record).",
        "Explains a missing or stale SRV record (0x8007232B on clients).",
        ("0x80072338", "0x8007232B"),
        f"{_TS}/event-12293-error-0x800723-set-kms-host",
    ),
    _e(
        12294,
        "Information",
        "kms_host",
        "Publishing the Key Management Service (KMS) to DNS in the '%1' domain is successful.",
        "The KMS host registered its _vlmcs._tcp SRV record.",
        "The SRV record exists in that domain (clients elsewhere still need a suffix match).",
        (),
        f"{_TS}/event-12293-error-0x800723-set-kms-host",
    ),
]

EVENTS: Mapping[int, EventEntry] = MappingProxyType({e.id: e for e in _EVENTS})


def lookup_event(event_id: int) -> EventEntry | None:
    return EVENTS.get(int(event_id))


_HR = re.compile(r"0x[0-9A-Fa-f]{1,8}")


def parse_kms_info(event_id: int, message: str) -> dict[str, Any] | None:
    """Fields of the "Info:" line of events 12288 / 12289 (None for other events or no Info).

    12288: {"hr", "kms_host", "kms_port", "license_status", "minutes_to_expiration"}
    12289: {"hr", "activated", "kms_count", "activation_interval", "renewal_interval"}
    """
    if event_id not in (12288, 12289) or "info" not in message.lower():
        return None
    info = re.split(r"info:\s*", message, flags=re.IGNORECASE, maxsplit=1)[-1]
    fields = [f.strip() for f in info.replace("\r", "").replace("\n", " ").split(",")]
    if not fields or not _HR.fullmatch(fields[0]):
        return None
    hr = f"0x{int(fields[0], 16):08X}"

    def num(i: int) -> int | None:
        return int(fields[i]) if len(fields) > i and fields[i].isdigit() else None

    if event_id == 12288:
        host, port = [*fields[2].rsplit(":", 1), ""][:2] if len(fields) > 2 else ("", "")
        return {"hr": hr, "kms_host": host or None, "kms_port": int(port) if port.isdigit() else None,
                "license_status": num(6), "minutes_to_expiration": num(7)}  # fmt: skip
    return {"hr": hr, "activated": num(2) == 1 if num(2) is not None else None, "kms_count": num(4),
            "activation_interval": num(5), "renewal_interval": num(6)}  # fmt: skip
