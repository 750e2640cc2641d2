"""The KMS hosts' Windows face: each KMS listener is also a Windows Server 2022 host over WinRM.

Its `slmgr /dlv` prints the KMS host section from the listener's live state (current count from
the requests it received, port, DNS publishing: lab/windows/kmsservice.py), `sc query sppsvc` is
RUNNING while the listener listens, and every activation request it answers is logged as event
12290 in the "Key Management Service" log (Get-WinEvent -FilterHashtable @{LogName='Key Management
Service'; Id=12290}).

Event 12290: log "Applications and Services Logs\\Key Management Service", provider
Microsoft-Windows-Security-Licensing-SLC, message "An activation request has been processed.%nInfo:%n%1"
(Volume Activation Technical Reference, Windows Event Log:
https://learn.microsoft.com/en-us/previous-versions/tn-archive/ff793440(v=technet.10)). The order of
the Info fields (hr, count, N-policy, client FQDN, CMID, client time, VM, status, minutes, activation
id) is unverified beyond the fields that page and https://cnblogs.com/thescentedpath/p/kmseventlog.html
name.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

from remediate.lab.fleet.spec import FleetSpec, KmsHostSpec
from remediate.lab.network.kms import KmsListener, KmsRequest
from remediate.lab.windows.state import WINDOWS_APP_ID, HostState, LicenseStatus, Product, SppEvent

KMS_LOG = "Key Management Service"
KMS_PROVIDER = "Microsoft-Windows-Security-Licensing-SLC"
MAX_EVENTS = 1000  # the face keeps the newest 12290 events (bounded memory)
# A Windows Server 2022 CSVLK: "Description = VOLUME_KMS_WS22 channel" after slmgr /dlv on a 2022
# KMS host (public how-to, code-search id 22774209596). Its products: kms-activation-planning.
CSVLK_CHANNEL = "VOLUME_KMS_WS22"
PROFILE = "kms_host"


def kms_host_state(spec: FleetSpec, k: KmsHostSpec, listener: KmsListener, password: str) -> HostState:
    """The HostState of one KMS host's face, wired to its listener (state.kms_service)."""
    state = HostState(
        name=k.name.upper(),
        domain=spec.domain,
        os_caption="Microsoft Windows Server 2022 Standard",
        os_version="10.0.20348",
        edition_id="ServerStandard",
        username=spec.user,
        password=password,
    )
    digest = hashlib.sha256(f"{spec.seed}:{k.name}:csvlk".encode()).hexdigest().upper()
    key = "-".join(("".join(c for c in digest if c.isalnum()))[i : i + 5] for i in range(0, 25, 5))
    state.windows = Product(
        name="Windows(R), ServerStandard edition",
        description=f"Windows(R) Operating System, {CSVLK_CHANNEL} channel",
        application_id=WINDOWS_APP_ID,
        activation_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"lab-csvlk:{CSVLK_CHANNEL}")),
        channel=CSVLK_CHANNEL,
        product_key=key,
        status=LicenseStatus.LICENSED,
        status_reason=0,
        grace_minutes=0,
        activated_by="online",
    )
    state.kms_service = listener
    listener.on_request.append(lambda req, count: _log_12290(state, req, count))
    return state


def _log_12290(state: HostState, req: KmsRequest, count: int) -> None:
    hr = req.answer.split()[1] if req.answer.startswith("ERR") else "0x0"
    when: datetime = req.when
    stamp = f"{when.year}/{when.month}/{when.day} {when.hour}:{when.minute:02d}"
    cmid = uuid.uuid5(uuid.NAMESPACE_DNS, "cmid." + req.client_fqdn.lower())  # the client's own CMID
    info = (
        f"{hr}, {count}, {req.n_policy}, {req.client_fqdn}, {cmid}, {stamp}, 0, 2, 43200, {req.activation_id}"
    )
    state.events.append(
        SppEvent(
            12290,
            when,
            "Information",
            f"An activation request has been processed.\r\nInfo:\r\n{info}",
            provider=KMS_PROVIDER,
            log=KMS_LOG,
        )
    )
    del state.events[:-MAX_EVENTS]
