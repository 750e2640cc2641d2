"""`cscript //nologo "<Office dir>\\ospp.vbs" /dstatus|/act|/sethst:H|/setprt:P|/remhst|/inpkey:KEY`.

Format from real sessions (e.g. the /act and /dstatus transcripts pasted in xtboke.cn's 2020 KMS
auto-discovery post and in Office LTSC activation how-tos): a `---Processing---` frame, one block per
product, `LICENSE STATUS:  ---LICENSED---`, `REMAINING GRACE: 180 days  (259200 minute(s) before
expiring)`, `ERROR CODE:` / `ERROR DESCRIPTION:` for failures. ospp.vbs is not localized by the UI
language in these transcripts, so it prints English for every locale. It exits 0 even on errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from remediate.lab.windows import activation
from remediate.lab.windows.messages import ERROR_TEXT_EN
from remediate.lab.windows.officestore import E_ACCESS_DENIED
from remediate.lab.windows.state import OFFICE_APP_ID, HostState, LicenseStatus, OfficeInstall, Product

FRAME_START = "---Processing--------------------------\r\n---------------------------------------\r\n"
FRAME_SEP = "---------------------------------------\r\n"
FRAME_END = "---------------------------------------\r\n---Exiting-----------------------------\r\n"

STATUS_LABEL = {
    0: "---UNLICENSED---",
    1: "---LICENSED---",
    2: "---OOB_GRACE---",
    3: "---OOT_GRACE---",
    4: "---NON_GENUINE_GRACE---",
    5: "---NOTIFICATIONS---",
    6: "---EXTENDED_GRACE---",
}

# System message text (FormatMessage) ospp prints as ERROR DESCRIPTION for codes outside slmgr's table.
OSPP_ERRORS = {
    0x4004F00C: "The Software Licensing Service reported that the application is running within the valid "
    "grace period.",
    0x4004F00D: "The Software Licensing Service reported that the application is running within the valid "
    "out of tolerance grace period.",
    0xC004F012: "The Software Licensing Service reported that the call has failed because the value for the "
    "input key was not found.",
    0xC004F06C: "The Software Licensing Service reported that the request contains an invalid timestamp.",
    0x80072EE7: "The server name or address could not be resolved",
    0xC004F050: "The Software Licensing Service reported that the product key is invalid.",
    # ospp's own wording ("product", not slmgr's "computer") and the C2R grace SKU's /act failure, as in
    # a real two-product /act: https://github.com/21Z/Microsoft-Office-2021/issues/16
    0xC004F074: "The Software Licensing Service reported that the product could not be activated. No Key "
    "Management Service (KMS) could be contacted. Please see the Application Event Log for additional "
    "information.",
    0xC004F017: "The Software Licensing Service reported that the license is not installed.",
    # FormatMessage text of E_ACCESSDENIED / ERROR_ACCESS_DENIED (winerror.h; MS-ERREF 2.1.1)
    0x80070005: "Access is denied.",
}
# ospp.vbs `errorKBs`: codes for which /act adds MSG_ACT_ERROR_FOUND_KB and the KB link (ospp.vbs
# source; printed as in the real output above, with the https link of current ospp.vbs).
KB_CODES = frozenset(
    int(c, 16)
    for c in "80070422|80070426|C004F074|80070001|80070005|8007000D|8007232B|8007251D|C004F014|C004F038|"
    "C004F039|C004F041|C004F042|C004C003|4004F040".split("|")
)
E_GRACE_SKU_NOT_INSTALLED = 0xC004F017  # /act on a C2R RETAIL(Grace) SKU (same real output)


@dataclass(frozen=True)
class OfficeKey:
    activation_id: str
    name: str
    description: str
    versions: tuple[str, ...]


# Documented Office GVLKs (Microsoft Learn, "GVLKs for KMS and Active Directory-based activation of Office").
OFFICE_GVLKS: dict[str, OfficeKey] = {
    "XQNVK-8JYDB-WJ9W3-YJ8YR-WFG99": OfficeKey(
        "d450596f-894d-49e0-966a-fd39ed4c4c64",
        "Office 16, Office16ProPlusVL_KMS_Client edition",
        "Office 16, VOLUME_KMSCLIENT channel",
        ("2016",),
    ),
    "NMMKJ-6RK4F-KMJVX-8D9MJ-6MWKP": OfficeKey(
        "85dd8b5f-eaa4-4af3-a628-cce9e77c9a03",
        "Office 19, Office19ProPlus2019VL_KMS_Client_AE edition",
        "Office 19, VOLUME_KMSCLIENT channel",
        ("2019",),
    ),
    "FXYTK-NJJ8C-GB6DW-3DYQT-6F7TH": OfficeKey(
        "fbdb3e18-a8ef-4fb3-9183-dffd60bd0984",
        "Office 21, Office21ProPlus2021VL_KMS_Client_AE edition",
        "Office 21, VOLUME_KMSCLIENT channel",
        ("2021",),
    ),
    "YC7DK-G2NP3-2QQC3-J6H88-GVGXT": OfficeKey(
        "b322da9c-a2e2-4058-9e4e-f59a6970bd69",
        "Office 15, OfficeProPlusVL_KMS_Client edition",
        "Office 15, VOLUME_KMSCLIENT channel",
        ("2013",),
    ),
}


def find_install(state: HostState, script_path: str) -> OfficeInstall | None:
    """The Office install whose directory holds `script_path` (case-insensitive, like NTFS)."""
    folder = script_path.rsplit("\\", 1)[0].lower().rstrip("\\")
    for inst in state.office:
        if inst.office_dir.lower() == folder:
            return inst
    return None


def error_desc(hresult: int) -> str:
    return OSPP_ERRORS.get(hresult) or ERROR_TEXT_EN.get(hresult) or "Unknown error"


def _product_id(p: Product) -> str:
    a, b = int(p.activation_id[:3], 16) % 1000, int(p.activation_id[4:8], 16) % 100000
    return f"00{a:03d}-{b:05d}-00000-AA{p.partial_key[:3]}"


def _grace(p: Product, state: HostState) -> int:
    if p.licensed_until is not None and p.status == LicenseStatus.LICENSED:
        return max(0, int((p.licensed_until - state.now()).total_seconds() // 60))
    return p.grace_minutes


def keyed_products(inst: OfficeInstall) -> list[Product]:
    """What ospp.vbs lists: products with a key installed. Microsoft 365 Apps on subscription (vNext)
    have none: ospp prints `<No installed product keys detected>`
    (https://github.com/MicrosoftDocs/OfficeDocs-DeployOffice/issues/946)."""
    if inst.kind == "m365":
        return []
    return [p for p in inst.products if p.product_key]


def dstatus(state: HostState, inst: OfficeInstall) -> str:
    out = [FRAME_START]
    if state.license_store_broken:
        return _store_error(out)
    products = keyed_products(inst)
    if not products:
        out.append("<No installed product keys detected>\r\n")
    for p in products:
        lines = [
            f"PRODUCT ID: {_product_id(p)}",
            f"SKU ID: {p.activation_id}",
            f"LICENSE NAME: {p.name}",
            f"LICENSE DESCRIPTION: {p.description}",
            "BETA EXPIRATION: 01/01/1601" if state.locale == "en-US" else "BETA EXPIRATION: 1601/1/1",
            f"LICENSE STATUS:  {STATUS_LABEL.get(int(p.status), '---UNKNOWN---')} ",
        ]
        if p.status != LicenseStatus.LICENSED and p.status_reason:
            lines.append(f"ERROR CODE: 0x{p.status_reason:08X}")
            lines.append(f"ERROR DESCRIPTION: {error_desc(p.status_reason)}")
        minutes = _grace(p, state)
        if minutes:
            lines.append(f"REMAINING GRACE: {minutes // 1440} days  ({minutes} minute(s) before expiring)")
        lines.append(f"Last 5 characters of installed product key: {p.partial_key}")
        if p.is_kms_client:
            lines.append("Activation Type Configuration: ALL")
            if inst.kms_host:
                lines.append(
                    f"    KMS machine registry override defined: {inst.kms_host}:{inst.kms_port or 1688}"
                )
            elif state.kms_discovered and p.status == LicenseStatus.LICENSED:
                lines.append(f"    KMS machine name from DNS: {state.kms_discovered}")
            else:
                lines.append("    DNS auto-discovery: KMS name not available")
            lines.append(f"    Activation Interval: {p.activation_interval} minutes")
            lines.append(f"    Renewal Interval: {p.renewal_interval} minutes")
            lines.append(f"    KMS host caching: {'Enabled' if state.kms_host_caching else 'Disabled'}")
        out.append("".join(line + "\r\n" for line in lines))
        out.append(FRAME_SEP)
    out.append(FRAME_END)
    return "".join(out)


def _store_error(out: list[str], hr: int = activation.E_LICENSE_STORE) -> str:
    out.append(f"ERROR CODE: 0x{hr:08X}\r\n")
    out.append(f"ERROR DESCRIPTION: {error_desc(hr)}\r\n")
    out.append(FRAME_SEP + FRAME_END)
    return "".join(out)


async def act(state: HostState, inst: OfficeInstall) -> str:
    out = [FRAME_START]
    if state.license_store_broken:
        return _store_error(out)
    products = keyed_products(inst)
    if not products:
        out.append("<No installed product keys detected>\r\n")
    for p in products:
        out.append("Installed product key detected - attempting to activate the following product:\r\n")
        out.append(f"SKU ID: {p.activation_id}\r\nLICENSE NAME: {p.name}\r\n")
        out.append(f"LICENSE DESCRIPTION: {p.description}\r\n")
        out.append(f"Last 5 characters of installed product key: {p.partial_key}\r\n")
        if p.is_kms_client:
            outcome = await activation.activate(state, p, (inst.kms_host, inst.kms_port))
            activation.apply_outcome(state, p, outcome)
            hr = outcome.hresult
            if hr == 0:
                p.activated_by = "kms"
        elif "(Grace)" in p.description:
            hr = E_GRACE_SKU_NOT_INSTALLED  # the placeholder grace SKU cannot be activated
        else:
            hr = p.status_reason = activation.E_NO_INTERNET
        if hr == 0:
            out.append("<Product activation successful>\r\n")
        else:
            out.append(f"ERROR CODE: 0x{hr:08X}\r\nERROR DESCRIPTION: {error_desc(hr)}\r\n")
            out.append(_kb_notice(hr))
        out.append(FRAME_SEP)
    out.append(FRAME_END)
    return "".join(out)


def _kb_notice(hr: int) -> str:
    lines = []
    if hr == activation.E_KMS_UNREACHABLE:
        lines.append("To view the activation event history run: cscript ospp.vbs /dhistorykms")
    if hr in KB_CODES:
        lines.append(f"NOTICE: A KB article has been detected for activation failure: 0x{hr:08X}")
        lines.append(
            f"FOR MORE INFORMATION PLEASE VISIT: https://support.microsoft.com/kb/2870357#Error0x{hr:08X}"
        )
    return "".join(line + "\r\n" for line in lines)


def inpkey(state: HostState, inst: OfficeInstall, key: str) -> str:
    info = OFFICE_GVLKS.get(key.strip().upper())
    body: str
    if info is None or inst.version not in info.versions:
        hr = 0xC004F050 if info is None else 0xC004F069
        body = f"ERROR CODE: 0x{hr:08X}\r\nERROR DESCRIPTION: {error_desc(hr)}\r\n"
    else:
        inst.products = [p for p in inst.products if p.activation_id != info.activation_id]
        inst.products.append(
            Product(
                info.name,
                info.description,
                OFFICE_APP_ID,
                info.activation_id,
                "VOLUME_KMSCLIENT",
                key.upper(),
            )
        )
        body = "<Product key installation successful>\r\n"
    return FRAME_START + body + FRAME_END


async def run_ospp(state: HostState, inst: OfficeInstall, args: list[str]) -> tuple[int, str]:
    """(exit code, stdout) for ospp.vbs; ospp reports errors in its text and exits 0."""
    if not args:
        return 0, "Invalid input: No option specified.\r\n"
    opt, _, value = args[0].partition(":")
    opt = opt.lower()
    if state.office_store_broken:  # osppsvc cannot start: every call is refused (officestore.py)
        return 0, _store_error([FRAME_START], E_ACCESS_DENIED)
    if opt == "/dstatus":
        return 0, dstatus(state, inst)
    if opt == "/act":
        return 0, await act(state, inst)
    if opt in ("/sethst", "/setprt", "/remhst", "/inpkey") and state.license_store_broken:
        return 0, _store_error([FRAME_START])
    if opt == "/sethst" and value:
        inst.kms_host = value
        return 0, FRAME_START + "Successfully applied setting.\r\n" + FRAME_END
    if opt == "/setprt" and value.isdigit():
        inst.kms_port = int(value)
        return 0, FRAME_START + "Successfully applied setting.\r\n" + FRAME_END
    if opt == "/remhst":
        inst.kms_host, inst.kms_port = None, None
        return 0, FRAME_START + "Successfully removed setting.\r\n" + FRAME_END
    if opt == "/inpkey" and value:
        return 0, inpkey(state, inst, value)
    return 0, f"Invalid input: {args[0]}\r\n"
