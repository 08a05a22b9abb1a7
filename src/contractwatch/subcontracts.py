"""Money below the prime: subawards, each counted once, never added to prime obligations.

A subaward's amount is its total as reported; the same subaward is re-filed month after
month, so every figure here counts the latest report of prime award × subaward number ×
subawardee (`Catalog.ranked_subaward_reports`, rank 0) and says how many re-filings were set
aside. Where a prime's counted subawards exceed what the prime award obligated, that is
flagged, not corrected. Subawardees the record marks as individuals (their business types
say "individual" or "sole proprietor") are shown as recorded and never matched to a company.

Every query is an Ibis expression on placeholders, run as a precompiled template on DuckDB
(queries.py), like the other analyses.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from contractwatch import queries
from contractwatch.analyze import Filters, Result, filter_values, run_query
from contractwatch.store import Catalog

RULE = ("each subaward counted once (the latest report of prime award × subaward number × "
        "subawardee); subaward amounts are each subaward's total as the prime reported it")
NOT_ADDED = "never added to prime obligations (money below the prime, shown apart)"
REPORT_COLUMNS = (
    "prime_key", "prime_award_piid", "prime_awardee_name",
    "prime_award_awarding_sub_agency_name", "subaward_number", "subawardee_name",
    "subawardee_uei", "subawardee_parent_name", "subaward_amount", "subaward_action_date",
    "subaward_fiscal_year", "subaward_description", "subaward_report_id",
    "subaward_report_last_modified_date", "recorded_as_individual", "report_rank",
    "source_file",
)
NO_FILES = "no subaward file loaded (load a Contracts_Subawards_*.csv download)"


def _where(t: Any, value: Any, condition: Any) -> Any:
    """Filter on `condition(value)` when the value is given (a placeholder filters only when
    the value filled in is not NULL)."""
    if value is None:
        return t
    if queries.is_placeholder(value):
        return t.filter(value.isnull() | condition(value))
    return t.filter(condition(value))


def recorded_as_individual(t: Any) -> Any:
    """The subawardee's business types as recorded name a natural person."""
    kinds = t.subawardee_business_types.fill_null("").lower()
    return kinds.contains("individual") | kinds.contains("sole proprietor")


def ranked(catalog: Catalog) -> Any:
    """Every report, ranked (0 counts), with `recorded_as_individual`."""
    r = catalog.ranked_subaward_reports()
    return r.mutate(recorded_as_individual=recorded_as_individual(r))


def scoped(t: Any, v: dict[str, Any]) -> Any:
    """Reports in a scope: the prime's awarding department or agency, the subaward's fiscal
    year, the subawardee's name (as recorded, at word starts or anywhere)."""
    t = _where(t, v["department"], lambda d: t.prime_award_awarding_agency_code == d)
    t = _where(t, v["agency"], lambda a: t.prime_award_awarding_sub_agency_code == a)
    t = _where(t, v["fy"], lambda fy: t.subaward_fiscal_year == fy)
    return _where(t, v["recipient"], lambda r: t.subawardee_name.fill_null("").upper()
                  .contains(r.upper()))


def _set_aside_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    s = scoped(ranked(catalog), v)
    s = s.filter(s.report_rank > 0)
    return s.aggregate(n=s.count())


def set_aside(catalog: Catalog, f: Filters) -> int:
    """Reports in the scope set aside as re-filings of a counted subaward."""
    if not catalog.subaward_files:
        return 0
    rows, _ = run_query(catalog, "subawards_set_aside", filter_values(f),
                        lambda v: _set_aside_expr(catalog, v))
    return int(rows[0]["n"])


# ---- one award ----------------------------------------------------------------------------

def _award_reports_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    """Every report of the award `key` (a PIID or key; `text`: its PIID, for reports of
    the 2018 layout that name the prime by PIID only): counted first, by amount."""
    r = ranked(catalog)
    key, piid = v["key"], v["text"]
    r = r.filter((r.prime_award_unique_key.upper() == key) | (r.prime_award_piid.upper() == key)
                 | (r.prime_award_unique_key.isnull() & (r.prime_award_piid.upper() == piid)))
    return r.select(*REPORT_COLUMNS).order_by([
        (r.report_rank > 0), r.subaward_amount.desc(), r.subaward_number, r.subawardee_name,
        r.report_rank])


def award_subawards(catalog: Catalog, key: str, piid: str | None,
                    prime_obligated: Decimal | None) -> dict[str, Any]:
    """The subawards of an award: counted once, their total, the re-filings set aside (as
    rows and as a count), and whether they exceed what the prime obligated."""
    empty = {"subawards": [], "set_aside": [], "total": None, "refilings_set_aside": 0,
             "exceeds_prime_obligations": False}
    if not catalog.subaward_files:
        return empty
    rows, _ = run_query(catalog, "award_subawards",
                        {"key": key.strip().upper(), "text": (piid or "").upper()},
                        lambda v: _award_reports_expr(catalog, v))
    counted = [r for r in rows if r["report_rank"] == 0]
    refiled = [r for r in rows if r["report_rank"] > 0]
    total = sum((r["subaward_amount"] or Decimal("0") for r in counted), Decimal("0"))
    return {"subawards": counted, "set_aside": refiled, "total": total if counted else None,
            "refilings_set_aside": len(refiled),
            "exceeds_prime_obligations": bool(
                counted and prime_obligated is not None and total > prime_obligated)}


