"""Playbook loading: the valid shape, and every bad case file fails with its file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from remediate.core.errors import ConfigError
from remediate.core.playbook import DEFAULT_TIMEOUT, Playbook, parse_duration

CASES = Path(__file__).parent.parent / "cases" / "playbooks"

GOOD = """\
name: Windows KMS activation
targets: windows
vars: {kms_host: "", kms_port: 1688}
diagnose: kms
checks:
  - id: license
    shell: cmd
    run: cscript //nologo %SystemRoot%\\System32\\slmgr.vbs /dli
    parse: json
    expect: "facts.license.products[0].license_status == 'licensed'"
    description: License status
  - id: clock
    run: Get-Date -Format o
    timeout: 90s
fixes:
  - id: set-kms
    addresses: [kms.no_srv, kms.wrong_kms_host]
    when: "kms_host and facts.license.products[0].kms_registered != kms_host"
    shell: cmd
    run: cscript //nologo %SystemRoot%\\System32\\slmgr.vbs /skms {{ kms_host }}:{{ kms_port }}
    describe: "KMS host {{ facts.license.products[0].kms_registered or 'auto' }} -> {{ kms_host }}"
verify: [license]
"""


def test_valid_playbook_loads(tmp_path: Path) -> None:
    f = tmp_path / "kms.yml"
    f.write_text(GOOD)
    pb = Playbook.load(f)
    assert pb.name == "Windows KMS activation" and pb.targets == "windows" and pb.diagnose == "kms"
    assert pb.vars == {"kms_host": "", "kms_port": 1688}
    assert [c.id for c in pb.checks] == ["license", "clock"]
    lic, clock = pb.checks
    assert (lic.shell, lic.parse, lic.timeout, lic.line, lic.description) == (
        "cmd",
        "json",
        DEFAULT_TIMEOUT,
        6,
        "License status",
    )
    assert (clock.shell, clock.timeout, clock.expect) == ("powershell", 90.0, None)
    (fix,) = pb.fixes
    assert fix.id == "set-kms" and fix.when and fix.describe and fix.line == 16
    assert pb.verify == ["license"]


def test_verify_defaults_to_every_check_when_there_are_fixes(tmp_path: Path) -> None:
    f = tmp_path / "p.yml"
    f.write_text(GOOD.replace("verify: [license]\n", ""))
    assert Playbook.load(f).verify == ["license", "clock"]


def test_duration_parsing() -> None:
    assert parse_duration(5) == 5.0 and parse_duration("2m") == 120.0 and parse_duration("500ms") == 0.5
    for bad in ("soon", 0, -1, True):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yml")), ids=lambda p: p.name)
def test_bad_playbook_case(case: Path) -> None:
    first = case.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{case} needs an '# expect: ' first line"
    expected = first.removeprefix("# expect: ")
    with pytest.raises(ConfigError) as info:
        Playbook.load(case)
    err = info.value
    assert err.file == str(case) and err.line is not None
    assert str(err).startswith(str(case) + expected), str(err)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        Playbook.load(tmp_path / "nope.yml")
