"""The analyses, written once as Ibis expressions so that DuckDB and Spark run the same code.

Each public function takes a Catalog and returns a Result: rows, the SQL behind them and the
caveats a reader must see (duplicate policy, truncated blocks, missing columns). Money is
summed from `federal_action_obligation` per transaction, never from award-level totals.

An expression is built from the values a user gives (`filter_values`); on DuckDB the same
expression, compiled once with placeholders for those values, runs as precompiled SQL
(`queries.py`, listed by `query_expressions`), so a command needs no Ibis.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch import queries
from contractwatch.agencies import UnknownAgency, resolve_agency
from contractwatch.result import Result
from contractwatch.store import (
    Block,
    Catalog,
    LoadRecord,
    StoreError,
    resolve_dir,
    stored_folder,
    stored_version,
)
from contractwatch.values.ids import PERMALINK

TOP_BY = ("recipient", "psc", "naics", "fy", "agency", "vehicle", "family", "brand",
          "subrecipient", "purpose")


@dataclass
class Filters:
    agency: str | None = None
    fy: int | None = None
    keyword: str | None = None
    recipient: str | None = None
    psc: str | None = None
    naics: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    purpose: str | None = None  # a purpose tag id (purposes.yaml), or 'untagged'

    def __post_init__(self) -> None:
        # text is matched as typed but for surrounding spaces, as `search` matches its phrase
        for name in ("keyword", "recipient", "psc", "naics", "purpose"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, value.strip() or None)
        if self.purpose:
            from contractwatch.purposes import check_purpose

            self.purpose = check_purpose(self.purpose)

    def agency_code(self) -> str | None:
        return resolve_agency(self.agency).code if self.agency else None

    def department_code(self) -> str | None:
        """The top-tier code when the agency named is a whole department (DHS): its
        components' rows carry their own sub-tier codes, so it filters on the department."""
        if not self.agency:
            return None
        a = resolve_agency(self.agency)
        return a.toptier_code if a.name == a.toptier_name else None

    def selects_agency(self, sub_tier_code: str | None) -> bool:
        """Whether a block of this sub-tier agency is in scope (no agency: every one)."""
        if not self.agency:
            return True
        department = self.department_code()
        if department is None:
            return sub_tier_code == self.agency_code()
        try:
            return resolve_agency(sub_tier_code or "").toptier_code == department
        except UnknownAgency:
            return False

    def describe(self) -> str:
        parts = []
        if self.agency:
            a = resolve_agency(self.agency)
            parts.append(f"{a.abbreviation or a.name} (all components, {a.toptier_code})"
                         if self.department_code() else f"{a.abbreviation or a.name} ({a.code})")
        if self.fy:
            parts.append(f"FY{self.fy}")
        if self.keyword:
            parts.append(f"keyword {self.keyword!r}")
        if self.recipient:
            parts.append(f"recipient {self.recipient!r}")
        if self.psc:
            parts.append(f"PSC {self.psc!r}")
        if self.naics:
            parts.append(f"NAICS {self.naics!r}")
        if self.purpose:
            parts.append(f"purpose {self.purpose}")
        if parts and not self.agency:  # a recipient's trend covers every agency: say so
            parts.insert(0, "all agencies")
        return ", ".join(parts) or "all data"


def _contains(column: Any, text: Any) -> Any:
    return column.upper().contains(text.upper())


def _starts_a_word(column: Any, text: Any) -> Any:
    """The text at the start of a word: 'Dell' finds DELL MARKETING L.P., not CADDELL (both
    sides read with punctuation as spaces, so it also works on a template's placeholder)."""
    def words(x: Any) -> Any:
        if isinstance(x, str):  # a value given (Ibis on Spark), not a template placeholder
            return " " + re.sub("[^A-Z0-9]+", " ", x.upper())
        return " " + x.upper().re_replace("[^A-Z0-9]+", " ")

    return words(column).contains(words(text).rstrip())


def filter_values(f: Filters) -> dict[str, Any]:
    """The filters as the values a query takes (None: not filtered)."""
    department = f.department_code()
    return {
        "department": department,
        "agency": f.agency_code() if f.agency and not department else None,
        "fy": int(f.fy) if f.fy else None,
        "keyword": f.keyword or None, "recipient": f.recipient or None,
        "psc": f.psc or None, "naics": f.naics or None,
        "min_amount": f.min_amount, "max_amount": f.max_amount,
        "purpose": f.purpose or None,
    }


def _where(t: Any, value: Any, condition: Any) -> Any:
    """Filter on `condition(value)` when the value is given; a placeholder (compiling a
    template) filters only when the value filled in is not NULL."""
    if value is None:
        return t
    if queries.is_placeholder(value):
        return t.filter(value.isnull() | condition(value))
    return t.filter(condition(value))


def amount_between(t: Any, column: str, v: dict[str, Any]) -> Any:
    """Rows whose `column` is within the filters' --min-amount and --max-amount."""
    t = _where(t, v["min_amount"], lambda m: t[column] >= m)
    return _where(t, v["max_amount"], lambda m: t[column] <= m)


def apply_filters(t: Any, f: Filters) -> Any:
    """Row filters shared by every query (on canonical columns)."""
    return apply_values(t, filter_values(f))


def apply_values(t: Any, v: dict[str, Any]) -> Any:
    """`apply_filters` on filter values (see `filter_values`), or on placeholders."""
    t = _where(t, v["department"], lambda d: t.awarding_agency_code == d)
    t = _where(t, v["agency"], lambda a: t.awarding_sub_agency_code == a)
    t = _where(t, v["fy"], lambda fy: t.fiscal_year == fy)
    t = _where(t, v["keyword"], lambda k: (
        _contains(t.transaction_description.fill_null(""), k)
        | _contains(t.recipient_name.fill_null(""), k)
        | _contains(t.product_or_service_code_description.fill_null(""), k)
        | _contains(t.naics_description.fill_null(""), k)))
    t = _where(t, v["recipient"], lambda r: _starts_a_word(t.recipient_name.fill_null(""), r))
    t = _where(t, v["psc"], lambda p: (t.product_or_service_code == p.upper())
               | _contains(t.product_or_service_code_description.fill_null(""), p))
    t = _where(t, v["naics"], lambda n: (t.naics_code == n)
               | _contains(t.naics_description.fill_null(""), n))
    return _where(t, v.get("purpose"), lambda p: _has_purpose(t, v, p))


