"""Estate profiles: what a real volume-licensed estate has besides KMS-path faults.

- office_store_damage: volume Office (MSI) whose license store folder lost NETWORK SERVICE's rights:
  osppsvc cannot start, ospp.vbs is refused (officestore.py); its products are not licensed (the
  7-day renewals failed). office-kms.yml repairs it only when asked (repair_office_store: true).
- office_c2r: Click-to-Run retail (grace SKU before sign-in) or Microsoft 365 Apps (subscription):
  nothing for KMS to do; the diagnosis labels them and no KMS fix runs.
- adba: Windows activated by an Active Directory activation object (slmgr /ao-list on a DC lists
  it); labelled, left alone.
- cloned_cmid: every host of the profile was cloned from one image that was not generalized: they
  report the same ClientMachineID (a fleet-level finding names it).
"""

from __future__ import annotations

import random
import uuid

from remediate.lab.fleet.picks import Pick
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.windows.state import HostState, LicenseStatus, Product

OFFICE_PROFILES = ("office_store_damage", "office_c2r")  # profiles that need Office installed


def office_kind(spec: FleetSpec, name: str, pick: Pick) -> str | None:
    """The Office kind the profile needs (None: the pick's own)."""
    if pick.profile == "office_store_damage":
        return "msi"
    if pick.profile == "office_c2r" and pick.office_kind not in ("c2r_retail", "m365"):
        rng = random.Random(f"{spec.seed}:{name}:c2r")  # noqa: S311 - seeded on purpose
        return rng.choice(("c2r_retail", "m365"))
    return None


def shape_windows(pick: Pick, win: Product) -> None:
    """adba: a KMS-client Windows activated by AD instead (before its licence state is set)."""
    if pick.profile == "adba" and win.channel == "VOLUME_KMSCLIENT":
        win.activated_by = "ad"


def shape_state(spec: FleetSpec, state: HostState, pick: Pick) -> None:
    """After the products exist: the Office store fault, the shared CMID."""
    if pick.profile == "office_store_damage":
        state.office_store_broken = True
        for inst in state.office:
            for p in inst.products:
                if p.is_kms_client:  # licensed earlier; every renewal since failed (access denied)
                    p.status, p.status_reason, p.grace_minutes = LicenseStatus.NOTIFICATION, 0x80070005, 0
                    p.licensed_until, p.kms_pid = None, None
    if pick.profile == "cloned_cmid":
        state.client_machine_id = str(
            uuid.uuid5(uuid.NAMESPACE_DNS, f"golden-image.{spec.seed}.{spec.domain}")
        )
