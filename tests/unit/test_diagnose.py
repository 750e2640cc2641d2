"""Diagnosis: each fault's evidence gives the right finding; healthy hosts give none."""

from __future__ import annotations

from typing import Any

from remediate.core.diagnosis import Diagnosis
from remediate.domains.kms.diagnose import FIREWALL, diagnose

KMS = "kms01.lab.test"


def win(
    status: str = "licensed",
    channel: str = "VOLUME_KMSCLIENT",
    reason: str | None = None,
    registered: str | None = None,
    name: str = "Windows(R), Enterprise edition",
) -> dict[str, Any]:
    return {
        "products": [
            {
                "name": name,
                "description": f"Windows(R) Operating System, {channel} channel",
                "channel": channel,
                "partial_key": "2YT43",
                "license_status": status,
                "status_reason": reason,
                "remaining_minutes": 43200,
                "kms_dns": None,
                "kms_registered": registered,
                "kms_port": None,
            }
        ]
    }


def srv(*targets: str, error: str | None = None) -> dict[str, Any]:
    return {
        "records": [{"target": t, "port": 1688, "priority": 0, "weight": 0} for t in targets],
        "error": error,
    }


def tnc(host: str, ok: bool) -> dict[str, Any]:
    return {"reachable": ok, "remote_port": 1688, "computer_name": host}


def failed(code: str) -> dict[str, Any]:
    return {"success": False, "error_code": code}


def healthy() -> dict[str, Any]:
    return {
        "license": win(),
        "office": {
            "products": [
                {
                    "license_name": "Office 16, Office16ProPlusVL_KMS_Client edition",
                    "license_description": "Office 16, VOLUME_KMSCLIENT channel",
                    "license_status": "licensed",
                    "error_code": None,
                    "partial_key": "WFG99",
                    "remaining_minutes": 259000,
                    "kms_machine": KMS,
                    "kms_port": 1688,
                }
            ]
        },
        "srv": srv(KMS),
        "kms_port": tnc(KMS, True),
        "clock": {"utc": "2024-05-01T10:00:00Z", "skew_seconds": 1.5},
        "events": {"events": []},
        "activation": None,
    }


def titles(ds: list[Diagnosis]) -> list[str]:
    return [d.title for d in ds]


def test_healthy_host_gives_nothing() -> None:
    assert diagnose(healthy(), []) == []
    assert diagnose({}, []) == []


def test_firewall_srv_present_port_closed() -> None:
    f = healthy() | {
        "license": win("oob_grace"),
        "kms_port": tnc(KMS, False),
        "activation": failed("0xC004F074"),
    }
    ds = diagnose(f, ["activate"])
    assert titles(ds)[0] == FIREWALL
    d = ds[0]
    assert d.code == "0xC004F074" and d.automatable is False
    assert "1688" in d.action and "do not re-activate" in d.action
    assert any("closed" in e for e in d.evidence) and any(KMS in e for e in d.evidence)
    assert "Windows not activated" not in titles(ds)  # never suggests re-activating


def test_no_srv_record() -> None:
    f = healthy() | {
        "license": win("oob_grace"),
        "srv": srv(error="nxdomain"),
        "kms_port": None,
        "activation": failed("0x8007232B"),
    }
    (d,) = [d for d in diagnose(f, []) if "Office" not in d.title]
    assert d.title == "No KMS SRV record" and d.code == "0x8007232B"
    assert d.automatable is False and "_vlmcs._tcp" in d.action
    untested = diagnose(f, [], variables={"kms_host": "kms02.lab.test:1688"})
    assert [d.automatable for d in untested if "Office" not in d.title] == [False]  # not known to answer
    f["kms_host_port"] = tnc("kms02.lab.test", True)
    (d2,) = [
        d for d in diagnose(f, [], variables={"kms_host": "kms02.lab.test:1688"}) if "Office" not in d.title
    ]
    assert d2.automatable is True and "slmgr /skms kms02.lab.test:1688" in d2.action