def _has_purpose(t: Any, v: dict[str, Any], purpose: Any) -> Any:
    """Rows of awards tagged with the purpose ('untagged': of awards with no tag), joined
    by award key on the stored tags (`v["purpose_tags"]`, see purposes.tags_for_values)."""
    tags = v["purpose_tags"]
    tagged = award_key(t).isin(tags.filter(tags.purpose == purpose).award_key)
    untagged = ~award_key(t).isin(tags.award_key)
    if not queries.is_placeholder(purpose):
        return untagged if purpose == "untagged" else tagged
    return tagged | ((purpose == "untagged") & untagged)


def award_key(t: Any) -> Any:
    """USAspending's award key where known; the PIID for rows from exports that lack it."""
    return t.contract_award_unique_key.fill_null(t.award_id_piid)


def _rows(catalog: Catalog, expr: Any) -> list[dict[str, Any]]:
    return catalog.execute_arrow(expr).to_pylist()


def run_query(catalog: Catalog, name: str, values: dict[str, Any],
              build: Any, precompiled: bool = True, inline_ctes: bool = False
              ) -> tuple[list[dict[str, Any]], str]:
    """Rows and SQL text of one analysis: on DuckDB its precompiled template with the values
    filled in (`inline_ctes`: see queries.inlined), elsewhere (Spark, a store with
    deletions, or columns asked by name, which no template holds) `build(values)` compiled
    by Ibis."""
    if values.get("purpose") is not None:  # the stored tags the purpose filter joins
        from contractwatch.purposes import attach_tags

        values = {**values, "purpose_tags": attach_tags(catalog)}
    sql = template_sql(catalog, name, values, inline_ctes) if precompiled else None
    if sql is not None:
        return catalog.fetch(sql), sql
    if values.get("purpose") is not None:
        values = {**values, "purpose_tags": catalog.table(values["purpose_tags"])}
    expr = build(values)
    return _rows(catalog, expr), catalog.to_sql(expr)


def template_sql(catalog: Catalog, name: str, values: dict[str, Any],
                 inline_ctes: bool = False) -> str | None:
    """The precompiled SQL of an analysis with the values filled in, ready to run on
    `catalog.duck`; None where it must be compiled by Ibis (Spark, or a store with
    deletions: a delta's deletions make a third shape of the current state)."""
    if catalog.engine != "duckdb" or catalog.has_deletions():
        return None
    catalog.raw_tables()
    variant = "disjoint" if catalog.all_rows_current() else "general"
    # inlined only where measured faster: over the stored rows themselves (disjoint); the
    # general variant's common expression is the current state, costly to compute again
    return queries.fill(f"{name}:{variant}", values, inline_ctes and variant == "disjoint")


def _count(t: Any) -> Any:
    return t.aggregate(n=t.count())


# ---- caveats ------------------------------------------------------------------------------

def copies_in_scope(catalog: Catalog, f: Filters) -> int:
    """Current rows under the filters that are extra copies inside one API export.

    Counted as policy 'keep' sees them (policy 'collapse' drops exactly these). When every
    stored row is current and the filters are only agency and fiscal year, the per-block
    counts ingest recorded answer without reading the data.
    """
    if not any(ld.duplicate_copies for ld in catalog.loads):
        return 0
    if catalog.all_rows_current() and not (f.keyword or f.recipient or f.psc or f.naics
                                           or f.purpose):
        return sum(b.duplicate_copies for _, b in _blocks_in_scope(catalog, f))
    rows, _ = run_query(catalog, "copies", filter_values(f), lambda v: _copies_expr(catalog, v))
    return int(rows[0]["n"])


def _copies_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    scope = apply_values(catalog.transactions("keep"), v)
    return _count(scope.semi_join(catalog.copies_table(), ["load_id", "source_row"]))


def _blocks_in_scope(catalog: Catalog, f: Filters) -> Iterator[tuple[LoadRecord, Block]]:
    """Each load's agency × fiscal-year blocks that the filters' agency and year select."""
    for load in catalog.loads:
        for b in load.blocks:
            if f.selects_agency(b.agency) and (not f.fy or b.fiscal_year == int(f.fy)):
                yield load, b


def caveats(catalog: Catalog, f: Filters, policy: str, copies: int | None = None) -> list[str]:
    """What a reader must know about the figures in this scope, stated not hidden.

    `copies`: the exact copies in scope when the caller already counted them (0 to leave
    that caveat out); counted here when None.
    """
    out: list[str] = []
    if not catalog.loads:
        return ["the store is empty: run `contractwatch ingest` first"]
    blocks = list(_blocks_in_scope(catalog, f))
    if (f.agency or f.fy) and not blocks:
        out.append(f"nothing is loaded for {f.describe()}: the store holds "
                   f"{_holdings(catalog)}")
    n = copies_in_scope(catalog, f) if copies is None else copies
    if n:
        if policy == "keep":
            out.append(
                f"{n:,} rows are exact copies within one API export; they are counted, since "
                "each stands for a separate transaction of the same amount that the export's "
                "paging skipped (--duplicates collapse counts one row per transaction)")
        else:
            out.append(f"{n:,} exact copies within API exports are left out (--duplicates "
                       "collapse): totals may be low by the amounts they stood for")
    for load, b in blocks:
        if load.source_format == "usaspending-api-export" and b.looks_truncated:
            out.append(
                f"{Path(load.source_file).name}: {_agency_label(b.agency)} FY{b.fiscal_year} "
                f"has {b.rows:,} rows, a multiple of the 100-row page, and no de-obligation: "
                "the export probably stopped early, so its total is an upper bound")
    in_scope = list({load.load_id: load for load, _ in blocks}.values())
    if any(ld.source_format == "usaspending-api-export" for ld in in_scope):
        missing = "ceilings, UEIs or parent companies"
        if _names_a_code(f.psc) or _names_a_code(f.naics):
            missing = "ceilings, UEIs, parent companies or PSC/NAICS codes (only their titles)"
        out.append(f"rows from API exports carry no {missing}: those are unknown, not zero")
    undated = [ld for ld in in_scope if ld.vintage is None]
    if undated:
        out.append(f"{len(undated)} of the files behind these figures "
                   f"{'has' if len(undated) == 1 else 'have'} no fetch date (vintage); should "
                   "they overlap another file, `ingest --as-of` must say which is newer")
    return list(dict.fromkeys(out))


