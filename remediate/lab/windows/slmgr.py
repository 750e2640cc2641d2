"""`cscript //nologo %SystemRoot%\\System32\\slmgr.vbs <option>`, rendered as slmgr.vbs renders it.

Layout follows slmgr.vbs itself (DisplayAllInformation, DisplayKMSClientInformation, ExpirationDatime,
ActivateProduct, SetKmsMachineName, ClearKms, ShowError): every line goes through LineOut into one
buffer that WScript.Echo prints at exit, so output ends with an extra CRLF. Errors go through
QuitIfError -> `WScript.Quit Err.Number`, so cscript's exit code is the HRESULT (as a signed 32-bit
value, e.g. -1073418124 for 0xC004F074; MAS' activation scripts test `%errorcode% EQU -1073418124`).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from remediate.domains.kms.gvlk import product_of
from remediate.lab.windows import activation
from remediate.lab.windows.kmsservice import kms_host_lines
from remediate.lab.windows.messages import error_line, format_date, msg
from remediate.lab.windows.products import (
    AVMA_CHANNEL,
    E_AVMA_NO_HOST,
    USE_LICENSE_URL,
    VALIDATION_URL,
    ad_object,
    after_gvlk_install,
    avma_host,
    channel_label,
    extended_pid,
    windows_names,
)
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState, LicenseStatus, Product

KEY_RE_PARTS = 5


@dataclass(frozen=True)
class KeyInfo:
    edition: str  # EditionID for Windows ("Enterprise"), product name part for Office
    activation_id: str
    name: str
    description: str
    application_id: str = WINDOWS_APP_ID
    channel: str = "VOLUME_KMSCLIENT"


def _win(edition: str, act_id: str, label: str) -> KeyInfo:
    return KeyInfo(
        edition,
        act_id,
        f"Windows(R), {label} edition",
        "Windows(R) Operating System, VOLUME_KMSCLIENT channel",
    )


# Documented KMS client setup keys (Microsoft Learn, "Key Management Services (KMS) client activation and
# product keys"); activation ids as SoftwareLicensingProduct.ID reports them.
LOCAL_GVLKS: dict[str, KeyInfo] = {
    "NPPR9-FWDCX-D2C8J-H872K-2YT43": _win("Enterprise", "73111121-5638-40f6-bc11-f1d7b0d64300", "Enterprise"),
    "W269N-WFGWX-YVC9B-4J6C9-T83GX": _win(
        "Professional", "2de67392-b7a7-462a-b1ca-108dd189f588", "Professional"
    ),
    "NW6C2-QMPVW-D7KKK-3GKT6-VCFB2": _win("Education", "e0c42288-980c-4788-a014-c080d2e1926e", "Education"),
    "M7XTQ-FN8P6-TTKYV-9D4CC-J462D": _win(
        "EnterpriseS", "32d2fab3-e4a8-42c2-923b-4bf4fd13e6ee", "EnterpriseS"
    ),
    "WMDGN-G9PQG-XVVXX-R3X43-63DFG": _win(
        "ServerDatacenter", "34e1ae55-27f8-4950-8877-7a03be5fb181", "ServerDatacenter"
    ),
    "N69G4-B89J2-4G8F4-WWYCC-J464C": _win(
        "ServerStandard", "de32eafd-aaee-4662-9444-c1befb41bde2", "ServerStandard"
    ),
    "VDYBN-27WPP-V4HQT-9VMD4-VMK7H": _win(
        "ServerStandard", "c52ed9a9-a9d1-4a19-9e85-cd10b6aad5be", "ServerStandard"
    ),
}


def lookup_key(key: str) -> KeyInfo | None:
    """GVLK metadata: the local table first, then remediate.domains.kms.gvlk's (product, edition) table."""
    key = key.strip().upper()
    if key in LOCAL_GVLKS:
        return LOCAL_GVLKS[key]
    found = product_of(key)
    if found is None:
        return None
    product, edition = found
    act_id = str(uuid.uuid5(uuid.NAMESPACE_OID, "sku." + key))  # stable stand-in SKU id
    if product.startswith("office"):
        return KeyInfo(
            edition, act_id, f"{product}, {edition} edition", f"{product}, VOLUME_KMSCLIENT channel", ""
        )
    # slmgr /dli names before Windows 8: "Windows(R) 7, Enterprise edition" / "Windows Operating System -
    # Windows(R) 7, VOLUME_KMSCLIENT channel" (KB 4487266, learn.microsoft.com/troubleshoot/windows-client/
    # licensing-and-activation/activation-failures-not-genuine-notifications-volume-licensed-kms-client);
    # Server 2008 R2: "Windows Server(R), ServerStandard edition" / "Windows Operating System - Windows
    # Server(R), VOLUME_KMSCLIENT channel" (github.com/Checkmk/checkmk
    # tests/unit/checks/test_win_license.py, a captured agent output).
    # 2012 R2 prints the Windows 10 form (same capture); Windows 8 / 8.1 are assumed to (unverified).
    legacy = {"windows7": "Windows(R) 7", "server2008r2": "Windows Server(R)"}.get(product)
    if legacy:
        return KeyInfo(
            edition,
            act_id,
            f"{legacy}, {edition} edition",
            f"Windows Operating System - {legacy}, VOLUME_KMSCLIENT channel",
        )
    return _win(edition, act_id, edition)