def test_wrong_registered_host() -> None:
    f = healthy() | {
        "license": win("oob_grace", registered="kms-old.lab.test"),
        "kms_port": [tnc("kms-old.lab.test", False), tnc(KMS, True)],
        "activation": failed("0xC004F074"),
    }
    d = diagnose(f, [])[0]
    assert d.title == "Registered KMS host is wrong or decommissioned"
    assert d.automatable is True and f"slmgr /skms {KMS}:1688" in d.action


def test_wrong_registered_host_untested_srv_target_is_insufficient() -> None:
    f = healthy() | {
        "license": win("oob_grace", registered="kms-old.lab.test"),
        "kms_port": tnc("kms-old.lab.test", False),
        "activation": failed("0xC004F074"),
    }
    d = diagnose(f, [])[0]
    assert d.title.startswith("Insufficient evidence") and not d.automatable
    assert f"Test-NetConnection {KMS}" in d.action


def test_retail_key_in_kms_estate() -> None:
    f = healthy() | {
        "license": win("notification", channel="RETAIL", name="Windows(R), Professional edition")
    }
    for variables in ({}, {"allow_gvlk": True}, {"convert_channels": ["RETAIL", "VOLUME_MAK"]}):
        (d,) = diagnose(f, [], variables=variables)
        assert d.cause_id == "activation.retail" and d.automatable is False
        assert "W269N" not in d.action and "slmgr /ipk" not in d.action  # never a GVLK for retail
    licensed_mak = healthy() | {"license": win("licensed", channel="VOLUME_MAK")}
    assert diagnose(licensed_mak, [], variables={"allow_gvlk": True}) == []  # an activated MAK is fine


def test_mak_converts_only_with_consent_a_known_os_and_a_working_kms_path() -> None:
    mak = healthy() | {"license": win("oob_grace", channel="VOLUME_MAK")}
    os10 = {"os": {"caption": "Microsoft Windows 10 Enterprise", "version": "10.0.19045"}}
    (d,) = diagnose(mak | os10, [])
    assert d.cause_id == "activation.mak" and not d.automatable
    assert diagnose(mak | os10, [], variables={"allow_gvlk": "false"})[0].cause_id == "activation.mak"
    (d,) = diagnose(mak | os10, [], variables={"convert_channels": ["VOLUME_MAK"]})
    assert d.cause_id == "kms.convert_key" and d.automatable
    assert diagnose(mak | os10, [], variables={"allow_gvlk": True})[0].cause_id == "kms.convert_key"
    # without the OS version the key cannot be chosen: never guessed
    assert diagnose(mak, [], variables={"allow_gvlk": True})[0].cause_id == "activation.no_gvlk"
    # KMS path closed: the key is left alone
    closed = mak | os10 | {"kms_port": tnc(KMS, False)}
    ds = diagnose(closed, [], variables={"allow_gvlk": True})
    assert [d.cause_id for d in ds] == [None, "activation.mak"] and ds[0].title == FIREWALL
    # no SRV and a kms_host that does not answer: no conversion, and nothing for set-kms either
    dead = mak | os10 | {"srv": srv(error="nxdomain"), "kms_port": tnc("dead.lab.test", False)}
    ds = diagnose(dead, [], variables={"allow_gvlk": True, "kms_host": "dead.lab.test"})
    assert not any(d.cause_id in ("kms.convert_key", "kms.no_srv") for d in ds), ds
    # ... and one that answers: set-kms, then the conversion
    alive = dead | {"kms_port": tnc("kms02.lab.test", True)}
    opted = {"allow_gvlk": True, "kms_host": "kms02.lab.test"}
    ids = [d.cause_id for d in diagnose(alive, [], variables=opted)]
    assert ids == ["kms.no_srv", "kms.convert_key"]


def test_unknown_channel_is_not_a_kms_client() -> None:
    p = win("notification")
    p["products"][0]["channel"] = None
    p["products"][0]["description"] = "Windows(R) Operating System"
    f = healthy() | {"license": p, "srv": srv(error="nxdomain"), "kms_host_port": tnc(KMS, True)}
    ids = [d.cause_id for d in diagnose(f, [], variables={"kms_host": KMS})]
    assert ids == ["activation.unknown_channel"]


