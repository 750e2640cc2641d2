"""The HTML report opened in a real headless browser (Debian's chromium): no console errors, the
chart drawn with one point per run, a screenshot taken.

REMEDIATE_UPDATE_SCREENSHOT=1 also copies the screenshot to docs/report-screenshot.png.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from remediate.history.render import render_html
from remediate.history.report import build_report
from tests.history_synth import NOW, history
from tests.services import browser

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def chromium() -> str:
    path, why = browser.install_if_missing()
    if path is None:
        pytest.skip(why or "no chromium")
    return path


def test_console_errors_are_caught(chromium: str, tmp_path: Path) -> None:
    # the detector itself: a page with a broken script is reported
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><meta charset="utf-8"><script>undefinedFn();</script>', encoding="utf-8")
    page = browser.load(chromium, bad, tmp_path / "profile")
    assert any("undefinedFn" in m for m in page.console)


def test_report_renders_in_chromium(chromium: str, tmp_path: Path) -> None:
    runs, recs = history()
    report = build_report(runs, recs, NOW, timedelta(days=60))
    html = tmp_path / "report.html"
    html.write_text(render_html(report), encoding="utf-8")
    page = browser.load(chromium, html, tmp_path / "profile")
    assert page.console == []
    assert re.search(r"<svg[^>]*class=\"chart\"", page.dom)
    points = re.findall(r'<circle class="point (sweep|run)"', page.dom)
    assert len(points) == len(report.series) == 6 and points.count("run") == 1
    assert "<polyline" in page.dom
    assert "ライセンス認証サーバーに到達できません" in page.dom  # read back as UTF-8
    png = tmp_path / "report.png"
    browser.screenshot(chromium, html, tmp_path / "profile2", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    if os.environ.get("REMEDIATE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(png, DOCS / "report-screenshot.png")
