"""What SoftwareLicensingProduct says about a product: names per Windows version, key channel labels,
how it was activated (KMS, Active Directory object, AVMA host) and the state a fresh GVLK starts in.

Shared by the emulated slmgr.vbs (remediate/lab/slmgr.py) and the CIM objects (pwsh_cmdlets.py).
"""

from __future__ import annotations

import uuid

from remediate.lab.windows.state import HostState, LicenseStatus, Product

WIN8_BUILD = 9200
E_GVLK_NOT_ACTIVATED = 0xC004F056  # SL_E_VL_MACHINE_NOT_BOUND: a KMS client not (yet) activated
E_AVMA_NO_HOST = 0xC004FD02  # Windows isn't activated on the host machine (AVMA)
# SoftwareLicensingProduct.UseLicenseURL / ValidationURL of a Windows 10 MAK product, as a real
# licensed /dlv prints them (https://github.com/alygcode/windows10esu/issues/3).
USE_LICENSE_URL = (
    "https://activation-v2.sls.microsoft.com/SLActivateProduct/SLActivateProduct.asmx?configextension=Retail"
)
VALIDATION_URL = "https://validation-v2.sls.microsoft.com/SLWGA/slwga.asmx"


AVMA_CHANNEL = "VIRTUAL_MACHINE_ACTIVATION"  # slmgr.vbs IsAVMA: InStr(Description, this)


def channel_label(product: Product) -> str:
    """SoftwareLicensingProduct.ProductKeyChannel ("Product Key Channel:" in /dlv).

    AVMA's value is unverified (no public /dlv of an AVMA guest found): Volume:GVLK is assumed.
    A KMS host key's (VOLUME_KMS* channels) Volume:CSVLK is unverified too.
    """
    if product.channel.startswith("VOLUME_KMS") and product.channel != "VOLUME_KMSCLIENT":
        return "Volume:CSVLK"
    return {
        "VOLUME_KMSCLIENT": "Volume:GVLK",
        "VOLUME_MAK": "Volume:MAK",
        "OEM_DM": "OEM:DM",
        AVMA_CHANNEL: "Volume:GVLK",
        "TIMEBASED_EVAL": "Retail:TB:Eval",
    }.get(product.channel, product.channel.title())


def windows_names(os_version: str, edition: str, channel: str) -> tuple[str, str]:
    """(Name, Description) as SoftwareLicensingProduct spells them for this Windows version.

    Windows 7 / Server 2008 R2 (6.1): "Windows(R) 7, Enterprise edition" / "Windows Operating System -
    Windows(R) 7, VOLUME_KMSCLIENT channel" and "Windows Server(R), ServerEnterprise edition"
    (https://learn.microsoft.com/en-us/previous-versions/tn-archive/ff793426(v=technet.10)).
    Windows 8 and later: "Windows(R), Enterprise edition" / "Windows(R) Operating System, ... channel"
    (real Windows 10/11/Server 2019 outputs under tests/cases/slmgr-dl*; 8.1 / 2012 R2 assumed the same,
    no 6.3 output found).
    """
    if os_version.startswith("6.1."):
        family = "Windows Server(R)" if edition.lower().startswith("server") else "Windows(R) 7"
        return f"{family}, {edition} edition", f"Windows Operating System - {family}, {channel} channel"
    return f"Windows(R), {edition} edition", f"Windows(R) Operating System, {channel} channel"


# Lab stand-ins for what AD and Hyper-V would hold: the activation object created from a CSVLK in the
# forest's configuration partition (slmgr.vbs ADActObjContainer = "CN=Activation Objects,CN=Microsoft
# SPP,CN=Services,"), and the Hyper-V host an AVMA guest inherits its activation from.
AD_OBJECT_NAME = "Lab ADBA"
AVMA_HOST = "HV-HOST01"


def ad_object(state: HostState, p: Product) -> tuple[str, str, str, str]:
    """(Activation Object name, AO DN, AO extended PID, AO activation ID) for an AD-activated product."""
    dcs = ",".join(f"DC={part}" for part in state.domain.split("."))
    dn = f"CN={AD_OBJECT_NAME},CN=Activation Objects,CN=Microsoft SPP,CN=Services,CN=Configuration,{dcs}"
    csvlk_sku = str(uuid.uuid5(uuid.NAMESPACE_OID, "csvlk." + state.domain))
    return AD_OBJECT_NAME, dn, p.kms_pid or extended_pid(state, p), csvlk_sku


def avma_host(state: HostState, p: Product) -> str | None:
    """The Hyper-V host name an AVMA guest reports once activated by it."""
    return AVMA_HOST if p.channel == AVMA_CHANNEL and p.activated_by == "avma" else None


def extended_pid(state: HostState, product: Product) -> str:
    build = state.os_version.split(".")[-1]
    return f"03612-0{int(product.activation_id[:4], 16) % 10000:04d}-000-000000-03-1033-{build}.0000-0012025"


def after_gvlk_install(state: HostState, p: Product) -> None:
    """License state of a freshly installed GVLK, before /ato.

    Windows 8 and later: Notification, reason 0xC004F056 (a real /dlv right after `/ipk W269N-...`
    on build 26200: "License Status: Notification / Notification Reason: 0xC004F056.",
    https://gist.github.com/aravindnc/170a569ac305912dd43252f64307902e). Windows 7 / 2008 R2 KMS
    clients still had the 30-day initial grace period ("License Status: Initial grace period").
    """
    p.activated_by = None
    p.kms_pid = None
    p.licensed_until = None
    if 0 < state.os_build < WIN8_BUILD:
        p.status, p.status_reason, p.grace_minutes = LicenseStatus.OOB_GRACE, 0x4004F00C, 43200
    else:
        p.status, p.status_reason, p.grace_minutes = LicenseStatus.NOTIFICATION, E_GVLK_NOT_ACTIVATED, 0
