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

from contractwatch.plain_output import plain_line, plain_table, plain_width

FORMATS = ("table", "json", "csv")


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


def format_cell(value: Any, column: str, width: int = 90) -> str:
    """One value as people read it, by the column's kind in `columns.COLUMNS`."""
    from contractwatch.columns import format_value

    return format_value(value, column, width)


TABLE_TEXT_WIDTH = 60  # long text is cut in tables; JSON and CSV carry it whole
_told: set[str] = set()
_quiet = False


def set_quiet(quiet: bool) -> None:
    """`--quiet`: no caveats on stderr (errors still go there)."""
    global _quiet
    _quiet = quiet


def new_run(quiet: bool = False) -> None:
    """A command starts: no caveat told yet (several may run in one process)."""
    _told.clear()
    if quiet:
        set_quiet(True)


def render(result: Any, fmt: str = "table", out: IO[str] | None = None,
           show_sql: bool = False, columns: list[str] | None = None) -> None:
    """Write a Result (see analyze.Result): the answer on stdout, caveats on stderr.

    The answer includes its headline facts (`result.facts`: an award's recipient, total,
    ceiling, vehicle and page; a ranking's total over the whole scope): printed above the
    table, and in JSON and CSV carried on every row under their own names, so a file
    redirected from stdout holds them too.
    """
    out = out or sys.stdout
    cols = list(columns or result.columns)
    facts = dict(getattr(result, "facts", None) or {})
    if fmt in ("json", "csv"):
        cols += [k for k in facts if k not in cols]
        rows = [{**facts, **row} for row in result.rows]
        if fmt == "json":
            out.write(dumps([{c: row.get(c) for c in cols} for row in rows]) + "\n")
        else:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(cols)
            for row in rows:
                writer.writerow([csv_cell(row.get(c)) for c in cols])
    elif fmt == "table":
        _table(result, cols, facts, out)
    else:
        raise ValueError(f"--format must be one of {', '.join(FORMATS)}")
    caveat(*result.caveats)  # in every format: JSON and CSV readers must learn them too
    if show_sql and result.sql:
        from rich.markup import escape  # SQL may hold brackets: not markup

        _stderr().print(f"[dim]-- query behind these figures\n{escape(result.sql)}[/dim]")


def caveat(*notes: str) -> None:
    """Caveats on stderr, each once per run whatever number of tables repeat it."""
    for note in notes:
        if note in _told or _quiet:
            continue
        _told.add(note)
        tell(note, "note")


def tell(text: str, label: str | None = None) -> None:
    """One line for people, on stderr (data goes to stdout). The text is never read as
    markup (file names and values hold brackets), its control characters are shown, not
    obeyed (`visible`), and it is never wrapped (a terminal does that)."""
    line = plain_line((f"{label}: " if label else "") + visible(text))
    if line is not None and plain_width(sys.stderr) is not None:
        sys.stderr.write(line)  # what Rich would write with no colour, without importing it
        return
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


def _table(result: Any, cols: list[str], facts: dict[str, Any], out: IO[str]) -> None:
    """A terminal table that never breaks a number, a date or a code across lines: those
    columns get their full width, text is cut to what is left, and columns that cannot fit
    the terminal are left out (named on stderr; JSON and CSV hold every column)."""
    from contractwatch.columns import column, format_value, is_numeric

    cells = {c: [format_value(row.get(c), c, TABLE_TEXT_WIDTH) for row in result.rows]
             for c in cols}
    if result.rows:  # a column empty on every row says nothing
        cols = [c for c in cols if any(cells[c])]
    width = plain_width(out)
    if width is not None:  # no colour to draw: the same characters, without importing Rich
        widths = _column_widths(cols, cells, width)
        text = plain_answer(result, facts, widths, cells, width)
        if text is not None:
            out.write(text)
            _left_out(cols, widths)
            return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out) if out is not sys.stdout else Console()
    widths = _column_widths(cols, cells, console.width)
    if result.title:
        console.print(f"[bold]{escape(visible(result.title))}[/bold]", soft_wrap=True,
                      highlight=False)
    for name, value in facts.items():
        shown = escape(visible(format_value(value, name)))
        console.print(f"{escape(column(name).label)}: {shown}",
                      soft_wrap=True, highlight=False)
    table = Table(show_lines=False)
    for c, width in widths.items():
        text = column(c).kind == "text"
        table.add_column(column(c).label, justify="right" if is_numeric(c) else "left",
                         width=width, no_wrap=text, overflow="ellipsis" if text else "fold")
    for i in range(len(result.rows)):  # data as plain text: never markup, controls shown
        table.add_row(*[Text(visible(cells[c][i])) for c in widths])
    console.print(table)
    _left_out(cols, widths)


def plain_answer(result: Any, facts: dict[str, Any], widths: dict[str, int],
           cells: dict[str, list[str]], width: int) -> str | None:
    """The title, facts and table as `_table` has Rich draw them when there is no colour;
    None when only Rich would draw them alike (see plain.py)."""
    from contractwatch.columns import column, format_value, is_numeric

    lines = [visible(result.title)] if result.title else []
    lines += [f"{column(name).label}: {visible(format_value(value, name))}"
              for name, value in facts.items()]
    printed = [plain_line(x) for x in lines]
    if any(x is None for x in printed) or sum(widths.values()) + 3 * len(widths) + 1 > width:
        return None
    table = plain_table([column(c).label for c in widths],
                        [(w, is_numeric(c), column(c).kind == "text") for c, w in widths.items()],
                        [[visible(cells[c][i]) for c in widths] for i in range(len(result.rows))])
    return None if table is None else "".join(printed) + table  # type: ignore[arg-type]


def _left_out(cols: list[str], widths: dict[str, int]) -> None:
    from contractwatch.columns import column

    left_out = [c for c in cols if c not in widths]
    if left_out:
        caveat(f"left out at this terminal width: "
               f"{', '.join(column(c).label for c in left_out)} (--format csv or json has "
               "every column)")


def _column_widths(cols: list[str], cells: dict[str, list[str]], width: int) -> dict[str, int]:
    """Widths of the leading columns that fit `width` (3 characters of border and padding
    per column): numbers, dates and codes whole, text at 12 or less, then text widened
    with what is left. A header wraps at its words."""
    from contractwatch.columns import column

    def longest(c: str) -> int:
        label = column(c).label  # text headers stay on one line, others wrap at words
        head = len(label) if column(c).kind == "text" else max(len(w) for w in label.split())
        return max([head, *(len(v) for v in cells[c])])

    used, chosen = 1, {}
    for c in cols:
        need = min(longest(c), 12) if column(c).kind == "text" else longest(c)
        if used + need + 3 <= width or not chosen:
            chosen[c] = need
            used += need + 3
    spare = width - used
    texts = [c for c in chosen if column(c).kind == "text"]
    while spare > 0:
        short = [c for c in texts if chosen[c] < longest(c)]
        if not short:
            break
        share = max(spare // len(short), 1)
        for c in short:
            grow = min(share, longest(c) - chosen[c], spare)
            chosen[c] += grow
            spare -= grow
    return chosen
