"""What every analysis returns, to the terminal, the web app and a notebook alike.

A Result holds rows (exact decimals, dates), the SQL behind them, the caveats a reader must
see and the answer's headline facts. In a notebook it converts to pandas, Polars or Arrow
and shows itself as an HTML table with its caveats; `output.render` prints it for the CLI.
Importing this module costs nothing: pyarrow, pandas and polars load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HTML_ROWS = 50  # shown in a notebook; to_pandas() has them all


@dataclass
class Result:
    """What a query returns: rows for any output format, plus provenance."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str | None = None
    caveats: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # the answer's headline facts by column name (an award's recipient, total, ceiling…):
    # part of the answer in every format, see output.render
    facts: dict[str, Any] = field(default_factory=dict)
    # further tables of the same answer (a company's members, its largest awards)
    parts: dict[str, Result] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrow(self) -> Any:
        """A pyarrow Table of the rows, columns in order; money stays exact (decimal128)."""
        import pyarrow as pa

        if not self.rows:
            return pa.table({c: pa.array([], pa.null()) for c in self.columns})
        data = {c: [row.get(c) for row in self.rows] for c in self.columns}
        return pa.table({c: pa.array(values) for c, values in data.items()})

    def to_pandas(self) -> Any:
        """A pandas DataFrame (money as exact Decimal objects; `.astype(float)` to plot)."""
        return self.to_arrow().to_pandas()

    def to_polars(self) -> Any:
        """A Polars DataFrame (money as Decimal). Polars is optional."""
        try:
            import polars
        except ImportError:
            raise ImportError("to_polars() needs Polars, which contractwatch does not "
                              "install: pip install polars (or use to_pandas())") from None
        return polars.from_arrow(self.to_arrow())

    def __repr__(self) -> str:
        head = f"<Result {self.title!r}: {len(self.rows)} rows × {len(self.columns)} columns"
        notes = f", {len(self.caveats)} caveats" if self.caveats else ""
        return head + notes + ">"

    def _repr_html_(self) -> str:
        """Jupyter's rich display: title, headline facts, the table, the caveats."""
        return to_html(self)


def to_html(result: Result, level: int = 4) -> str:
    """The result as an HTML fragment: headers in words and cells by kind (columns.py)."""
    from html import escape as esc

    from contractwatch.columns import column, format_value, is_numeric

    out = [f"<div class='contractwatch-result'><h{level}>{esc(result.title)}</h{level}>"]
    if result.facts:
        out.append("<ul class='facts'>" + "".join(
            f"<li><b>{esc(column(k).label)}</b>: {esc(format_value(v, k))}</li>"
            for k, v in result.facts.items()) + "</ul>")
    cols = result.columns
    out.append("<table><thead><tr>" + "".join(
        f"<th title='{esc(c)}'>{esc(column(c).label)}</th>" for c in cols) + "</tr></thead><tbody>")
    for row in result.rows[:HTML_ROWS]:
        out.append("<tr>" + "".join(
            f"<td style='text-align:{'right' if is_numeric(c) else 'left'}'>"
            f"{esc(format_value(row.get(c), c, 120))}</td>" for c in cols) + "</tr>")
    out.append("</tbody></table>")
    if len(result.rows) > HTML_ROWS:
        out.append(f"<p>… {len(result.rows) - HTML_ROWS:,} more rows "
                   "(<code>.to_pandas()</code> has them all)</p>")
    for name, part in result.parts.items():
        if part.rows:
            out.append(to_html(part, level + 1).replace(
                "class='contractwatch-result'", f"class='contractwatch-part' id='{esc(name)}'"))
    if result.caveats:
        out.append("<ul class='caveats'>" + "".join(
            f"<li>note: {esc(c)}</li>" for c in result.caveats) + "</ul>")
    out.append("</div>")
    return "".join(out)
