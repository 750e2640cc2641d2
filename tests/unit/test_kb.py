"""Knowledge base: code normalization, entry completeness, explain() for codes and events."""

from __future__ import annotations

import pytest

from remediate.domains.kms.events import EVENTS, lookup_event, parse_kms_info
from remediate.domains.kms.kb import CATEGORIES, ENTRIES, explain, lookup, normalize_code

REQUIRED = [
    "0xC004F074", "0x8007232B", "0xC004F012", "0x80072EE7", "0xC004F038", "0xC004F06C", "0xC004C003",
    "0xC004F035", "0xC004F039", "0xC004F041", "0xC004F042", "0xC004F050", "0xC004F069", "0xC004F015",
    "0xC004F02C", "0xC004F051", "0xC004F064", "0xC004F065", "0x8007007B", "0x80070005", "0x8004FE21",
    "0xC004E016", "0xC004F00F", "0xC004C008", "0xC004C020", "0xC004C021", "0x8007251D", "0x80070490",
    "0xC004B100", "0xC004D302", "0xC004F009", "0xC004F014", "0x4004F00C", "0x4004F00D", "0x4004F040",
    "0x4004F401", "0xC004F056", "0xC004F059", "0xC004F063", "0xC004E003", "0x80092328",
]  # fmt: skip


@pytest.mark.parametrize(
    "spelling",
    ["0xC004F074", "0xc004f074", "C004F074", "c004f074", " 0xC004F074 ", "hr=0xC004F074", -1073418124,
     3221549172, "-1073418124", "3221549172"],
)  # fmt: skip
def test_normalize_code_spellings(spelling: str | int) -> None:
    assert normalize_code(spelling) == "0xC004F074"


def test_normalize_code_prefixless_digits_are_hex_when_8_long() -> None:
    assert normalize_code("80070005") == "0x80070005"  # as printed by slmgr without 0x
    assert normalize_code("4004F00C") == "0x4004F00C"
    assert normalize_code(0) == "0x00000000"


@pytest.mark.parametrize(
    "bad", ["", "xyz", "0xG004F074", "0x1C004F074", "C004F07", 2**32, -(2**31) - 1, "1.5", True]
)
def test_normalize_code_rejects(bad: str | int) -> None:
    with pytest.raises(ValueError):
        normalize_code(bad)


def test_required_codes_present_and_at_least_40() -> None:
    assert len(ENTRIES) >= 40
    missing = [c for c in REQUIRED if c not in ENTRIES]
    assert not missing


def test_every_entry_is_complete() -> None:
    for code, e in ENTRIES.items():
        assert code == e.code and code == normalize_code(code)
        assert e.message and e.meaning and e.fix and e.playbook, code
        assert e.causes and e.checks, code
        assert e.category in CATEGORIES, code
        assert e.source.startswith("https://") or "slerror.h" in e.source, code
        assert e.symbol is None or e.symbol.isupper(), code


def test_lookup_known_entries() -> None:
    e = lookup("c004f074")
    assert e is not None
    assert e.symbol == "SL_E_VL_BINDING_SERVICE_UNAVAILABLE"
    assert e.category == "network" and e.automatable is False
    assert "No Key Management Service (KMS) could be contacted" in e.message
    dns = lookup(-2147015893)  # 0x8007232B as a signed int
    assert dns is not None and dns.symbol == "DNS_ERROR_RCODE_NAME_ERROR" and dns.automatable
    store = lookup("0xC004F012")
    assert store is not None and store.category == "store" and not store.automatable
    assert "tokens.dat" in store.fix
    skew = lookup("0xC004F06C")
    assert skew is not None and skew.category == "time"
    assert lookup("0x12345678") is None


def test_informational_codes() -> None:
    grace = lookup("0x4004F00C")
    assert grace is not None and grace.informational
    failure = lookup("0xC004F038")
    assert failure is not None and not failure.informational


def test_to_dict_is_json_ready() -> None:
    import json

    d = ENTRIES["0xC004F038"].to_dict()
    assert json.loads(json.dumps(d))["code"] == "0xC004F038"
    assert isinstance(d["causes"], list) and d["automatable"] is False


def test_explain_error_and_event() -> None:
    d = explain("0xc004f074")
    assert d["kind"] == "error" and d["code"] == "0xC004F074"
    ev = explain("event:12288")
    assert ev["kind"] == "event" and ev["id"] == 12288 and ev["code"] == "event:12288"
    assert ev["title"] == "The client has sent an activation request to the key management service machine."
    assert d["title"] and "." not in d["title"][-1:]
    assert explain("12293")["logged_by"] == "kms_host"


@pytest.mark.parametrize("bad", ["0xDEADBEEF", "event:4242", "event:abc", "nonsense", "99999"])
def test_explain_unknown_raises_lookuperror(bad: str) -> None:
    with pytest.raises(LookupError) as info:
        explain(bad)
    assert str(info.value)


def test_events_table() -> None:
    for wanted in (12288, 12289, 12290, 12293, 12294, 8198, 8200, 8208, 1003, 1014, 903, 1058):
        ev = lookup_event(wanted)
        assert ev is not None, wanted
        assert ev.message and ev.source.startswith("https://")
        for code in ev.related_codes:
            assert code == normalize_code(code)
    assert lookup_event(1) is None
    assert set(EVENTS) >= {12288, 12289}


def test_parse_kms_info_12288_from_microsoft_example() -> None:
    # Example event text from learn.microsoft.com error-0xc004f074-activate-windows.
    msg = (
        "The client has sent an activation request to the key management service machine.\r\nInfo:\r\n"
        "0xC004F06C, 0x00000000, kms01.contoso.com:1688, 36f27b39-2fd5-440b-be67-a09996d27a38, "
        "2010/09/29 17:52, 0, 2, 41760, 68531fb9-5511-4989-97be-d11a0f55633f, 5"
    )
    info = parse_kms_info(12288, msg)
    assert info == {
        "hr": "0xC004F06C", "kms_host": "kms01.contoso.com", "kms_port": 1688,
        "license_status": 2, "minutes_to_expiration": 41760,
    }  # fmt: skip


def test_parse_kms_info_12289_and_others() -> None:
    msg = (
        "The client has processed an activation response from the key management service machine."
        "%nInfo:%n0x0, 0x4000008, 0, 0, 4, 120, 10080, 1/14/2006 2:30"
    )
    info = parse_kms_info(12289, msg.replace("%n", "\n"))
    assert info is not None and info["kms_count"] == 4 and info["activated"] is False
    assert parse_kms_info(8198, msg) is None
    assert parse_kms_info(12288, "no info here") is None