def _names_a_code(text: str | None) -> bool:
    """A PSC (D310) or NAICS (541511) code rather than title words."""
    return bool(text) and " " not in text.strip() and any(ch.isdigit() for ch in text)


def _agency_label(code: str | None) -> str:
    """'ICE (7012)': the code with the name people use."""
    try:
        a = resolve_agency(code or "")
    except UnknownAgency:
        return f"agency {code}"
    return f"{a.abbreviation or a.name} ({code})"


def grouped_warnings(pairs: list[tuple[str, str]]) -> list[str]:
    """(file, warning) pairs as one line per warning: 'a.csv: …', or '6 files: … (a.csv, …)'
    when several files share it, so that a warning is read once, not once per file."""
    files: dict[str, list[str]] = {}
    for path, warning in pairs:
        files.setdefault(warning, []).append(Path(path).name)
    out = []
    for warning, names in files.items():
        if len(names) == 1:
            out.append(f"{names[0]}: {warning}")
        else:
            listed = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            out.append(f"{len(names)} files: {warning} ({listed})")
    return out


def _holdings(catalog: Catalog) -> str:
    """'ICE (7012) FY2013–FY2018, FY2021–FY2026; CBP (7014) …': what an empty answer missed."""
    years: dict[str | None, set[int]] = {}
    for ld in catalog.loads:
        for b in ld.blocks:
            years.setdefault(b.agency, set()).add(b.fiscal_year)
    parts = []
    for code, fys in sorted(years.items(), key=lambda kv: kv[0] or ""):
        try:
            name = resolve_agency(code or "").abbreviation or code
        except UnknownAgency:
            name = code
        parts.append(f"{name} ({code}) {_year_ranges(sorted(fys))}")
    return "; ".join(parts)


# ---- derived views -------------------------------------------------------------------------

def awards(catalog: Catalog, policy: str = "keep", t: Any | None = None) -> Any:
    """One row per award: agency, recipient, vehicle, dates, actions, obligations, ceiling."""
    import ibis

    t = catalog.transactions(policy) if t is None else t
    t = t.mutate(award_key=award_key(t), _order=action_order(t))
    return t.group_by("award_key").aggregate(
        award_id_piid=t.award_id_piid.arbitrary(),
        awarding_sub_agency_code=t.awarding_sub_agency_code.argmax(t._order),
        awarding_sub_agency_name=t.awarding_sub_agency_name.argmax(t._order),
        recipient_name=t.recipient_name.argmax(t._order),
        recipient_uei=t.recipient_uei.argmax(t._order),
        parent_award_id_piid=t.parent_award_id_piid.argmax(t._order),
        parent_award_agency_id=t.parent_award_agency_id.argmax(t._order),
        first_action_date=t.action_date.min(),
        last_action_date=t.action_date.max(),
        actions=t.count(),
        federal_action_obligation=t.federal_action_obligation.sum(),
        # cumulative on each row: the latest action's value, never a sum across rows
        potential_total_value_of_award=t.potential_total_value_of_award.argmax(t._order),
        description=t.transaction_description.argmin(t._order),
        usaspending_permalink=t.usaspending_permalink.argmax(t._order),
        fiscal_years=t.fiscal_year.nunique(),
        _n=ibis.literal(1),
    ).drop("_n")


def action_order(t: Any) -> Any:
    """A text that sorts an award's actions in order (date, modification, transaction)."""
    return (t.action_date.cast("string") + "|" + t.modification_number.fill_null("") + "|"
            + t.transaction_number.fill_null(0).cast("string").lpad(6, "0"))


def recipients(catalog: Catalog, policy: str = "keep") -> Any:
    """One row per recipient name as recorded (the prime-recipient view)."""
    t = catalog.transactions(policy)
    return t.group_by("recipient_name").aggregate(
        recipient_uei=t.recipient_uei.arbitrary(),
        recipient_duns=t.recipient_duns.arbitrary(),
        recipient_parent_name=t.recipient_parent_name.arbitrary(),
        recipient_is_individual=t.recipient_is_individual.max(),
        federal_action_obligation=t.federal_action_obligation.sum(),
        actions=t.count(),
        awards=award_key(t).nunique(),
        first_action_date=t.action_date.min(),
        last_action_date=t.action_date.max(),
    )


# ---- queries -------------------------------------------------------------------------------

_TOP_GROUPS = {
    "recipient": ["recipient_name"],
    "psc": ["product_or_service_code_description"],
    "naics": ["naics_description"],
    "fy": ["fiscal_year"],
    "agency": ["awarding_sub_agency_code", "awarding_sub_agency_name"],
    # the vehicle an order was placed under (empty: awarded directly, or not recorded)
    "vehicle": ["parent_award_id_piid", "parent_award_agency_id"],
}


def top(catalog: Catalog, by: str | None = "recipient", filters: Filters | None = None,
        limit: int = 20, policy: str = "keep",
        columns: str | list[str] | None = None) -> Result:
    """Totals of obligations by recipient, PSC, NAICS, fiscal year or agency; `columns`
    (canonical or source columns, see asked_columns.py) are further group keys, or the only
    ones when `by` is None."""
    from contractwatch.asked_columns import lacking_notes, resolve

    f = filters or Filters()
    asked = resolve(catalog, columns) if columns else []
    if by is None and not asked:
        by = "recipient"
    if asked and by is not None and by not in _TOP_GROUPS:
        raise ValueError(f"--columns groups --by {', '.join(_TOP_GROUPS)} (or alone), "
                         f"not --by {by}")
    if by == "subrecipient":  # money below the prime, never added to it
        from contractwatch.subcontracts import top_subrecipients

        return top_subrecipients(catalog, f, limit)
    if by is not None and by not in _TOP_GROUPS:
        if by == "purpose":
            from contractwatch.purposes import top_by_purpose

            return top_by_purpose(catalog, f, policy)
        if by in ("family", "brand"):
            from contractwatch.companies import top_by_family_or_brand

            return top_by_family_or_brand(catalog, by, f, limit, policy)
        raise ValueError(f"--by must be one of {', '.join(TOP_BY)}, not {by!r}")
    values = {**filter_values(f), "limit": limit}
    rows, sql = run_query(catalog, f"top:{by}:{policy}", values,
                          lambda v: _top_expr(catalog, by, policy, v, asked),
                          precompiled=not asked)
    total = rows[0]["_scope_total"] if rows else None
    for row in rows:
        del row["_scope_total"]
    label = {"recipient": "prime recipient (as recorded)", "psc": "product/service",
             "naics": "industry (NAICS)", "fy": "fiscal year", "agency": "awarding agency",
             "vehicle": "vehicle (IDV) ordered under", None: ""}[by]
    label = " × ".join(x for x in [label, *(a.name for a in asked)] if x)
    in_scope = {load.load_id for load, b in _blocks_in_scope(catalog, f) if b.rows}
    return Result(
        title=f"Obligations by {label} — {f.describe()}",
        columns=[*dict.fromkeys([*_TOP_GROUPS.get(by or "", []), *(a.name for a in asked)]),
                 "federal_action_obligation", "transactions", "awards"],
        rows=rows, sql=sql,
        caveats=caveats(catalog, f, policy) + lacking_notes(catalog, asked, in_scope),
        meta={"total_obligations": total, "by": by, "policy": policy,
              "columns": [a.name for a in asked]},
        facts={"scope_total_obligations": total} if rows else {},
    )


