"""The history's read commands (remediate/cli_history.py) through click's CliRunner, on SQLite and
PostgreSQL (store_db): a store filled through the Store API with tests/history_synth.py's weekly
sweeps, moved in time so that its last sweep was yesterday."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from remediate.cli import main
from remediate.history.records import RunMeta
from remediate.history.render import CSV_COLUMNS
from remediate.history.schema import RunRow
from remediate.history.store import Store
from tests import history_synth as synth

OTHER_INV = "/srv/lab/estate.yml"  # a second inventory that also has a WIN-0004


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def _meta(info: Any) -> RunMeta:
    return RunMeta(
        kind=info.kind, playbook=info.playbook, playbook_hash=info.playbook_hash, inventory=info.inventory,
        inventory_hash=info.inventory_hash, pattern=None, mode=info.mode, vars_hash=info.vars_hash,
        operator=info.operator, controller=info.controller, version=info.version, host_count=info.host_count,
    )  # fmt: skip


def fill(db: str) -> datetime:
    """The synthetic history, shifted so synth.NOW is now; returns the shift's 'now'."""
    now = datetime.now(UTC)
    shift = now - synth.NOW
    runs, records = synth.history()
    other = replace(runs[0], inventory=OTHER_INV, started=runs[-2].started + timedelta(hours=1))
    store = Store.open(db, create=True)
    try:
        for info in [*runs, other]:
            stored = store.start_run(_meta(info))
            mine = [r for r in records if r.run_id == info.id]
            if info is other:
                at = other.started + timedelta(minutes=5)
                mine = [
                    replace(records[0], host="WIN-0004", address="10.0.0.4", inventory=OTHER_INV, finished=at)
                ]
            for r in mine:
                store.record_host(stored.id, replace(r, run_id=stored.id, finished=r.finished + shift))
            store.finish_run(stored.id, status="finished", exit_code=2)
            with store.engine.begin() as conn:
                started = info.started + shift
                when = {"started": started, "finished": started + timedelta(minutes=9)}
                conn.execute(update(RunRow).where(RunRow.id == stored.id).values(**when))
        # one run left open by this (live) process: shown as running
        store.start_run(replace(_meta(runs[0]), kind="run", playbook="still-going.yml"))
    finally:
        store.close()
    return now


@pytest.fixture
def db(store_db: str) -> str:
    fill(store_db)
    return store_db


def test_runs_table_and_json(db: str) -> None:
    r = invoke("history", "--db", db)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("== runs in ")  # a table, not JSON
    lines = r.output.splitlines()
    row = next(line.split("\t") for line in lines if line.startswith("6\t"))
    assert len(row[1]) == 8  # the UUID, short
    assert row[2:5] == ["run", "finished", "kms-health.yml"] and row[6] == "apply" and row[-1] == "2"
    assert any(line.startswith("8\t") and "\trunning\t" in line for line in lines)
    j = invoke("history", "--db", db, "--json", "--kind", "sweep", "--since", "15d")
    runs = json.loads(j.output)
    # the other inventory's run (7, an hour after sweep 5), sweeps 5 and 4 (1 and 8 days ago)
    assert [x["id"] for x in runs] == [7, 5, 4] and {x["kind"] for x in runs} == {"sweep"}
    assert runs[0]["started"].endswith("+00:00")
    inv = invoke("history", "--db", db, "--json", "--inventory", OTHER_INV)
    assert [x["id"] for x in json.loads(inv.output)] == [7]
    assert [x["id"] for x in json.loads(invoke("history", "--db", db, "--json", "-n", "2").output)] == [8, 7]


def test_run_detail_is_a_table_unless_json(db: str) -> None:
    r = invoke("history", "--db", db, "--run", "3")
    assert r.exit_code == 0, r.output
    assert (
        "== run 3 ==" in r.output
        and "status: finished" in r.output
        and "playbook: kms-health.yml" in r.output
    )
    home = next(line for line in r.output.splitlines() if line.startswith("HOME-PC\t"))
    assert home.split("\t")[1:4] == ["home-pc.corp.example", "unreachable", "-"]
    assert "WinRM: connection timed out" in home
    ja = next(line for line in r.output.splitlines() if line.startswith("JA-PC\t"))
    assert "\tライセンス認証サーバーに到達できません (0x8007232B)" in ja
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.output)
    j = json.loads(invoke("history", "--db", db, "--run", "3", "--json").output)
    assert j["run"]["id"] == 3 and {h["host"] for h in j["hosts"]} == {
        "WIN-0001", "WIN-0002", "HOME-PC", "WIN-0004", "JA-PC"
    }  # fmt: skip


def test_unknown_run_exits_1(db: str) -> None:
    # (9 digits: neither a row id here nor a prefix of a UUID, whose 9th character is "-")
    r = invoke("history", "--db", db, "--run", "999999999")
    assert r.exit_code == 1 and r.stdout == "" and "no run '999999999' in" in r.stderr
    assert "Traceback" not in r.stderr
    r = invoke("drift", "1", "999999999", "--db", db)
    assert r.exit_code == 1 and "no run '999999999' in" in r.stderr


def test_host_history_groups_by_inventory_and_address(db: str) -> None:
    r = invoke("history", "--db", db, "--host", "WIN-0004")
    assert r.exit_code == 0, r.output
    titles = [line for line in r.output.splitlines() if line.startswith("== ")]
    assert titles == [
        f"== WIN-0004 (10.0.0.4) in {OTHER_INV} ==",
        f"== WIN-0004 (win-0004.corp.example) in {synth.INV} ==",
    ]
    main_rows = r.output.split(titles[1])[1].strip().splitlines()[1:]
    assert [row.split("\t")[0] for row in main_rows] == ["5", "4", "3", "2", "1"]  # newest first
    j = json.loads(invoke("history", "--db", db, "--host", "WIN-0004", "--json", "-n", "2").output)
    assert [(x["inventory"], x["run_id"]) for x in j] == [(OTHER_INV, 7), (synth.INV, 5), (synth.INV, 4)]


