"""The compliance report's content and its HTML / CSV forms, from synthetic records."""

from __future__ import annotations

import csv
import re
from datetime import timedelta
from pathlib import Path

from remediate.history.render import CSV_COLUMNS, render_csv, render_html
from remediate.history.report import build_report
from tests.history_synth import JA_ERROR, NOW, history


def _report():  # type: ignore[no-untyped-def]
    runs, recs = history()
    return build_report(runs, recs, NOW, timedelta(days=60))


def test_series_groups_sites_and_change_window() -> None:
    rep = _report()
    assert [p.run_id for p in rep.series] == [1, 2, 3, 4, 6, 5]  # start order, the apply run 6 included
    assert [(p.compliant, p.total) for p in rep.series] == [(4, 5), (3, 5), (2, 5), (1, 5), (1, 1), (2, 5)]
    assert {s.name: (s.compliant, s.total) for s in rep.by_site} == {"home": (0, 1), "tokyo": (2, 4)}
    assert rep.top_diagnoses[0].code in ("0x8007232B", "0xC004F074")
    # non-compliant longest: HOME-PC since sweep 1, JA-PC since sweep 2, WIN-0004 since sweep 4
    assert [h.host for h in rep.longest] == ["HOME-PC", "JA-PC", "WIN-0004"]
    cw = rep.change_window
    assert cw is not None and (cw.run.id, cw.before_run, cw.after_run) == (6, 4, 5)
    assert [(w.host, w.before, w.during, w.after) for w in cw.rows] == [
        ("WIN-0002", "would_fix", "fixed", "compliant")
    ]


def test_html_is_self_contained_escaped_and_utf8() -> None:
    page = render_html(_report())
    assert '<meta charset="utf-8">' in page
    assert "ライセンス認証サーバーに到達できません" in page and "KMSホスト名が見つからない" in page
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing fetched at view time
    assert len(re.findall(r'<circle class="point', page)) == 6


def test_run_metadata_lists_every_run() -> None:
    page = render_html(_report())
    for rid in range(1, 7):
        assert f"{rid:08d}-0000-4000-8000-000000000000" in page


def test_csv_has_one_row_per_host(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    render_csv(_report(), out)
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_host = {r["host"]: r for r in rows}
    assert set(by_host) == {"HOME-PC", "JA-PC", "WIN-0001", "WIN-0002", "WIN-0004"}
    assert by_host["JA-PC"]["error"] == JA_ERROR
    assert by_host["HOME-PC"]["expires_at"].startswith("2026-11-11")
    assert by_host["WIN-0001"]["compliant"] == "yes" and by_host["WIN-0001"]["expires_at"] == ""