def _top_expr(catalog: Catalog, by: str | None, policy: str, v: dict[str, Any],
              asked: list[Any] | None = None) -> Any:
    scope = apply_values(catalog.transactions(policy), v)
    keys = _TOP_GROUPS.get(by or "", [])
    if asked:  # columns named by the reader: further group keys (asked_columns.py)
        from contractwatch.asked_columns import with_asked

        scope = with_asked(catalog, scope, asked)
        keys = list(dict.fromkeys([*keys, *(a.name for a in asked)]))
    named: dict[str, Any] = {}
    if by == "agency":
        # one row per agency code, named as its latest action names it: sources spell the
        # same agency differently (the 2018 download in capitals, the API export not)
        named["awarding_sub_agency_name"] = scope.awarding_sub_agency_name.argmax(
            scope.action_date)
    expr = scope.group_by([k for k in keys if k not in named]).aggregate(
        **named,
        federal_action_obligation=scope.federal_action_obligation.sum(),
        transactions=scope.count(),
        awards=award_key(scope).nunique(),
    )
    # the scope's total rides along (a sum over all groups, taken before the limit)
    expr = expr.mutate(_scope_total=expr.federal_action_obligation.sum().over())
    if by == "fy" and asked:
        expr = expr.order_by(["fiscal_year", expr.federal_action_obligation.desc(), *keys])
    elif by == "fy":
        expr = expr.order_by("fiscal_year")
    else:
        expr = expr.order_by([expr.federal_action_obligation.desc(), *keys])
    limit = v["limit"]
    if by != "fy" and queries.is_placeholder(limit):
        expr = expr.limit(queries.LIMIT_MARK)
    elif by != "fy" and limit:
        expr = expr.limit(limit)
    return expr


def trend(catalog: Catalog, filters: Filters | None = None, policy: str = "keep") -> Result:
    """Obligations by fiscal year for an agency, a recipient, or anything filterable."""
    f = filters or Filters()
    found_rows, sql = run_query(catalog, f"trend:{policy}", filter_values(f),
                             lambda v: _trend_expr(catalog, policy, v))
    found = {row["fiscal_year"]: row for row in found_rows}
    # Years the store holds data for in this scope: a year with data but no matching row is
    # a zero (Palantir in FY2016), a year with no data at all is not (FY2019 never loaded).
    loaded = {b.fiscal_year for _, b in _blocks_in_scope(catalog, f) if b.rows}
    rows = [found.get(fy) or {"fiscal_year": fy, "federal_action_obligation": Decimal("0.00"),
                              "transactions": 0, "awards": 0, "recipients": 0}
            for fy in sorted(loaded | set(found))]
    by_year = {row["fiscal_year"]: row for row in rows}
    for row in rows:
        prev = by_year.get(row["fiscal_year"] - 1)
        row["change_from_previous_year"] = None if prev is None else (
            row["federal_action_obligation"] - prev["federal_action_obligation"])
    notes = caveats(catalog, f, policy)
    gaps = [fy for fy in range(min(by_year, default=0), max(by_year, default=0))
            if fy not in by_year]
    if gaps:
        notes.append(f"no data loaded for {_year_ranges(gaps)} in this scope: the year after "
                     "a gap has no change from the previous year")
    return Result(
        title=f"Obligations by fiscal year — {f.describe()}",
        columns=["fiscal_year", "federal_action_obligation", "change_from_previous_year",
                 "transactions", "awards", "recipients"],
        rows=rows, sql=sql, caveats=notes,
        meta={"policy": policy},
    )


def _trend_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    scope = apply_values(catalog.transactions(policy), v)
    return scope.group_by("fiscal_year").aggregate(
        federal_action_obligation=scope.federal_action_obligation.sum(),
        transactions=scope.count(),
        awards=award_key(scope).nunique(),
        recipients=scope.recipient_name.nunique(),
    ).order_by("fiscal_year")


def _year_ranges(years: list[int]) -> str:
    """[2019, 2020, 2023] -> 'FY2019–FY2020, FY2023'."""
    spans: list[list[int]] = []
    for fy in years:
        if spans and fy == spans[-1][1] + 1:
            spans[-1][1] = fy
        else:
            spans.append([fy, fy])
    return ", ".join(f"FY{a}" if a == b else f"FY{a}–FY{b}" for a, b in spans)


SEARCH_SORTS = ("obligations", "date", "recipient", "actions")