def test_home_adba_and_avma_are_explained_not_fixed() -> None:
    home = healthy() | {"license": win("notification", channel="OEM_DM", name="Windows(R), Core edition")}
    assert [d.cause_id for d in diagnose(home, [], variables={"allow_gvlk": True})] == ["activation.home"]
    adba = win("licensed")
    adba["products"][0]["activated_by"] = "ad"
    (d,) = diagnose(healthy() | {"license": adba}, [])
    assert d.cause_id == "activation.adba" and not d.automatable
    avma = healthy() | {"license": win("licensed", channel="VIRTUAL_MACHINE_ACTIVATION")}
    assert [d.cause_id for d in diagnose(avma, [])] == ["activation.avma"]


def test_license_store_damaged() -> None:
    f = {"license": None, "activation": failed("0xC004F012")}
    ds = diagnose(f, ["license", "activate"])
    assert titles(ds) == ["License store damaged"]
    assert ds[0].automatable is False and "tokens.dat" in ds[0].action


def test_clock_skew() -> None:
    f = healthy() | {
        "license": win("oob_grace"),
        "clock": {"skew_seconds": 5 * 3600.0},
        "activation": failed("0xC004F06C"),
    }
    d = diagnose(f, [])[0]
    assert d.title == "Clock skew" and d.code == "0xC004F06C" and "time" in d.action.lower()
    kms_side = healthy() | {"license": win("oob_grace"), "activation": failed("0xC004F06C")}
    assert diagnose(kms_side, [])[0].title == "Clock skew on the KMS host"
    skew_only = healthy() | {"clock": {"skew_seconds": -6 * 3600.0}}
    assert titles(diagnose(skew_only, [])) == ["Clock skew"]


def test_kms_count_too_low() -> None:
    f = healthy() | {"license": win("oob_grace"), "activation": failed("0xC004F038")}
    ds = diagnose(f, [])
    assert titles(ds) == ["KMS count too low"] and not ds[0].automatable


def test_office_not_activated_with_reachable_kms() -> None:
    f = healthy()
    f["office"]["products"][0]["license_status"] = "oob_grace"
    (d,) = diagnose(f, [])
    assert d.cause_id == "office.not_activated" and d.automatable
    assert "/act" in d.action and "/sethst" not in d.action  # DNS discovery works: /act alone


def test_office_behind_firewall_is_not_automatable() -> None:
    f = healthy() | {"kms_port": tnc(KMS, False)}
    f["office"]["products"][0]["license_status"] = "notification"
    ds = diagnose(f, [])
    assert [d.cause_id for d in ds] == ["office.unreachable"]
    assert not any(d.automatable for d in ds)


def test_missing_evidence_says_so() -> None:
    ds = diagnose({"license": win("oob_grace")}, ["activate"])
    assert len(ds) == 1 and ds[0].title.startswith("Insufficient evidence")
    assert "SRV" in ds[0].action and ds[0].cause_id == "kms.insufficient"


def test_conflicting_evidence() -> None:
    f = healthy() | {"license": win("oob_grace"), "activation": failed("0xC004F074")}
    d = diagnose(f, [])[0]
    assert d.title == "Insufficient evidence: KMS reachable but activation failed"
    assert "12288" in d.action and not d.automatable


def test_spp_events_are_supporting_evidence() -> None:
    msg = (
        "The client has sent an activation request to the key management service machine.\nInfo:\n"
        f"0xC004F074, 0x00000000, {KMS}:1688, 36f27b39-2fd5-440b-be67-a09996d27a38, "
        "2024/05/01 9:00, 0, 2, 41760"
    )
    f = healthy() | {
        "license": win("oob_grace"),
        "kms_port": tnc(KMS, False),
        "events": {
            "events": [
                {
                    "id": 12288,
                    "level": "Information",
                    "time": "2024-05-01T09:00:00",
                    "message": msg,
                    "error_code": None,
                }
            ]
        },
    }
    d = diagnose(f, [])[0]
    assert d.title == FIREWALL and d.code == "0xC004F074"
    assert any(e.startswith("SPP event 12288") for e in d.evidence)


def test_windows_not_activated_but_kms_reachable() -> None:
    d = diagnose(healthy() | {"license": win("oob_grace", reason="0x4004F00C")}, [])
    assert [x.cause_id for x in d] == ["kms.not_activated"] and d[0].automatable


