"""Charts for the web app and the report: small SVG drawings written here, every text escaped
for XML.

The page or report inlines the SVG, so no chart library runs in the browser and the
Content-Security-Policy can forbid scripts outright; nothing is installed for them (a chart
library and its renderer cost the report ~2.5 s a run and 40 MB of install). Drawing a few
dozen bars needs no layout engine: a chart costs well under a millisecond, and since every
text from the data goes through `xml_text`, a recipient called ``JAVASCRIPT: TRAINING
SOLUTIONS INC`` is drawn as the name it is, never interpreted (nothing is matched against
the finished SVG). Amounts become floats only here, for drawing; the tables beside each chart
carry the exact figures.
"""

from __future__ import annotations

import math
from decimal import Decimal
from html import escape
from typing import Any

WIDTH = 640
BLUE = "#3a6ea5"
COLOURS = ("#3a6ea5", "#b5532a", "#6a9f58", "#8c6bb1", "#c49a2c", "#4d4d4d")
FONT = 'font-family="sans-serif" font-size="11" fill="#333"'

__all__ = ["bar_by_year", "bar_ranked", "by_year_and_series", "money_label",
           "obligated_vs_ceiling", "timeline", "xml_text"]


def xml_text(value: Any) -> str:
    """Text from the data, safe as SVG text content and inside a quoted attribute."""
    return escape("" if value is None else str(value), quote=True)


def _float(v: Any) -> float:
    return float(v) if isinstance(v, Decimal) else float(v or 0)


