"""USAspending's award-level contract download (`Contracts_PrimeAwardSummaries_*.csv`).

One row per award (or vehicle): current totals, the ceiling, the vehicle it was ordered under,
the solicitation, the IDV type. These are award facts, stored beside the award details the API
gives (`Catalog.award_details`, newest per award) and never added to transaction sums: a
summary's `total_obligated_amount` is the sum of the award's transactions, so adding it would
count them twice.
"""

from __future__ import annotations

from contractwatch.sources.base import Context, Field, Layout, q, typed_columns

# detail column (sources/award_detail.DETAIL_SCHEMA) -> (kind, source column)
_MAP: dict[str, tuple[str, str]] = {
    "contract_award_unique_key": ("string", "contract_award_unique_key"),
    "award_id_piid": ("string", "award_id_piid"),
    "award_type": ("string", "award_type"),
    "description": ("string", "prime_award_base_transaction_description"),
    "date_signed": ("date", "award_base_action_date"),
    "total_obligation": ("money", "total_obligated_amount"),
    "base_exercised_options": ("money", "current_total_value_of_award"),
    "base_and_all_options": ("money", "potential_total_value_of_award"),
    "parent_award_id_piid": ("string", "parent_award_id_piid"),
    "parent_award_agency_id": ("string", "parent_award_agency_id"),
    "recipient_name": ("string", "recipient_name"),
    "recipient_uei": ("string", "recipient_uei"),
    "recipient_parent_name": ("string", "recipient_parent_name"),
    "recipient_parent_uei": ("string", "recipient_parent_uei"),
    "type_of_contract_pricing": ("string", "type_of_contract_pricing_code"),
    "type_of_contract_pricing_description": ("string", "type_of_contract_pricing"),
    "extent_competed": ("string", "extent_competed_code"),
    "extent_competed_description": ("string", "extent_competed"),
    "number_of_offers_received": ("int", "number_of_offers_received"),
    "period_of_performance_start_date": ("date", "period_of_performance_start_date"),
    "period_of_performance_current_end_date": ("date", "period_of_performance_current_end_date"),
    "period_of_performance_potential_end_date": (
        "date", "period_of_performance_potential_end_date"),
    "last_modified_date": ("string", "last_modified_date"),
    "awarding_sub_agency_code": ("string", "awarding_sub_agency_code"),
    "awarding_sub_agency_name": ("string", "awarding_sub_agency_name"),
    "award_or_idv_flag": ("string", "award_or_idv_flag"),
    "idv_type": ("string", "idv_type"),
    "solicitation_identifier": ("string", "solicitation_identifier"),
    "multiple_or_single_award_idv": ("string", "multiple_or_single_award_idv"),
    "parent_award_type": ("string", "parent_award_type"),
    "parent_award_single_or_multiple": ("string", "parent_award_single_or_multiple"),
}
_REQUIRED = {"contract_award_unique_key"}


class AwardSummariesLayout(Layout):
    name = "usaspending-award-summaries"
    kind = "award-facts"
    required_columns = ("contract_award_unique_key", "award_id_piid", "total_obligated_amount",
                        "potential_total_value_of_award")

    def matches(self, header: list[str]) -> bool:
        return super().matches(header) and "federal_action_obligation" not in header

    def date_columns(self, header: list[str]) -> list[str]:
        return [c for c in header if c.endswith("_date")]

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        present = set(header)
        return {name: Field(kind, source, required=name in _REQUIRED)
                for name, (kind, source) in _MAP.items() if source in present}

    def facts_sql(self, header: list[str], ctx: Context, fetched_at: str, source: str,
                  table: str = "batch") -> str:
        """SELECT of the detail columns (typed, checked: `_error` names a bad value), the
        award's vehicle key, the fetch time and source, and every source column kept as
        text under its own name where no detail column has that name."""
        from contractwatch.sources.award_detail import DETAIL_SCHEMA

        fields = self.fields(header, ctx)
        exprs, raws, checks = typed_columns(fields, ctx)
        error = "CASE " + " ".join(checks) + " END" if checks else "NULL"
        columns = []
        for f in DETAIL_SCHEMA:
            if f.name == "fetched_at":
                expr = f"'{fetched_at}'"
            elif f.name == "source":
                expr = f"'{source}'"
            elif f.name == "parent_award_key":
                expr = ("CASE WHEN parent_award_id_piid IS NOT NULL THEN 'CONT_IDV_' || "
                        "parent_award_id_piid || '_' || coalesce(parent_award_agency_id, "
                        "'-NONE-') END")
            elif f.name in exprs:
                expr = q(f.name)
            else:
                expr = "NULL"
            columns.append(f"CAST({expr} AS {_sql_type(f.type)}) AS {q(f.name)}")
        names = {f.name for f in DETAIL_SCHEMA}
        kept = [f"NULLIF({q(h)}, '') AS {q(h)}" for h in header if h not in names]
        inner = ", ".join([f"{e} AS {q(n)}" for n, e in exprs.items()] + raws)
        return (
            f"WITH parsed AS (SELECT {inner}, {', '.join(kept) + ', ' if kept else ''}"
            f"source_row FROM {table}) "
            f"SELECT {', '.join(columns)}, {', '.join(q(h) for h in header if h not in names)}"
            f"{', ' if any(h not in names for h in header) else ''}source_row, "
            f"{error} AS _error FROM parsed"
        )


def _sql_type(arrow_type: object) -> str:
    text = str(arrow_type)
    if text.startswith("decimal"):
        return "DECIMAL(38,2)"
    return {"string": "VARCHAR", "date32[day]": "DATE", "int64": "BIGINT"}[text]
