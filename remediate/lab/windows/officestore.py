"""The Office license store folder and its service: `icacls` on
C:\\ProgramData\\Microsoft\\OfficeSoftwareProtectionPlatform, `sc query osppsvc`, `net start osppsvc`.

Office's Software Protection Platform service (osppsvc) runs as NETWORK SERVICE and keeps its
store (tokens.dat) in that folder; when NETWORK SERVICE loses its rights there (a hardening script,
a restored image) the service cannot start and ospp.vbs fails with access denied.

Formats:
- icacls listing: "<path> <principal>:(OI)(CI)(F)", continuation lines indented to the path's
  width, a blank line, "Successfully processed 1 files; Failed processing 0 files" (Puppet's
  Windows ACL docs, `icacls c:\\tempperms`; the same in HTB's Windows Fundamentals notes); a
  grant prints "processed file: <path>" then the same summary (hacktricks, integrity levels).
  `*S-1-5-20` is NETWORK SERVICE's SID (icacls help: "If you use a numerical form, affix the
  wildcard character * to the beginning of the SID").
- sc query: the layout of w32tm.py's (datahunter.org/w32tm); osppsvc is its own process
  (TYPE 10 WIN32_OWN_PROCESS).
Unverified (docs/lab-commands.md): the folder's default ACL beyond NETWORK SERVICE / SYSTEM /
Administrators, osppsvc's WIN32_EXIT_CODE 5 after an access-denied start, ospp.vbs printing
0x80070005 "Access is denied." when osppsvc cannot start, and net's osppsvc messages (built like
net's w32time ones in w32tm.py).
"""

from __future__ import annotations

from remediate.lab.windows.state import HostState

FOLDER = "C:\\ProgramData\\Microsoft\\OfficeSoftwareProtectionPlatform"
NETWORK_SERVICE = "NT AUTHORITY\\NETWORK SERVICE"
E_ACCESS_DENIED = 0x80070005
DISPLAY_NAME = "Office Software Protection Platform"
SUMMARY = "Successfully processed 1 files; Failed processing 0 files\r\n"
_BASE_ACL = (
    "NT AUTHORITY\\SYSTEM:(I)(OI)(CI)(F)",
    "BUILTIN\\Administrators:(I)(OI)(CI)(F)",
    "CREATOR OWNER:(I)(OI)(CI)(IO)(F)",
    "BUILTIN\\Users:(I)(OI)(CI)(RX)",
)


def _is_folder(arg: str) -> bool:
    return arg.strip('"').rstrip("\\").lower() == FOLDER.lower()


def acl(state: HostState) -> list[str]:
    entries = list(_BASE_ACL)
    if not state.office_store_broken:
        entries.insert(0, f"{NETWORK_SERVICE}:(OI)(CI)(F)")
    return entries


def run_icacls(state: HostState, args: list[str]) -> tuple[int, str, str] | None:
    """`icacls <folder>` and `icacls <folder> /grant *S-1-5-20:(OI)(CI)(F) [/T] [/C]`; None otherwise."""
    if not args or not _is_folder(args[0]):
        return None
    rest = [a.lower() for a in args[1:]]
    if not rest:
        entries = acl(state)
        pad = " " * (len(FOLDER) + 1)
        lines = [f"{FOLDER} {entries[0]}", *(pad + e for e in entries[1:])]
        return 0, "\r\n".join(lines) + "\r\n\r\n" + SUMMARY, ""
    if rest[0] == "/grant" and len(rest) > 1:
        who, _, perm = rest[1].rpartition(":")
        if who in ("*s-1-5-20", NETWORK_SERVICE.lower(), '"nt authority\\network service"') and "f" in perm:
            state.office_store_broken = False
        return 0, f"processed file: {FOLDER}\r\n" + SUMMARY, ""
    return None


def run_sc_osppsvc(state: HostState, args: list[str]) -> tuple[int, str, str] | None:
    """`sc query osppsvc`; None for anything else."""
    if len(args) != 2 or args[0].lower() != "query" or args[1].lower() != "osppsvc":
        return None
    if state.office_store_broken:
        st, code = "1  STOPPED ", "5  (0x5)"
    else:
        st, code = (
            "4  RUNNING \r\n                                (STOPPABLE, NOT_PAUSABLE, ACCEPTS_SHUTDOWN)",
            "0  (0x0)",
        )
    return (
        0,
        "\r\nSERVICE_NAME: osppsvc \r\n"
        "        TYPE               : 10  WIN32_OWN_PROCESS  \r\n"
        f"        STATE              : {st}\r\n"
        f"        WIN32_EXIT_CODE    : {code}\r\n"
        "        SERVICE_EXIT_CODE  : 0  (0x0)\r\n"
        "        CHECKPOINT         : 0x0\r\n"
        "        WAIT_HINT          : 0x0\r\n",
        "",
    )


def run_net_osppsvc(state: HostState, args: list[str]) -> tuple[int, str, str] | None:
    """`net start osppsvc`: starts once the folder's rights are back; None for anything else."""
    if len(args) != 2 or args[0].lower() != "start" or args[1].lower() != "osppsvc":
        return None
    if state.office_store_broken:
        return (
            2,
            "",
            f"The {DISPLAY_NAME} service could not be started.\r\n\r\n"
            "System error 5 has occurred.\r\n\r\nAccess is denied.\r\n",
        )
    return (
        0,
        f"The {DISPLAY_NAME} service is starting.\r\n"
        f"The {DISPLAY_NAME} service was started successfully.\r\n\r\n",
        "",
    )
