"""USAspending's award-level contract download (`Contracts_PrimeAwardSummaries_*.csv`).

One row per award (or vehicle): current totals, the ceiling, the vehicle it was ordered under,
the solicitation, the IDV type. These are award facts, stored beside the award details the API
gives (`Catalog.award_details`, newest per award) and never added to transaction sums: a
summary's `total_obligated_amount` is the sum of the award's transactions, so adding it would
count them twice.
"""

from __future__ import annotations

from contractwatch.sources.base import Context, Field, Layout, mapped_fields, record_sql, sql_str
from contractwatch.sources.keys import AWARD_KEY_SQL

# detail column (sources/award_detail.DETAIL_SCHEMA) -> (kind, source columns, newest name
# first: the 2018 layout has no key column, `obligated_amount`, `parent_award_id` and
# `award_description`)
_MAP: dict[str, tuple[str, tuple[str, ...]]] = {
    "contract_award_unique_key": ("string", ("contract_award_unique_key",)),
    "award_id_piid": ("string", ("award_id_piid",)),
    "award_type": ("string", ("award_type",)),
    "description": ("string", ("prime_award_base_transaction_description", "award_description")),
    "date_signed": ("date", ("award_base_action_date",)),
    "total_obligation": ("money", ("total_obligated_amount", "obligated_amount")),
    "base_exercised_options": ("money", ("current_total_value_of_award",)),
    "base_and_all_options": ("money", ("potential_total_value_of_award",)),
    "parent_award_id_piid": ("string", ("parent_award_id_piid", "parent_award_id")),
    "parent_award_agency_id": ("string", ("parent_award_agency_id",)),
    "recipient_name": ("string", ("recipient_name",)),
    "recipient_uei": ("string", ("recipient_uei",)),
    "recipient_parent_name": ("string", ("recipient_parent_name",)),
    "recipient_parent_uei": ("string", ("recipient_parent_uei",)),
    "type_of_contract_pricing": ("string", ("type_of_contract_pricing_code",)),
    "type_of_contract_pricing_description": ("string", ("type_of_contract_pricing",)),
    "extent_competed": ("string", ("extent_competed_code",)),
    "extent_competed_description": ("string", ("extent_competed",)),
    "number_of_offers_received": ("int", ("number_of_offers_received",)),
    "period_of_performance_start_date": ("date", ("period_of_performance_start_date",)),
    "period_of_performance_current_end_date": (
        "date", ("period_of_performance_current_end_date",)),
    "period_of_performance_potential_end_date": (
        "date", ("period_of_performance_potential_end_date",)),
    "last_modified_date": ("string", ("last_modified_date",)),
    "awarding_sub_agency_code": ("string", ("awarding_sub_agency_code",)),
    "awarding_sub_agency_name": ("string", ("awarding_sub_agency_name",)),
    "award_or_idv_flag": ("string", ("award_or_idv_flag",)),
    "idv_type": ("string", ("idv_type",)),
    "solicitation_identifier": ("string", ("solicitation_identifier",)),
    "multiple_or_single_award_idv": ("string", ("multiple_or_single_award_idv",)),
    "parent_award_type": ("string", ("parent_award_type",)),
    "parent_award_single_or_multiple": ("string", ("parent_award_single_or_multiple",)),
}
_REQUIRED = {"contract_award_unique_key", "award_id_piid"}


class AwardSummariesLayout(Layout):
    name = "usaspending-award-summaries"
    kind = "award-facts"
    required_columns = ("award_id_piid", "potential_total_value_of_award")

    def matches(self, header: list[str]) -> bool:
        return (super().matches(header) and "federal_action_obligation" not in header
                and ("total_obligated_amount" in header or "obligated_amount" in header))

    def date_columns(self, header: list[str]) -> list[str]:
        return [c for c in header if c.endswith("_date")]

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        return mapped_fields(_MAP, _REQUIRED, header)

    def facts_sql(self, header: list[str], ctx: Context, fetched_at: str, source: str,
                  table: str = "batch") -> str:
        """The detail columns (typed and checked), the vehicle's key, the fetch time and
        source, and every other source column as text under its own name."""
        from contractwatch.sources.award_detail import DETAIL_SCHEMA

        derived = {} if "contract_award_unique_key" in header else {
            # the 2018 layout has no key: USAspending's rule (sources/keys.py)
            "contract_award_unique_key": AWARD_KEY_SQL}
        return record_sql(self.fields(header, ctx), header, ctx, DETAIL_SCHEMA, {
            **derived, "fetched_at": sql_str(fetched_at), "source": sql_str(source),
            "parent_award_key": (
                "CASE WHEN parent_award_id_piid IS NOT NULL THEN 'CONT_IDV_' || "
                "parent_award_id_piid || '_' || coalesce(parent_award_agency_id, '-NONE-') END"),
        }, table)