def test_other_and_unknown_codes() -> None:
    f = healthy() | {"license": win("oob_grace"), "activation": failed("0xC004F041")}
    d = diagnose(f, [])
    assert titles(d) == ["Activation error 0xC004F041"] and "Activate the KMS host" in d[0].action
    unk = diagnose(healthy() | {"license": win("oob_grace"), "activation": failed("0xC0DE0001")}, [])
    assert titles(unk) == ["Unknown activation error 0xC0DE0001"]


def test_garbage_facts_do_not_crash() -> None:
    junk: dict[str, Any] = {
        "license": {"products": "x"},
        "srv": "oops",
        "kms_port": [1, None],
        "clock": {"skew_seconds": "n/a"},
        "events": {"events": [None, {"id": "x"}]},
        "activation": {"success": False, "error_code": "not-a-code"},
    }
    assert isinstance(diagnose(junk, []), list)


def test_to_dict_roundtrip() -> None:
    f = healthy() | {
        "license": win("oob_grace"),
        "kms_port": tnc(KMS, False),
        "activation": failed("0xC004F074"),
    }
    d = diagnose(f, [])[0].to_dict()
    assert d["title"] == FIREWALL and isinstance(d["evidence"], list)


def _event(eid: int, code: str, msg: str = "") -> dict[str, Any]:
    return {
        "id": eid,
        "level": "Information",
        "time": "2026-11-01T09:00:00",
        "message": msg,
        "error_code": code,
    }


def test_status_events_on_a_healthy_host_raise_no_finding() -> None:
    # 1003 may carry 0xC004E002 at service start; 8200/8208 carry 0x80072EE7 on every KMS client
    # without Internet (Microsoft calls them noise). Neither is a license problem.
    events = [_event(1003, "0xC004E002"), _event(8200, "0x80072EE7"), _event(8208, "0x80072EE7")]
    f = healthy() | {
        "clock": {"skew_seconds": 6 * 3600.0},  # the host is non-compliant for another reason
        "events": {"events": events},
    }
    assert [d.cause_id for d in diagnose(f, ["clock"])] == ["kms.clock_skew"]
    # ... and on a host that is not activated they are still not findings
    pending = healthy() | {"license": win("oob_grace"), "events": {"events": events}}
    assert [d.cause_id for d in diagnose(pending, [])] == ["kms.not_activated"]


def test_freshly_installed_gvlk_reason_is_not_a_kms_refusal() -> None:
    f = healthy() | {"license": win("notification", reason="0xC004F056")}
    (d,) = diagnose(f, [])
    assert d.cause_id == "kms.not_activated" and d.automatable and "slmgr /ato" in d.action


def _office(name: str, desc: str, status: str, kms: str | None = None) -> dict[str, Any]:
    return {"license_name": name, "license_description": desc, "license_status": status,
            "error_code": None, "kms_machine": kms, "kms_port": None}  # fmt: skip


def test_office_click_to_run_grace_and_subscription_get_no_kms_cause() -> None:
    grace = _office(
        "Office 16, Office16O365ProPlusR_Grace edition", "Office 16, RETAIL(Grace) channel", "notification"
    ) | {"error_code": "0xC004F009"}
    f = healthy() | {"office": {"products": [grace]}}
    ds = diagnose(f, [])
    assert [d.cause_id for d in ds] == ["office.retail_grace"] and not ds[0].automatable
    assert not any("slmgr /ato" in d.action or "/sethst" in d.action for d in ds)
    m365 = healthy() | {"office": {"products": [], "no_keys": True}}
    assert [d.cause_id for d in diagnose(m365, [])] == ["office.subscription"]


def test_office_sethst_only_when_its_kms_host_is_dead_and_kms_host_answers() -> None:
    dead = "oldkms.lab.test"
    p = _office("Office 16, Office16ProPlusVL_KMS_Client edition", "Office 16, VOLUME_KMSCLIENT channel",
                "notification", kms=dead)  # fmt: skip
    f = healthy() | {
        "office": {"products": [p]},
        "kms_port": tnc(dead, False),
        "kms_host_port": tnc(KMS, True),
    }
    (d,) = diagnose(f, [], variables={"kms_host": KMS})
    assert d.cause_id == "office.wrong_kms_host" and f"/sethst:{KMS}" in d.action
    (d,) = diagnose(f, [])  # no kms_host given: nothing to move to
    assert d.cause_id == "office.unreachable" and not d.automatable