def money_label(v: float) -> str:
    """$1.2B, $350M, $12k, -$3.4M: axis and bar labels (the tables hold exact figures)."""
    sign, v = ("-" if v < 0 else ""), abs(v)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{sign}${v / size:.3g}{suffix}"
    return f"{sign}${v:.0f}"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering low..high (0 always included)."""
    span = (high - low) or abs(high) or 1.0
    raw = span / count
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 2)
            if first + i * step <= high + step * 1e-9]


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{xml_text(label)}">'
            + "".join(body) + "</svg>")


def _value_axis_y(top: int, bottom: int, left: int, right: int, low: float, high: float,
                  ) -> tuple[list[str], Any]:
    """Horizontal grid lines with money labels for a vertical value axis; returns the scale."""
    ticks = _ticks(low, high)
    lo, hi = min(ticks[0], low), max(ticks[-1], high)

    def y(v: float) -> float:
        return bottom - (v - lo) / ((hi - lo) or 1) * (bottom - top)

    out = []
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                   'stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y(t) + 4:.1f}" text-anchor="end" {FONT}>'
                   f"{xml_text(money_label(t))}</text>")
    return out, y


def bar_by_year(rows: list[dict[str, Any]], year: str = "fiscal_year",
                amount: str = "federal_action_obligation") -> str:
    """Vertical bars, one per fiscal year."""
    return by_year_and_series(rows, None, amount, year)


def by_year_and_series(rows: list[dict[str, Any]], series: str | None,
                       amount: str = "federal_action_obligation",
                       year: str = "fiscal_year") -> str:
    """Bars per fiscal year, stacked by a series (e.g. awarding agency) when one is named."""
    years = list(dict.fromkeys(r[year] for r in rows))
    names = list(dict.fromkeys(str(r[series] or "(blank)") for r in rows)) if series else [""]
    stacks: dict[Any, dict[str, float]] = {y: {} for y in years}
    for r in rows:
        key = str(r[series] or "(blank)") if series else ""
        stacks[r[year]][key] = stacks[r[year]].get(key, 0.0) + _float(r[amount])
    lows = [sum(v for v in s.values() if v < 0) for s in stacks.values()]
    highs = [sum(v for v in s.values() if v > 0) for s in stacks.values()]
    legend = 18 * len(names) if series else 0
    width, height, left, top, bottom = WIDTH, 260 + legend, 70, 10, 230
    grid, y = _value_axis_y(top, bottom, left, width - 10, min([0.0, *lows]),
                            max([0.0, *highs]))
    body = list(grid)
    slot = (width - 10 - left) / max(1, len(years))
    for i, fy in enumerate(years):
        x = left + i * slot + slot * 0.15
        up = down = 0.0
        for k, name in enumerate(names):
            v = stacks[fy].get(name, 0.0)
            if not v:
                continue
            start = up if v > 0 else down
            end = start + v
            if v > 0:
                up = end
            else:
                down = end
            y0, y1 = sorted((y(start), y(end)))
            title = f"FY{fy}{' ' + name if series else ''}: {money_label(v)}"
            body.append(f'<rect x="{x:.1f}" y="{y0:.1f}" width="{slot * 0.7:.1f}" '
                        f'height="{max(0.5, y1 - y0):.1f}" fill="{COLOURS[k % len(COLOURS)]}">'
                        f"<title>{xml_text(title)}</title></rect>")
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{bottom + 16}" text-anchor="middle" '
                    f"{FONT}>FY{xml_text(fy)}</text>")
    body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
                'stroke="#888"/>')
    if series:
        for k, name in enumerate(names):
            ly = bottom + 34 + 18 * k
            body.append(f'<rect x="{left}" y="{ly - 10}" width="12" height="12" '
                        f'fill="{COLOURS[k % len(COLOURS)]}"/>'
                        f'<text x="{left + 18}" y="{ly}" {FONT}>{xml_text(name)}</text>')
    return _svg(width, height, "obligations by fiscal year", body)


def bar_ranked(rows: list[dict[str, Any]], label: str,
               amount: str = "federal_action_obligation") -> str:
    """Horizontal bars, largest first (top recipients, families, brands)."""
    values = [_float(r[amount]) for r in rows]
    labels = [str(r[label] or "(blank)") for r in rows]
    width, left, right, top, row_h = WIDTH, 260, WIDTH - 70, 6, 22
    height = top + row_h * len(rows) + 24
    lo, hi = min([0.0, *values]), max([0.0, *values])

    def x(v: float) -> float:
        return left + (v - lo) / ((hi - lo) or 1) * (right - left)

    body = []
    for i, (name, v) in enumerate(zip(labels, values, strict=True)):
        yy = top + i * row_h
        shown = name if len(name) <= 40 else name[:39] + "…"
        x0, x1 = sorted((x(0), x(v)))
        body.append(f'<text x="{left - 6}" y="{yy + 15}" text-anchor="end" {FONT}>'
                    f"<title>{xml_text(name)}</title>{xml_text(shown)}</text>")
        body.append(f'<rect x="{x0:.1f}" y="{yy + 3}" width="{max(0.5, x1 - x0):.1f}" '
                    f'height="{row_h - 6}" fill="{BLUE}"><title>{xml_text(name)}: '
                    f"{xml_text(money_label(v))}</title></rect>")
        body.append(f'<text x="{x1 + 4:.1f}" y="{yy + 15}" {FONT}>'
                    f"{xml_text(money_label(v))}</text>")
    body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{height - 20}" '
                'stroke="#888"/>')
    return _svg(width, height, "ranked obligations", body)


def timeline(rows: list[dict[str, Any]], ceiling: Any | None = None,
             date_col: str = "action_date", running_col: str = "running_total") -> str:
    """Cumulative obligations over an award's actions (a step line), with its ceiling if known.

    De-obligations make the line step down; the ceiling is the award's own (the latest
    action's potential value), drawn as a dashed line.
    """
    points = [(r[date_col].toordinal() if hasattr(r[date_col], "toordinal") else i,
               _float(r[running_col]), str(r[date_col])) for i, r in enumerate(rows)]
    amounts = [p[1] for p in points] + ([_float(ceiling)] if ceiling is not None else [])
    width, height, left, right, top, bottom = WIDTH, 270, 70, WIDTH - 60, 12, 230
    grid, y = _value_axis_y(top, bottom, left, right, min([0.0, *amounts]),
                            max([0.0, *amounts]))
    first, last = (points[0][0], points[-1][0]) if points else (0, 1)

    def x(day: float) -> float:
        return left + (day - first) / ((last - first) or 1) * (right - left)

    body = list(grid)
    path, prev = [], None
    for day, v, _ in points:
        if prev is not None:
            path.append(f"L{x(day):.1f},{y(prev):.1f}")
        path.append(f"{'M' if prev is None else 'L'}{x(day):.1f},{y(v):.1f}")
        prev = v
    if path:
        body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{BLUE}" '
                    'stroke-width="2"/>')
    for day, v, when in points:
        body.append(f'<circle cx="{x(day):.1f}" cy="{y(v):.1f}" r="3" fill="{BLUE}">'
                    f"<title>{xml_text(when)}: {xml_text(money_label(v))}</title></circle>")
    if ceiling is not None:
        cy = y(_float(ceiling))
        body.append(f'<line x1="{left}" x2="{right}" y1="{cy:.1f}" y2="{cy:.1f}" '
                    'stroke="#b5532a" stroke-width="2" stroke-dasharray="6 4"/>'
                    f'<text x="{right + 4}" y="{cy + 4:.1f}" {FONT}>ceiling</text>')
    if points:
        body.append(f'<text x="{left}" y="{bottom + 16}" {FONT}>{xml_text(points[0][2])}</text>'
                    f'<text x="{right}" y="{bottom + 16}" text-anchor="end" {FONT}>'
                    f"{xml_text(points[-1][2])}</text>")
    return _svg(width, height, "running total of obligations", body)


def obligated_vs_ceiling(rows: list[dict[str, Any]], label: str = "award_id_piid") -> str:
    """Obligated beside ceiling per award (awards with a known ceiling only): two bars per
    award on one scale, the ceiling light behind, the obligations dark in front."""
    known = [r for r in rows if r.get("potential_total_value_of_award") is not None]
    pairs = [(str(r[label] or "(blank)"), _float(r["federal_action_obligation"]),
              _float(r["potential_total_value_of_award"])) for r in known]
    width, left, right, top, row_h = WIDTH, 200, WIDTH - 70, 6, 30
    height = top + row_h * len(pairs) + 40
    values = [v for _, o, c in pairs for v in (o, c)]
    lo, hi = min([0.0, *values]), max([0.0, *values])

    def x(v: float) -> float:
        return left + (v - lo) / ((hi - lo) or 1) * (right - left)

    body = []
    for i, (name, obligated, ceiling) in enumerate(pairs):
        yy = top + i * row_h
        body.append(f'<text x="{left - 6}" y="{yy + 18}" text-anchor="end" {FONT}>'
                    f"{xml_text(name)}</text>")
        for k, (what, v, colour) in enumerate((("ceiling", ceiling, "#c8d6e5"),
                                               ("obligated", obligated, BLUE))):
            x0, x1 = sorted((x(0), x(v)))
            body.append(f'<rect x="{x0:.1f}" y="{yy + 3 + k * 12}" '
                        f'width="{max(0.5, x1 - x0):.1f}" height="11" fill="{colour}">'
                        f"<title>{xml_text(name)} {what}: {xml_text(money_label(v))}</title>"
                        "</rect>")
            body.append(f'<text x="{x1 + 4:.1f}" y="{yy + 12 + k * 12}" {FONT}>'
                        f"{xml_text(money_label(v))}</text>")
    legend = height - 16
    body.append(f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="{top}" y2="{legend - 12}" '
                'stroke="#888"/>')
    for k, (what, colour) in enumerate((("ceiling", "#c8d6e5"), ("obligated", BLUE))):
        lx = left + 110 * k
        body.append(f'<rect x="{lx}" y="{legend - 10}" width="12" height="12" '
                    f'fill="{colour}"/><text x="{lx + 18}" y="{legend}" {FONT}>{what}</text>')
    return _svg(width, height, "obligated and ceiling per award", body)
