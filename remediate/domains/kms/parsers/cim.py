"""CIM path (locale independent): SoftwareLicensingProduct (P1) and SoftwareLicensingService (P2)."""

from __future__ import annotations

from typing import Any

from .common import ParseError, normalize_code, valid_ip
from .jsonio import as_records, load_json
from .slmgr import channel_of, empty_product

# SoftwareLicensingProduct.LicenseStatus
# (https://learn.microsoft.com/en-us/previous-versions/windows/desktop/sppwmi/softwarelicensingproduct)
STATUS_WORDS = {
    0: "unlicensed",
    1: "licensed",
    2: "oob_grace",
    3: "oot_grace",
    4: "non_genuine_grace",
    5: "notification",
    6: "extended_grace",
}
# ProductKeyChannel -> the channel word slmgr prints in Description
KEY_CHANNELS = {
    "volume:gvlk": "VOLUME_KMSCLIENT",
    "volume:mak": "VOLUME_MAK",
    "volume:csvlk": "VOLUME_KMS",
    "retail": "RETAIL",
    "retail:tb:eval": "TIMEBASED_EVAL",
    "oem:dm": "OEM_DM",
    "oem:slp": "OEM_SLP",
    "oem:nonslp": "OEM_NONSLP",
    "oem:cog": "OEM_COA_NSLP",
}
# SoftwareLicensingProduct.VLActivationType: 1 = Active Directory (slmgr.vbs IsADActivated tests
# `VLActivationType = 1`); the AD* properties then name the activation object.
VL_ACTIVATION_AD = 1


def _str(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def parse_cim_license(text: str) -> dict[str, Any]:
    """P1 JSON -> the slmgr-dli product model."""
    items = as_records(load_json(text))
    products: list[dict[str, Any]] = []
    for item in items:
        if "LicenseStatus" not in item and "Name" not in item:
            raise ParseError("not a SoftwareLicensingProduct object (no Name / LicenseStatus)")
        p = empty_product()
        p["name"] = _str(item.get("Name"))
        p["description"] = _str(item.get("Description"))
        key_channel = _str(item.get("ProductKeyChannel"))
        p["channel"] = channel_of(p["description"]) or (
            KEY_CHANNELS.get(key_channel.lower()) if key_channel else None
        )
        p["partial_key"] = _str(item.get("PartialProductKey"))
        status = _int(item.get("LicenseStatus"))
        p["license_status"] = STATUS_WORDS.get(status) if status is not None else None
        p["status_reason"] = normalize_code(_int(item.get("LicenseStatusReason")))
        p["remaining_minutes"] = _int(item.get("GracePeriodRemaining"))
        p["kms_registered"] = _str(item.get("KeyManagementServiceMachine"))
        p["kms_dns"] = _str(item.get("DiscoveredKeyManagementServiceMachineName"))
        p["kms_ip"] = valid_ip(_str(item.get("DiscoveredKeyManagementServiceMachineIpAddress")))
        if p["kms_registered"]:
            p["kms_port"] = _int(item.get("KeyManagementServicePort")) or None
        else:
            p["kms_port"] = _int(item.get("DiscoveredKeyManagementServiceMachinePort")) or None
        p["activation_interval_minutes"] = _int(item.get("VLActivationInterval"))
        p["renewal_interval_minutes"] = _int(item.get("VLRenewalInterval"))
        _activation_source(p, item)
        products.append(p)
    return {"products": products, "error_code": None}


def _activation_source(p: dict[str, Any], item: dict[str, Any]) -> None:
    """activated_by / ad_activation / avma_host from the AD, AVMA and KMS properties (P1 selects them)."""
    p["avma_host"] = _str(item.get("AutomaticVMActivationHostMachineName"))
    if _int(item.get("VLActivationType")) == VL_ACTIVATION_AD:
        p["activated_by"] = "ad"
        p["ad_activation"] = {
            "object_name": _str(item.get("ADActivationObjectName")),
            "object_dn": _str(item.get("ADActivationObjectDN")),
            "extended_pid": _str(item.get("ADActivationCsvlkPid")),
            "activation_id": _str(item.get("ADActivationCsvlkSkuId")),
        }
    elif p["avma_host"]:
        p["activated_by"] = "avma"
    elif p["license_status"] == "licensed" and _str(item.get("KeyManagementServiceProductKeyID")):
        p["activated_by"] = "kms"  # the KMS host's ePID is set only by a KMS activation


def _one_object(text: str, cls: str, keys: tuple[str, str]) -> dict[str, Any]:
    """The single CIM object of class `cls` in ConvertTo-Json output (it has one of `keys`)."""
    items = as_records(load_json(text))
    if len(items) != 1:
        raise ParseError(f"expected one {cls} object, got {len(items)}")
    item = items[0]
    if not any(k in item for k in keys):
        raise ParseError(f"not a {cls} object (no {' / '.join(keys)})")
    return item


def parse_cim_service(text: str) -> dict[str, Any]:
    """P2 JSON -> {kms_registered, kms_port, kms_dns, kms_dns_port, client_machine_id, version}."""
    item = _one_object(text, "SoftwareLicensingService", ("Version", "ClientMachineID"))
    registered = _str(item.get("KeyManagementServiceMachine"))
    return {
        "kms_registered": registered,
        "kms_port": (_int(item.get("KeyManagementServicePort")) or None) if registered else None,
        "kms_dns": _str(item.get("DiscoveredKeyManagementServiceMachineName")),
        "kms_dns_port": _int(item.get("DiscoveredKeyManagementServiceMachinePort")) or None,
        "client_machine_id": _str(item.get("ClientMachineID")),
        "version": _str(item.get("Version")),
    }


# Win32_OperatingSystem.ProductType: 1 Work Station, 2 Domain Controller, 3 Server
# (https://learn.microsoft.com/en-us/windows/win32/cimwin32prov/win32-operatingsystem).
PRODUCT_TYPE_WORKSTATION = 1


def parse_cim_os(text: str) -> dict[str, Any]:
    """`Get-CimInstance Win32_OperatingSystem | Select-Object Caption,Version,BuildNumber,
    OperatingSystemSKU,ProductType | ConvertTo-Json` -> {caption, version, build, sku, product_type, server}.

    `sku` is OperatingSystemSKU (GetProductInfo's PRODUCT_* number: 4 Enterprise, 48 Professional,
    7 Server Standard, 8 Server Datacenter ...); `server` is true for ProductType 2 or 3.
    """
    item = _one_object(text, "Win32_OperatingSystem", ("Caption", "Version"))
    version = _str(item.get("Version"))
    build = _int(item.get("BuildNumber"))  # a string in WMI ("19045")
    if build is None and version and version.count(".") >= 2:
        build = _int(version.split(".")[2])
    product_type = _int(item.get("ProductType"))
    return {
        "caption": _str(item.get("Caption")),
        "version": version,
        "build": build,
        "sku": _int(item.get("OperatingSystemSKU")),
        "product_type": product_type,
        "server": None if product_type is None else product_type != PRODUCT_TYPE_WORKSTATION,
    }
