"""The canonical transaction schema, declared once and used by ingest, store, exports and tests.

Column names follow USAspending's Contracts_PrimeTransactions download, which users know.
A column a source lacks is null, never invented. Money is an exact decimal in dollars.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

MONEY = pa.decimal128(38, 2)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "date": pa.date32(),
    "money": MONEY,
    "int": pa.int64(),
    "bool": pa.bool_(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    doc: str

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.kind]


# (name, kind, description). Order is the order of exports.
_CANONICAL: list[tuple[str, str, str]] = [
    ("contract_transaction_unique_key", "string", "USAspending's transaction key (derived when the source lacks it)"),
    ("contract_award_unique_key", "string", "award key: CONT_AWD_<piid>_<agency>_<parent piid>_<parent agency> or CONT_IDV_…"),
    ("award_id_piid", "string", "the award's PIID (contract, order or call number)"),
    ("modification_number", "string", "0 = base award; P00001… = modifications"),
    ("transaction_number", "int", "FPDS transaction number within a modification"),
    ("parent_award_agency_id", "string", "agency code of the parent vehicle"),
    ("parent_award_id_piid", "string", "PIID of the vehicle (IDV) the order was placed under"),
    ("action_date", "date", "date of the action"),
    ("fiscal_year", "int", "federal fiscal year of action_date (1 Oct – 30 Sep)"),
    ("federal_action_obligation", "money", "dollars obligated by this action; negative = de-obligation"),
    ("base_and_exercised_options_value", "money", "change in base + exercised options by this action"),
    ("base_and_all_options_value", "money", "change in base + all options (ceiling) by this action"),
    ("current_total_value_of_award", "money", "cumulative current value after this action"),
    ("potential_total_value_of_award", "money", "cumulative ceiling after this action"),
    ("awarding_agency_code", "string", "top-tier awarding agency code"),
    ("awarding_agency_name", "string", "top-tier awarding agency name"),
    ("awarding_sub_agency_code", "string", "sub-tier awarding agency code (7012 = ICE)"),
    ("awarding_sub_agency_name", "string", "sub-tier awarding agency name"),
    ("awarding_office_code", "string", "awarding office code"),
    ("awarding_office_name", "string", "awarding office name"),
    ("funding_sub_agency_code", "string", "sub-tier funding agency code"),
    ("funding_sub_agency_name", "string", "sub-tier funding agency name"),
    ("recipient_uei", "string", "recipient's Unique Entity ID (SAM)"),
    ("recipient_duns", "string", "recipient's DUNS number, 9 digits"),
    ("recipient_name", "string", "recipient (prime awardee) name as recorded"),
    ("recipient_parent_uei", "string", "parent company's UEI as recorded"),
    ("recipient_parent_duns", "string", "parent company's DUNS as recorded, 9 digits"),
    ("recipient_parent_name", "string", "parent company's name as recorded"),
    ("recipient_is_individual", "bool", "true where the source marks the recipient as a sole proprietor"),
    ("product_or_service_code", "string", "PSC code"),
    ("product_or_service_code_description", "string", "PSC title"),
    ("naics_code", "string", "NAICS code"),
    ("naics_description", "string", "NAICS title"),
    ("type_of_contract_pricing", "string", "pricing type (FIRM FIXED PRICE …)"),
    ("award_type", "string", "award type (DELIVERY ORDER, PURCHASE ORDER …)"),
    ("award_or_idv_flag", "string", "AWARD or IDV (vehicle record)"),
    ("transaction_description", "string", "free text of the action"),
    ("extent_competed", "string", "competition label"),
    ("number_of_offers_received", "int", "offers received"),
    ("primary_place_of_performance_state_code", "string", "state of performance"),
    ("period_of_performance_start_date", "date", "start of performance"),
    ("period_of_performance_current_end_date", "date", "current end of performance"),
    ("period_of_performance_potential_end_date", "date", "end if all options are exercised"),
    ("last_modified_date", "date", "when the source last modified the record"),
    ("usaspending_permalink", "string", "the award's page on USAspending.gov"),
    # lineage
    ("source_format", "string", "detected input format"),
    ("source_file", "string", "file (or archive!member) the row came from"),
    ("source_row", "int", "1-based data record number in that file"),
    ("load_id", "string", "the load that stored the row"),
    # identity used for dedupe across loads (see DESIGN "Money rules")
    ("txn_key", "string", "agency|piid|modification|parent piid|transaction number"),
    ("row_hash", "string", "hash of the content columns, to tell a revised row from a repeat"),
]

COLUMNS: list[Column] = [Column(*spec) for spec in _CANONICAL]
COLUMN_NAMES: list[str] = [c.name for c in COLUMNS]
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}
LINEAGE = ("source_format", "source_file", "source_row", "load_id", "txn_key", "row_hash")
# Columns whose values describe the transaction itself (used to tell "changed" from "same").
CONTENT_COLUMNS: list[str] = [c for c in COLUMN_NAMES if c not in LINEAGE]
MONEY_COLUMNS: list[str] = [c.name for c in COLUMNS if c.kind == "money"]


def arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type) for c in COLUMNS])
