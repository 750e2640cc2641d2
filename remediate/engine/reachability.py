"""Why a host is unreachable, in the recap's words: one finding per kind of connection failure.

The advice follows the connection: WinRM/PSRP hosts get listener, TLS and port 5985/5986 advice;
SSH hosts get OpenSSH advice (host key / known_hosts, the sshd service, the OpenSSH Server
feature, port 22). Windows OpenSSH setup, service and firewall rule names are from Microsoft:
https://learn.microsoft.com/en-us/windows-server/administration/openssh/openssh_install_firstuse
(Add-WindowsCapability -Online -Name OpenSSH.Server~~~~0.0.1.0; Start-Service sshd;
firewall rule OpenSSH-Server-In-TCP on TCP 22); sshd reads %programdata%\\ssh\\sshd_config:
https://learn.microsoft.com/en-us/windows-server/administration/openssh/openssh_server_configuration
"""

from __future__ import annotations

from remediate.core.diagnosis import Diagnosis


def unreachable_diagnosis(reason: str, connection: str, port: int | None = None) -> Diagnosis:
    """Turn the engine's unreachable reason into a finding the recap can group by.

    `connection` is the spec's connection (`winrm`, `psrp`, `ssh`); `port`, when known, the port
    that was tried (else the transport's default is named).
    """
    r = reason.lower()
    if "lockout guard" in r:
        return Diagnosis(
            None,
            "Credential disabled (lockout guard)",
            "Not attempted: this credential already failed authentication on other hosts in this run.",
            "Fix the credential, then re-run the unreachable hosts (--limit @failed-hosts.txt).",
            False,
        )
    if connection == "ssh":
        return _ssh(r, port or 22)
    via = "WinRM (PSRP)" if connection == "psrp" else "WinRM"
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
    ports = str(port) if port else "5985/5986"
    return Diagnosis(
        None,
        f"{via} not reachable",
        f"No {via} connection could be made.",
        f"Check the host is up, its {via} listener (winrm quickconfig) and TCP {ports} in the firewalls.",
        False,
    )


def _ssh(r: str, port: int) -> Diagnosis:
    if r.startswith("authentication failed"):
        return Diagnosis(
            None,
            "Authentication failed",
            "The host rejected the credential over SSH (password authentication).",
            "Check the account and password for this host, and that sshd allows password logins "
            "(PasswordAuthentication in %programdata%\\ssh\\sshd_config); "
            "repeated failures lock AD accounts.",
            False,
        )
    if r.startswith("certificate rejected"):  # the SSH transport's host key verification failure
        return Diagnosis(
            None,
            "SSH host key not trusted",
            "Host key verification failed: the host's SSH key is not in the known_hosts file, "
            "or differs from the key recorded there.",
            "Check the key's fingerprint on the host, then add it to the known_hosts file "
            "(remediate_ssh_known_hosts, else ~/.ssh/known_hosts); a changed key means a reinstalled "
            "host or an impostor. For this host only: ansible_ssh_host_key_checking: false.",
            False,
        )
    return Diagnosis(
        None,
        "SSH not reachable",
        f"No SSH connection could be made on TCP {port}.",
        "Check the host is up, the OpenSSH Server feature is installed "
        "(Add-WindowsCapability -Online -Name OpenSSH.Server~~~~0.0.1.0), the sshd service runs "
        f"(Start-Service sshd; startup type Automatic) and TCP {port} is open in the firewalls "
        "(rule OpenSSH-Server-In-TCP).",
        False,
    )