def test_prune_counts_and_refuses_under_a_day(db: str) -> None:
    r = invoke("history", "prune", "--older-than", "1h", "--db", db)
    assert r.exit_code == 1 and "--force" in r.stderr
    assert len(json.loads(invoke("history", "--db", db, "--json").output)) == 8
    dry = invoke("history", "--db", db, "prune", "--older-than", "20d", "--dry-run")  # group's --db
    assert dry.exit_code == 0 and dry.output.startswith("would prune 2 run(s)"), dry.output
    assert len(json.loads(invoke("history", "--db", db, "--json").output)) == 8
    r = invoke("history", "prune", "--older-than", "20d", "--db", db)
    assert r.exit_code == 0 and r.output.startswith("pruned 2 run(s)"), r.output
    left = json.loads(invoke("history", "--db", db, "--json").output)
    assert sorted(x["id"] for x in left) == [3, 4, 5, 6, 7, 8]
    assert invoke("history", "prune", "--older-than", "1h", "--force", "--db", db).exit_code == 0


def test_drift_between_runs_shows_the_kms_host_change(db: str) -> None:
    r = invoke("drift", "2", "3", "--db", db)
    assert r.exit_code == 0, r.output
    kms = [line.split("\t") for line in r.output.splitlines() if "kms02.corp.example:1688" in line]
    assert kms and all(row[1] == "WIN-0002 (win-0002.corp.example)" and row[2] == "2 -> 3" for row in kms)
    assert any(row[5] == "kms01.corp.example:1688 -> kms02.corp.example:1688" for row in kms)
    j = json.loads(invoke("drift", "2", "3", "--db", db, "--json").output)
    assert j["run_a"] == 2 and {e["host"] for e in j["events"]} >= {"WIN-0002"}
    assert invoke("drift", "2", "--db", db).exit_code == 1
    assert invoke("drift", "2", "3", "--since", "7d", "--db", db).exit_code == 1


def test_drift_window_uses_the_baseline_before_it(db: str) -> None:
    r = invoke("drift", "--db", db)  # default --since 7d: the apply run (5 days ago) and sweep 5
    assert r.exit_code == 0, r.output
    rows = [line.split("\t") for line in r.output.splitlines()[2:]]
    # sweep 4 (8 days ago) is outside the window but is WIN-0002's baseline: the apply run fixed it
    assert {(row[1], row[2]) for row in rows} == {("WIN-0002 (win-0002.corp.example)", "4 -> 6")}
    assert ["became compliant", "-", "would_fix -> fixed"] in [row[3:] for row in rows]
    j = json.loads(invoke("drift", "--since", "9d", "--db", db, "--json").output)
    visio = [e for e in j["events"] if e["host"] == "WIN-0004"]  # sweep 4: Visio fell into grace
    assert [e["run_after"] for e in visio] == [4]


def test_forecast_lists_the_home_pc(db: str) -> None:
    r = invoke("forecast", "--days", "30", "--db", db)
    assert r.exit_code == 0, r.output
    home = [
        line.split("\t")
        for line in r.output.splitlines()
        if line.split("\t")[1:2] == ["HOME-PC (home-pc.corp.example)"]
    ]
    assert home and "(in 12 days)" in home[0][0] and "in a row" in home[0][-1]
    j = json.loads(invoke("forecast", "--days", "5", "--db", db, "--json").output)
    assert "HOME-PC" not in {e["host"] for e in j["entries"]} and j["days"] == 5


def test_report_writes_html_and_csv_atomically_and_refuses_overwrite(db: str, tmp_path: Path) -> None:
    html, table = tmp_path / "r.html", tmp_path / "r.csv"
    r = invoke("report", "--db", db, "--html", html, "--csv", table)
    assert r.exit_code == 0, r.output
    assert f"wrote {html}" in r.output and "<svg" in html.read_text(encoding="utf-8")
    with open(table, encoding="utf-8-sig", newline="") as fh:
        assert next(csv.reader(fh)) == list(CSV_COLUMNS)
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp file left
    before = html.read_bytes()
    r = invoke("report", "--db", db, "--html", html)
    assert r.exit_code == 1 and "--force" in r.stderr and html.read_bytes() == before
    assert invoke("report", "--db", db, "--html", html, "--force").exit_code == 0
    r = invoke("report", "--db", db)
    assert r.exit_code == 1 and "--html" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("history",),
        ("history", "--run", "1"),
        ("history", "--host", "WIN-0001"),
        ("history", "prune", "--older-than", "30d"),
        ("drift",),
        ("forecast",),
        ("report", "--html", "{dir}/r.html"),
    ],
)
def test_reads_create_nothing(args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere" / "history.db"
    argv = [a.format(dir=tmp_path) for a in args]
    r = invoke(*argv, "--db", missing)
    assert r.exit_code == 1 and "error: no history database at" in r.stderr and "Traceback" not in r.output
    # the default path (no --db, no $REMEDIATE_DB): the same error, and nothing made there either
    monkeypatch.delenv("REMEDIATE_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    r = invoke(*argv)
    assert r.exit_code == 1 and "no history database at" in r.stderr
    assert str(tmp_path / "xdg" / "remediate" / "history.db") in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_bad_db_is_one_line(tmp_path: Path) -> None:
    r = invoke("history", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert r.exit_code == 1 and r.stderr.startswith("error: ") and "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    r = invoke("history", "--since", "yesterday", "--db", tmp_path / "x.db")
    assert r.exit_code == 1 and "--since" in r.stderr
