"""Kerberos end to end: a real MIT KDC on loopback, the lab accepting HTTP/<fqdn> tickets from its
keytab, and remediate's native winrm client and pypsrp logging on with a shared ticket cache.

The KDC's own log is the witness for logons: `PREAUTH_FAILED` lines are wrong passwords the
realm saw (what an AD account lockout counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from remediate import app
from remediate.core.errors import ConfigError, ConnectError
from remediate.core.model import ConnectionSpec
from remediate.core.results import RunResult
from remediate.demo import VARIABLES, expected
from remediate.engine import RunOptions
from remediate.lab.fleet.spec import FleetSpec
from remediate.lab.network.kdc import MitKdc
from remediate.lab.runtime import LabThread
from remediate.lab.wire import kerberos as lab_kerberos
from remediate.transports import kerberos
from remediate.transports.winrs_async import AsyncWinRMTransport
from tests.integration import kerberos_env

PW = "Lab-Passw0rd!"
PROFILES = {
    "healthy": 30, "slow": 5, "wrong_kms_host": 10, "no_srv": 10, "non_vl_key": 10, "kms_unreachable": 5,
    "broken_store": 5, "clock_skew": 5, "winrm_down": 5, "auth_fail": 10, "office_unactivated": 5,
}  # fmt: skip
FLEET: dict[str, Any] = {
    "hosts": 50, "seed": 7, "password": PW, "latency": "zero", "slow_seconds": 0.2, "profiles": PROFILES,
    "channels": {"VOLUME_MAK": 20, "RETAIL": 10},
}  # fmt: skip
KERBEROS_VARS = {"ansible_connection": "winrm", "ansible_winrm_transport": "kerberos"}


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MitKdc, LabThread]]:
    why = kerberos_env.ensure()
    if why:
        pytest.skip(f"Kerberos tests: {why}")
    workdir = tmp_path_factory.mktemp("kerberos")
    with LabThread(FleetSpec.from_dict(FLEET), workdir / "lab") as lab:
        kdc = MitKdc(workdir / "kdc", domain=lab.spec.domain)
        kdc.create({lab.spec.user: PW}, [h.state.fqdn for h in lab.hosts.values()])
        kdc.start()
        kdc.apply_env()
        lab_kerberos.enable(kdc.keytab)
        try:
            yield kdc, lab
        finally:
            lab_kerberos.disable()
            kdc.stop()


def inventory(lab: LabThread, path: Path, extra: dict[str, Any], *, spn_override: bool = True) -> Path:
    """The lab's inventory; each host keeps ansible_host 127.0.0.1 and names its SPN host."""
    inv = lab.inventory()
    for group in inv["all"]["children"].values():
        for hv in (group.get("hosts") or {}).values():
            if spn_override and "lab_fqdn" in hv:
                hv["ansible_winrm_kerberos_hostname_override"] = hv["lab_fqdn"]
                hv["ansible_psrp_negotiate_hostname_override"] = hv["lab_fqdn"]
    inv["all"]["children"]["windows"]["vars"].update(extra)
    path.write_text(yaml.safe_dump(inv))
    return path


def run(inv: Path, book: str, *, apply: bool, extra_vars: list[str] | None = None, limit: str | None = None,
        forks: int = 50) -> RunResult:  # fmt: skip
    targets = app.load(book, inv, extra_vars=extra_vars or [], limit=limit)
    return asyncio.run(app.run(targets, RunOptions(apply=apply, forks=forks, retry_backoff=0.05)))


@pytest.mark.timeout(240)
def test_windows_kms_over_kerberos_on_50_hosts(realm: tuple[MitKdc, LabThread], tmp_path: Path) -> None:
    kdc, lab = realm
    inv = inventory(lab, tmp_path / "inv.yml", KERBEROS_VARS)
    channels = {
        n: (h.state.windows.channel, int(h.state.windows.status) == 1)
        for n, h in lab.hosts.items()
        if h.state.windows is not None
    }
    profiles = {n: h.profile for n, h in lab.hosts.items()}
    logons = kerberos.TICKETS.logons
    result = run(inv, "windows-kms.yml", apply=True, extra_vars=VARIABLES["windows-kms.yml"])

    wrong: list[str] = []
    for hr in result.hosts:
        channel, licensed = channels.get(hr.host, ("VOLUME_KMSCLIENT", False))
        exp = expected(profiles[hr.host], channel, licensed)
        assert exp is not None, hr.host
        titles = {d.title for d in hr.diagnosis}
        if hr.verdict != exp.windows or (exp.diagnosis and exp.diagnosis not in titles):
            wrong.append(f"{hr.host} {profiles[hr.host]}: {hr.verdict} ({hr.error}), expected {exp.windows}")
    assert len(result.hosts) == 50 and not wrong, wrong
    assert sum(hr.verdict == "fixed" for hr in result.hosts) >= 10
    # One logon (AS exchange) for the 40 hosts' credential, not one per host.
    assert kerberos.TICKETS.logons - logons <= 1
    assert len([line for line in kdc.log_lines("ISSUE: authtime") if "AS_REQ" in line]) == 1
    tgs = kdc.log_lines("TGS_REQ")
    assert any("HTTP/win-" in line for line in tgs)  # service tickets for HTTP/<fqdn>
    # The auth_fail hosts hold a stale password: the KDC saw at most 3 of them (lockout guard).
    failed = [hr for hr in result.hosts if profiles[hr.host] == "auth_fail"]
    assert len(failed) >= 4
    assert len(kdc.log_lines("PREAUTH_FAILED")) == 3