def well_formed(key: str) -> bool:
    parts = key.strip().split("-")
    return len(parts) == KEY_RE_PARTS and all(len(p) == 5 and p.isalnum() for p in parts)


def exit_code(hresult: int) -> int:
    """An HRESULT as the signed 32-bit process exit code cmd/PowerShell report."""
    hresult &= 0xFFFFFFFF
    return hresult - 0x1_0000_0000 if hresult >= 0x8000_0000 else hresult


# slmgr.vbs L_MsgPhoneNumbers (English in every locale here: the localized text is unverified)
PHONE_NUMBERS = (
    "Product activation telephone numbers can be obtained by searching the phone.inf file for the "
    "appropriate phone number for your location/country. You can open the phone.inf file from a "
    "Command Prompt or the Start Menu by running: notepad %systemroot%\\system32\\sppui\\phone.inf"
)


def installation_id(state: HostState) -> str:
    """The /dlv `Installation ID`: 63 decimal digits on Windows 8 and later, 54 on Windows 7 / Server
    2008 R2 (phone activation reads it out in 9 groups of 7, resp. 6, digits). The digit counts are
    listed as unverified in docs/lab-commands.md until a real /dlv paste with an unmasked ID is cited."""
    digits = 54 if 0 < state.os_build < 9200 else 63
    seed = hashlib.sha512(("iid." + state.fqdn).encode()).digest()
    return str(int.from_bytes(seed, "big")).rjust(digits, "0")[:digits]


def days(minutes: int) -> int:
    return (minutes + 1439) // 1440  # slmgr's GetDaysFromMins (ceiling)


