"""Typed variables: every type's conversion, Ansible's boolean table, -e parsing, inventory values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from remediate.core.errors import ConfigError
from remediate.core.playbook import Playbook
from remediate.core.variables import (
    VarSpec,
    VarType,
    apply_types,
    convert,
    parse_extra_vars,
    typed_extra_vars,
    typed_host_vars,
)
from remediate.inventory import Inventory


def conv(type_: VarType, value: Any, choices: tuple[str, ...] | None = None) -> Any:
    return convert(VarSpec("v", type_, choices=choices), value, "-e v")


def bad(type_: VarType, value: Any, choices: tuple[str, ...] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        conv(type_, value, choices)
    return str(info.value)


# Ansible's table (module_utils/parsing/convert_bool.py): strings lower-cased and stripped.
@pytest.mark.parametrize(
    "value",
    ["y", "Y", "yes", "YES", " yes ", "on", "On", "1", "true", "True", "TRUE", "t", "T", 1, 1.0, True],
)
def test_bool_true(value: Any) -> None:
    assert conv("bool", value) is True


@pytest.mark.parametrize(
    "value", ["n", "N", "no", "No", "off", "OFF", "0", "false", "False", "FALSE", "f", "F", 0, 0.0, False]
)
def test_bool_false(value: Any) -> None:
    assert conv("bool", value) is False


@pytest.mark.parametrize("value", ["maybe", "", "2", "yes please", "enabled", 2, 0.5, None, [], {"a": 1}])
def test_bool_strict(value: Any) -> None:
    assert "expected a boolean (true/false, yes/no, on/off, 1/0)" in bad("bool", value)


def test_error_names_variable_source_and_accepted_values() -> None:
    assert bad("bool", "maybe") == ("-e v: expected a boolean (true/false, yes/no, on/off, 1/0), got 'maybe'")
    with pytest.raises(ConfigError) as info:
        convert(VarSpec("kms_port", "port"), "abc", "host w1: hosts.w1.kms_port", file="inv.yml", line=7)
    assert (
        str(info.value)
        == "inv.yml:7: host w1: hosts.w1.kms_port: expected a port number (1-65535), got 'abc'"
    )


def test_int() -> None:
    assert conv("int", "14400") == 14400 and conv("int", " -5 ") == -5
    assert conv("int", 7) == 7 and conv("int", 3.0) == 3
    for value in ("abc", "1e3", "1.5", 1.5, "", True, None, [1]):
        assert "expected an integer" in bad("int", value)
    assert "a boolean is not a number" in bad("int", True)


def test_port() -> None:
    assert conv("port", "1688") == 1688 and conv("port", 1) == 1 and conv("port", 65535) == 65535
    for value in (0, "65536", -1, "abc", False):
        assert "expected a port number (1-65535)" in bad("port", value)


def test_str() -> None:
    assert conv("str", "HKLM\\SOFTWARE\\x") == "HKLM\\SOFTWARE\\x"
    assert conv("str", 10) == "10" and conv("str", None) == ""
    assert "quote it" in bad("str", True)
    assert "expected a string" in bad("str", ["a"])
    assert conv("str", "a", ("a", "b")) == "a"
    assert bad("str", "c", ("a", "b")) == "-e v: expected one of a, b, got 'c'"


def test_list() -> None:
    assert conv("list", "VOLUME_MAK, RETAIL,,") == ["VOLUME_MAK", "RETAIL"]
    assert conv("list", "") == [] and conv("list", None) == [] and conv("list", []) == []
    assert conv("list", ["a", 1]) == ["a", "1"]
    for value in ({"a": 1}, [["a"]], [True], True, 5):
        assert "expected a list" in bad("list", value)
    assert conv("list", "VOLUME_MAK", ("VOLUME_MAK",)) == ["VOLUME_MAK"]
    assert "expected one of VOLUME_MAK, got 'RETAIL'" in bad("list", "VOLUME_MAK,RETAIL", ("VOLUME_MAK",))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "kms01",
        "KMS01.corp.example",
        "kms01.corp.example.",
        "kms_01.lab",
        "10.0.0.5",
        "fe80::1",
        "xn--bcher-kva.example",
    ],
)
def test_host_valid(value: str) -> None:
    assert conv("host", value) == value
    assert conv("host", None) == ""


@pytest.mark.parametrize(
    "value",
    ["kms 01", "10.0.0.300", "-kms", "kms-.corp", "a" * 64, "http://kms01", "kms..corp", "kms01;calc", True],
)
def test_host_invalid(value: Any) -> None:
    assert 'expected a DNS host name or IP address ("" for none)' in bad("host", value)


def test_host_with_port_hints_at_the_port_variable() -> None:
    assert "give the port in its own variable" in bad("host", "kms01.corp:1688")


def test_converting_twice_is_harmless() -> None:
    for type_, value in (("bool", "no"), ("int", "5"), ("list", "a,b"), ("host", "kms"), ("port", "80")):
        once = conv(type_, value)
        assert conv(type_, once) == once


# ---- -e parsing ---------------------------------------------------------------------------------


def test_parse_extra_vars_forms(tmp_path: Path) -> None:
    yml = tmp_path / "v.yml"
    yml.write_text("kms_port: 1700\nallow_gvlk: no\n", encoding="utf-8")
    js = tmp_path / "v.json"
    js.write_text(json.dumps({"convert_channels": ["VOLUME_MAK"]}), encoding="utf-8")
    ev = parse_extra_vars(
        [
            "kms_host=kms01 rollback=false",
            "ospp_glob='C:\\Program Files*\\ospp.vbs' note=\"a b\" empty=",
            f"@{yml}",
            f"@{js}",
            '{"max_clock_skew": 60}',
        ]
    )
    assert ev.values == {
        "kms_host": "kms01",
        "rollback": "false",  # text, as Ansible gives it; typed against the playbook later
        "ospp_glob": "C:\\Program Files*\\ospp.vbs",  # backslashes kept
        "note": "a b",
        "empty": "",
        "kms_port": 1700,
        "allow_gvlk": False,  # YAML 1.1 in a vars file
        "convert_channels": ["VOLUME_MAK"],
        "max_clock_skew": 60,
    }
    assert ev.source("kms_port") == ("-e kms_port", str(yml)) and ev.source("kms_host") == (
        "-e kms_host",
        None,
    )
    assert parse_extra_vars([f"@{yml}", "kms_port=1"]).files == {"allow_gvlk": str(yml)}  # later -e wins


@pytest.mark.parametrize("item", ["novalue", "1k=v", "k='open", "{not: [json"])
def test_parse_extra_vars_errors(item: str) -> None:
    with pytest.raises(ConfigError):
        parse_extra_vars([item])


def test_typed_extra_vars_converts_declared_keeps_undeclared(tmp_path: Path) -> None:
    specs = {
        "allow_gvlk": VarSpec("allow_gvlk", "bool", False),
        "kms_port": VarSpec("kms_port", "port", 1688),
    }
    ev = parse_extra_vars(["allow_gvlk=no kms_port=1700 site=osaka other=false"])
    assert typed_extra_vars(specs, ev) == {
        "allow_gvlk": False,
        "kms_port": 1700,
        "site": "osaka",
        "other": "false",
    }
    yml = tmp_path / "v.yml"
    yml.write_text("kms_port: http\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        typed_extra_vars(specs, parse_extra_vars([f"@{yml}"]))
    assert str(info.value) == f"{yml}: -e kms_port: expected a port number (1-65535), got 'http'"


# ---- declarations and inventory values --------------------------------------------------------

PLAYBOOK = """\
targets: all
vars:
  allow_gvlk: {type: bool, default: "no", description: opt in}
  kms_port: 1688
  kms_host: {type: host, default: ""}
  channels: {type: list, default: VOLUME_MAK, choices: [VOLUME_MAK]}
  names: [a, b]
  label: ""
  new_kms_host: {type: host}