@pytest.mark.timeout(120)
def test_wrong_password_counted_by_the_kdc_stops_after_3(
    realm: tuple[MitKdc, LabThread], tmp_path: Path
) -> None:
    kdc, lab = realm
    before = len(kdc.log_lines("PREAUTH_FAILED"))
    extra = {**KERBEROS_VARS, "ansible_user": lab.spec.user, "ansible_password": "Wrong-Kerb3ros!"}
    healthy = sorted(h.name for h in lab.hosts_with("healthy"))
    assert len(healthy) >= 10
    result = run(inventory(lab, tmp_path / "inv.yml", extra), "windows-kms.yml", apply=False,
                 limit=",".join(healthy))  # fmt: skip
    failures = kdc.log_lines("PREAUTH_FAILED")[before:]
    assert len(failures) == 3, failures
    assert all(f"{lab.spec.user}@{kdc.realm} for krbtgt/{kdc.realm}" in line for line in failures)
    assert [h.verdict for h in result.hosts] == ["unreachable"] * len(healthy)
    refused = [h for h in result.hosts if "pre-authentication failed" in (h.error or "")]
    locked = [h for h in result.hosts if "disabled after 3 authentication failures" in (h.error or "")]
    assert (len(refused), len(locked)) == (3, len(healthy) - 3)


@pytest.mark.timeout(120)
def test_psrp_over_kerberos(realm: tuple[MitKdc, LabThread], tmp_path: Path) -> None:
    kdc, lab = realm
    # Drop the cached TGT: pypsrp's three hosts must share one new logon.
    kerberos.TICKETS.forget(ConnectionSpec(host="-", address="-", user=lab.spec.user, password=PW))
    issued = len(kdc.log_lines("ISSUE: authtime"))
    extra = {"ansible_connection": "psrp", "ansible_psrp_auth": "kerberos", "ansible_psrp_protocol": "http"}
    hosts = sorted(h.name for h in lab.hosts_with("healthy"))[:3]
    result = run(inventory(lab, tmp_path / "inv.yml", extra), "windows-kms.yml", apply=False,
                 limit=",".join(hosts))  # fmt: skip
    assert {h.host: h.verdict for h in result.hosts} == dict.fromkeys(hosts, "compliant"), [
        h.error for h in result.hosts
    ]
    assert all(h.facts.get("license") for h in result.hosts)
    as_issued = [line for line in kdc.log_lines("ISSUE: authtime")[issued:] if "AS_REQ" in line]
    assert len(as_issued) == 1, as_issued


@pytest.mark.timeout(60)
def test_a_host_given_by_ip_needs_a_host_name(realm: tuple[MitKdc, LabThread], tmp_path: Path) -> None:
    kdc, lab = realm
    before = len(kdc.log_lines("AS_REQ")) + len(kdc.log_lines("TGS_REQ"))
    host = sorted(h.name for h in lab.hosts_with("healthy"))[0]
    inv = inventory(lab, tmp_path / "inv.yml", KERBEROS_VARS, spn_override=False)
    with pytest.raises(ConfigError, match="Kerberos needs a host name, not the address '127"):
        app.load("windows-kms.yml", inv, limit=host)
    # The transport refuses too (a spec built without the inventory): before any connection.
    spec = ConnectionSpec(host=host, address="127.0.0.1", port=1, auth="kerberos", user="admin", password=PW)
    with pytest.raises(ConnectError, match="Kerberos needs a host name"):
        asyncio.run(AsyncWinRMTransport(spec).connect())
    assert len(kdc.log_lines("AS_REQ")) + len(kdc.log_lines("TGS_REQ")) == before  # nothing asked
