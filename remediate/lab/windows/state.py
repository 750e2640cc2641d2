"""State of one emulated Windows host: what `slmgr`, `ospp` and CIM report and change.

Plain data. Behaviour (commands) lives in the command modules; fault profiles (fleet.py) only
set these fields. Status and reason codes follow SoftwareLicensingProduct.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Protocol

WINDOWS_APP_ID = "55c92734-d682-4d71-983e-d6ec3f16059f"
OFFICE_APP_ID = "0ff1ce15-a989-479d-af46-f275c6370663"  # Office 2013 and later
OFFICE14_APP_ID = "59a52881-a989-479d-af46-f275c6370663"  # Office 2010


class LicenseStatus(IntEnum):
    """SoftwareLicensingProduct.LicenseStatus."""

    UNLICENSED = 0
    LICENSED = 1
    OOB_GRACE = 2
    OOT_GRACE = 3
    NON_GENUINE_GRACE = 4
    NOTIFICATION = 5
    EXTENDED_GRACE = 6


@dataclass
class Product:
    """One licensed product with a key installed (Windows edition or an Office SKU)."""

    name: str  # "Windows(R), Enterprise edition" / "Office 16, Office16ProPlusVL_KMS_Client edition"
    description: str  # "Windows(R) Operating System, VOLUME_KMSCLIENT channel"
    application_id: str
    activation_id: str  # SKU id (uuid)
    channel: str  # VOLUME_KMSCLIENT, VOLUME_MAK, RETAIL, OEM_DM, TIMEBASED_EVAL
    product_key: str  # full key; only the last 5 characters are ever shown
    status: LicenseStatus = LicenseStatus.OOB_GRACE
    status_reason: int = 0x4004F00D  # HRESULT (unsigned); 0 when licensed
    grace_minutes: int = 43200  # remaining grace (or volume expiration) minutes
    activation_interval: int = 120  # minutes
    renewal_interval: int = 10080  # minutes
    licensed_until: datetime | None = None  # volume activation expiry (180 days after /ato)
    kms_pid: str | None = None  # KMS host ePID after a successful activation
    # How the product got (or would get) its license: "kms", "ad" (Active Directory-based
    # activation, an activation object in AD), "avma" (Automatic VM Activation on a Hyper-V
    # host), "online" (MAK / RETAIL / OEM against Microsoft), or None (never activated).
    activated_by: str | None = None

    @property
    def partial_key(self) -> str:
        return self.product_key[-5:]

    @property
    def is_kms_client(self) -> bool:
        return self.channel == "VOLUME_KMSCLIENT"


@dataclass
class OfficeInstall:
    version: str  # "2010", "2013", "2016", "2019", "2021", "LTSC2024"
    bitness: int  # 32 or 64 (Office bitness)
    os_bitness: int = 64
    products: list[Product] = field(default_factory=list)
    kms_host: str | None = None  # ospp /sethst
    kms_port: int | None = None  # ospp /setprt
    # "msi": volume (MSI) Office, KMS client SKUs; "c2r": Click-to-Run (retail or volume SKUs,
    # e.g. a retail "RETAIL(Grace)" SKU before sign-in); "m365": Microsoft 365 Apps licensed by the
    # user's subscription (vNext): ospp.vbs lists no product keys at all.
    kind: str = "msi"

    @property
    def office_dir(self) -> str:
        """`C:\\Program Files\\Microsoft Office\\Office16` (or `Program Files (x86)` for 32-bit on 64-bit)."""
        num = {"2010": "14", "2013": "15"}.get(self.version, "16")
        pf = "Program Files (x86)" if self.bitness == 32 and self.os_bitness == 64 else "Program Files"
        return f"C:\\{pf}\\Microsoft Office\\Office{num}"


@dataclass
class SppEvent:
    """A Microsoft-Windows-Security-SPP / Software Protection Platform event."""

    id: int  # 12288 (request sent), 12289 (response), 8198 (activation failed), 12293 ...
    time: datetime
    level: str  # "Information" / "Error" / "Warning"
    message: str
    provider: str = "Microsoft-Windows-Security-SPP"
    log: str = "Application"  # 12290 goes to "Key Management Service"


class KmsService(Protocol):
    """A KMS host's service as its own slmgr /dlv and `sc query sppsvc` show it (the lab's
    KmsListener): the host section is printed only on a machine that has one."""

    port: int
    dns_publishing: bool
    low_priority: bool

    @property
    def current_count(self) -> int: ...

    @property
    def running(self) -> bool: ...

    def counters(self) -> dict[str, int]: ...


@dataclass
class HostState:
    name: str  # NetBIOS name, "WIN-0001"
    domain: str  # DNS domain, "lab.test"
    locale: str = "en-US"  # en-US, ja-JP, zh-CN
    os_caption: str = "Microsoft Windows 10 Enterprise"
    os_version: str = "10.0.19045"
    edition_id: str = "Enterprise"  # key into the GVLK table
    windows: Product | None = None
    office: list[OfficeInstall] = field(default_factory=list)
    dns_server: tuple[str, int] = ("127.0.0.1", 53)  # the lab DNS server this host queries
    kms_registered_host: str | None = None  # slmgr /skms (Windows); None = auto-discovery via SRV
    kms_registered_port: int | None = None
    kms_discovered: str | None = None  # "kms01.lab.test:1688" after a DNS discovery
    kms_client_ip: str | None = None  # "KMS machine IP address" after a contact
    kms_host_caching: bool = True
    clock_offset: timedelta = timedelta(0)  # host clock minus real time
    # Windows Time (lab/windows/w32tm.py): service state, `w32tm /config` settings, last good sync
    time_service_running: bool = True
    time_sync_type: str = "NT5DS"  # NT5DS (domain hierarchy) | NTP | NoSync | AllSync
    time_peers: str = ""  # NtpServer (`/manualpeerlist`), used by Type NTP: "ntp1,0x8 ntp2,0x8"
    time_source: str | None = "dc"  # the peer of the last good sync; "dc": the lab DC; None: local clock
    time_synced_at: datetime | None = field(default_factory=lambda: datetime.now(UTC) - timedelta(minutes=17))
    license_store_broken: bool = False  # tokens.dat damaged: every SPP call fails 0xC004F012
    # NETWORK SERVICE lost its rights on C:\ProgramData\Microsoft\OfficeSoftwareProtectionPlatform:
    # osppsvc cannot start, every ospp.vbs call fails (officestore.py)
    office_store_broken: bool = False
    # SoftwareLicensingService.ClientMachineID; None: derived from the FQDN (one per host). Set on
    # clones of one image that was not generalized (profile cloned_cmid): they share it.
    client_machine_id: str | None = None
    latency: dict[str, float] = field(default_factory=dict)  # command kind -> seconds (slmgr, ospp, ps...)
    events: list[SppEvent] = field(default_factory=list)
    username: str = "admin"
    password: str = field(default="", repr=False)
    winrm_enabled: bool = True
    hang: bool = False  # every command blocks until cancelled (tests of timeouts)
    # Hostile-output tests (docs/lab-commands.md): `type C:\flood.txt` prints this many bytes;
    # http_chunked: WS-Man replies use Transfer-Encoding: chunked; ignore_max_envelope: a
    # finished command's whole output goes in one Receive reply instead of envelope-sized ones.
    flood_bytes: int = 0
    http_chunked: bool = False
    ignore_max_envelope: bool = False
    kms_service: KmsService | None = field(default=None, repr=False)  # set on a KMS host's face
    # Network environment (retail_proxy / off_network profiles; lab/windows/netsh.py, pwsh_cmdlets.py):
    # `netsh winhttp set proxy` (None: direct access) and its bypass list (None: "(none)")
    winhttp_proxy: str | None = None
    winhttp_bypass: str | None = None
    # Get-NetConnectionProfile NetworkCategory: Public | Private | DomainAuthenticated
    network_category: str = "DomainAuthenticated"
    vpn_profiles: dict[str, bool] = field(default_factory=dict)  # Get-VpnConnection: name -> connected
    # DNS server for names outside the host's own domain (the ISP's resolver off the corporate
    # network); None: dns_server answers every name
    public_dns_server: tuple[str, int] | None = None
    port_map: dict[tuple[str, int], int] = field(default_factory=dict)  # (ip, port) -> lab port bound
    # reg.exe's view: KEY -> value name -> (type, data)
    registry: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)

    @property
    def os_build(self) -> int:
        """10.0.19045 -> 19045; 6.1.7601 -> 7601."""
        parts = self.os_version.split(".")
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0

    @property
    def fqdn(self) -> str:
        return f"{self.name.lower()}.{self.domain}"

    @property
    def cmid(self) -> str:
        """SoftwareLicensingService.ClientMachineID: one stable id per host (slmgr /dlv, CIM, event 12288)."""
        return self.client_machine_id or str(uuid.uuid5(uuid.NAMESPACE_DNS, "cmid." + self.fqdn))

    def now(self) -> datetime:
        """The host's own clock (real time shifted by the clock_skew offset)."""
        return datetime.now(UTC) + self.clock_offset

    @property
    def oem_codepage(self) -> int:
        return {"ja-JP": 932, "zh-CN": 936}.get(self.locale, 437)