def search(catalog: Catalog, text: str, filters: Filters | None = None, limit: int = 50,
           offset: int = 0, sort: str = "obligations", policy: str = "keep",
           columns: str | list[str] | None = None, by: str | None = None) -> Result:
    """Awards with an action whose description contains TEXT (a phrase, any case);
    `columns` (canonical or source columns) show each award's latest action's value, and
    the caveats name the awards whose actions differ in it; with by='vehicle', those awards
    grouped by the vehicle they were ordered under."""
    from contractwatch.asked_columns import lacking_notes, resolve

    f = filters or Filters()
    if not text.strip():
        raise ValueError("search text is empty")
    if sort not in SEARCH_SORTS:
        raise ValueError(f"sort must be one of {', '.join(SEARCH_SORTS)}")
    if by not in (None, "award", "vehicle"):
        raise ValueError(f"--by must be award or vehicle, not {by!r}")
    asked = resolve(catalog, columns) if columns else []
    values = {**filter_values(f), "text": text.strip(), "limit": limit, "offset": offset}
    if by == "vehicle":
        return _search_by_vehicle(catalog, text, f, values, policy)
    paged = "paged" if offset else "first"
    rows, sql = run_query(catalog, f"search:{sort}:{paged}:{policy}", values,
                          lambda v: _search_page(catalog, policy, sort, v, bool(offset),
                                                 asked), precompiled=not asked)
    # the page carries the number of matching awards (one pass, not a count and a page);
    # a page past the end has no row to carry it
    total = rows[0]["_total_awards"] if rows else 0
    for row in rows:
        del row["_total_awards"]
    if not rows and offset:
        counted, _ = run_query(catalog, f"search_count:{policy}", values,
                               lambda v: _count(_search_expr(catalog, policy, sort, v)))
        total = counted[0]["n"]
    notes = caveats(catalog, f, policy)
    if asked:
        loads = {i for r in rows for i in r.pop("_loads") or []}
        notes += lacking_notes(catalog, asked, loads) + _differing(rows, asked)
    names = [a.name for a in asked if a.name not in SEARCH_COLUMNS]
    return Result(
        title=f"Awards whose descriptions contain {text!r} — {f.describe()}",
        columns=[*SEARCH_COLUMNS, *names], rows=rows, sql=sql, caveats=notes,
        meta={"total_awards": int(total), "offset": offset, "limit": limit,
              "sort": sort, "columns": [a.name for a in asked]},
        facts={"total_awards": int(total)},
    )


def _differing(rows: list[dict[str, Any]], asked: list[Any]) -> list[str]:
    """Per asked column, the awards shown whose actions hold more than one value of it (the
    row shows the latest action's); the per-award counts leave the rows."""
    out = []
    for a in asked:
        varied = [r["award_id_piid"] or r["award_key"] for r in rows
                  if (r.pop(f"_values_{a.name}") or 0) > 1]
        if varied:
            listed = ", ".join(varied[:3]) + (f" and {len(varied) - 3} more"
                                              if len(varied) > 3 else "")
            out.append(f"{a.name}: {len(varied)} of the awards shown hold different values "
                       f"across their actions ({listed}); each shows its latest action's "
                       f"value (`contractwatch award PIID --columns {a.name}` shows each "
                       "action's)")
    return out


def latest_per_award(catalog: Catalog, t: Any, asked: list[Any]) -> Any:
    """Per award of rows `t`: each asked column's value on the latest action, how many
    values its actions hold (`_values_NAME`), and the loads its rows came from (`_loads`)."""
    from contractwatch.asked_columns import with_asked

    t = with_asked(catalog, t, asked)
    t = t.mutate(award_key=award_key(t), _order=action_order(t))
    return t.group_by("award_key").aggregate(
        _loads=t.load_id.collect(distinct=True),
        **{a.name: t[a.name].argmax(t._order) for a in asked},
        **{f"_values_{a.name}": t[a.name].nunique() for a in asked},
    )


SEARCH_COLUMNS = (
    "award_key", "award_id_piid", "recipient_name", "awarding_sub_agency_name",
    "parent_award_id_piid", "first_action_date", "last_action_date", "actions",
    "matching_actions", "federal_action_obligation", "potential_total_value_of_award",
    "matching_description", "usaspending_permalink",
)


SEARCH_VEHICLE_COLUMNS = (
    "parent_award_id_piid", "parent_award_agency_id", "awards", "recipients",
    "federal_action_obligation", "largest_order_ceiling", "last_action_date", "vehicle_key",
)


def _search_by_vehicle(catalog: Catalog, text: str, f: Filters, values: dict[str, Any],
                       policy: str) -> Result:
    rows, sql = run_query(catalog, f"search_vehicles:{policy}", values,
                          lambda v: _search_vehicles_expr(catalog, policy, v))
    direct = [r for r in rows if r["parent_award_id_piid"] is None]
    notes = ["awards matching the text grouped by the vehicle (IDV) they were ordered under: "
             "obligations are sums of the matching awards' transactions; order ceilings are "
             "each order's own (the largest shown), never added up, and not the vehicle's "
             "(`contractwatch award <vehicle>` shows its own)"]
    if direct:
        n = direct[0]["awards"]
        notes.append(f"{n:,} matching award{'s name' if n != 1 else ' names'} no vehicle "
                     "(awarded directly, or the source does not record it): the row without "
                     "a vehicle")
    counted, _ = run_query(catalog, f"search_count:{policy}", values,
                           lambda v: _count(_search_expr(catalog, policy, "obligations", v)))
    matched = int(counted[0]["n"])
    return Result(
        title=f"Vehicles of awards whose descriptions contain {text!r} — {f.describe()}",
        columns=list(SEARCH_VEHICLE_COLUMNS), rows=rows, sql=sql,
        caveats=notes + caveats(catalog, f, policy),
        meta={"by": "vehicle", "total_awards": matched,
              "vehicles": sum(1 for r in rows if r["parent_award_id_piid"])},
        facts={"total_awards": matched},
    )


def _search_vehicles_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """The matching awards (as `search`), grouped by the vehicle they name."""
    import ibis

    a = _search_awards(catalog, policy, v)
    expr = a.group_by(["parent_award_id_piid", "parent_award_agency_id"]).aggregate(
        awards=a.count(),
        recipients=a.recipient_name.nunique(),
        federal_action_obligation=a.federal_action_obligation.sum(),
        largest_order_ceiling=a.potential_total_value_of_award.max(),
        last_action_date=a.last_action_date.max(),
    )
    expr = expr.mutate(vehicle_key=ibis.cases(
        (expr.parent_award_id_piid.notnull() & expr.parent_award_agency_id.notnull(),
         "CONT_IDV_" + expr.parent_award_id_piid + "_" + expr.parent_award_agency_id),
        else_=ibis.null("string")))
    expr = expr.order_by([expr.federal_action_obligation.desc(),
                          expr.parent_award_id_piid, expr.parent_award_agency_id])
    limit = v["limit"]
    if queries.is_placeholder(limit):
        return expr.limit(queries.LIMIT_MARK)
    return expr.limit(limit) if limit else expr


