"""The 10-column export of USAspending's search/spending_by_transaction endpoint.

Columns: Agency, Award ID, Recipient Name, Federal Action Obligation, Action Date, Modification,
Product/Service Description, NAICS Description, Transaction Description and (since
2026-02-13) Generated Award ID. No transaction number, UEI, codes or ceilings: those stay null.
The Agency column is the awarding sub-tier agency the search filtered on (CBP, ICE …); the
agency inside the Generated Award ID is the award's, which can differ, so it is not used.
"""

from __future__ import annotations

from typing import Any

from contractwatch.sources.base import Context, Field, Layout, SourceError, q, sql_str
from contractwatch.sources.keys import PERMALINK_SQL, TXN_KEY_SQL

COLUMNS = [
    "Agency", "Award ID", "Recipient Name", "Federal Action Obligation", "Action Date",
    "Modification", "Product/Service Description", "NAICS Description",
    "Transaction Description",
]
GENERATED_ID = "Generated Award ID"
_GEN = "NULLIF(\"Generated Award ID\", '')"


class ApiExportLayout(Layout):
    name = "usaspending-api-export"
    required_columns = tuple(COLUMNS)
    extra_source_columns = ("Agency", GENERATED_ID)

    @staticmethod
    def _extra(header: list[str]) -> list[str]:
        return [h for h in header if h not in COLUMNS and h != GENERATED_ID]

    def matches(self, header: list[str]) -> bool:
        return super().matches(header) and not self._extra(header)

    def describe_missing(self, header: list[str]) -> str:
        extra = self._extra(header)
        if super().matches(header) and extra:  # every column it needs, and others
            return (f"not {self.name}: it has no column {', '.join(extra[:4])}"
                    f"{' …' if len(extra) > 4 else ''} (remove the extra columns to load it)")
        return super().describe_missing(header)

    def date_columns(self, header: list[str]) -> list[str]:
        return ["Action Date"]

    def kept_as_source(self, header: list[str], ctx: Context) -> list[str]:
        return []  # every column of the export is in a canonical column

    def prepare(self, batch: Any, ctx: Context) -> None:
        """Resolve the Agency values (ICE, CBP …) of this batch to sub-tier codes."""
        import pyarrow.compute as pc

        from contractwatch.agencies import UnknownAgency, resolve_agency

        column = batch.column(batch.schema.get_field_index("Agency"))
        for value in pc.unique(column).to_pylist():
            if value in ctx.agency_map:
                continue
            try:
                a = resolve_agency(value or "")
            except UnknownAgency as exc:
                index = pc.index(column, value).as_py()
                rows = batch.column(batch.schema.get_field_index("source_row"))
                line = rows[index].as_py() + 1
                raise SourceError(ctx.file, line, f"Agency: {exc}") from None
            ctx.agency_map[value] = (a.code, a.name, a.toptier_code, a.toptier_name)

    def raw_extras(self, header: list[str], ctx: Context) -> dict[str, str]:
        return {"_gen_parts": f"string_split({_GEN}, '_')"} if GENERATED_ID in header else {}

    def fields(self, header: list[str], ctx: Context) -> dict[str, Field]:
        def agency_case(index: int) -> str:
            whens = " ".join(
                f"WHEN {sql_str(k)} THEN {sql_str(v[index])}" for k, v in ctx.agency_map.items()
            )
            return f"CASE {q('Agency')} {whens} END" if whens else "NULL"

        has_gen = GENERATED_ID in header
        gen = _GEN if has_gen else "NULL"
        # CONT_AWD_<piid>_<agency>_<parent piid>_<parent agency>, split once (raw_extras)
        parent_piid = "NULLIF(NULLIF(_gen_parts[5], '-NONE-'), '')"
        parent_agency = "NULLIF(NULLIF(_gen_parts[6], '-NONE-'), '')"
        return {
            "award_id_piid": Field("string", "Award ID", required=True),
            "recipient_name": Field("string", "Recipient Name"),
            "federal_action_obligation": Field("money", "Federal Action Obligation", required=True),
            "action_date": Field("date", "Action Date", required=True),
            "modification_number": Field("string", "Modification", required=True),
            "product_or_service_code_description": Field("string", "Product/Service Description"),
            "naics_description": Field("string", "NAICS Description"),
            "transaction_description": Field("string", "Transaction Description"),
            "awarding_sub_agency_code": Field("sql", sql=agency_case(0)),
            "awarding_sub_agency_name": Field("sql", sql=agency_case(1)),
            "awarding_agency_code": Field("sql", sql=agency_case(2)),
            "awarding_agency_name": Field("sql", sql=agency_case(3)),
            "contract_award_unique_key": Field("string", GENERATED_ID) if has_gen
            else Field("sql", sql="NULL"),
            "parent_award_id_piid": Field("sql", sql=parent_piid if has_gen else "NULL"),
            "parent_award_agency_id": Field("sql", sql=parent_agency if has_gen else "NULL"),
            "award_or_idv_flag": Field("sql", sql="'AWARD'"),
            "usaspending_permalink": Field(
                "sql", sql=f"CASE WHEN {gen} IS NOT NULL THEN "
                f"{PERMALINK_SQL.format(key=gen)} END", stored=False
            ),
            "txn_key": Field("derived", sql=TXN_KEY_SQL),
        }
