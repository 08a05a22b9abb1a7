"""Rendering results as a terminal table, JSON or CSV. Data to stdout, everything else stderr.

JSON: a list of objects keyed by canonical column names, money as numbers in dollars (exact
decimals written as JSON numbers, never floats), dates as YYYY-MM-DD.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from contractwatch.values.money import format_dollars

FORMATS = ("table", "json", "csv")
MONEY_HINTS = ("obligation", "value", "total", "ceiling", "amount", "change_from")


class _Encoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, Decimal):
            return _RawNumber(o)
        if isinstance(o, (date, datetime)):
            return o.isoformat()
        return super().default(o)


class _RawNumber(float):
    """A float subclass whose repr is the exact decimal, so json writes cents exactly."""

    def __new__(cls, value: Decimal) -> _RawNumber:
        obj = super().__new__(cls, float(value))
        obj._text = format(value, "f")  # type: ignore[attr-defined]
        return obj

    def __repr__(self) -> str:
        return self._text  # type: ignore[attr-defined]

    __str__ = __repr__


def to_jsonable(value: Any) -> Any:
    """Plain Python for JSON APIs (FastAPI): exact decimals as float-compatible numbers."""
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return _RawNumber(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def dumps(value: Any, indent: int | None = 2) -> str:
    # float.__repr__ is used by the C encoder; force the pure-Python path for exact numbers.
    encoder = _Encoder(indent=indent, ensure_ascii=False)
    encoder.c_make_encoder = None  # type: ignore[attr-defined]
    return "".join(_iterencode(encoder, value))


def _iterencode(encoder: json.JSONEncoder, value: Any) -> Any:
    from json import encoder as enc

    old = enc.c_make_encoder
    enc.c_make_encoder = None
    try:
        floatstr = repr
        return json.encoder._make_iterencode(  # type: ignore[attr-defined]
            {}, encoder.default, enc.py_encode_basestring, encoder.indent, floatstr,
            encoder.key_separator, encoder.item_separator, encoder.sort_keys,
            encoder.skipkeys, True,
        )(to_jsonable(value), 0)
    finally:
        enc.c_make_encoder = old


def format_cell(value: Any, column: str, width: int = 90, decimals_are_money: bool = False) -> str:
    """One value as people read it: dollars, ISO dates, thousands separators, cut text."""
    if value is None:
        return ""
    if isinstance(value, Decimal) and (
            decimals_are_money or any(h in column for h in MONEY_HINTS)):
        return format_dollars(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and column != "fiscal_year":
        return f"{value:,}"
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def render(result: Any, fmt: str = "table", out: IO[str] | None = None,
           show_sql: bool = False, columns: list[str] | None = None) -> None:
    """Write a Result (see analyze.Result) in the chosen format."""
    out = out or sys.stdout
    cols = columns or result.columns
    if fmt == "json":
        out.write(dumps([{c: row.get(c) for c in cols} for row in result.rows]) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(cols)
        for row in result.rows:
            writer.writerow([csv_cell(row.get(c)) for c in cols])
    elif fmt == "table":
        _table(result, cols)
    else:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    for note in result.caveats:  # in every format: JSON and CSV readers must learn them too
        tell(note, "note")
    if show_sql and result.sql:
        from rich.markup import escape  # SQL may hold brackets: not markup

        _stderr().print(f"[dim]-- query behind these figures\n{escape(result.sql)}[/dim]")


def tell(text: str, label: str | None = None) -> None:
    """One line for people, on stderr (data goes to stdout). The text is never read as
    markup (file names and values hold brackets), its control characters are shown, not
    obeyed (`visible`), and it is never wrapped (a terminal does that)."""
    from rich.markup import escape

    prefix = f"[yellow]{label}:[/yellow] " if label else ""
    _stderr().print(prefix + escape(visible(text)), soft_wrap=True, highlight=False)


# C0 and C1 control characters, DEL, and the Unicode controls that reorder text on screen
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                      "\u2066-\u2069]")


def visible(text: str) -> str:
    """Text for a terminal: control characters (ESC and OSC sequences that clear the screen
    or retitle the window, line breaks that forge a line, BEL, C1) written as escapes such as
    \\x1b, so a hostile file or member name is shown, never obeyed. Tabs stay."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


# Text a spreadsheet would run as a formula starts with one of these (OWASP "CSV injection");
# text that is a plain number ("-1234.50", "+12") is a number there, not a formula.
FORMULA_START = r"^[=+\-@\t\r]"
NUMBER_TEXT = r"^[+-]?([0-9][0-9,]*(\.[0-9]*)?|\.[0-9]+)$"


def csv_cell(value: Any) -> Any:
    """One value for a CSV that leaves the program (CLI `--format csv`, exports, web
    downloads). Numbers stay numbers (a negative amount is `-1234.50`); text starting with
    = + - @ tab or CR that is not a plain number gets a leading apostrophe, so that a
    spreadsheet shows it instead of running it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, str) and re.search(FORMULA_START, value) and not re.fullmatch(
            NUMBER_TEXT, value):
        return "'" + value
    return value


_csv_value = csv_cell  # the name the web app used before csv_cell was public


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _table(result: Any, cols: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    table = Table(title=result.title, title_justify="left", show_lines=False)
    for c in cols:
        numeric = any(h in c for h in MONEY_HINTS) or c in ("transactions", "awards", "actions")
        table.add_column(c.replace("_", " "), justify="right" if numeric else "left",
                         overflow="fold")
    for row in result.rows:  # data as plain text: never markup, controls shown
        table.add_row(*[Text(visible(format_cell(row.get(c), c))) for c in cols])
    console.print(table)
