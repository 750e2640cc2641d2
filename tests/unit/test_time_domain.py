"""The time domain: case files parse to their expected JSON, diagnosis per cause, knowledge base,
entry point and CLI (`remediate explain`, `remediate time parse`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from remediate.cli import main
from remediate.core import domain as core_domain
from remediate.domains.time.diagnose import diagnose
from remediate.domains.time.domain import DOMAIN
from remediate.domains.time.functions import time_config_ok, time_manualpeerlist
from remediate.domains.time.parsers import KINDS, ParseError, parse, parse_utc_time

CASES = Path(__file__).resolve().parents[1] / "cases"
CASE_KINDS = ("w32tm-status", "w32tm-source", "w32tm-config", "w32tm-stripchart")


def _cases() -> list[Path]:
    return sorted(p for k in CASE_KINDS for p in (CASES / k).glob("*.txt"))


def _load(path: Path) -> tuple[bytes, str]:
    first, _, rest = path.read_bytes().partition(b"\n")
    assert first.startswith(b"# source:"), f"{path} has no '# source:' line"
    return rest, first.decode("utf-8")[len("# source:") :].strip()


@pytest.mark.parametrize("path", _cases(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case_parses_to_expected(path: Path) -> None:
    data, source = _load(path)
    assert source
    expected = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    assert parse(path.parent.name, data) == expected
    assert DOMAIN.parsers[path.parent.name](data) == expected  # as the framework calls it


def test_cases_cover_every_kind_and_both_locales() -> None:
    files = _cases()
    real = [p for p in files if not p.stem.startswith("synthetic-")]
    assert len(real) >= 15
    assert {p.parent.name for p in real} == set(CASE_KINDS)
    assert any(p.stem.startswith("ja-") for p in real) and any(p.stem.startswith("en-") for p in real)
    assert set(KINDS) == {*CASE_KINDS, "utc-time"}


def test_utf16_and_cp932_input_parse_the_same() -> None:
    data, _ = _load(CASES / "w32tm-status" / "ja-jp-manual-peer.txt")
    text = data.decode("utf-8")
    want = parse("w32tm-status", text)
    assert parse("w32tm-status", text.encode("cp932")) == want
    assert parse("w32tm-status", "\ufeff".encode("utf-16-le") + text.encode("utf-16-le")) == want
    assert want["source"] == "10.30.0.3,8" and want["last_sync_local"] == "2022-01-10T01:45:54"


@pytest.mark.parametrize("kind", CASE_KINDS)
def test_garbage_is_a_parse_error(kind: str) -> None:
    with pytest.raises(ParseError):
        parse(kind, "hello\nworld\n")
    with pytest.raises(ParseError):
        parse(kind, "")


def test_utc_time_skew() -> None:
    now = datetime(2024, 1, 15, 10, 0, 0, tzinfo=UTC)
    assert parse_utc_time("2024-01-15T16:00:00.0000000Z", now)["skew_seconds"] == 6 * 3600
    assert parse_utc_time("2024-01-15T19:00:00.0000000+09:00", now)["skew_seconds"] == 0


# ---- diagnosis -------------------------------------------------------------------------------
def status(**kw: Any) -> dict[str, Any]:
    base = {"service_running": True, "source": "dc01.lab.test", "source_kind": "peer", "never_synced": False}
    return base | {"since_last_sync_seconds": 60.0, "error_code": None} | kw


def config(type_: str = "NT5DS", peers: list[str] | None = None) -> dict[str, Any]:
    return {
        "type": type_,
        "peers": peers or [],
        "ntp_server": " ".join(peers or []) or None,
        "error_code": None,
    }


def causes(facts: dict[str, Any], **variables: Any) -> list[str | None]:
    return [d.cause_id for d in diagnose(facts, [], variables)]


STOPPED = {"error_code": "0x80070426", "service_running": False}


def test_healthy_member_has_no_finding() -> None:
    assert causes({"status": status(), "config": config(), "clock": {"skew_seconds": 0.2}}) == []


def test_service_stopped_and_skew() -> None:
    facts = {"status": STOPPED, "config": STOPPED, "clock": {"skew_seconds": -7 * 3600.0}}
    ds = diagnose(facts, ["status"], {})
    assert [d.cause_id for d in ds] == ["time.service_stopped", "time.skew"]
    assert ds[0].code == "0x80070426" and all(d.automatable for d in ds)
    assert "-7.00 h" in ds[1].cause


def test_a_working_source_is_kept_unless_the_admin_names_peers() -> None:
    # a workgroup PC on time.windows.com whose clock is measured right: switching it to a domain
    # hierarchy it does not have would break it, so the finding names no fixable cause
    facts = {
        "status": status(source="time.windows.com,0x9"),
        "config": config("NTP", ["time.windows.com"]),
        "clock": {"skew_seconds": 1.5},
    }
    (d,) = diagnose(facts, ["config"], {})
    assert d.cause_id is None and not d.automatable and "Left alone" in d.action
    assert causes(facts, ntp_peers=["ntp1.corp.test"]) == ["time.wrong_source"]  # asked for: fixed
    off = facts | {"clock": {"skew_seconds": 6 * 3600.0}}  # time wrong: the source is the cause
    assert causes(off) == ["time.wrong_source", "time.skew"]


def test_no_source_local_cmos_or_nosync() -> None:
    cmos = status(source="Local CMOS Clock", source_kind="local_cmos", never_synced=True)
    assert causes({"status": cmos, "config": config("NoSync")}) == ["time.no_source"]
    assert causes({"status": cmos, "config": config()}) == ["time.no_source"]
    free = status(source="Free-running System Clock", source_kind="free_running")
    assert causes({"status": free, "config": config()}) == ["time.no_source"]


def test_wrong_source_public_ntp_on_a_domain_member() -> None:
    facts = {"status": status(source="time.windows.com,0x9"), "config": config("NTP", ["time.windows.com"])}
    ds = diagnose(facts, [], {})
    assert [d.cause_id for d in ds] == ["time.wrong_source"] and "domhier" in ds[0].action
    # the admin chose those peers: right source; other peers chosen: wrong again
    assert causes(facts, ntp_peers=["time.windows.com,0x9"]) == []
    assert causes(facts, ntp_peers=["ntp1.corp.test"]) == ["time.wrong_source"]
    # a member on NT5DS when peers were asked for
    assert causes({"status": status(), "config": config()}, ntp_peers=["ntp1.corp.test"]) == [
        "time.wrong_source"
    ]


def test_vm_ic_provider_fights_the_domain_hierarchy() -> None:
    vm = status(source="VM IC Time Synchronization Provider", source_kind="vm_ic")
    ds = diagnose({"status": vm, "config": config()}, [], {})
    assert [d.cause_id for d in ds] == ["time.vm_ic_provider"] and "VMICTimeProvider" in ds[0].action


def test_skew_from_stripchart_first_and_its_threshold() -> None:
    offset = {"target": "dc01", "skew_seconds": 400.0, "reachable": True, "error_code": None}
    facts = {"status": status(), "config": config(), "offset": offset, "clock": {"skew_seconds": 0.0}}
    ds = diagnose(facts, [], {"max_skew_seconds": 300})
    assert [d.cause_id for d in ds] == ["time.skew"] and "stripchart" in ds[0].evidence[0]
    assert causes(facts, max_skew_seconds=600) == []


def test_reference_that_does_not_answer() -> None:
    offset = {"target": "dc01", "skew_seconds": None, "reachable": False, "error_code": "0x800705B4"}
    ds = diagnose({"status": status(), "config": config(), "offset": offset}, [], {})
    assert [d.cause_id for d in ds] == ["time.reference_unreachable"]
    assert ds[0].code == "0x800705B4" and not ds[0].automatable


def test_stale_sync() -> None:
    old = status(since_last_sync_seconds=30 * 86400.0)
    assert causes({"status": old, "config": config()}) == ["time.stale_sync"]
    assert causes({"status": old, "config": config()}, max_sync_age_seconds=40 * 86400) == []
    never = status(never_synced=True)
    assert causes({"status": never, "config": config()}) == ["time.stale_sync"]


def test_failed_check_without_evidence_is_insufficient() -> None:
    assert [d.cause_id for d in diagnose({}, ["status"], {})] == ["time.unknown"]


def test_config_ok_and_peer_list() -> None:
    assert time_config_ok(config(), []) and time_config_ok(config("AllSync"), [])
    assert not time_config_ok(config("NTP", ["a"]), []) and not time_config_ok(STOPPED, [])
    assert time_config_ok(config("NTP", ["ntp1", "ntp2"]), ["NTP2,0x8", "ntp1"])
    assert time_manualpeerlist(["ntp1", "ntp2,0x1"]) == "ntp1,0x8 ntp2,0x1"


# ---- knowledge base, entry point, CLI --------------------------------------------------------
def test_domain_is_found_through_its_entry_point() -> None:
    found = core_domain.domains()
    assert found["time"] is DOMAIN and "kms" in found
    assert "time.service_stopped" in DOMAIN.diagnoser.causes  # type: ignore[union-attr]
    assert DOMAIN.playbooks is not None and (DOMAIN.playbooks / "time-sync.yml").exists()


@pytest.mark.parametrize("code", ["0x80070426", "0x800705B4", "0x80072746", "0x80070424", "no-time-data"])
def test_every_entry_explains_with_a_microsoft_source(code: str) -> None:
    entry = core_domain.explain(code)
    assert entry["title"] and entry["source"].startswith("https://learn.microsoft.com/")
    assert DOMAIN.explain is not None and DOMAIN.explain(code) == entry


def test_explain_unknown_code_is_a_lookup_error() -> None:
    assert DOMAIN.explain is not None
    with pytest.raises(LookupError):
        DOMAIN.explain("0x80070005")
    with pytest.raises(LookupError):
        DOMAIN.explain("not a code")


def test_cli_explain_and_parse(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["explain", "0x80070426", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["symbol"] == "ERROR_SERVICE_NOT_ACTIVE"
    data, _ = _load(CASES / "w32tm-status" / "en-local-cmos-never-synced.txt")
    f = tmp_path / "status.txt"
    f.write_bytes(data)
    res = runner.invoke(main, ["time", "parse", "w32tm-status", str(f)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["source_kind"] == "local_cmos"
