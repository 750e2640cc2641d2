"""Synthetic history for drift / forecast / report tests: five weekly sweeps and one apply run
with faults changing between them (no database: the records the store would return)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from remediate.history.records import HostRecord, RunInfo

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
WEEK = timedelta(days=7)
NOW = T0 + 4 * WEEK + timedelta(days=1)  # the day after the last sweep
INV = "/etc/remediate/estate.yml"
# Japanese strings as users see them (/work/shared/seeds/: 002 quotes the Windows 11 message,
# 000 glosses 0x8007232B); the markup checks that the report escapes error text.
JA_ERROR = "ライセンス認証サーバーに到達できません (0x8007232B) <script>alert(1)</script>"
JA_TITLE = "KMSホスト名が見つからない"
KMS_VALIDITY = 259200
HOME_REMAINING = 34 * 1440  # observed in sweep 2 (T0 + 7 days): runs out at T0 + 41 days = NOW + 12 days


def run(
    rid: int, started: datetime, *, kind: str = "sweep", mode: str = "dry_run", status: str = "finished"
) -> RunInfo:
    return RunInfo(
        id=rid,
        uuid=f"{rid:08d}-0000-4000-8000-000000000000",
        kind=kind,  # type: ignore[arg-type]
        playbook="kms-health.yml",
        playbook_hash="ab" * 32,
        inventory=INV,
        inventory_hash="cd" * 32,
        pattern=None,
        mode=mode,
        vars_hash="ef" * 32,
        operator="svc-sweep",
        controller="ctl01",
        version="0.11.0",
        started=started,
        finished=None if status in ("running", "crashed") else started + timedelta(minutes=9),
        status=status,  # type: ignore[arg-type]
        exit_code=None if status in ("running", "crashed") else 0,
        host_count=5,
    )


def win(
    remaining: int = 258000, status: str = "licensed", kms: str | None = "kms01.corp.example:1688"
) -> dict[str, Any]:
    return {
        "name": "Windows(R), Enterprise edition",
        "channel": "VOLUME_KMSCLIENT",
        "license_status": status,
        "remaining_minutes": remaining,
        "partial_key": "NPPR9",
        "kms_registered": kms,
        "renewal_interval_minutes": 10080,
    }


def office(name: str, status: str = "licensed", remaining: int = 250000) -> dict[str, Any]:
    return {
        "license_name": f"Office 16, {name} edition",
        "channel": "VOLUME_KMSCLIENT",
        "license_status": status,
        "remaining_minutes": remaining,
        "partial_key": "6MWKP",
        "kms_machine": "kms01.corp.example",
    }


def facts(kms: str = "kms01.corp.example:1688", **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "license.products": [win(kms=kms)],
        "kms_config.kms_registered": kms,
        "srv.records": [{"target": "kms01.corp.example", "port": 1688, "priority": 0, "weight": 0}],
        "kms_port.reachable": True,
    }
    base.update(over)
    return base


def rec(rid: int, at: datetime, host: str, verdict: str, **kw: Any) -> HostRecord:
    kw.setdefault("facts", facts() if verdict != "unreachable" else {})
    kw.setdefault("groups", ("windows", "tokyo") if host != "HOME-PC" else ("windows", "remote"))
    kw.setdefault("site", "tokyo" if host != "HOME-PC" else "home")
    return HostRecord(
        run_id=rid,
        host=host,
        address=f"{host.lower()}.corp.example",
        inventory=INV,
        verdict=verdict,
        finished=at + timedelta(minutes=5),
        **kw,
    )


def history() -> tuple[list[RunInfo], list[HostRecord]]:
    """Sweeps 1-5 weekly from T0, an apply run (6) between sweeps 4 and 5.

    WIN-0001 compliant throughout. WIN-0002's KMS host changes to kms02 in sweep 3 and it fails
    with 0xC004F074 until the apply run fixes it. HOME-PC is reached in sweeps 1-2, then
    unreachable. WIN-0004's Office products come back in another order each sweep (no drift)
    until Visio falls into grace in sweep 4. JA-PC fails with a Japanese error from sweep 2.
    """
    runs = [run(i + 1, T0 + i * WEEK) for i in range(5)]
    apply_at = T0 + 3 * WEEK + timedelta(days=3)
    runs.append(run(6, apply_at, kind="run", mode="apply"))
    recs: list[HostRecord] = []
    for i in range(5):
        rid, at = i + 1, T0 + i * WEEK
        recs.append(rec(rid, at, "WIN-0001", "compliant"))
        if i < 2:
            recs.append(rec(rid, at, "WIN-0002", "compliant"))
        elif i < 4:
            k2 = "kms02.corp.example:1688"
            recs.append(
                rec(
                    rid,
                    at,
                    "WIN-0002",
                    "would_fix",
                    codes=("0xC004F074",),
                    titles=("The KMS host could not be reached",),
                    facts=facts(kms=k2),
                )
            )
        else:
            recs.append(rec(rid, at, "WIN-0002", "compliant"))
        if i < 2:
            home = [win(remaining=HOME_REMAINING + (WEEK.days * 1440 if i == 0 else 0))]
            recs.append(
                rec(
                    rid,
                    at,
                    "HOME-PC",
                    "would_fix",
                    codes=("0xC004F074",),
                    titles=("The KMS host could not be reached",),
                    facts=facts(**{"license.products": home}),
                )
            )
        else:
            recs.append(rec(rid, at, "HOME-PC", "unreachable", error="WinRM: connection timed out"))
        prods = [office("ProPlus2019VL_KMS_Client_AE"), office("VisioPro2019VL_KMS_Client_AE")]
        if i >= 3:
            prods[1] = office("VisioPro2019VL_KMS_Client_AE", status="oot_grace", remaining=43200)
        if i % 2:
            prods.reverse()
        verdict = "compliant" if i < 3 else "would_fix"
        codes = () if i < 3 else ("0xC004F074",)
        titles = () if i < 3 else ("The KMS host could not be reached",)
        wfacts = facts(**{"office.products": prods})
        recs.append(rec(rid, at, "WIN-0004", verdict, codes=codes, titles=titles, facts=wfacts))
        if i == 0:
            recs.append(rec(rid, at, "JA-PC", "compliant"))
        else:
            recs.append(
                rec(
                    rid,
                    at,
                    "JA-PC",
                    "failed",
                    codes=("0x8007232B",),
                    titles=(JA_TITLE,),
                    error=JA_ERROR,
                )
            )
    recs.append(rec(6, apply_at, "WIN-0002", "fixed", changed=True, facts=facts()))
    return runs, recs