class Slmgr:
    def __init__(self, state: HostState) -> None:
        self.state = state
        self.loc = state.locale
        self.lines: list[str] = []

    def out(self, line: str) -> None:
        self.lines.append(line)

    def m(self, key: str, **subs: object) -> str:
        return msg(self.loc, key, **subs)

    def text(self) -> str:
        # LineOut appends vbNewLine to each line; WScript.Echo of the buffer adds one more.
        return "".join(line + "\r\n" for line in self.lines) + "\r\n"

    def fail(self, hresult: int) -> int:
        self.out(error_line(self.loc, hresult))
        return exit_code(hresult)

    async def run(self, args: list[str]) -> int:
        if not args or args[0][:1] not in "/-":
            self.out(self.m("invalid_options"))
            return 1
        opt = args[0][1:].lower()
        params = args[1:]
        if self.state.license_store_broken and opt != "rilc":
            return self.fail(activation.E_LICENSE_STORE)
        if opt in ("dli", "dlv"):
            return self.display(verbose=opt == "dlv")
        if opt == "xpr":
            return self.xpr()
        if opt == "ato":
            return await self.ato()
        if opt == "skms":
            if not params:
                self.out("")
                self.out(self.m("err_option_param", option="skms", param="<Name[:Port] | : port>"))
                return 1
            return self.skms(params[0])
        if opt == "ckms":
            self.state.kms_registered_host = None
            self.state.kms_registered_port = None
            self.out(self.m("kms_cleared"))
            return 0
        if opt == "ipk":
            if not params:
                self.out("")
                self.out(self.m("err_option_param", option="ipk", param="<Product Key>"))
                return 1
            return self.ipk(params[0])
        if opt == "rilc":
            return self.rilc()
        if opt == "dti":
            return self.dti()
        self.out(self.m("unrecognized") + args[0])
        return 1

    # ---- /dli, /dlv -------------------------------------------------------------------------
    def display(self, verbose: bool) -> int:
        st, p = self.state, self.state.windows
        if verbose:
            self.out(self.m("service_version") + f"{st.os_version}.1")
        if p is None:
            self.out(self.m("err_pkey"))
            return 0
        self.out("")
        self.out(self.m("name") + p.name)
        self.out(self.m("desc") + p.description)
        if verbose:
            self.out(self.m("act_id") + p.activation_id)
            self.out(self.m("app_id") + p.application_id)
            self.out(self.m("pid4") + extended_pid(st, p))
            self.out(self.m("channel") + channel_label(p))
            self.out(self.m("iid") + installation_id(st))
            if not p.is_kms_client and p.channel != AVMA_CHANNEL:
                self.out(self.m("use_license_url") + USE_LICENSE_URL)
                self.out(self.m("validation_url") + VALIDATION_URL)
        self.out(self.m("partial") + p.partial_key)
        self.status_lines(p)
        if verbose:
            self.out(self.m("win_rearm", count=1001))
            self.out(self.m("sku_rearm", count=1001))
            self.out(self.m("trusted_time") + format_date(self.loc, st.now().replace(tzinfo=None)))
        if st.kms_service is not None and p.channel.startswith("VOLUME_KMS") and not p.is_kms_client:
            self.lines += kms_host_lines(st.kms_service)
        if p.is_kms_client:
            self.out(self.m("act_type_all"))
            if p.activated_by == "ad":
                self.ad_client_info(p)
            elif p.status != LicenseStatus.LICENSED:
                self.out(self.m("please_activate"))
            else:
                self.kms_client_info(p)
        if p.channel == AVMA_CHANNEL:
            self.avma_client_info(p)
        self.out("")
        return 0

    def ad_client_info(self, p: Product) -> None:
        """slmgr.vbs DisplayADClientInformation."""
        name, dn, pid, act_id = ad_object(self.state, p)
        self.out("")
        self.out(self.m("recent"))
        self.out(self.m("ad_info"))
        self.out("    " + self.m("ao_name") + name)
        self.out("    " + self.m("ao_dn") + dn)
        self.out("    " + self.m("ao_pid") + pid)
        self.out("    " + self.m("ao_actid") + act_id)

    def avma_client_info(self, p: Product) -> None:
        """slmgr.vbs: the `Guest IAID:` line, then DisplayAVMAClientInformation once a host activated it."""
        st, na = self.state, self.m("not_available")
        activated = p.activated_by == "avma"
        iaid = str(uuid.uuid5(uuid.NAMESPACE_OID, "iaid." + st.fqdn)) if activated else na
        self.out(self.m("avma_iaid") + iaid)
        host = avma_host(st, p)
        if host is None:
            return
        when = p.licensed_until - timedelta(days=7) if p.licensed_until else st.now()
        self.out("")
        self.out(self.m("recent"))
        self.out(self.m("avma_info"))
        self.out("    " + self.m("avma_host") + host)
        self.out("    " + self.m("avma_time") + format_date(self.loc, when.replace(tzinfo=None)))
        self.out("    " + self.m("avma_pid2") + (p.kms_pid or na))

    def status_lines(self, p: Product) -> None:
        ls = int(p.status)
        self.out(self.m(f"ls_{ls}") if ls in range(7) else "License Status: Unknown")
        if ls == 1:
            minutes = self.remaining(p)
            if minutes:  # slmgr.vbs: TBL, then AVMA, else volume wording; nothing when permanent
                key = {"TIMEBASED_EVAL": "tbl_exp", AVMA_CHANNEL: "avma_exp"}.get(p.channel, "vl_exp")
                self.out(self.m(key, minute=minutes, day=days(minutes)))
        elif ls == 5:
            code = f"{p.status_reason & 0xFFFFFFFF:X}"
            key = "notif_reason_exp" if p.status_reason == 0xC004F009 else "notif_reason"
            self.out(self.m(key, errcode=code))
        elif ls != 0:
            minutes = p.grace_minutes
            self.out(self.m("time_remaining", minute=minutes, day=days(minutes)))

    def remaining(self, p: Product) -> int:
        """GracePeriodRemaining: minutes until the volume activation expires (0 for permanent).

        MAK, RETAIL and OEM activations are permanent (a real licensed MAK /dlv shows no expiration
        line: https://github.com/alygcode/windows10esu/issues/3); KMS, AD, AVMA and time-based ones expire.
        """
        if not (p.is_kms_client or p.channel in (AVMA_CHANNEL, "TIMEBASED_EVAL")):
            return 0
        if p.licensed_until is not None:
            return max(0, int((p.licensed_until - self.state.now()) / timedelta(minutes=1)))
        return p.grace_minutes

    def kms_client_info(self, p: Product) -> None:
        st = self.state
        self.out("")
        self.out(self.m("recent"))
        self.out(self.m("kms_info"))
        self.out("    " + self.m("cmid") + st.cmid)
        if st.kms_registered_host:
            self.out(
                f"    {self.m('registered_kms')}{st.kms_registered_host}:{st.kms_registered_port or 1688}"
            )
        elif st.kms_discovered:
            self.out("    " + self.m("kms_dns") + st.kms_discovered)
        else:
            self.out("    " + self.m("kms_dns_unavail"))
        self.out(
            "    " + (self.m("kms_ip") + st.kms_client_ip if st.kms_client_ip else self.m("kms_ip_unavail"))
        )
        self.out("    " + self.m("kms_pid4") + (p.kms_pid or ""))
        self.out("    " + self.m("act_interval", interval=p.activation_interval))
        self.out("    " + self.m("renew_interval", interval=p.renewal_interval))
        self.out("    " + self.m("caching_on" if st.kms_host_caching else "caching_off"))

    # ---- /xpr -------------------------------------------------------------------------------
    def xpr(self) -> int:
        p = self.state.windows
        if p is None:
            self.out(self.m("err_pkey"))
            return 0
        minutes = self.remaining(p) if p.status == LicenseStatus.LICENSED else p.grace_minutes
        ends = format_date(self.loc, (self.state.now() + timedelta(minutes=minutes)).replace(tzinfo=None))
        ls = int(p.status)
        if ls == 0:
            line = self.m("xpr_unlicensed")
        elif ls == 1:
            key = {"TIMEBASED_EVAL": "xpr_tbl", AVMA_CHANNEL: "xpr_avma"}.get(p.channel, "xpr_vl")
            line = self.m(key, enddate=ends) if minutes else self.m("xpr_perm")
        elif ls == 2:
            line = self.m("xpr_grace", enddate=ends)
        elif ls == 3:
            line = self.m("xpr_addgrace", enddate=ends)
        else:
            line = self.m("xpr_notif")
        self.out(p.name + ":")
        self.out("    " + line)
        return 0

    # ---- /ato -------------------------------------------------------------------------------
    async def ato(self) -> int:
        st, p = self.state, self.state.windows
        if p is None:
            self.out(self.m("err_pkey").replace("product key", "product"))
            return 0
        self.out(self.m("activating", productname=p.name, productid=p.activation_id))
        if p.status == LicenseStatus.LICENSED and p.activated_by in ("ad", "avma"):
            self.out(self.m("activated"))  # lab: the AD object / Hyper-V host is always there
            return 0
        if p.channel == AVMA_CHANNEL:
            # "Windows isn't activated on the host machine" (no Hyper-V AVMA host behind this guest):
            # https://learn.microsoft.com/en-us/troubleshoot/azure/virtual-machines/windows/error-0xc004fd02-activate-windows-vm
            return self.fail(E_AVMA_NO_HOST)
        if not p.is_kms_client:
            # MAK / retail / OEM activate online against Microsoft, which the lab network cannot reach.
            p.status_reason = activation.E_NO_INTERNET
            return self.fail(activation.E_NO_INTERNET)
        outcome = await activation.activate(st, p, (st.kms_registered_host, st.kms_registered_port))
        activation.apply_outcome(st, p, outcome)
        if outcome.hresult:
            return self.fail(outcome.hresult)
        p.activated_by = "kms"
        self.out(self.m("activated"))
        return 0

    def dti(self) -> int:
        """slmgr.vbs DisplayIID: "Installation ID: <OfflineInstallationId>" per product with a key,
        a blank line, then L_MsgPhoneNumbers (slmgr.vbs source, e.g. Windows 10's)."""
        if self.state.windows is None:
            self.out(self.m("err_pkey"))
            return 0
        self.out(self.m("iid") + installation_id(self.state))
        self.out("")
        self.out(PHONE_NUMBERS)
        return 0

    # ---- /skms, /ipk, /rilc -----------------------------------------------------------------
    def skms(self, value: str) -> int:
        if value.startswith("[") and "]" in value:  # IPv6: [addr]:port
            end = value.index("]")
            host, port = value[: end + 1], value[end + 2 :]
        else:
            host, _, port = value.partition(":")
        if port and not port.isdigit():
            return self.fail(0x80070057)  # CLng fails: "The parameter is incorrect"
        if host:
            self.state.kms_registered_host = host
        self.state.kms_registered_port = int(port) if port else None
        self.out(self.m("kms_set", kms=value))
        return 0

    def ipk(self, key: str) -> int:
        if not well_formed(key):
            return self.fail(0xC004F050)
        info = lookup_key(key)
        st = self.state
        if info is None:
            return self.fail(0xC004F050)
        if info.application_id != WINDOWS_APP_ID or info.edition.lower() != st.edition_id.lower():
            return self.fail(0xC004F069)
        name, description = windows_names(st.os_version, info.edition, info.channel)
        act_id, key = info.activation_id, key.upper()
        st.windows = Product(name, description, info.application_id, act_id, info.channel, key)
        if info.channel == "VOLUME_KMSCLIENT":
            after_gvlk_install(st, st.windows)
        self.out(self.m("installed_pkey", pkey=key))
        return 0

    def rilc(self) -> int:
        self.out(self.m("rilc_start"))
        for f in (
            "pkeyconfig\\pkeyconfig.xrm-ms",
            "skus\\Security-SPP-Component-SKU-Enterprise\\pkeyconfig.xrm-ms",
        ):
            self.out(self.m("rilc_file", licensefile=f"C:\\Windows\\system32\\spp\\tokens\\{f}"))
            self.out("")
        self.out(self.m("rilc_done"))
        self.state.license_store_broken = False  # lab: re-installing the license files repairs the store
        return 0


async def run_slmgr(state: HostState, args: list[str]) -> tuple[int, str]:
    """(cscript exit code, stdout text) for `slmgr.vbs <args>`."""
    s = Slmgr(state)
    rc = await s.run(args)
    return rc, s.text()
