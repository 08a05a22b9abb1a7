"""USAspending's contract subaward download (`Contracts_Subawards_*.csv`).

Each row is one report a prime filed about one subaward. `subaward_amount` is the subaward's
total as reported, and primes re-file the same subaward month after month (USAspending's own
data-quality notes say so; `subaward_number` alone is not unique), so reports are stored as
they are and counted once later (`Catalog.subawards`). Subaward money is a view below the
prime's and is never added to prime obligations. The report columns were named
`subaward_fsrs_report_*` before 2025-03-31 and `subaward_sam_report_*` since; both load.
Subawardees that are individuals are kept as the record shows them and never matched.
"""

from __future__ import annotations

import pyarrow as pa

from contractwatch.record_columns import SUBAWARD_COLUMNS
from contractwatch.schema import MONEY
from contractwatch.sources.base import Context, Field, Layout, mapped_fields, record_sql, sql_str

# the record table's columns (record_columns.py, which needs no Arrow), as an Arrow schema
SUBAWARD_SCHEMA = pa.schema([(name, {"VARCHAR": pa.string(), "BIGINT": pa.int64(),
                                     "DATE": pa.date32()}.get(kind, MONEY))
                             for name, kind in SUBAWARD_COLUMNS])

# schema column -> (kind, source columns in order of preference)
_MAP: dict[str, tuple[str, tuple[str, ...]]] = {
    "prime_award_unique_key": ("string", ("prime_award_unique_key",)),
    "prime_award_piid": ("string", ("prime_award_piid",)),
    "prime_award_parent_piid": ("string", ("prime_award_parent_piid",)),
    "prime_award_awarding_agency_code": ("string", ("prime_award_awarding_agency_code",
                                                    "prime_awarding_agency_code")),
    "prime_award_awarding_sub_agency_code": ("string", ("prime_award_awarding_sub_agency_code",
                                                        "prime_awarding_sub_agency_code")),
    "prime_award_awarding_sub_agency_name": ("string", ("prime_award_awarding_sub_agency_name",
                                                        "prime_awarding_sub_agency_name")),
    "prime_awardee_name": ("string", ("prime_awardee_name",)),
    "subaward_report_id": ("string", ("subaward_sam_report_id", "subaward_fsrs_report_id")),
    "subaward_report_year": ("int", ("subaward_sam_report_year", "subaward_fsrs_report_year",
                                     "subaward_report_year")),
    "subaward_report_month": ("int", ("subaward_sam_report_month", "subaward_fsrs_report_month",
                                      "subaward_report_month")),
    "subaward_report_last_modified_date": (
        "string", ("subaward_sam_report_last_modified_date",
                   "subaward_fsrs_report_last_modified_date")),
    "subaward_number": ("string", ("subaward_number",)),
    "subaward_amount": ("money", ("subaward_amount",)),
    "subaward_action_date": ("date", ("subaward_action_date",)),
    "subawardee_uei": ("string", ("subawardee_uei",)),
    "subawardee_duns": ("string", ("subawardee_duns",)),
    "subawardee_name": ("string", ("subawardee_name",)),
    "subawardee_parent_uei": ("string", ("subawardee_parent_uei",)),
    "subawardee_parent_name": ("string", ("subawardee_parent_name",)),
    "subaward_description": ("string", ("subaward_description",)),
    "subawardee_business_types": ("string", ("subawardee_business_types",)),
}
_REQUIRED = {"prime_award_unique_key", "prime_award_piid", "subaward_number", "subaward_amount"}


class SubawardsLayout(Layout):
    name = "usaspending-subawards"
    kind = "subawards"
    # the 2018 layout names the prime by PIID only (no key, no parent agency)
    required_columns = ("prime_award_piid", "subaward_number", "subaward_amount")

    def date_columns(self, header: list[str]) -> list[str]:
        return [c for c in header if c.endswith("_date")]

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        return mapped_fields(_MAP, _REQUIRED, header)

    def reports_sql(self, header: list[str], ctx: Context, vintage: str, source_file: str,
                    table: str = "batch") -> str:
        """One row per report, typed and checked, every other source column kept as text."""
        fy = ("CAST(year(subaward_action_date) + CASE WHEN month(subaward_action_date) >= 10 "
              "THEN 1 ELSE 0 END AS BIGINT)")
        return record_sql(self.fields(header, ctx), header, ctx, SUBAWARD_SCHEMA, {
            "vintage": sql_str(vintage), "source_file": sql_str(source_file),
            "subaward_fiscal_year": fy}, table)
