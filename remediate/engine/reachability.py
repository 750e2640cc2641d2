"""Why a host is unreachable, in the recap's words: one finding per kind of connection failure."""

from __future__ import annotations

from remediate.diagnosis import Diagnosis


def unreachable_diagnosis(reason: str, connection: str) -> Diagnosis:
    """Turn the engine's unreachable reason into a finding the recap can group by."""
    r = reason.lower()
    via = {"ssh": "SSH", "psrp": "WinRM (PSRP)"}.get(connection, "WinRM")
    if "lockout guard" in r:
        return Diagnosis(
            None,
            "Credential disabled (lockout guard)",
            "Not attempted: this credential already failed authentication on other hosts in this run.",
            "Fix the credential, then re-run the unreachable hosts (--limit @failed-hosts.txt).",
            False,
        )
    if r.startswith("authentication failed"):
        return Diagnosis(
            None,
            "Authentication failed",
            f"The host rejected the credential over {via}.",
            "Check the account, password and auth method for this host; repeated failures lock AD accounts.",
            False,
        )
    if r.startswith("certificate rejected"):
        return Diagnosis(
            None,
            "TLS certificate not trusted",
            "The host's HTTPS certificate did not validate.",
            "Give the issuing CA (ansible_winrm_ca_trust_path) or, for this host only, "
            "ansible_winrm_server_cert_validation: ignore.",
            False,
        )
    port = "22" if connection == "ssh" else "5985/5986"
    return Diagnosis(
        None,
        f"{via} not reachable",
        f"No {via} connection could be made.",
        f"Check the host is up, its {via} listener (winrm quickconfig) and TCP {port} in the firewalls.",
        False,
    )
