"""The columns of the record tables (subaward reports, award facts), as names and DuckDB types.

Kept apart from `sources/` (which builds the Arrow schemas) so that a question on DuckDB can
name the tables' columns without importing Arrow. `sources/subawards.py` builds its schema
from SUBAWARD_COLUMNS; DETAIL_COLUMNS lists the award-fact columns (sources/award_detail.py)
that precompiled queries name, so that they exist even in files written before them.
"""

from __future__ import annotations

MONEY_SQL = "DECIMAL(38,2)"

SUBAWARD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("prime_award_unique_key", "VARCHAR"),  # CONT_AWD_… of the prime award
    ("prime_award_piid", "VARCHAR"),
    ("prime_award_parent_piid", "VARCHAR"),
    ("prime_award_awarding_agency_code", "VARCHAR"),  # the department (070 = DHS)
    ("prime_award_awarding_sub_agency_code", "VARCHAR"),
    ("prime_award_awarding_sub_agency_name", "VARCHAR"),
    ("prime_awardee_name", "VARCHAR"),
    ("subaward_report_id", "VARCHAR"),
    ("subaward_report_year", "BIGINT"),
    ("subaward_report_month", "BIGINT"),
    ("subaward_report_last_modified_date", "VARCHAR"),  # as written (a timestamp)
    ("subaward_number", "VARCHAR"),
    ("subaward_amount", MONEY_SQL),  # the subaward's total as reported, not a change
    ("subaward_action_date", "DATE"),
    ("subaward_fiscal_year", "BIGINT"),
    ("subawardee_uei", "VARCHAR"),
    ("subawardee_duns", "VARCHAR"),
    ("subawardee_name", "VARCHAR"),
    ("subawardee_parent_uei", "VARCHAR"),
    ("subawardee_parent_name", "VARCHAR"),
    ("subaward_description", "VARCHAR"),
    # as recorded; "individual" or "sole proprietor" in it marks a natural person
    ("subawardee_business_types", "VARCHAR"),
    ("vintage", "VARCHAR"),  # when the file was fetched (or loaded, if unknown)
    ("source_file", "VARCHAR"),
)

DETAIL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("contract_award_unique_key", "VARCHAR"),
    ("award_id_piid", "VARCHAR"),
    ("fetched_at", "VARCHAR"),
    ("source", "VARCHAR"),
    ("base_and_all_options", MONEY_SQL),  # the award's own ceiling
    ("recipient_name", "VARCHAR"),
    ("idv_type", "VARCHAR"),
    ("solicitation_identifier", "VARCHAR"),
    ("multiple_or_single_award_idv", "VARCHAR"),
    ("parent_award_key", "VARCHAR"),
    ("total_obligation", MONEY_SQL),
    ("listing", "VARCHAR"),  # idvs/awards listings: child_awards | child_idvs | grandchild_awards
    ("listed_under_key", "VARCHAR"),
    ("api_child_idv_count", "BIGINT"),  # idvs/amounts of a vehicle (USAspending's figures)
    ("api_child_award_count", "BIGINT"),
    ("api_child_award_total_obligation", MONEY_SQL),
    ("api_grandchild_award_count", "BIGINT"),
    ("api_grandchild_award_total_obligation", MONEY_SQL),
)

# source columns of full downloads that describe a vehicle (IDV rows), kept per load
VEHICLE_SOURCE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("load_id", "VARCHAR"), ("source_row", "BIGINT"),
    ("idv_type", "VARCHAR"), ("solicitation_identifier", "VARCHAR"),
    ("multiple_or_single_award_idv", "VARCHAR"),
    ("parent_award_type", "VARCHAR"),  # on an order's row: its vehicle's type
)
