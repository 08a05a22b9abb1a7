"""Charts for the web app, rendered server-side to SVG (Altair + vl-convert, offline).

The page inlines the SVG, so no chart library runs in the browser and the Content-Security-
Policy can forbid scripts outright. Bar charts come from contractwatch.charts (shared with the
HTML report); the award timeline and the year × agency bars live here.
"""

from __future__ import annotations

import re
from typing import Any

from contractwatch.charts import WIDTH, _axis, _float, bar_by_year, bar_ranked, to_svg

__all__ = ["bar_by_year", "bar_ranked", "by_year_and_series", "checked", "timeline"]

# What inlined SVG may never contain. vl-convert escapes data text; this is a second lock.
_UNSAFE = re.compile(r"<\s*(script|foreignobject|iframe|object|embed)|\son\w+\s*=|javascript:",
                     re.IGNORECASE)


def checked(svg: str | None) -> str | None:
    """Refuse SVG that could run code when inlined (it never should; data text is escaped)."""
    if svg is not None and _UNSAFE.search(svg):
        raise ValueError("chart SVG contains active content; refusing to inline it")
    return svg


def timeline(rows: list[dict[str, Any]], ceiling: Any | None = None,
             date_col: str = "action_date", running_col: str = "running_total") -> str:
    """Cumulative obligations over an award's actions (a step line), with its ceiling if known.

    De-obligations make the line step down; the ceiling is the award's own (the latest
    action's potential value), drawn as a dashed rule.
    """
    import altair as alt

    data = [{"date": r[date_col].isoformat() if hasattr(r[date_col], "isoformat")
             else str(r[date_col]), "amount": _float(r[running_col]),
             "series": "obligated (cumulative)"} for r in rows]
    line = alt.Chart(alt.Data(values=data)).mark_line(
        interpolate="step-after", point=True, color="#3a6ea5").encode(
        x=alt.X("date:T", title="action date"),
        y=alt.Y("amount:Q", title="USD", axis=_axis()),
    )
    layers: list[Any] = [line]
    if ceiling is not None:
        rule = alt.Chart(alt.Data(values=[{"ceiling": _float(ceiling)}])).mark_rule(
            color="#b5532a", strokeDash=[6, 4], strokeWidth=2).encode(y="ceiling:Q")
        label = alt.Chart(alt.Data(values=[{"ceiling": _float(ceiling), "t": "ceiling"}])
                          ).mark_text(align="left", dx=4, dy=-6, color="#b5532a").encode(
            y="ceiling:Q", text="t:N")
        layers += [rule, label]
    chart = alt.layer(*layers).properties(width=WIDTH, height=240)
    return to_svg(chart)


def by_year_and_series(rows: list[dict[str, Any]], series: str,
                       amount: str = "federal_action_obligation") -> str:
    """Bars per fiscal year, stacked by a series (e.g. awarding agency)."""
    import altair as alt

    data = [{"year": f"FY{r['fiscal_year']}", "series": str(r[series] or "(blank)"),
             "amount": _float(r[amount])} for r in rows]
    chart = alt.Chart(alt.Data(values=data)).mark_bar().encode(
        x=alt.X("year:N", title="fiscal year", sort=None),
        y=alt.Y("amount:Q", title="obligations (USD)", axis=_axis()),
        color=alt.Color("series:N", title=None,
                        scale=alt.Scale(range=["#3a6ea5", "#b5532a", "#6a9f58", "#8c6bb1"])),
    ).properties(width=WIDTH - 120, height=240)
    return to_svg(chart)
