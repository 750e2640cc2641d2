"""Basic over http refused unless opted in; TLS/host-key opt-outs become run warnings; inventory
errors speak YAML (a list), not internal class names (PosList)."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.core.errors import ConfigError
from remediate.core.results import RunResult
from remediate.inventory import Inventory
from remediate.inventory.connection import build_spec, security_warnings
from remediate.inventory.model import Host


def _host(name: str, **v: object) -> Host:
    return Host(name, dict(v), [])


@pytest.mark.parametrize(
    "v",
    [
        {"ansible_winrm_transport": "basic", "ansible_winrm_scheme": "http"},
        {"ansible_winrm_transport": "basic", "ansible_port": 5985},
        {"ansible_connection": "psrp", "ansible_psrp_auth": "basic", "ansible_psrp_protocol": "http"},
    ],
)
def test_basic_over_http_is_refused_unless_opted_in(v: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="clear text"):
        build_spec(_host("w1", **v), password=None, credential_id=None)
    spec = build_spec(_host("w1", **v, remediate_allow_basic_http=True), password=None, credential_id=None)
    assert spec.auth == "basic" and spec.scheme == "http"
    assert any("Basic" in w for w in security_warnings({"w1": spec}))


def test_opt_outs_warn_once_per_run_naming_hosts() -> None:
    specs = {
        f"w{i}": build_spec(
            _host(f"w{i}", ansible_winrm_scheme="https", ansible_winrm_server_cert_validation="ignore"),
            password=None,
            credential_id=None,
        )
        for i in range(8)
    }
    specs["s1"] = build_spec(
        _host("s1", ansible_connection="ssh", ansible_ssh_host_key_checking=False),
        password=None,
        credential_id=None,
    )
    specs["ok"] = build_spec(_host("ok", ansible_winrm_scheme="https"), password=None, credential_id=None)
    warnings = security_warnings(specs)
    assert len(warnings) == 2
    assert "certificate validation is off" in warnings[0]
    assert warnings[0].endswith(": 8 host(s): w0, w1, w2, w3, w4 and 3 more")
    assert "host key checking is off" in warnings[1] and warnings[1].endswith(": 1 host(s): s1")
    run = RunResult(playbook="p", mode="dry_run", started=0.0, warnings=warnings)
    assert RunResult.from_dict(run.to_dict()).warnings == warnings


def test_list_value_error_names_a_list(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    w1:\n      ansible_host: [10.0.0.1]\n")
    with pytest.raises(ConfigError) as info:
        for host in Inventory.load(inv).hosts.values():
            build_spec(host, password=None, credential_id=None)
    assert "got a list" in str(info.value) and "PosList" not in str(info.value)