# ---- by subrecipient ----------------------------------------------------------------------

def _top_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    s = scoped(ranked(catalog), v)
    s = s.filter(s.report_rank == 0)
    expr = s.group_by("subawardee_name").aggregate(
        subaward_amount=s.subaward_amount.sum(),
        subawards=s.count(),
        prime_awards=s.prime_key.nunique(),
        prime_awardees=s.prime_awardee_name.nunique(),
        recorded_as_individual=s.recorded_as_individual.any(),
    ).order_by([lambda t: t.subaward_amount.desc(), "subawardee_name"])
    return expr.limit(queries.LIMIT_MARK) if queries.is_placeholder(v["limit"]) else (
        expr.limit(v["limit"]) if v["limit"] else expr)


def top_subrecipients(catalog: Catalog, filters: Filters | None = None,
                      limit: int = 20) -> Result:
    """Subaward money by subawardee (each subaward counted once), apart from prime money."""
    f = filters or Filters()
    if not catalog.subaward_files:
        rows, sql, aside, caveats = [], None, 0, [NO_FILES]
    else:
        rows, sql = run_query(catalog, "top:subrecipient", {**filter_values(f), "limit": limit},
                              lambda v: _top_expr(catalog, v))
        aside = set_aside(catalog, f)
        caveats = [f"subaward amounts: {RULE}; {aside:,} re-filed reports set aside; "
                   f"{NOT_ADDED}"]
        if any(r["recorded_as_individual"] for r in rows):
            caveats.append("subrecipients the record marks as individuals are listed by the "
                           "name recorded and never matched to a company")
    return Result(
        title=f"Subaward money by subrecipient — {f.describe()}",
        columns=["subawardee_name", "subaward_amount", "subawards", "prime_awards",
                 "prime_awardees"],
        rows=rows, sql=sql, caveats=caveats,
        meta={"by": "subrecipient", "refilings_set_aside": aside},
    )


# ---- received by a company ----------------------------------------------------------------

def received_expr(catalog: Catalog, members: Any, v: dict[str, Any]) -> Any:
    """Counted subawards a company received, per prime award and subawardee as recorded.

    `members`: the company's prime-recipient rows (recipient_uei, recipient_name). A
    subawardee is the company's when its UEI, or its parent's UEI, is a member's UEI, or its
    recorded name is a member's recorded name (`matched_by` says which). Subawardees the
    record marks as individuals are never matched.
    """
    import ibis

    ueis = members.filter(members.recipient_uei.notnull()).select(
        uei=members.recipient_uei).distinct()
    names = members.filter(members.recipient_name.notnull()).select(
        name=members.recipient_name.upper()).distinct()
    s = scoped(ranked(catalog), {**v, "recipient": None})
    s = s.filter((s.report_rank == 0) & ~s.recorded_as_individual)
    matched_by = ibis.cases(
        (s.subawardee_uei.isin(ueis.uei), "UEI"),
        (s.subawardee_parent_uei.isin(ueis.uei), "parent's UEI"),
        (s.subawardee_name.upper().isin(names.name), "name as recorded"),
        else_=ibis.null("string"))
    s = s.mutate(matched_by=matched_by)
    s = s.filter(s.matched_by.notnull())
    expr = s.group_by(["prime_key", "prime_award_piid", "prime_awardee_name",
                       "prime_award_awarding_sub_agency_name", "subawardee_name",
                       "matched_by"]).aggregate(
        subaward_amount=s.subaward_amount.sum(),
        subawards=s.count(),
        first_subaward_date=s.subaward_action_date.min(),
        last_subaward_date=s.subaward_action_date.max(),
    )
    return expr.order_by([expr.subaward_amount.desc(), expr.prime_key, expr.subawardee_name,
                          expr.matched_by])


RECEIVED_COLUMNS = ["prime_award_piid", "prime_awardee_name",
                    "prime_award_awarding_sub_agency_name", "subawardee_name", "matched_by",
                    "subaward_amount", "subawards", "last_subaward_date"]


def received_result(name: str, rows: list[dict[str, Any]], sql: str | None,
                    aside: int, has_files: bool) -> Result:
    """The part of a company's answer that is money received as a subcontractor."""
    total = sum((r["subaward_amount"] or Decimal("0") for r in rows), Decimal("0"))
    if not has_files:
        caveats = [NO_FILES]
    else:
        caveats = [f"money received as a subcontractor, {NOT_ADDED}: the company's prime "
                   "obligations above do not include it", f"{RULE}; {aside:,} re-filed reports "
                   "in this scope set aside",
                   "a subawardee is this company's when its UEI or its parent's UEI is a "
                   "member's UEI, or its recorded name is a member's recorded name; "
                   "subawardees the record marks as individuals are never matched"]
    primes = {r["prime_key"] for r in rows}
    return Result(
        f"{name}: money received as a subcontractor (subawards, not in the prime totals)",
        RECEIVED_COLUMNS, rows, sql, caveats,
        meta={"subaward_amount": total if rows else None, "prime_awards": len(primes),
              "refilings_set_aside": aside},
        facts={"subaward_amount_received": total, "prime_awards": len(primes)} if rows
        else {})


