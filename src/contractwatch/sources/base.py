"""What every layout shares: typed SQL expressions over raw text columns, and errors.

Each batch of raw rows (all text) is turned into canonical columns by one SQL SELECT run in an
embedded engine. Every typed field has a check: a non-empty raw value that does not parse is an
error naming the column and the value, never a silent null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

MONEY_MACROS = r"""
CREATE OR REPLACE MACRO cw_money_text(t) AS
  -- accounting parentheses must pair: "(1,234.50" and "99.00)" are not amounts
  CASE WHEN regexp_full_match(t, '\(-?\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?\)'
                                 || '|-?\$?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?')
       THEN (CASE WHEN starts_with(t, '(') AND ends_with(t, ')') THEN '-' ELSE '' END)
            || replace(replace(replace(replace(t, '(', ''), ')', ''), '$', ''), ',', '')
       ELSE t END;
CREATE OR REPLACE MACRO cw_money_ok(t) AS
  regexp_full_match(cw_money_text(t), '-?([0-9]+(\.[0-9]{1,2}0*)?|\.[0-9]{1,2}0*)');
-- through DECIMAL(18,2): the engine's text->DECIMAL(38,2) cast is ~70x slower, and no federal
-- amount comes near 10^16 dollars (a larger one fails the cast and is reported).
-- The first branch is the plain form nearly every amount has (one regex instead of three).
CREATE OR REPLACE MACRO cw_money(t) AS
  CASE WHEN regexp_full_match(t, '-?[0-9]+(\.[0-9]{1,2})?')
       THEN CAST(TRY_CAST(t AS DECIMAL(18,2)) AS DECIMAL(38,2))
       WHEN cw_money_ok(t)
       THEN CAST(TRY_CAST(cw_money_text(t) AS DECIMAL(18,2)) AS DECIMAL(38,2)) END;
CREATE OR REPLACE MACRO cw_in_range(d) AS
  CASE WHEN year(d) BETWEEN 1900 AND 2100 THEN d END;
CREATE OR REPLACE MACRO cw_bool(t) AS
  CASE WHEN lower(t) IN ('t', 'true', 'y', 'yes', '1') THEN true
       WHEN lower(t) IN ('f', 'false', 'n', 'no', '0') THEN false END;
