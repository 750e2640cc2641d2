"""Drift and forecast over synthetic history records (no database)."""

from __future__ import annotations

from datetime import timedelta

from remediate.domains.kms.domain import DOMAIN as KMS
from remediate.domains.kms.tracking import expiries
from remediate.history.drift import drift
from remediate.history.forecast import forecast
from tests.history_synth import NOW, T0, WEEK, facts, history, office, rec, win

RULES = KMS.change_rules


def _host_events(report, host):
    return [e for e in report.events if e.host == host]


def test_kms_host_change_is_drift_between_two_runs() -> None:
    runs, recs = history()
    report = drift(runs, recs, NOW, run_a=2, run_b=3, rules=RULES)
    (event,) = _host_events(report, "WIN-0002")
    by_fact = {c.fact: c for c in event.changes}
    assert by_fact["verdict"].label == "became non-compliant"
    assert by_fact["kms_config.kms_registered"].after == "kms02.corp.example:1688"
    assert by_fact["license.products.kms_registered"].item == "Windows(R), Enterprise edition"
    assert by_fact["codes"].after == ["0xC004F074"]


def test_a_host_compliant_in_both_runs_shows_no_drift() -> None:
    runs, recs = history()
    report = drift(runs, recs, NOW, run_a=1, run_b=5, rules=RULES)
    assert _host_events(report, "WIN-0001") == []
    # the licence clock counting down is not a change
    assert "WIN-0001" not in {
        e.host for e in drift(runs, recs, NOW, since=timedelta(days=60), rules=RULES).events
    }


def test_office_products_are_matched_by_product_not_position() -> None:
    runs, recs = history()
    # sweeps 1 -> 2 return the same two products in the opposite order: nothing changed
    assert _host_events(drift(runs, recs, NOW, run_a=1, run_b=2, rules=RULES), "WIN-0004") == []
    # sweep 3 -> 4: Visio (listed second in one and first in the other) went into grace
    (event,) = _host_events(drift(runs, recs, NOW, run_a=3, run_b=4, rules=RULES), "WIN-0004")
    status = [c for c in event.changes if c.fact == "office.products.license_status"]
    assert [(c.item, c.before, c.after) for c in status] == [
        ("Office 16, VisioPro2019VL_KMS_Client_AE edition", "licensed", "oot_grace")
    ]


def test_window_drift_is_newest_first_and_tracks_reachability() -> None:
    runs, recs = history()
    report = drift(runs, recs, NOW, since=timedelta(days=60), rules=RULES)
    times = [e.at for e in report.events]
    assert times == sorted(times, reverse=True)
    home = _host_events(report, "HOME-PC")
    assert [c.label for e in home for c in e.changes if c.fact == "verdict"] == ["became unreachable"]
    # WIN-0002: kms02 in sweep 3, fixed by the apply run, compliant in sweep 5
    labels = [
        c.label for e in reversed(_host_events(report, "WIN-0002")) for c in e.changes if c.fact == "verdict"
    ]
    assert labels == ["became non-compliant", "became compliant"]  # fixed -> compliant is no change
    # a window that starts after sweep 3 keeps only the apply run's change back to kms01
    late = drift(runs, recs, NOW, since=NOW - (T0 + 2 * WEEK + timedelta(hours=1)), rules=RULES)
    kms = [
        (e.run_after, c.after)
        for e in late.events
        for c in e.changes
        if c.fact == "kms_config.kms_registered"
    ]
    assert kms == [(6, "kms01.corp.example:1688")]


def test_reachable_again_compares_facts_with_the_last_record_that_had_them() -> None:
    a = rec(1, T0, "H", "compliant")
    gap = rec(2, T0 + WEEK, "H", "unreachable")
    back = rec(3, T0 + 2 * WEEK, "H", "compliant", facts=facts(kms="kms09:1688"))
    (e1, e2) = drift([], [a, gap, back], NOW, since=timedelta(days=90), rules=RULES).events
    assert e1.changes[0].label == "reachable again"
    assert any(
        c.fact == "kms_config.kms_registered" and c.before == "kms01.corp.example:1688" for c in e1.changes
    )
    assert [c.label for c in e2.changes] == ["became unreachable"]


def test_home_pc_unreachable_three_sweeps_is_forecast_with_its_date() -> None:
    runs, recs = history()
    fc = forecast(runs, recs, NOW, days=30, expiries=expiries)
    (home,) = [e for e in fc.entries if e.host == "HOME-PC"]
    assert home.unreachable_sweeps == 3
    assert home.unreachable_since == T0 + 2 * WEEK + timedelta(minutes=5)
    assert home.expires_at.date() == (NOW + timedelta(days=12)).date()
    assert home.next_state == "oot_grace" and not home.expired
    # KMS: last renewal = observed - (180 days - remaining): 146 days before the observation
    assert home.last_renewal == home.observed_at - timedelta(days=146)
    assert home.renewal_overdue
    # hosts whose KMS activation is fresh are not listed; Visio in grace (30 days left) is, after it
    assert "WIN-0001" not in {e.host for e in fc.entries}
    assert [(e.host, e.product[:19]) for e in fc.entries] == [
        ("HOME-PC", "Windows(R), Enterpr"),
        ("WIN-0004", "Office 16, VisioPro"),
    ]
    assert [e.expires_at for e in fc.entries] == sorted(e.expires_at for e in fc.entries)
    # a 10-day horizon drops the home PC
    assert "HOME-PC" not in {e.host for e in forecast(runs, recs, NOW, days=10, expiries=expiries).entries}


def test_expired_and_permanent_licences() -> None:
    retail = {**win(remaining=0), "channel": "RETAIL"}
    out = expiries({"license.products": [retail, win(status="notification", remaining=0)]})
    assert [(e.license_status, e.next_state) for e in out] == [("notification", "notification")]
    r = rec(1, T0, "N", "would_fix", facts={"license.products": [win(status="notification", remaining=0)]})
    (entry,) = forecast([], [r], NOW, expiries=expiries).entries
    assert entry.expired and entry.last_renewal is None


def test_office_products_in_forecast_keep_their_names() -> None:
    r = rec(
        1,
        T0,
        "O",
        "compliant",
        facts={"office.products": [office("Std", status="oob_grace", remaining=1440)]},
    )
    (entry,) = forecast([], [r], NOW, expiries=expiries).entries
    assert entry.product == "Office 16, Std edition" and entry.next_state == "notification" and entry.expired
    assert entry.to_dict()["expires_at"].startswith("2026-10-02")


def test_the_latest_observation_wins_even_without_a_clock() -> None:
    old = rec(1, T0, "R", "compliant", facts={"license.products": [win(remaining=1440)]})
    retail = {**win(remaining=0), "channel": "RETAIL"}
    new = rec(2, T0 + WEEK, "R", "compliant", facts={"license.products": [retail]})
    gone = rec(3, T0 + 2 * WEEK, "R", "unreachable")
    assert forecast([], [old, new, gone], NOW, expiries=expiries).entries == []
    assert len(forecast([], [old, gone], NOW, expiries=expiries).entries) == 1
