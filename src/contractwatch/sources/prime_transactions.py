"""USAspending's full contract-transaction download (Contracts_PrimeTransactions_*.csv).

Two generations are recognised by their header:
- today's layout, with `contract_transaction_unique_key` and `contract_award_unique_key`;
- the 2018 layout (258 columns, e.g. ../shared/data/fpds_full), without key columns and with
  `parent_award_id` and `award_description`; its keys are derived the way USAspending builds
  them. Files that went through a spreadsheet have day-first dates, DUNS and agency codes
  that lost their leading zeros; those are repaired here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from contractwatch.sources.base import Context, Field, Layout
from contractwatch.sources.keys import (
    AWARD_KEY_SQL,
    KEY_AGENCY_SQL,
    PERMALINK_SQL,
    TRANSACTION_KEY_SQL,
    TXN_KEY_SQL,
)

_PAD9 = "CASE WHEN regexp_full_match({x}, '[0-9]{{1,8}}') THEN lpad({x}, 9, '0') ELSE {x} END"
_PAD4 = "CASE WHEN regexp_full_match({x}, '[0-9]{{1,3}}') THEN lpad({x}, 4, '0') ELSE {x} END"
_PAD3 = "CASE WHEN regexp_full_match({x}, '[0-9]{{1,2}}') THEN lpad({x}, 3, '0') ELSE {x} END"

# canonical name -> (kind, source column names in order of preference, transform)
_MAP: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "contract_transaction_unique_key": ("string", ("contract_transaction_unique_key",), None),
    "contract_award_unique_key": ("string", ("contract_award_unique_key",), None),
    "award_id_piid": ("string", ("award_id_piid",), None),
    "modification_number": ("string", ("modification_number",), None),
    "transaction_number": ("int", ("transaction_number",), None),
    "parent_award_agency_id": ("string", ("parent_award_agency_id",), _PAD4),
    "parent_award_id_piid": ("string", ("parent_award_id_piid", "parent_award_id"), None),
    "action_date": ("date", ("action_date",), None),
    "federal_action_obligation": ("money", ("federal_action_obligation",), None),
    "base_and_exercised_options_value": ("money", ("base_and_exercised_options_value",), None),
    "base_and_all_options_value": ("money", ("base_and_all_options_value",), None),
    "current_total_value_of_award": ("money", ("current_total_value_of_award",), None),
    "potential_total_value_of_award": ("money", ("potential_total_value_of_award",), None),
    "awarding_agency_code": ("string", ("awarding_agency_code",), _PAD3),
    "awarding_agency_name": ("string", ("awarding_agency_name",), None),
    "awarding_sub_agency_code": ("string", ("awarding_sub_agency_code",), _PAD4),
    "awarding_sub_agency_name": ("string", ("awarding_sub_agency_name",), None),
    "awarding_office_code": ("string", ("awarding_office_code",), None),
    "awarding_office_name": ("string", ("awarding_office_name",), None),
    "funding_sub_agency_code": ("string", ("funding_sub_agency_code",), _PAD4),
    "funding_sub_agency_name": ("string", ("funding_sub_agency_name",), None),
    "recipient_uei": ("string", ("recipient_uei",), None),
    "recipient_duns": ("string", ("recipient_duns",), _PAD9),
    "recipient_name": ("string", ("recipient_name",), None),
    "recipient_parent_uei": ("string", ("recipient_parent_uei",), None),
    "recipient_parent_duns": ("string", ("recipient_parent_duns",), _PAD9),
    "recipient_parent_name": ("string", ("recipient_parent_name",), None),
    "recipient_is_individual": ("bool", ("sole_proprietorship",), None),
    "product_or_service_code": ("string", ("product_or_service_code",), None),
    "product_or_service_code_description": (
        "string", ("product_or_service_code_description",), None),
    "naics_code": ("string", ("naics_code",), None),
    "naics_description": ("string", ("naics_description",), None),
    "type_of_contract_pricing": ("string", ("type_of_contract_pricing",), None),
    "award_type": ("string", ("award_type",), None),
    "award_or_idv_flag": ("string", ("award_or_idv_flag",), None),
    "transaction_description": ("string", ("transaction_description", "award_description"), None),
    "extent_competed": ("string", ("extent_competed",), None),
    "number_of_offers_received": ("int", ("number_of_offers_received",), None),
    "primary_place_of_performance_state_code": (
        "string", ("primary_place_of_performance_state_code",), None),
    "period_of_performance_start_date": ("date", ("period_of_performance_start_date",), None),
    "period_of_performance_current_end_date": (
        "date", ("period_of_performance_current_end_date",), None),
    "period_of_performance_potential_end_date": (
        "date", ("period_of_performance_potential_end_date",), None),
    "last_modified_date": ("date", ("last_modified_date",), None),
    "usaspending_permalink": ("string", ("usaspending_permalink",), None),
}
_REQUIRED = {"award_id_piid", "action_date", "federal_action_obligation",
             "awarding_sub_agency_code"}


class PrimeTransactionsLayout(Layout):
    name = "usaspending-prime-transactions"
    required_columns = ("award_id_piid", "modification_number", "federal_action_obligation",
                        "action_date", "awarding_sub_agency_code")

    def matches(self, header: list[str]) -> bool:
        return super().matches(header) and DELETE_FLAG not in header

    def variant(self, header: list[str]) -> str:
        return "current" if "contract_transaction_unique_key" in header else "2018"

    def date_columns(self, header: list[str]) -> list[str]:
        return [c for c in header if c.endswith("_date")]

    def ambiguities(self, header: list[str]) -> list[str]:
        # (the 2018 `award_description` is the same FPDS field as today's
        # transaction_description, each action's own text: renamed, not changed)
        out = []
        if "fiscal_year" in header:
            out.append("the file's own fiscal_year column is kept as fiscal_year_source; "
                       "fiscal_year is computed from action_date")
        return out

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        present = set(header)
        out: dict[str, Field] = {}
        for name, (kind, sources, transform) in _MAP.items():
            source = next((s for s in sources if s in present), None)
            if source is None:
                continue
            out[name] = Field(kind, source, required=name in _REQUIRED, transform=transform)
        out["txn_key"] = Field("derived", sql=TXN_KEY_SQL)
        if "contract_award_unique_key" not in present:
            out["contract_award_unique_key"] = Field("derived", sql=AWARD_KEY_SQL)
        if "contract_transaction_unique_key" not in present:
            out["contract_transaction_unique_key"] = Field("derived", sql=TRANSACTION_KEY_SQL)
        if "usaspending_permalink" not in present:
            key = AWARD_KEY_SQL if "contract_award_unique_key" not in present \
                else "contract_award_unique_key"
            out["usaspending_permalink"] = Field(
                "derived", sql=PERMALINK_SQL.format(key=f"({key})"), stored=False)
        return out


DELETE_FLAG = "correction_delete_ind"


class DeltaTransactionsLayout(PrimeTransactionsLayout):
    """The monthly delta file: today's columns after `correction_delete_ind, agency_id`."""

    name = "usaspending-prime-transactions-delta"
    is_delta = True
    # read beside the fields: the flag splits the rows, the others key the deleted ones
    extra_source_columns = (DELETE_FLAG, "agency_id", "contract_transaction_unique_key",
                            "transaction_number", "parent_award_id_piid")

    def matches(self, header: list[str]) -> bool:
        return DELETE_FLAG in header and Layout.matches(self, header)

    def split_deletes(self, chunk: Any) -> tuple[Any, Any]:
        import pyarrow.compute as pc

        flag = pc.utf8_upper(chunk.column(DELETE_FLAG))
        deleted = pc.fill_null(pc.equal(flag, "D"), False)
        if not pc.any(deleted).as_py():
            return chunk, None
        return chunk.filter(pc.invert(deleted)), chunk.filter(deleted)

    @staticmethod
    def deletes_sql(table: str) -> str:
        """Keys of the deleted transactions, as the transaction key of a stored row."""
        # `agency_id` is FPDS's key agency itself (9700 for Defense), which the rule for
        # stored rows derives from the awarding agency (sources/keys.py)
        key = TXN_KEY_SQL.replace(f"coalesce({KEY_AGENCY_SQL}, '')",
                                  "coalesce(awarding_sub_agency_code, '')")
        return (
            f"SELECT {key} AS txn_key, contract_transaction_unique_key, source_row FROM ("
            "SELECT NULLIF(agency_id, '') AS awarding_sub_agency_code, "
            "NULLIF(award_id_piid, '') AS award_id_piid, "
            "NULLIF(modification_number, '') AS modification_number, "
            "NULLIF(parent_award_id_piid, '') AS parent_award_id_piid, "
            "TRY_CAST(NULLIF(transaction_number, '') AS BIGINT) AS transaction_number, "
            f"upper(contract_transaction_unique_key) AS contract_transaction_unique_key, "
            f"source_row FROM {table})"
        )