def _search_awards(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """Every matching award with all of `awards()`'s columns. Only the scope's rows of
    awards with a match are aggregated per award (not every award in scope)."""
    scope = apply_values(catalog.transactions(policy), v)
    scope = scope.mutate(award_key=award_key(scope))
    hits = scope.filter(_contains(scope.transaction_description.fill_null(""), v["text"]))
    matched = hits.group_by("award_key").aggregate(
        matching_actions=hits.count(),
        matching_description=hits.transaction_description.argmax(hits.action_date),
    )
    of_matched = scope.semi_join(matched, "award_key")
    per_award = awards(catalog, policy, of_matched.drop("award_key"))
    expr = per_award.join(matched, "award_key")
    return amount_between(expr, "federal_action_obligation", v)


def _search_expr(catalog: Catalog, policy: str, sort: str, v: dict[str, Any]) -> Any:
    """Every matching award in `sort` order."""
    expr = _search_awards(catalog, policy, v).select(*SEARCH_COLUMNS)
    return expr.order_by(_search_order(expr, sort))


def _search_order(expr: Any, sort: str) -> list[Any]:
    return {
        "obligations": [expr.federal_action_obligation.desc(), expr.award_key],
        "date": [expr.last_action_date.desc(), expr.award_key],
        "recipient": [expr.recipient_name, expr.award_key],
        "actions": [expr.actions.desc(), expr.award_key],
    }[sort]


def _search_page(catalog: Catalog, policy: str, sort: str, v: dict[str, Any],
                 paged: bool, asked: list[Any] | None = None) -> Any:
    """One page of `_search_expr`, each row with `_total_awards`: how many awards match."""
    expr = _search_expr(catalog, policy, sort, v)
    expr = expr.mutate(_total_awards=expr.award_key.count().over())
    expr = _page(expr, _search_order(expr, sort), v["limit"], v["offset"] if paged else 0)
    if not asked:
        return expr
    # the asked columns of the page's awards only, from all their rows in scope
    scope = apply_values(catalog.transactions(policy), v)
    scope = scope.mutate(award_key=award_key(scope))
    of_page = scope.semi_join(expr.select("award_key"), "award_key").drop("award_key")
    extra = latest_per_award(catalog, of_page, asked)
    joined = expr.left_join(extra, "award_key")
    joined = joined.select(*expr.columns, *[c for c in extra.columns
                                            if c != "award_key" and c not in expr.columns])
    return joined.order_by(_search_order(joined, sort))


def _page(expr: Any, order: list[Any], limit: Any, offset: Any) -> Any:
    """Rows offset … offset+limit in `order`, numbered explicitly: Ibis compiles an OFFSET
    for Spark as an unordered row number that also leaks into the result's columns."""
    import ibis

    first = not queries.is_placeholder(offset) and not offset
    if first and queries.is_placeholder(limit):
        return expr.limit(queries.LIMIT_MARK)
    if first:
        return expr.limit(limit) if limit else expr
    ranked = expr.mutate(_rn=ibis.row_number().over(order_by=order))
    ranked = ranked.filter(ranked._rn >= offset)
    if queries.is_placeholder(limit):
        ranked = ranked.filter(limit.isnull() | (limit == 0) | (ranked._rn < offset + limit))
    elif limit:
        ranked = ranked.filter(ranked._rn < offset + limit)
    return ranked.order_by("_rn").drop("_rn")


def award(catalog: Catalog, award_id: str, policy: str = "collapse",
          columns: str | list[str] | None = None) -> Result:
    """An award's actions in date order with a running total, its vehicle and its page.

    Per-transaction view: exact copies inside an API export are noise here, so the default
    policy collapses them (and says how many were dropped). `columns` (canonical or source
    columns) show each action's value; the facts hold the latest action's, and a column
    whose values differ across the actions is said to.
    """
    from contractwatch.asked_columns import lacking_notes, resolve

    key = award_id.strip().upper()
    from contractwatch.vehicles import designates_vehicle, vehicle

    asked = resolve(catalog, columns) if columns else []
    if designates_vehicle(catalog, key):  # a vehicle's figures are totals: every copy counts
        found = vehicle(catalog, key, "keep")
        if asked:
            found.caveats.append(f"--columns {','.join(a.name for a in asked)}: a vehicle's "
                                 "view lists its orders; `award ORDER --columns …` or "
                                 "`search` shows the columns per award")
        return found
    if policy not in ("keep", "collapse"):
        raise StoreError(f"unknown duplicate policy {policy!r}")
    # every current row of the award, each marked whether it is an exact copy inside its
    # API export: policy 'collapse' shows the others, and the count under 'keep' comes from
    # the same pass (not a second one over the store)
    kept, sql = run_query(catalog, "award", {"key": key},
                          lambda v: _award_expr(catalog, v, asked), precompiled=not asked)
    rows = [r for r in kept if policy == "keep" or not r["_copy"]]
    for row in kept:
        del row["_copy"]
    if not rows:
        raise LookupError(f"no award {award_id!r} in the store (give a PIID such as "
                          "70CDCR26FR0000024 or a generated id CONT_AWD_…)")
    running = Decimal("0")
    for row in rows:
        running += row["federal_action_obligation"] or Decimal("0")
        row["running_total"] = running
    keys = sorted({r["contract_award_unique_key"] for r in rows if r["contract_award_unique_key"]})
    latest = rows[-1]
    ceiling = latest["potential_total_value_of_award"]
    ceiling_source = "latest action (potential_total_value_of_award)" if ceiling is not None \
        else None
    detail = _award_detail(catalog, keys)
    if ceiling is None and detail and detail.get("base_and_all_options") is not None:
        ceiling = detail["base_and_all_options"]
        ceiling_source = (f"award summary file {detail.get('fetched_at')}"
                          if detail.get("source") == "usaspending-award-summaries"
                          else f"USAspending award detail fetched {detail.get('fetched_at')}")
    parent_piid = latest["parent_award_id_piid"]
    parent_agency = latest["parent_award_agency_id"]
    parent_key = f"CONT_IDV_{parent_piid}_{parent_agency}" if parent_piid and parent_agency \
        else None
    notes = []
    if len(keys) > 1:
        notes.append(f"this PIID maps to {len(keys)} award keys (the recorded parent vehicle "
                     f"changed or the PIID is reused): {', '.join(keys)}")
    if policy == "collapse":
        amounts = [r["federal_action_obligation"] for r in kept
                   if r["federal_action_obligation"] is not None]
        counted = {"total": sum(amounts, Decimal("0")) if amounts else None}
        dropped = len(kept) - len(rows)
        if dropped:
            from contractwatch.values.money import format_dollars

            notes.append(
                f"{dropped} exact {'copy' if dropped == 1 else 'copies'} of actions from API "
                f"exports {'is' if dropped == 1 else 'are'} not shown (paging noise) nor in "
                f"the running total; under policy 'keep', as in `top` and `search`, this "
                f"award's obligations are {format_dollars(counted['total'])}")
    meta = {
        "award_id_piid": latest["award_id_piid"],
        "award_keys": keys,
        "recipient_names": sorted({r["recipient_name"] for r in rows if r["recipient_name"]}),
        "agency": latest["awarding_sub_agency_name"],
        "actions": len(rows),
        "federal_action_obligation": running,
        "ceiling": ceiling,
        "ceiling_source": ceiling_source,
        "parent_award_id_piid": parent_piid,
        "parent_award_key": parent_key,
        "parent_permalink": PERMALINK.format(key=parent_key) if parent_key else None,
        "usaspending_permalink": latest["usaspending_permalink"],
        "first_action_date": rows[0]["action_date"],
        "last_action_date": latest["action_date"],
        "detail": detail,
    }
    meta["vehicle"] = order_vehicle(catalog, parent_key or parent_piid)
    from contractwatch.subcontracts import award_subawards

    meta["subawards"] = award_subawards(catalog, key, latest["award_id_piid"], running)
    if meta["subawards"]["exceeds_prime_obligations"]:
        notes.append("the counted subawards of this award exceed its prime obligations: a "
                     "reporting problem of the prime's, shown as reported")
    facts = {
        "award_id_piid": meta["award_id_piid"],
        "recipient_name": "; ".join(meta["recipient_names"]),
        "awarding_sub_agency_name": meta["agency"],
        "award_total_obligations": running,
        "award_ceiling": ceiling,
        "parent_award_id_piid": parent_piid,
        "parent_permalink": meta["parent_permalink"],
        "usaspending_permalink": meta["usaspending_permalink"],
    }
    if meta["vehicle"]:  # the vehicle's own figures, beside the order's: never added
        v = meta["vehicle"]
        facts.update(vehicle_holder=v["holder"], vehicle_ceiling=v["vehicle_ceiling"],
                     vehicle_obligated_total=v["obligated_total"], vehicle_orders=v["orders"])
        notes.append("the order's own ceiling and its vehicle's ceiling are different figures, "
                     "shown side by side and never added; the vehicle's obligations count all "
                     "its orders in the store")
    if meta["subawards"].get("subawards"):  # below the prime, never added to it
        facts["subawards_total"] = meta["subawards"]["total"]
    if ceiling is None:
        notes.append("this award's ceiling is unknown: the source rows carry none (API "
                     "exports never do); `contractwatch enrich` fetches it")
    notes += lacking_notes(catalog, asked, {r["load_id"] for r in rows})
    for a in asked:  # the latest action's value is a fact; differing values are said
        facts[a.name] = latest[a.name]
        held = list(dict.fromkeys(r[a.name] for r in rows if r[a.name] is not None))
        if len(held) > 1:
            notes.append(f"{a.name} differs across this award's actions ({len(held)} values: "
                         f"{'; '.join(map(str, held[:5]))}{'; …' if len(held) > 5 else ''})"
                         ": each action's is in its row, the latest in the facts")
    shown = ["action_date", "modification_number", "federal_action_obligation",
             "running_total", "potential_total_value_of_award", "transaction_description",
             "recipient_name", "source_file", "source_row"]
    meta["columns"] = [a.name for a in asked]
    return Result(
        title=f"Award {key}",
        columns=[*shown, *(a.name for a in asked if a.name not in shown)],
        rows=rows, sql=sql, caveats=notes, meta=meta, facts=facts,
    )


def order_vehicle(catalog: Catalog, vehicle_id: str | None) -> dict[str, Any] | None:
    """The headline figures of the vehicle an order was placed under (vehicles.vehicle)."""
    from contractwatch.vehicles import vehicle

    if not vehicle_id:
        return None
    try:
        found = vehicle(catalog, vehicle_id, "keep")
    except LookupError:
        return None
    m = found.meta
    return {**found.facts, "vehicle_key": m["vehicle_key"], "vehicle_type": m["vehicle_type"],
            "ceiling_source": m["ceiling_source"], "siblings": len(m["siblings"]),
            "solicitation_identifier": m["solicitation_identifier"]}


AWARD_COLUMNS = (
    "award_id_piid", "action_date", "fiscal_year", "modification_number",
    "federal_action_obligation", "potential_total_value_of_award", "transaction_description",
    "recipient_name", "awarding_sub_agency_name", "contract_award_unique_key",
    "parent_award_id_piid", "parent_award_agency_id", "usaspending_permalink", "source_file",
    "source_row", "load_id", "vintage",
)


def _of_award(t: Any, key: Any) -> Any:
    """Rows of the award `key` names: a generated award id (CONT_…) by the award key, any
    other text by the PIID (no PIID starts with CONT_). One column compared, not both: the
    engine then filters while it reads (an OR of two columns reads every row of the store)."""
    if isinstance(key, str):
        generated = key.startswith("CONT_")
        return t.filter((t.contract_award_unique_key if generated else t.award_id_piid)
                        .upper() == key)
    return t.filter(key.startswith("CONT_").ifelse(t.contract_award_unique_key.upper() == key,
                                                   t.award_id_piid.upper() == key))


def _award_expr(catalog: Catalog, v: dict[str, Any], asked: list[Any] | None = None) -> Any:
    """The award's current rows under policy 'keep' in action order, each with `_copy`:
    whether it is an exact copy inside its API export (policy 'collapse' leaves those out)."""
    import ibis

    rows_expr = _of_award(catalog.transactions("keep"), v["key"])
    marks = catalog.copies_table().select("load_id", "source_row").distinct().mutate(
        _copy=ibis.literal(True))
    joined = rows_expr.left_join(marks, [rows_expr.load_id == marks.load_id,
                                         rows_expr.source_row == marks.source_row])
    rows_expr = joined.select(*[rows_expr[c] for c in rows_expr.columns],
                              _copy=marks._copy.notnull())
    extra: list[str] = []
    if asked:  # columns named by the reader, each action's value (asked_columns.py)
        from contractwatch.asked_columns import with_asked

        rows_expr = with_asked(catalog, rows_expr, asked)
        extra = [a.name for a in asked if a.name not in AWARD_COLUMNS]
    rows_expr = rows_expr.order_by(["action_date", "modification_number",
                                    "transaction_number", "source_row"])
    return rows_expr.select(*AWARD_COLUMNS, *extra, "_copy")


def _award_detail(catalog: Catalog, keys: list[str]) -> dict[str, Any] | None:
    if not catalog.details or not keys:
        return None
    d = catalog.award_details()
    found = _rows(catalog, d.filter(d.contract_award_unique_key.isin(keys)))
    return found[0] if found else None


def status(catalog: Catalog, policy: str = "keep") -> Result:
    """Loads, rows, date coverage per agency and fiscal year, duplicates and warnings."""
    if catalog.loads:
        rows, sql, stored = _status_rows(catalog, policy)
        current = sum(int(r["transactions"]) for r in rows)
    else:
        rows, sql, stored, current = [], None, 0, 0
    covering = Counter((b.agency, b.fiscal_year) for ld in catalog.loads for b in ld.blocks
                       if b.rows)
    for row in rows:  # `loads`: whose rows are current; `loads_covering`: every vintage held
        row["loads_covering"] = covering[(row["awarding_sub_agency_code"], row["fiscal_year"])]
        row["agency"] = _agency_label(row["awarding_sub_agency_code"]).split(" (")[0]
    loads = [{
        "load_id": ld.load_id, "source_file": ld.source_file, "source_format": ld.source_format,
        "vintage": ld.vintage, "vintage_source": ld.vintage_source, "complete": ld.complete,
        "rows_read": ld.rows_read, "rows_kept": ld.rows_kept, "rows_rejected": ld.rows_rejected,
        "duplicate_copies": ld.duplicate_copies, "new": ld.new, "changed": ld.changed,
        "unchanged": ld.unchanged, "loaded_at": ld.loaded_at, "warnings": ld.warnings,
        "deletes": ld.deletes, "source_column_count": len(ld.source_columns),
        # the columns kept as the source gave them (queryable in `transactions_wide`)
        "source_columns": ld.source_columns,
    } for ld in catalog.loads]
    warnings = grouped_warnings(  # page boundaries and vintages: said once by the caveats
        [(ld.source_file, w) for ld in catalog.loads for w in ld.warnings
         if "page boundary" not in w and not w.startswith("no vintage")])
    copies = copies_in_scope(catalog, Filters())
    return Result(
        title=f"Store {catalog.store.root}",
        columns=["awarding_sub_agency_code", "agency", "awarding_sub_agency_name", "fiscal_year",
                 "transactions", "federal_action_obligation", "first_action_date",
                 "last_action_date", "loads", "loads_covering", "newest_vintage"],
        rows=rows, sql=sql,
        caveats=caveats(catalog, Filters(), policy, copies) + warnings,
        meta={"loads": loads, "rows_stored": stored, "rows_current": current,
              "duplicate_copies_current": copies, "policy": policy,
              "superseded_or_withdrawn": stored - current,
              "award_facts": catalog.details},
        facts={"loads_in_store": len(loads), "rows_stored": stored, "rows_current": current,
               "duplicate_copies_current": copies, "superseded_or_withdrawn": stored - current},
    )


def _status_rows(catalog: Catalog, policy: str) -> tuple[list[dict[str, Any]], str, int]:
    """(status rows, their SQL, rows stored). They change only when the loads do, and
    computing them reads every stored row (seconds at ten million), so on DuckDB they are
    computed once per state of the loads and kept in `<store>/resolve/status-<policy>/`
    (versioned by the loads and by the SQL text); every later `status` reads that file."""
    sql = template_sql(catalog, f"status:{policy}", {})
    if sql is None:  # Spark, or a store with deletions: computed each time
        rows, sql = run_query(catalog, f"status:{policy}", {},
                              lambda v: _status_expr(catalog, policy))
        return rows, sql, _stored_count(catalog, policy, rows)
    def write(folder: Path) -> None:
        target = str(folder / "status.parquet").replace("'", "''")
        catalog.duck.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
        rows = catalog.fetch(f"SELECT * FROM read_parquet('{target}')")
        (folder / "stored.txt").write_text(str(_stored_count(catalog, policy, rows)))

    folder = stored_folder(resolve_dir(catalog) / f"status-{policy}",
                           stored_version(catalog, "status", policy, sql), write)
    path = str(folder / "status.parquet").replace("'", "''")
    rows = catalog.fetch(f"SELECT * FROM read_parquet('{path}') "
                         "ORDER BY awarding_sub_agency_code, fiscal_year")
    return rows, sql, int((folder / "stored.txt").read_text())


def _stored_count(catalog: Catalog, policy: str, rows: list[dict[str, Any]]) -> int:
    """Rows stored: the status rows' transactions when every stored row is current and
    policy 'keep' counts them all; else counted."""
    if policy == "keep" and catalog.all_rows_current():
        return sum(int(r["transactions"]) for r in rows)
    return int(run_query(catalog, "stored", {},
                         lambda v: _count(catalog.transactions_all()))[0][0]["n"])


def _status_expr(catalog: Catalog, policy: str) -> Any:
    t = catalog.transactions(policy)
    return t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        # sources spell an agency differently: one row per code, named as its latest action
        awarding_sub_agency_name=t.awarding_sub_agency_name.argmax(t.action_date),
        transactions=t.count(),
        federal_action_obligation=t.federal_action_obligation.sum(),
        first_action_date=t.action_date.min(),
        last_action_date=t.action_date.max(),
        loads=t.load_id.nunique(),
        newest_vintage=t.vintage.max(),
    ).order_by(["awarding_sub_agency_code", "fiscal_year"])


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every analysis that runs as a precompiled template, by template name, built on
    placeholders `p` (see queries.py)."""
    for policy in ("keep", "collapse"):
        for by in _TOP_GROUPS:
            yield f"top:{by}:{policy}", _top_expr(catalog, by, policy, p)
        yield f"trend:{policy}", _trend_expr(catalog, policy, p)
        yield f"search_count:{policy}", _count(_search_expr(catalog, policy, "obligations", p))
        for sort in SEARCH_SORTS:
            yield f"search:{sort}:first:{policy}", _search_page(catalog, policy, sort, p, False)
            yield f"search:{sort}:paged:{policy}", _search_page(catalog, policy, sort, p, True)
        yield f"search_vehicles:{policy}", _search_vehicles_expr(catalog, policy, p)
        yield f"status:{policy}", _status_expr(catalog, policy)
        yield f"current:{policy}", _count(catalog.transactions(policy))
    yield "award", _award_expr(catalog, p)
    yield "stored", _count(catalog.transactions_all())
    yield "copies", _copies_expr(catalog, p)
