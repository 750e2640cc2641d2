"""The report as one self-contained HTML page (inline CSS, the chart as inline SVG, no script,
nothing fetched at view time) and as per-host CSV rows."""

from __future__ import annotations

import csv
from datetime import datetime
from html import escape
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from remediate.history.drift import shown
from remediate.history.forecast import ForecastEntry
from remediate.history.report import CompliancePoint, Report

TEMPLATES = Path(__file__).parent / "templates"
CHART_W, CHART_H, PAD_L, PAD_R, PAD_T, PAD_B = 860, 260, 48, 16, 16, 44

# CSV columns, one row per host (its latest record in the report's window)
CSV_COLUMNS = (
    "inventory",  # the inventory path: host identity is (inventory, host, address)
    "host",
    "address",
    "site",
    "groups",  # space-separated
    "verdict",  # in its latest record
    "compliant",  # yes / no
    "codes",  # diagnosis codes, space-separated
    "error",
    "last_run",  # the run id of that record
    "last_seen",  # ISO 8601 UTC
    "non_compliant_since",  # the first of its latest non-compliant records in a row (ISO), or empty
    "last_reached",  # its latest record that reached it (ISO), or empty
    "expires_at",  # the soonest licence expiry within the forecast horizon (ISO), or empty
    "expiring_product",
)


def when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else ""


def chart_svg(series: list[CompliancePoint]) -> Markup:
    """Compliance % per run: a line, one <circle class="point"> per run (sweeps filled, others hollow)."""
    w, h = CHART_W - PAD_L - PAD_R, CHART_H - PAD_T - PAD_B
    n = len(series)

    def x(i: int) -> float:
        return PAD_L + (w * i / (n - 1) if n > 1 else w / 2)

    def y(pct: float) -> float:
        return PAD_T + h * (1 - pct / 100)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{CHART_W}" height="{CHART_H}" '
        f'viewBox="0 0 {CHART_W} {CHART_H}" role="img" aria-label="compliance % per run">'
    ]
    for pct in (0, 25, 50, 75, 100):
        out.append(f'<line class="grid" x1="{PAD_L}" x2="{PAD_L + w}" y1="{y(pct):.1f}" y2="{y(pct):.1f}"/>')
        out.append(f'<text class="axis" x="{PAD_L - 6}" y="{y(pct) + 4:.1f}" text-anchor="end">{pct}%</text>')
    if n > 1:
        pts = " ".join(f"{x(i):.1f},{y(p.percent):.1f}" for i, p in enumerate(series))
        out.append(f'<polyline class="line" points="{pts}"/>')
    for i, p in enumerate(series):
        label = escape(f"run {p.run_id} ({p.kind}) {when(p.started)}: {p.compliant}/{p.total} compliant")
        kind = "sweep" if p.kind == "sweep" else "run"
        out.append(
            f'<circle class="point {kind}" data-run="{p.run_id}" '
            f'cx="{x(i):.1f}" cy="{y(p.percent):.1f}" r="5">'
            f"<title>{label}</title></circle>"
        )
        out.append(
            f'<text class="axis" x="{x(i):.1f}" y="{PAD_T + h + 18}" text-anchor="middle">'
            f"{escape(p.started.strftime('%m-%d'))}</text>"
        )
        out.append(
            f'<text class="axis" x="{x(i):.1f}" y="{PAD_T + h + 32}" text-anchor="middle">#{p.run_id}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text in it is escaped above


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, keep_trailing_newline=True)
    env.filters["when"] = when
    env.filters["pct"] = lambda v: f"{v:.0f}%"
    env.filters["value"] = lambda v: shown(v, none="—")
    return env



def render_html(report: Report) -> str:
    return _env().get_template("report.html.j2").render(r=report, chart=chart_svg(report.series))


def render_csv(report: Report, path: str | Path) -> None:
    """One row per host, columns CSV_COLUMNS (UTF-8 with a BOM so Excel reads Japanese text)."""
    soonest: dict[tuple[str, str, str], ForecastEntry] = {}
    for entry in report.forecast.entries:  # sorted soonest first
        soonest.setdefault((entry.inventory, entry.host, entry.address), entry)
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        out = csv.writer(fh)
        out.writerow(CSV_COLUMNS)
        for h in report.hosts:
            e = soonest.get((h.inventory, h.host, h.address))
            out.writerow(
                [
                    h.inventory,
                    h.host,
                    h.address,
                    h.site or "",
                    " ".join(h.groups),
                    h.verdict,
                    "yes" if h.verdict in ("compliant", "fixed") else "no",
                    " ".join(h.codes),
                    h.error or "",
                    h.last_run,
                    h.last_seen.isoformat(),
                    h.non_compliant_since.isoformat() if h.non_compliant_since else "",
                    h.last_reached.isoformat() if h.last_reached else "",
                    e.expires_at.isoformat() if e else "",
                    e.product if e else "",
                ]
            )
