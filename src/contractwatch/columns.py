"""Every column a reader sees, named in words and given a kind, declared once.

The terminal table, the HTML and Markdown report and the web app print headers and cells from
this table, so `shared_with_other_brands` (a count) can never be printed as money and no page
shows a raw name such as `family_source`. JSON and CSV keep the canonical names (machines
read those); people read the labels.

Kinds: money (dollars and cents), count (thousands separators), date (ISO), code (printed as
recorded: fiscal years, PIIDs, agency codes) and text (cut in tables, whole in JSON/CSV).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

KINDS = ("money", "count", "date", "code", "text")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    kind: str
    missing: str = ""  # what a table prints for null (a ceiling the source lacks is "unknown")


def _table(*rows: tuple[str, ...]) -> dict[str, Column]:
    return {r[0]: Column(*r) for r in rows}


COLUMNS: dict[str, Column] = _table(
    # money
    ("federal_action_obligation", "obligations", "money"),
    ("obligations", "obligations", "money"),
    ("running_total", "running total", "money"),
    ("potential_total_value_of_award", "ceiling (this award's own)", "money", "unknown"),
    ("award_ceiling", "ceiling (this award's own)", "money", "unknown"),
    ("ceiling", "ceiling", "money", "unknown"),
    ("ceiling_before", "ceiling before", "money", "unknown"),
    ("ceiling_now", "ceiling now", "money", "unknown"),
    ("base_and_exercised_options_value", "base and exercised options", "money"),
    ("base_and_all_options_value", "base and all options", "money"),
    ("current_total_value_of_award", "current total value", "money"),
    ("change_from_previous_year", "change from previous year", "money"),
    ("scope_total_obligations", "obligations in the whole scope", "money"),
    ("award_total_obligations", "obligated on this award", "money"),
    ("subawards_total", "subawards (below the prime, not added to it)", "money"),
    ("subawards_received", "received as a subcontractor (not in the prime total)", "money"),
    ("subaward_amount_received", "received as a subcontractor", "money"),
    ("subaward_amount", "subaward amount (its total as reported)", "money"),
    ("prime_obligated", "prime award obligated", "money"),
    ("vehicle_ceiling", "ceiling (the vehicle's own)", "money", "unknown"),
    ("vehicle_obligated_total", "obligated under the vehicle (all its orders)", "money"),
    ("obligated_total", "obligated under the vehicle", "money"),
    ("largest_order_ceiling", "largest order's own ceiling", "money", "unknown"),
    ("obligated_before", "obligated before", "money"),
    ("obligated_now", "obligated now", "money"),
    ("change", "change", "money"),
    ("obligated", "obligated", "money"),
    ("own_ceiling", "own ceiling", "money", "unknown"),
    ("min_amount", "at least", "money"),
    # counts
    ("transactions", "actions", "count"),
    ("actions", "actions", "count"),
    ("matching_actions", "matching actions", "count"),
    ("subawards", "subawards", "count"),
    ("subawardees", "subawardees", "count"),
    ("orders", "orders", "count"),
    ("vehicle_orders", "orders under the vehicle", "count"),
    ("prime_awards", "prime awards", "count"),
    ("prime_awardees", "prime recipients", "count"),
    ("refiled", "re-filed reports set aside", "count"),
    ("report_rank", "re-filing (0 = counted)", "count"),
    ("awards", "awards", "count"),
    ("recipients", "recipients", "count"),
    ("members", "members", "count"),
    ("prime_recipients", "prime recipients", "count"),
    ("shared_with_other_brands", "actions naming other brands", "count"),
    ("loads", "loads with current rows", "count"),
    ("loads_covering", "loads covering", "count"),
    ("rows_read", "rows read", "count"),
    ("rows_kept", "rows kept", "count"),
    ("rows_rejected", "rows rejected", "count"),
    ("duplicate_copies", "exact copies", "count"),
    ("new", "new", "count"),
    ("changed", "changed", "count"),
    ("unchanged", "unchanged", "count"),
    ("total_awards", "awards matching", "count"),
    ("awards_ranked", "awards ranked", "count"),
    ("passages", "passages", "count"),
    ("passages_embedded_now", "passages embedded now", "count"),
    ("source_row", "source line", "count"),
    ("fiscal_years", "fiscal years", "count"),
    ("loads_in_store", "loads", "count"),
    ("rows_stored", "rows stored", "count"),
    ("rows_current", "rows current", "count"),
    ("duplicate_copies_current", "exact copies among current rows", "count"),
    ("superseded_or_withdrawn", "rows superseded by newer files or withdrawn", "count"),
    # dates
    ("action_date", "action date", "date"),
    ("first_action_date", "first action", "date"),
    ("last_action_date", "last action", "date"),
    ("newest_vintage", "newest vintage", "date"),
    ("vintage", "vintage (fetched)", "date"),
    ("loaded_at", "loaded at", "date"),
    ("period_of_performance_start_date", "performance start", "date"),
    ("period_of_performance_current_end_date", "performance end", "date"),
    ("period_of_performance_potential_end_date", "potential end", "date"),
    ("last_modified_date", "last modified", "date"),
    ("subaward_action_date", "subaward date", "date"),
    ("first_subaward_date", "first subaward", "date"),
    ("last_subaward_date", "last subaward", "date"),
    ("subaward_report_last_modified_date", "report last modified", "date"),
    # codes
    ("fiscal_year", "fiscal year", "code"),
    ("award_id_piid", "award (PIID)", "code"),
    ("award_key", "award key", "code"),
    ("contract_award_unique_key", "award key", "code"),
    ("parent_award_id_piid", "ordered under vehicle", "code"),
    ("parent_award_agency_id", "vehicle agency", "code"),
    ("modification_number", "modification", "code"),
    ("prime_award_piid", "prime award (PIID)", "code"),
    ("prime_key", "prime award key", "code"),
    ("vehicle_piid", "vehicle (PIID)", "code"),
    ("vehicle_key", "vehicle key", "code"),
    ("subaward_number", "subaward number", "code"),
    ("subawardee_uei", "subawardee UEI", "code"),
    ("subaward_fiscal_year", "subaward fiscal year", "code"),
    ("awarding_sub_agency_code", "agency code", "code"),
    ("awarding_agency_code", "department code", "code"),
    ("product_or_service_code", "PSC", "code"),
    ("naics_code", "NAICS", "code"),
    ("recipient_uei", "UEI", "code"),
    ("recipient_duns", "DUNS", "code"),
    ("family_id", "family id", "code"),
    ("brand_id", "brand id", "code"),
    ("organisation_id", "organisation id", "code"),
    ("load_id", "load", "code"),
    # text
    ("recipient_name", "prime recipient (as recorded)", "text"),
    ("recipient_parent_name", "parent (as recorded)", "text"),
    ("subawardee_name", "subrecipient (as recorded)", "text"),
    ("subawardee_parent_name", "subrecipient's parent (as recorded)", "text"),
    ("prime_awardee_name", "prime recipient (as recorded)", "text"),
    ("prime_award_awarding_sub_agency_name", "prime's awarding agency", "text"),
    ("matched_by", "matched by", "text"),
    ("vehicle_type", "vehicle type", "text", "unknown"),
    ("ceiling_source", "ceiling from", "text"),
    ("solicitation_identifier", "solicitation", "text"),
    ("subaward_description", "subaward description", "text"),
    ("exceeds_prime_obligations", "exceeds the prime's obligations", "text"),
    ("recorded_as_individual", "recorded as an individual", "text"),
    ("family_name", "corporate family", "text"),
    ("family_source", "grouped by", "text"),
    ("organisation_name", "organisation", "text"),
    ("brand", "brand named in descriptions", "text"),
    ("awarding_sub_agency_name", "awarding agency", "text"),
    ("awarding_agency_name", "department", "text"),
    ("product_or_service_code_description", "product or service (PSC)", "text"),
    ("naics_description", "industry (NAICS)", "text"),
    ("transaction_description", "description", "text"),
    ("matching_description", "matching description", "text"),
    ("description", "description", "text"),
    ("usaspending_permalink", "USAspending page", "text"),
    ("parent_permalink", "vehicle's USAspending page", "text"),
    ("source_file", "file", "text"),
    ("source_format", "file layout", "text"),
    ("vintage_source", "vintage from", "text"),
    ("status", "status", "text"),
    ("complete", "complete snapshot", "text"),
    ("message", "message", "text"),
    ("share_of_ceiling", "obligated / ceiling", "text"),
    ("agency", "agency", "text"),
    ("level", "level", "text"),
    ("holder", "holder", "text", "unknown"),
    ("vehicle_holder", "vehicle holder", "text", "unknown"),
    ("evidence_kind", "evidence", "text"),
    ("evidence", "detail", "text"),
    ("other_name", "other organisation", "text"),
    ("purpose", "purpose", "code"),
    ("purpose_name", "what it buys", "text"),
    ("purposes", "purposes", "text"),
    ("reason", "reason", "text"),
    ("passage", "passage matched", "text"),
    ("note", "note", "text"),
    ("score", "nearest-example score (cosine)", "code"),
    ("definition", "definition", "text"),
    ("examples", "examples", "text"),
    ("sources", "sources", "text"),
    ("psc", "PSC codes", "text"),
    ("naics", "NAICS codes", "text"),
    ("match_probability", "match probability", "code"),  # as people name it (ICE)
    # search by meaning (meaning.py): scores as computed, printed as recorded
    ("matched_passage", "passage that matched", "text"),
    ("passage_kind", "passage from", "text"),
    ("score_bm25", "keyword score (BM25)", "code"),
    ("score_meaning", "meaning score (cosine)", "code"),
    ("score_fused", "score", "code"),
    ("index_version", "index version", "code"),
    ("model", "model", "text"),
)


def column(name: str) -> Column:
    """The column's label and kind; a name not in the table reads as its words, as text."""
    found = COLUMNS.get(name)
    if found is not None:
        return found
    return Column(name, name.replace("_", " "), "text")


def label(name: str) -> str:
    return column(name).label


def kind(name: str) -> str:
    return column(name).kind


def format_value(value: Any, name: str, width: int | None = None) -> str:
    """One value as people read it, by its column's kind: dollars only for money, thousands
    separators for counts, ISO dates, codes as recorded, text cut to `width` characters."""
    from contractwatch.values.money import format_dollars

    col = column(name)
    if value is None:
        return col.missing
    if isinstance(value, bool):
        return "yes" if value else "no"
    if col.kind == "money" and isinstance(value, (Decimal, int, float)):
        return format_dollars(Decimal(str(value)))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if col.kind == "count" and isinstance(value, (int, Decimal)):
        return f"{int(value):,}"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    text = " ".join(str(value).split()) if col.kind == "text" else str(value)
    if width and col.kind == "text" and len(text) > width:
        return text[: width - 1] + "…"
    return text


def is_numeric(name: str) -> bool:
    """Right-aligned in tables."""
    return kind(name) in ("money", "count")
