"""Unreachable advice follows the connection: SSH hosts hear about SSH, never WinRM or TLS."""

from __future__ import annotations

import pytest

from remediate.core.diagnosis import Diagnosis
from remediate.core.errors import AuthenticationError, CertificateError, ConnectError
from remediate.core.playbook import Check, Playbook
from remediate.engine import RunOptions, run_playbook
from remediate.engine.reachability import unreachable_diagnosis
from remediate.inventory import Host
from remediate.inventory.credentials import CredentialResolver
from remediate.transports.fake import FakeFleet

# The reasons the engine's connect() gives (remediate/engine/connect.py), SSH transport wording.
HOST_KEY = "certificate rejected: ssh: host key not trusted (Host key is not trusted for host 10.0.0.5)"
AUTH = "authentication failed: ssh: credentials rejected (Permission denied)"
REFUSED = (
    "connection failed after 3 attempts: ssh: cannot connect to 10.0.0.5: [Errno 111] Connect call failed"
)
WINRM_WORDS = ("winrm", "tls", "https", "5985", "5986", "certificate", "ca_trust")


def text(d: Diagnosis) -> str:
    return f"{d.title} {d.cause} {d.action}"


@pytest.mark.parametrize("reason", [HOST_KEY, AUTH, REFUSED])
def test_ssh_advice_never_talks_winrm(reason: str) -> None:
    t = text(unreachable_diagnosis(reason, "ssh")).lower()
    assert not [w for w in WINRM_WORDS if w in t], t


def test_ssh_host_key_advice() -> None:
    d = unreachable_diagnosis(HOST_KEY, "ssh")
    assert d.title == "SSH host key not trusted"
    assert "known_hosts" in d.action and "remediate_ssh_known_hosts" in d.action
    assert "Host key verification failed" in d.cause


def test_ssh_not_reachable_advice() -> None:
    d = unreachable_diagnosis(REFUSED, "ssh")
    assert d.title == "SSH not reachable"
    for word in ("OpenSSH Server", "sshd", "TCP 22", "OpenSSH-Server-In-TCP"):
        assert word in d.action
    assert "TCP 2222" in unreachable_diagnosis(REFUSED, "ssh", port=2222).action


def test_ssh_auth_advice() -> None:
    d = unreachable_diagnosis(AUTH, "ssh")
    assert "over SSH" in d.cause and "sshd_config" in d.action


def test_winrm_advice_unchanged() -> None:
    assert unreachable_diagnosis("certificate rejected: x", "winrm").title == "TLS certificate not trusted"
    d = unreachable_diagnosis("connection failed: refused", "psrp")
    assert d.title == "WinRM (PSRP) not reachable" and "5985/5986" in d.action


@pytest.mark.parametrize(
    ("error", "title"),
    [
        (CertificateError("ssh: host key not trusted (Host key is not trusted)"), "SSH host key not trusted"),
        (AuthenticationError("ssh: credentials rejected (Permission denied)"), "Authentication failed"),
        (ConnectError("ssh: cannot connect to 127.0.0.1: refused"), "SSH not reachable"),
    ],
)
async def test_engine_attaches_ssh_advice_to_ssh_hosts(error: Exception, title: str) -> None:
    fleet = FakeFleet()
    fleet.host("s1").connect_errors = [error] * 5
    host = Host(
        name="s1",
        groups=[],
        vars={
            "ansible_host": "127.0.0.1",
            "ansible_connection": "ssh",
            "ansible_user": "a",
            "ansible_password": "pw",
        },
    )
    pb = Playbook("p", "p.yml", "all", {}, [Check("c", "x", "cmd", None, None, 5.0, None, 1)], [], [], None)
    r = await run_playbook(
        pb, [host], RunOptions(retries=0), credentials=CredentialResolver(), transport_factory=fleet.factory
    )
    [hr] = r.hosts
    assert hr.verdict == "unreachable" and [d.title for d in hr.diagnosis] == [title]
    assert not [w for w in WINRM_WORDS if w in text(hr.diagnosis[0]).lower()]