def test_clock_fixed_since_the_failed_attempt_retries_activation() -> None:
    """0xC004F06C left in the status reason by an attempt before time-sync.yml fixed the clock: the
    clock is right now and no attempt of this run failed, so /ato is the answer (not the KMS host)."""
    f = healthy() | {"license": win("notification", reason="0xC004F06C"), "clock": {"skew_seconds": 0.4}}
    ds = diagnose(f, ["license"])
    assert [d.cause_id for d in ds] == ["kms.not_activated"] and ds[0].code == "0xC004F06C"
    assert ds[0].automatable
    # the same code from an attempt of this run, clock right: the KMS host's clock is the suspect
    tried = f | {"activation": failed("0xC004F06C")}
    assert titles(diagnose(tried, []))[0] == "Clock skew on the KMS host"
    # still off: this host's clock, whatever the code's origin
    off = f | {"clock": {"skew_seconds": 5 * 3600.0}}
    assert titles(diagnose(off, []))[0] == "Clock skew"


def _with_event(time: str, clock: dict[str, Any] | None) -> dict[str, Any]:
    """Windows unlicensed, the KMS host reachable, one 8198 event saying 0xC004F074 at `time`."""
    f = healthy() | {
        "license": win("oob_grace"),
        "events": {
            "events": [
                {
                    "id": 8198,
                    "level": "Error",
                    "time": time,
                    "message": "hr=0xC004F074",
                    "error_code": "0xC004F074",
                }
            ]
        },
    }
    if clock is None:
        f.pop("clock", None)
    else:
        f["clock"] = clock
    return f


def _event_seen(f: dict[str, Any], **variables: Any) -> bool:
    return any(
        e.startswith("SPP event 8198") for d in diagnose(f, [], variables=variables) for e in d.evidence
    )


def test_spp_events_older_than_the_window_are_ignored() -> None:
    clock = {"utc": "2024-05-10T12:00:00Z", "skew_seconds": 0.5}
    assert _event_seen(_with_event("2024-05-09T12:00:00Z", clock))  # 24 h before the host's clock
    old = _with_event("2024-05-01T12:00:00Z", clock)  # 9 days before
    assert not _event_seen(old)
    assert [d.cause_id for d in diagnose(old, [])] == ["kms.not_activated"]  # not the old 0xC004F074
    assert _event_seen(old, event_window_hours=240) and _event_seen(old, event_window_hours=0)
    assert not _event_seen(old, event_window_hours="72")  # a string from -e counts as a number


def test_spp_event_window_falls_back_to_the_controller_clock() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    recent = (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z")
    stale = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert _event_seen(_with_event(recent, None)) and not _event_seen(_with_event(stale, None))
    assert _event_seen(_with_event("not a time", None))  # unreadable time: kept, not guessed away


def test_office_2013_on_windows_11_is_flagged_from_the_license_name() -> None:
    office15 = {
        "license_name": "Office 15, OfficeProPlusVL_KMS_Client edition",
        "license_description": "Office 15, VOLUME_KMSCLIENT channel",
        "license_status": "licensed",
    }
    f = healthy() | {
        "office": {"products": [office15]},
        "os": {"caption": "Microsoft Windows 11 Pro", "build": 22631},
    }
    found = [d for d in diagnose(f, []) if d.cause_id == "office.unsupported_on_os"]
    assert len(found) == 1 and "Office 2013" in found[0].cause and not found[0].automatable
    assert not [
        d
        for d in diagnose(f | {"os": {"version": "10.0.19045"}}, [])
        if d.cause_id == "office.unsupported_on_os"
    ]
    assert not [
        d
        for d in diagnose(healthy() | {"os": {"build": 22631}}, [])
        if d.cause_id == "office.unsupported_on_os"
    ]
