"""The KMS host section of slmgr /dli and /dlv, and `sc query sppsvc`, on a KMS host's face.

Strings and layout follow slmgr.vbs DisplayKMSInfo (L_MsgKmsEnabled, L_MsgKmsCurrentCount,
L_MsgKmsListeningOnPort, L_MsgKmsDnsPublishingEnabled/Disabled, L_MsgKmsPriNormal/Low,
L_MsgKmsCumulativeRequestsFromClients, L_MsgKmsRequestsWithStatus*: a blank line before each block,
four-space indents) and Microsoft's samples
(https://learn.microsoft.com/en-us/office/volume-license-activation/configure-a-kms-host-computer-for-office,
https://learn.microsoft.com/en-us/previous-versions/tn-archive/ff793426(v=technet.10)).
English only (no localized KMS host output found in public sources).
"""

from __future__ import annotations

from remediate.lab.windows.state import KmsService

_STATUS_LINES = (
    "Requests with License Status Unlicensed: ",
    "Requests with License Status Licensed: ",
    "Requests with License Status Initial grace period: ",
    "Requests with License Status License expired or Hardware out of tolerance: ",
    "Requests with License Status Non-genuine grace period: ",
    "Requests with License Status Notification: ",
)


def kms_host_lines(svc: KmsService) -> list[str]:
    """The lines slmgr prints for a machine whose product holds a KMS host key (CSVLK)."""
    counters = svc.counters()
    total, failed = counters.get("total", 0), counters.get("failed", 0)
    # The lab's clients ask from their initial grace period; the KMS host files each request by
    # the status the client reports, so every request counts there.
    by_status = [0, 0, total, 0, 0, 0]
    return [
        "",
        "Key Management Service is enabled on this machine",
        f"    Current count: {svc.current_count}",
        f"    Listening on Port: {svc.port}",
        "    " + ("DNS publishing enabled" if svc.dns_publishing else "DNS publishing disabled"),
        "    " + ("KMS priority: Low" if svc.low_priority else "KMS priority: Normal"),
        "",
        "Key Management Service cumulative requests received from clients",
        f"    Total requests received: {total}",
        f"    Failed requests received: {failed}",
        *(f"    {label}{n}" for label, n in zip(_STATUS_LINES, by_status, strict=True)),
    ]


def sc_query_sppsvc(running: bool) -> str:
    """`sc query sppsvc`: the STOPPED shape is a real paste (public GitHub write-up of `sc query`,
    code-search id 8563445438); RUNNING uses the real Spooler entry's layout with sppsvc's type
    (its control flags are unverified)."""
    if running:
        state = "4  RUNNING \r\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)"
    else:
        state = "1  STOPPED "
    return (
        "\r\nSERVICE_NAME: sppsvc \r\n"
        "        TYPE               : 10  WIN32_OWN_PROCESS  \r\n"
        f"        STATE              : {state}\r\n"
        "        WIN32_EXIT_CODE    : 0  (0x0)\r\n"
        "        SERVICE_EXIT_CODE  : 0  (0x0)\r\n"
        "        CHECKPOINT         : 0x0\r\n"
        "        WAIT_HINT          : 0x0\r\n"
    )
