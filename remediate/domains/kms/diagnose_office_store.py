"""Office's license store (C:\\ProgramData\\Microsoft\\OfficeSoftwareProtectionPlatform) unusable:
ospp.vbs is refused (access denied / store error) and the folder's ACL lacks NETWORK SERVICE, the
account osppsvc runs as, so the service cannot start.

The repair (office-kms.yml, only with repair_office_store: true) grants NETWORK SERVICE full
control on the folder again, starts osppsvc and activates Office: a permission change on a system
folder is the admin's call, so it is opt-in. No Microsoft article for this exact repair was found
in public sources (docs/lab-commands.md lists it as unverified); the steps are the ones public
reports give for OSPP/SPP store permission failures (github.com/yerongai/office-tool/issues/34).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.domains.kms.evidence import as_map, code_of
from remediate.domains.kms.network import diag

# ospp /dstatus refused as a whole: access denied (osppsvc cannot start), or a damaged store
STORE_CODES = frozenset({"0x80070005", "0xC004F012"})
FOLDER = "C:\\ProgramData\\Microsoft\\OfficeSoftwareProtectionPlatform"


def office_store_findings(facts: Mapping[str, Any], variables: Mapping[str, Any]) -> list[Diagnosis]:
    office = as_map(facts.get("office"))
    code = code_of(office.get("error_code"))
    if code not in STORE_CODES or office.get("products"):
        return []
    acl = as_map(facts.get("office_store_acl"))
    svc = as_map(facts.get("osppsvc"))
    ev = [f"ospp /dstatus: {code}"]
    if svc:
        ev.append(f"osppsvc: {svc.get('state')} (exit code {svc.get('exit_code')})")
    if not acl or acl.get("network_service_full"):
        return [
            diag(
                "office.store_damaged", code,
                "Office's licensing service cannot use its store, and the store folder's permissions "
                "look right.",
                f"Check osppsvc (sc query osppsvc) and the files in {FOLDER}; repairing the Office "
                "installation (Programs and Features > Change > Repair) rebuilds the store.",
                False, [*ev, *(["NETWORK SERVICE has full control"] if acl else [])],
            )
        ]  # fmt: skip
    opted_in = variables.get("repair_office_store") is True
    return [
        diag(
            "office.store_permissions", code,
            f"NETWORK SERVICE, the account osppsvc runs as, has no rights on {FOLDER}: the Office "
            "licensing service cannot start, so Office cannot read or renew its licence.",
            f"icacls \"{FOLDER}\" /grant *S-1-5-20:(OI)(CI)(F) /T, net start osppsvc, then ospp.vbs /act "
            + ("(office-kms.yml, opted in)." if opted_in
               else "(office-kms.yml with -e repair_office_store=true)."),
            opted_in, [*ev, "icacls: no NETWORK SERVICE entry"],
        )
    ]  # fmt: skip
