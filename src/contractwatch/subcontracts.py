"""Money below the prime: subawards, each counted once, never added to prime obligations.

A subaward's amount is its total as reported; the same subaward is re-filed month after
month, so every figure here uses `Catalog.subawards()` (the latest report of prime award ×
subaward number × subawardee) and says how many re-filings were set aside. Where a prime's
counted subawards exceed what the prime award obligated, that is flagged, not corrected.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from contractwatch.analyze import Filters, Result
from contractwatch.store import Catalog


def _rows(catalog: Catalog, expr: Any) -> list[dict[str, Any]]:
    return catalog.execute_arrow(expr).to_pylist()


def _scoped(catalog: Catalog, f: Filters) -> Any:
    """Counted subawards in a scope: the prime's awarding agency (or department), the
    subaward's fiscal year, the subawardee's name."""
    s = catalog.subawards()
    department = f.department_code()
    if department:
        s = s.filter(s.prime_award_awarding_agency_code == department)
    elif f.agency:
        s = s.filter(s.prime_award_awarding_sub_agency_code == f.agency_code())
    if f.fy:
        s = s.filter(s.subaward_fiscal_year == int(f.fy))
    if f.recipient:
        s = s.filter(s.subawardee_name.upper().contains(f.recipient.strip().upper()))
    return s


def refilings(catalog: Catalog, scoped_reports: Any, counted: Any) -> int:
    """Reports set aside as re-filings of a counted subaward."""
    return int(catalog.con.execute(scoped_reports.count())) - int(
        catalog.con.execute(counted.count()))


def award_subawards(catalog: Catalog, award_keys: list[str], piid: str | None,
                    prime_obligated: Decimal | None) -> dict[str, Any]:
    """The subawards of an award: counted once, their total, re-filings set aside, and
    whether they exceed what the prime obligated."""
    if not catalog.subaward_files or not award_keys:
        return {"subawards": [], "total": None, "refilings_set_aside": 0,
                "exceeds_prime_obligations": False}
    def of_award(t: Any) -> Any:  # by key, or by PIID where the report has no key (2018)
        return t.filter(t.prime_award_unique_key.isin(award_keys)
                        | (t.prime_award_unique_key.isnull() & (t.prime_award_piid == piid)))

    counted = of_award(catalog.subawards())
    reports = of_award(catalog.subaward_reports())
    rows = _rows(catalog, counted.select(
        "subaward_number", "subawardee_name", "subawardee_uei", "subaward_amount",
        "subaward_action_date", "subaward_description", "subaward_report_last_modified_date",
    ).order_by([counted.subaward_amount.desc(), counted.subaward_number]))
    total = sum((r["subaward_amount"] or Decimal("0") for r in rows), Decimal("0"))
    return {"subawards": rows, "total": total if rows else None,
            "refilings_set_aside": refilings(catalog, reports, counted),
            "exceeds_prime_obligations": bool(
                rows and prime_obligated is not None and total > prime_obligated)}


def top_subrecipients(catalog: Catalog, filters: Filters | None = None,
                      limit: int = 20) -> Result:
    """Subaward money by subawardee (each subaward counted once), apart from prime money."""
    f = filters or Filters()
    s = _scoped(catalog, f)
    expr = s.group_by("subawardee_name").aggregate(
        subaward_amount=s.subaward_amount.sum(),
        subawards=s.count(),
        prime_awards=s.prime_key.nunique(),
        prime_awardees=s.prime_awardee_name.nunique(),
    ).order_by([lambda t: t.subaward_amount.desc(), "subawardee_name"])
    if limit:
        expr = expr.limit(limit)
    rows = _rows(catalog, expr) if catalog.subaward_files else []
    reports = catalog.subaward_reports()
    set_aside = refilings(catalog, reports, catalog.subawards()) if catalog.subaward_files \
        else 0
    caveats = ["subaward amounts are each subaward's total as reported by the prime, counted "
               f"once (latest report); {set_aside:,} re-filed reports set aside; never added "
               "to prime obligations"]
    if not catalog.subaward_files:
        caveats = ["no subaward file loaded (load a Contracts_Subawards_*.csv download)"]
    return Result(
        title=f"Subaward money by subrecipient — {f.describe()}",
        columns=["subawardee_name", "subaward_amount", "subawards", "prime_awards",
                 "prime_awardees"],
        rows=rows, sql=catalog.to_sql(expr), caveats=caveats,
        meta={"by": "subrecipient", "refilings_set_aside": set_aside},
    )