"""

DMY = ["%d/%m/%Y", "%d/%m/%y %H:%M", "%d/%m/%Y %H:%M", "%d/%m/%y", "%d/%m/%Y %H:%M:%S"]
MDY = ["%m/%d/%Y", "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M", "%m/%d/%y", "%m/%d/%Y %H:%M:%S"]
_SLASH = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{2,4}")


class SourceError(Exception):
    """Bad input: names the file, the line and the problem."""

    def __init__(self, file: str, line: int | None, problem: str):
        self.file = file
        self.line = line
        self.problem = problem
        where = f"{file}, line {line}" if line else file
        super().__init__(f"{where}: {problem}")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw(name: str) -> str:
    # values arrive trimmed (see prepare_batch): trimming in the engine costs half its time
    return f"NULLIF({q(name)}, '')"


def sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Field:
    """One canonical column: either read from a raw column (typed) or computed by SQL."""

    kind: str  # string | money | date | int | bool | sql (over raw) | derived (over canonical)
    source: str | None = None  # raw column name
    sql: str | None = None  # expression for kind == sql (may use other canonical aliases)
    required: bool = False
    transform: str | None = None  # SQL template over {x} applied to the string value
    # False: part of the row hash but not written; the catalog derives it when reading
    # (the award's USAspending link, a long text that is a function of the award key)
    stored: bool = True


@dataclass
class Context:
    file: str
    date_order: str | None = None  # dmy | mdy | None (only ISO dates expected)
    agency_map: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)


# YYYY-MM-DD, optionally with a time (`T` or a space; seconds and fractions optional) and a
# zone (Z, +00, +0000, +00:00). Real downloads write `2025-06-17 09:31:45+00`. Every part must
# be in range (`99:99:99` is refused), and the day is the one written: a zone never moves a
# date to another day.
ISO_DATE_TIME = (r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                 r"([ T]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?"
                 r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?")


def date_expr(x: str, order: str | None) -> str:
    # Only ISO dates go through the engine's cast (of the day part alone): it also accepts
    # forms such as 25/07/13, reading them year-first.
    iso = (f"CASE WHEN regexp_full_match({x}, '{ISO_DATE_TIME}') THEN "
           f"TRY_CAST(regexp_extract({x}, '^[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}') AS DATE) END")
    if not order:
        return iso
    formats = DMY if order == "dmy" else MDY
    fmt = "[" + ", ".join(sql_str(f) for f in formats) + "]"
    return f"COALESCE({iso}, CAST(try_strptime({x}, {fmt}) AS DATE))"


def typed(fld: Field, ctx: Context) -> tuple[str, str]:
    """(typed SQL expression that is NULL when the raw value is bad, the raw expression)."""
    assert fld.source is not None
    x = raw(fld.source)
    if fld.transform:
        x = fld.transform.format(x=x)
    if fld.kind == "string":
        return x, x
    if fld.kind == "money":
        return f"cw_money({x})", x
    if fld.kind == "date":
        return f"cw_in_range({date_expr(x, ctx.date_order)})", x
    if fld.kind == "int":
        return f"TRY_CAST(regexp_replace({x}, '\\.0+$', '') AS BIGINT)", x
    if fld.kind == "bool":
        return f"cw_bool({x})", x
    raise ValueError(f"unknown field kind {fld.kind}")


_PROBLEM = {
    "money": "not an amount",
    "date": "not a valid date",
    "int": "not a whole number",
    "bool": "not a yes/no flag",
}


def sniff_date_order(samples: list[str]) -> str | None:
    """Day-first or month-first, from values like 31/05/2017; None if no slash dates.

    Raises ValueError when the values allow both readings (every part ≤ 12) or neither.
    """
    day_first = month_first = first = None
    for value in samples:
        m = _SLASH.match(value or "")
        if not m:
            continue
        first = first or value.strip()
        a, b = int(m.group(1)), int(m.group(2))
        day_first = day_first or (value.strip() if a > 12 else None)
        month_first = month_first or (value.strip() if b > 12 else None)
    if first is None:
        return None
    if day_first and month_first:
        raise ValueError(f"dates mix day-first and month-first forms ({day_first}, "
                         f"{month_first})")
    if day_first:
        return "dmy"
    if month_first:
        return "mdy"
    raise ValueError(f"dates such as {first} could be day-first or month-first (no day above "
                     f"12 in the first {len(samples):,} values); pass --date-order dmy|mdy")


def typed_columns(fields: dict[str, Field], ctx: Context
                  ) -> tuple[dict[str, str], list[str], list[str]]:
    """(typed expression per column, raw values kept for messages, error checks) for the
    fields read from raw columns; a bad non-empty value or an empty required one is an error
    naming the column and the value."""
    exprs: dict[str, str] = {}
    raws: list[str] = []
    checks: list[str] = []
    for name, fld in fields.items():
        if fld.kind == "derived":
            continue
        if fld.kind == "sql":
            exprs[name] = fld.sql or "NULL"
            continue
        expr, raw_expr = typed(fld, ctx)
        exprs[name] = expr
        src = fld.source or name
        if fld.kind != "string":
            alias = f"_raw_{len(raws)}"
            raws.append(f"{raw_expr} AS {alias}")
            checks.append(
                f"WHEN {alias} IS NOT NULL AND {q(name)} IS NULL THEN "
                f"{sql_str(src + ': ' + _PROBLEM[fld.kind] + ': ')} || {alias}"
            )
        if fld.required:
            checks.append(
                f"WHEN {q(name)} IS NULL THEN {sql_str(src + ': required value is empty')}"
            )
    return exprs, raws, checks


def mapped_fields(mapping: dict[str, tuple[str, tuple[str, ...]]], required: set[str],
                  header: list[str]) -> dict[str, Field]:
    """Fields from a table of column -> (kind, source names newest first): the first source
    name the header has is read; columns with none are left out."""
    present = set(header)
    out = {}
    for name, (kind, sources) in mapping.items():
        source = next((s for s in sources if s in present), None)
        if source is not None:
            out[name] = Field(kind, source, required=name in required)
    return out


def record_sql(fields: dict[str, Field], header: list[str], ctx: Context, schema: Any,
               values: dict[str, str], table: str = "batch") -> str:
    """SELECT of one record per source row in a fixed schema (award facts, subawards): the
    fields typed and checked (`_error` names a bad value), `values` as SQL over the typed
    columns, the rest null; then every source column no schema column is named after, as
    the source gave it, and `source_row`."""
    exprs, raws, checks = typed_columns(fields, ctx)
    error = "CASE " + " ".join(checks) + " END" if checks else "NULL"
    names = set(schema.names)
    columns = []
    for f in schema:
        expr = values.get(f.name) or (q(f.name) if f.name in exprs else "NULL")
        columns.append(f"CAST({expr} AS {_ARROW_SQL.get(str(f.type), 'DECIMAL(38,2)')}) "
                       f"AS {q(f.name)}")
    kept = [h for h in header if h not in names]
    inner = ", ".join([f"{e} AS {q(n)}" for n, e in exprs.items()] + raws
                      + [f"NULLIF({q(h)}, '') AS {q(h)}" for h in kept] + ["source_row"])
    return (f"WITH parsed AS (SELECT {inner} FROM {table}) "
            f"SELECT {', '.join(columns + [q(h) for h in kept])}, source_row, "
            f"{error} AS _error FROM parsed")


_ARROW_SQL = {"string": "VARCHAR", "date32[day]": "DATE", "int64": "BIGINT", "bool": "BOOLEAN"}


class Layout:
    """Base class: a named input layout recognised from its header.

    `kind` says where its rows go: `transactions` (the canonical rows every figure sums),
    `award-facts` (one row per award: totals, ceilings, vehicle; never summed with
    transactions) or `subawards`.
    """

    name = "layout"
    kind = "transactions"
    is_delta = False  # names changes (and deletions) only: never a complete snapshot
    required_columns: tuple[str, ...] = ()

    def matches(self, header: list[str]) -> bool:
        return all(c in header for c in self.required_columns)

    def describe_missing(self, header: list[str]) -> str:
        missing = [c for c in self.required_columns if c not in header]
        return f"not {self.name}: missing {', '.join(missing[:4])}"

    def date_columns(self, header: list[str]) -> list[str]:
        return []

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        raise NotImplementedError

    def prepare(self, batch: object, ctx: Context) -> None:
        """Hook run on each raw batch before SQL (e.g. to resolve agency names)."""

    def source_columns(self, header: list[str], ctx: Context) -> list[str]:
        """The raw columns the SQL reads (others are dropped before it runs)."""
        names = {f.source for f in self.fields(header, ctx).values() if f.source}
        return [h for h in header if h in names or h in self.extra_source_columns]

    extra_source_columns: tuple[str, ...] = ()

    def kept_as_source(self, header: list[str], ctx: Context) -> list[str]:
        """Source columns no canonical column of their name holds: stored as the source gave them
        (text), one file per load, so that nothing a user downloaded is thrown away."""
        # a column read into a canonical column of another name (sole_proprietorship into
        # recipient_is_individual) stays queryable under its own name too
        same = {name for name, f in self.fields(header, ctx).items() if f.source == name}
        return [h for h in header if h not in same]

    def ambiguities(self, header: list[str]) -> list[str]:
        """What a reader must know about columns whose meaning differs from the canonical
        one in this layout (said once per load)."""
        return []

    def split_deletes(self, chunk: Any) -> tuple[Any, Any]:
        """(rows to load, rows that delete a transaction or None); only deltas have those."""
        return chunk, None

    def hash_columns(self, header: list[str], ctx: Context) -> list[str]:
        """Canonical columns this layout fills: a revised row is told apart by these."""
        from contractwatch.schema import CONTENT_COLUMNS

        filled = set(self.fields(header, ctx)) | {"fiscal_year"}
        return [c for c in CONTENT_COLUMNS if c in filled]

    def raw_extras(self, header: list[str], ctx: Context) -> dict[str, str]:
        """Expressions over the raw columns that several fields share, computed once."""
        return {}

    def passthrough(self, header: list[str], ctx: Context) -> dict[str, str]:
        """Canonical text columns that are one raw column unchanged (empty means null).

        The engine still reads them (for keys and the row hash) but does not return them:
        the writer takes them from the raw batch, which saves copying the longest texts.
        """
        return {n: f.source for n, f in self.fields(header, ctx).items()
                if f.kind == "string" and f.source and not f.transform}

    def constants(self, header: list[str], ctx: Context) -> dict[str, str]:
        """Canonical text columns with one value for the whole file (a quoted SQL literal).

        The engine hashes them but does not return them: the writer repeats the value, which
        saves converting and encoding a column of identical strings.
        """
        return {n: f.sql[1:-1] for n, f in self.fields(header, ctx).items()
                if f.kind == "sql" and f.stored and f.sql and _TEXT_LITERAL.fullmatch(f.sql)}

    def select_sql(self, header: list[str], ctx: Context, table: str = "batch") -> str:
        """SELECT producing the canonical columns this layout fills, plus `row_hash`,
        `fiscal_year`, `source_row` and `_error`, from a raw batch.

        `row_hash` comes back as the engine's 64-bit number; the store keeps its decimal
        text, which the Parquet writer makes (off the engine's thread).

        Three steps: typed (parse raw text; `sql` fields see the raw columns), base (every
        canonical column, null where the layout lacks it, plus the fiscal year), derived
        (`derived` fields see the canonical columns, e.g. keys). Columns the layout lacks are
        left out of the result: the writer adds them as nulls, which costs nothing there.
        """
        from contractwatch.schema import BY_NAME, COLUMN_NAMES

        fields = self.fields(header, ctx)
        exprs, raws, checks = typed_columns(fields, ctx)
        inner = ",\n  ".join([f"{e} AS {q(n)}" for n, e in exprs.items()] + raws)
        error = "CASE " + " ".join(checks) + " END" if checks else "NULL"
        derived = {n: f.sql for n, f in fields.items() if f.kind == "derived"}
        skip = {"source_format", "source_file", "source_row", "load_id", "row_hash", "fiscal_year"}
        base, absent = [], []
        for name in COLUMN_NAMES:
            if name in skip or name in derived:
                continue
            sql_type = _SQL_TYPES[BY_NAME[name].kind]
            if name in exprs:
                base.append(f"CAST({q(name)} AS {sql_type}) AS {q(name)}")
            else:
                base.append(f"CAST(NULL AS {sql_type}) AS {q(name)}")
                absent.append(q(name))
        final = ", ".join(
            f"CAST({e} AS {_SQL_TYPES[BY_NAME[n].kind]}) AS {q(n)}" for n, e in derived.items()
        )
        hashed = ", ".join(q(c) for c in self.hash_columns(header, ctx))
        omitted = absent + [q(n) for n in self.passthrough(header, ctx)] + [
            q(n) for n in self.constants(header, ctx)] + [
            q(n) for n, f in fields.items() if not f.stored]
        exclude = f" EXCLUDE ({', '.join(omitted)})" if omitted else ""
        extras = self.raw_extras(header, ctx)
        if extras:
            shared = ", ".join(f"{e} AS {q(n)}" for n, e in extras.items())
            table = f"(SELECT *, {shared} FROM {table})"
        return (
            f"WITH parsed AS (SELECT {inner}, source_row FROM {table}),\n"
            f"typed AS (SELECT *, {error} AS _error FROM parsed),\n"
            f"base AS (SELECT {', '.join(base)}, "
            f"CAST(year(action_date) + CASE WHEN month(action_date) >= 10 THEN 1 ELSE 0 END "
            f"AS BIGINT) AS fiscal_year, source_row, _error FROM typed),\n"
            f"full_row AS (SELECT *{', ' + final if final else ''} FROM base)\n"
            f"SELECT *{exclude}, hash({hashed}) AS row_hash FROM full_row"
        )


_TEXT_LITERAL = re.compile(r"'[^']*'")
_SQL_TYPES = {"string": "VARCHAR", "money": "DECIMAL(38,2)", "date": "DATE", "int": "BIGINT",
              "bool": "BOOLEAN"}