# ---- under an agency's primes (the report) ------------------------------------------------

def _primes_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """Per prime award of the agency with counted subawards in the year: their total, the
    prime's obligations (every action in the store), and whether the first exceeds them."""
    s = scoped(ranked(catalog), {**v, "recipient": None})
    reports = s.group_by("prime_key").aggregate(refiled=(s.report_rank > 0).sum())
    s = s.filter(s.report_rank == 0)
    per = s.group_by("prime_key").aggregate(
        prime_award_piid=s.prime_award_piid.arbitrary(),
        prime_awardee_name=s.prime_awardee_name.arbitrary(),
        subaward_amount=s.subaward_amount.sum(),
        subawards=s.count(),
        subawardees=s.subawardee_key.nunique(),
    )
    t = catalog.transactions(policy)
    by_key = t.group_by(k=t.contract_award_unique_key).aggregate(
        o_key=t.federal_action_obligation.sum())
    by_piid = t.group_by(p=t.award_id_piid).aggregate(o_piid=t.federal_action_obligation.sum())
    j = per.left_join(by_key, per.prime_key == by_key.k).select(per, by_key.o_key)
    j = j.left_join(by_piid, j.prime_key == by_piid.p).select(j, by_piid.o_piid)
    j = j.left_join(reports, j.prime_key == reports.prime_key).select(j, reports.refiled)
    # the columns by name, not drop(): its order varies per process, and so would the SQL
    j = j.select("prime_key", "prime_award_piid", "prime_awardee_name", "subaward_amount",
                 "subawards", "subawardees", "refiled",
                 prime_obligated=j.o_key.fill_null(j.o_piid))
    j = j.mutate(exceeds_prime_obligations=(j.prime_obligated.notnull()
                                            & (j.subaward_amount > j.prime_obligated)))
    return j.order_by([j.subaward_amount.desc(), j.prime_key])


PRIMES_COLUMNS = ["prime_award_piid", "prime_awardee_name", "subaward_amount", "subawards",
                  "subawardees", "prime_obligated", "exceeds_prime_obligations", "refiled"]


def under_primes(catalog: Catalog, f: Filters, policy: str = "keep") -> Result:
    """Subawards reported under the scope's prime awards, one row per prime."""
    if not catalog.subaward_files:
        return Result("Subawards under the agency's prime awards", PRIMES_COLUMNS, [], None,
                      [NO_FILES])
    rows, sql = run_query(catalog, f"subaward_primes:{policy}", filter_values(f),
                          lambda v: _primes_expr(catalog, policy, v))
    for r in rows:
        r["refiled"] = int(r["refiled"] or 0)
    over = [r for r in rows if r["exceeds_prime_obligations"]]
    caveats = [f"{RULE}; {sum(r['refiled'] for r in rows):,} re-filed reports set aside; "
               f"{NOT_ADDED}"]
    if over:
        caveats.append(f"{len(over)} prime award{'s' if len(over) != 1 else ''} whose counted "
                       "subawards exceed the prime's obligations in the store: "
                       + ", ".join(r["prime_award_piid"] or r["prime_key"] for r in over)
                       + " (a reporting problem of the prime's, shown as reported)")
    total = sum((r["subaward_amount"] or Decimal("0") for r in rows), Decimal("0"))
    return Result(f"Subawards under {f.describe()} prime awards", PRIMES_COLUMNS, rows, sql,
                  caveats, meta={"subaward_amount": total, "primes_over": len(over)})


# ---- for the FtM export -------------------------------------------------------------------

def _ftm_expr(catalog: Catalog, v: dict[str, Any]) -> Any:
    s = scoped(ranked(catalog), {**v, "recipient": None})
    s = s.filter(s.report_rank == 0)
    return s.select(*REPORT_COLUMNS, "prime_award_awarding_sub_agency_code",
                    "subawardee_duns").order_by(["prime_key", "subaward_number",
                                                 "subawardee_name"])


def counted_in_scope(catalog: Catalog, f: Filters) -> list[dict[str, Any]]:
    """Every counted subaward in the scope, one row each."""
    if not catalog.subaward_files:
        return []
    return run_query(catalog, "ftm_subawards", filter_values(f),
                     lambda v: _ftm_expr(catalog, v))[0]


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The subaward queries as templates (see queries.py)."""
    yield "subawards_set_aside", _set_aside_expr(catalog, p)
    yield "award_subawards", _award_reports_expr(catalog, p)
    yield "top:subrecipient", _top_expr(catalog, p)
    yield "ftm_subawards", _ftm_expr(catalog, p)
    for policy in ("keep", "collapse"):
        yield f"subaward_primes:{policy}", _primes_expr(catalog, policy, p)
