"""The analyses' SQL, compiled once, so that a command on DuckDB runs without Ibis.

The analyses are Ibis expressions (`analyze.py`): the portable definition, and what Spark
runs. Importing Ibis (with pandas, its DuckDB backend and SQL compilers) and compiling one
expression costs about a second; DuckDB answers the sample store's questions in tens of
milliseconds. So each query is compiled once, with placeholders for the values a user gives
(agency, year, text, limit), into `data/query_templates.json`; a command fills the values in
as SQL literals and runs the text on the catalog's plain DuckDB connection. A test compiles
again and compares, so the file cannot drift from the expressions. After changing an
analysis, run:

    python -m contractwatch.queries
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATES_JSON = Path(__file__).with_name("data") / "query_templates.json"

# the values a query takes, and the Ibis type of each placeholder
PARAMS = {
    "agency": "string", "department": "string", "fy": "int64", "keyword": "string",
    "recipient": "string", "psc": "string", "naics": "string",
    # compared as DOUBLE: exact for amounts in cents below 10^13, and any number parses
    "min_amount": "float64", "max_amount": "float64",
    "text": "string", "key": "string", "keys": "string", "offset": "int64", "limit": "int64",
    "purpose": "string",
}
# `.limit()` takes a number, not an expression: this one stands for the limit in the text
LIMIT_MARK = 987654321


def marker(name: str) -> str:
    return f"§{name}§"


def placeholders() -> dict[str, Any]:
    """Each parameter as an Ibis literal that compiles to a recognisable text."""
    import ibis

    return {name: ibis.literal(marker(name), "string").cast(kind) if kind != "string"
            else ibis.literal(marker(name), "string") for name, kind in PARAMS.items()}


def is_placeholder(value: Any) -> bool:
    """True for the Ibis placeholders (an unset filter is None, a set one a Python value)."""
    return type(value).__module__.startswith("ibis.")


def sql_literal(value: Any) -> str:
    """A value as DuckDB SQL text: NULL, or a quoted string the template casts."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | Decimal):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"no SQL literal for {type(value).__name__}")
    return "'" + value.replace("'", "''") + "'"


@cache
def templates() -> dict[str, str]:
    return json.loads(TEMPLATES_JSON.read_text(encoding="utf-8"))


@cache
def _templates_text() -> str:
    return TEMPLATES_JSON.read_text(encoding="utf-8")


@cache
def template(name: str) -> str:
    """One template. The file holds one `"name": "sql",` per line (`main` writes it so), and a
    command needs one or two of its 130-odd queries: decoding that line alone spares parsing
    2 MB of JSON (~15 ms) in every process."""
    text = _templates_text()
    start = text.find("\n" + json.dumps(name) + ": ")
    if start < 0:
        return templates()[name]  # not in the one-per-line shape: the whole file (KeyError)
    end = text.find("\n", start + 1)
    line = text[start + 1:end].rstrip(",")
    found = json.loads("{" + line + "}")
    return found[name]


def fill(name: str, values: dict[str, Any], inline_ctes: bool = False) -> str:
    """The template `name` with the values filled in (absent ones NULL); with `inline_ctes`,
    its common table expressions marked NOT MATERIALIZED (see `inlined`)."""
    sql = inlined(template(name)) if inline_ctes else template(name)
    limit = values.get("limit")
    sql = re.sub(rf"\bLIMIT {LIMIT_MARK}\b", f"LIMIT {int(limit)}" if limit else "", sql)
    return re.sub("'§([a-z_]+)§'", lambda m: sql_literal(values.get(m.group(1))), sql)


_CTE = re.compile(r'^((?:WITH |\), )"t\d+" AS) \($', re.MULTILINE)


def inlined(sql: str) -> str:
    """A template's common table expressions (Ibis names a subexpression used twice as one)
    marked NOT MATERIALIZED: DuckDB otherwise stores each whole, which for a scope of
    millions of rows and thirty columns costs more than reading the Parquet files again
    with the filters of each use pushed into the scan. Applied to the template text, before
    values are filled in, so no value can be mistaken for a CTE."""
    return _CTE.sub(r"\1 NOT MATERIALIZED (", sql)


def compile_all() -> dict[str, str]:
    """Every template, for stores whose rows are all current and for the general case."""
    import tempfile

    from contractwatch import (
        analyze,
        award_texts,
        companies,
        export,
        meaning,
        purposes,
        report,
        subcontracts,
        vehicles,
        watch,
    )
    from contractwatch.store import Store

    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant, current in (("disjoint", True), ("general", False)):
            catalog = Store(tmp).connect()
            catalog.all_rows_current = lambda current=current: current  # type: ignore[method-assign]
            catalog.raw_tables()  # the (empty) purpose tags the purpose filter joins
            p = {**placeholders(), "purpose_tags": catalog.table("cw_purpose_tags")}
            named = [*analyze.query_expressions(catalog, p),
                     *purposes.query_expressions(catalog, p),
                     *companies.query_expressions(catalog, p),
                     *report.query_expressions(catalog, p),
                     *export.query_expressions(catalog, p),
                     *subcontracts.query_expressions(catalog, p),
                     *vehicles.query_expressions(catalog, p),
                     *meaning.query_expressions(catalog, p),
                     *award_texts.query_expressions(catalog, p),
                     *watch.query_expressions(catalog, p)]
            for name, expr in named:
                # without Ibis's indentation: a third of the size, as quick to read in
                sql = catalog.to_sql(expr)
                out[f"{name}:{variant}"] = dedent(sql)
            catalog.duck.close()
    return out


def dedent(sql: str) -> str:
    """The SQL without its indentation, except inside string literals: Ibis writes
    `rstrip()` as RTRIM(x, ' \t\n…'), a literal over several lines whose spaces count."""
    out = []
    inside = False  # within a '…' literal at the start of the line
    for line in sql.split("\n"):  # (not splitlines: \r, \v and \f inside a literal stay)
        ends_inside = inside ^ (line.count("'") % 2 == 1)  # '' inside a literal is even
        if not inside:
            line = line.lstrip()
        if not ends_inside:
            line = line.rstrip()
        out.append(line)
        inside = ends_inside
    return "\n".join(out)


def main() -> None:
    TEMPLATES_JSON.write_text(json.dumps(compile_all(), indent=0, sort_keys=True) + "\n",
                              encoding="utf-8")
    print(f"wrote {TEMPLATES_JSON}")


if __name__ == "__main__":
    main()
