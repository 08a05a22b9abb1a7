"""Charts as standalone SVG text (Altair rendered by vl-convert, offline), for inlining.

Amounts are exact decimals everywhere else; a chart only draws them, so they become floats
here and nowhere else. Labels carry the exact figures in the tables next to each chart.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

WIDTH = 640
# d3's SI prefix says G for billions; readers expect B
_AXIS_LABEL = "replace(format(datum.value, '$,.3~s'), 'G', 'B')"


def _axis() -> object:
    import altair as alt

    return alt.Axis(labelExpr=_AXIS_LABEL)


def _float(v: Any) -> float:
    return float(v) if isinstance(v, Decimal) else float(v or 0)


def bar_by_year(rows: list[dict[str, Any]], year: str = "fiscal_year",
                amount: str = "federal_action_obligation", title: str = "") -> str:
    """Vertical bars, one per fiscal year."""
    import altair as alt

    data = [{"year": f"FY{r[year]}", "amount": _float(r[amount])} for r in rows]
    chart = alt.Chart(alt.Data(values=data)).mark_bar(color="#3a6ea5").encode(
        x=alt.X("year:N", title="fiscal year", sort=None),
        y=alt.Y("amount:Q", title="obligations (USD)", axis=_axis()),
        tooltip=[alt.Tooltip("year:N"), alt.Tooltip("amount:Q", format="$,.2f")],
    ).properties(width=WIDTH, height=240, title=title)
    return to_svg(chart)


def bar_ranked(rows: list[dict[str, Any]], label: str,
               amount: str = "federal_action_obligation", title: str = "") -> str:
    """Horizontal bars, largest first (top recipients, families, brands)."""
    import altair as alt

    data = [{"label": str(r[label] or "(blank)")[:60], "amount": _float(r[amount])}
            for r in rows]
    chart = alt.Chart(alt.Data(values=data)).mark_bar(color="#3a6ea5").encode(
        y=alt.Y("label:N", title=None, sort=None),
        x=alt.X("amount:Q", title="obligations (USD)", axis=_axis()),
        tooltip=[alt.Tooltip("label:N"), alt.Tooltip("amount:Q", format="$,.2f")],
    ).properties(width=WIDTH - 200, height=max(60, 22 * len(data)), title=title)
    return to_svg(chart)


def obligated_vs_ceiling(rows: list[dict[str, Any]], label: str = "award_id_piid") -> str:
    """Obligated beside ceiling per award (awards with a known ceiling only)."""
    import altair as alt

    data = []
    for r in rows:
        if r.get("potential_total_value_of_award") is None:
            continue
        data.append({"award": r[label], "measure": "ceiling",
                     "amount": _float(r["potential_total_value_of_award"])})
        data.append({"award": r[label], "measure": "obligated",
                     "amount": _float(r["federal_action_obligation"])})
    chart = alt.Chart(alt.Data(values=data)).mark_bar().encode(
        y=alt.Y("award:N", title=None, sort=None),
        yOffset="measure:N",
        x=alt.X("amount:Q", title="USD", axis=_axis()),
        color=alt.Color("measure:N", scale=alt.Scale(range=["#c8d6e5", "#3a6ea5"])),
    ).properties(width=WIDTH - 200, height=max(60, 30 * len(data) // 2))
    return to_svg(chart)


def to_svg(chart: Any) -> str:
    """SVG text without an XML declaration, ready to inline in HTML."""
    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(chart.to_dict())
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2:].lstrip()
    return svg