checks: [{id: a, run: Get-Date}]
"""


def test_declarations_and_shorthand(tmp_path: Path) -> None:
    path = tmp_path / "pb.yml"
    path.write_text(PLAYBOOK, encoding="utf-8")
    pb = Playbook.load(path)
    assert {n: s.type for n, s in pb.var_specs.items()} == {
        "allow_gvlk": "bool",
        "kms_port": "int",
        "kms_host": "host",
        "channels": "list",
        "names": "list",
        "label": "str",
        "new_kms_host": "host",
    }
    # defaults converted; a declaration without a default is required and has no entry in vars
    assert pb.vars == {
        "allow_gvlk": False,
        "kms_port": 1688,
        "kms_host": "",
        "channels": ["VOLUME_MAK"],
        "names": ["a", "b"],
        "label": "",
    }
    assert pb.var_specs["allow_gvlk"].description == "opt in" and pb.var_specs["new_kms_host"].required


INVENTORY = """\
all:
  hosts:
    w1: {kms_port: "1700", allow_gvlk: "yes"}
    w2: {}
  children:
    windows:
      hosts:
        w3: {kms_port: abc}
  vars:
    new_kms_host: kms02.corp
"""


def test_inventory_values_typed_per_host(tmp_path: Path) -> None:
    (tmp_path / "pb.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "inv.yml").write_text(INVENTORY, encoding="utf-8")
    pb = Playbook.load(tmp_path / "pb.yml")
    inv = Inventory.load(tmp_path / "inv.yml", extra_vars={"kms_host": "kms9"})
    w1, w2, w3 = (inv.host(n) for n in ("w1", "w2", "w3"))
    assert typed_host_vars(pb.var_specs, w1)["kms_port"] == 1700
    apply_types(pb.var_specs, [w1, w2])
    assert w1.vars["kms_port"] == 1700 and w1.vars["allow_gvlk"] is True
    assert "kms_port" not in w2.vars  # the playbook default applies
    with pytest.raises(ConfigError) as info:
        apply_types(pb.var_specs, [w3])
    inv_path = tmp_path / "inv.yml"
    assert str(info.value) == (f"{inv_path}:8: host w3: hosts.w3.kms_port: expected an integer, got 'abc'")


def test_required_variable_must_be_set(tmp_path: Path) -> None:
    (tmp_path / "pb.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    w1: {}\n", encoding="utf-8")
    pb = Playbook.load(tmp_path / "pb.yml")
    host = Inventory.load(tmp_path / "inv.yml").host("w1")
    with pytest.raises(ConfigError, match="host w1: variable 'new_kms_host' has no default"):
        apply_types(pb.var_specs, [host])


def test_list_accepts_a_flow_list_from_the_command_line() -> None:
    spec = VarSpec("convert_channels", "list", [], None, ("VOLUME_MAK",))
    for text in ('["VOLUME_MAK"]', "[VOLUME_MAK]", "VOLUME_MAK"):
        assert convert(spec, text, "-e convert_channels") == ["VOLUME_MAK"]
    with pytest.raises(ConfigError):
        convert(spec, "[RETAIL]", "-e convert_channels")


def test_failed_inventory_template_is_reported_not_its_text(tmp_path: Path) -> None:
    """Before: `hosts.H1.kms_host: expected a DNS host name..., got '{{ site_kms }}'` hid the
    real cause (an undefined variable, or a loop)."""
    (tmp_path / "pb.yml").write_text(PLAYBOOK, encoding="utf-8")
    (tmp_path / "inv.yml").write_text(
        'all:\n  hosts:\n    h1: {kms_host: "{{ site_kms }}", new_kms_host: k}\n'
        '    h2: {kms_host: "{{ a }}", a: "{{ kms_host }}", new_kms_host: k}\n',
        encoding="utf-8",
    )
    pb = Playbook.load(tmp_path / "pb.yml")
    inv = Inventory.load(tmp_path / "inv.yml")
    with pytest.raises(ConfigError) as info:
        apply_types(pb.var_specs, [inv.host("h1")])
    assert "host h1:" in str(info.value) and "'site_kms' is undefined" in str(info.value)
    assert "expected" not in str(info.value)
    with pytest.raises(ConfigError, match="loop: kms_host -> a -> kms_host"):
        apply_types(pb.var_specs, [inv.host("h2")])
