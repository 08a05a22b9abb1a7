"""Award-level facts from awards/<generated award id>: ceiling, parent, recipient parent, UEI.

Search results carry no ceiling, no parent company and no pricing type; the award profile
(contracts/v2/awards/award_id.md, ContractResponse) does. One row per award and fetch,
stored as <store>/details/<name>.parquet; Catalog.award_details() keeps the newest per award.
Award summary files (sources/award_summaries.py) are stored the same way.
`base_and_all_options` is the award's own ceiling — for an order, not its vehicle's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from contractwatch.schema import MONEY

DETAIL_SCHEMA = pa.schema([
    ("contract_award_unique_key", pa.string()),
    ("award_id_piid", pa.string()),
    ("fetched_at", pa.string()),  # ISO timestamp (UTC) of the request
    ("award_type", pa.string()),
    ("description", pa.string()),
    ("date_signed", pa.date32()),
    ("total_obligation", MONEY),
    ("base_exercised_options", MONEY),
    ("base_and_all_options", MONEY),  # the award's own ceiling
    ("parent_award_key", pa.string()),  # CONT_IDV_… of the vehicle, if any
    ("parent_award_id_piid", pa.string()),
    ("parent_award_agency_id", pa.string()),
    ("recipient_name", pa.string()),
    ("recipient_uei", pa.string()),
    ("recipient_parent_name", pa.string()),
    ("recipient_parent_uei", pa.string()),
    ("type_of_contract_pricing", pa.string()),  # code, e.g. J
    ("type_of_contract_pricing_description", pa.string()),  # FIRM FIXED PRICE
    ("extent_competed", pa.string()),
    ("extent_competed_description", pa.string()),
    ("number_of_offers_received", pa.int64()),
    ("period_of_performance_start_date", pa.date32()),
    ("period_of_performance_current_end_date", pa.date32()),
    ("period_of_performance_potential_end_date", pa.date32()),
    ("last_modified_date", pa.string()),
    ("awarding_sub_agency_code", pa.string()),
    ("awarding_sub_agency_name", pa.string()),
    # where the row came from: api:awards, or a file (usaspending-award-summaries)
    ("source", pa.string()),
    ("award_or_idv_flag", pa.string()),  # AWARD or IDV
    ("idv_type", pa.string()),  # IDIQ, BPA, GWAC, FSS …
    ("solicitation_identifier", pa.string()),
    ("multiple_or_single_award_idv", pa.string()),
    ("parent_award_type", pa.string()),
    ("parent_award_single_or_multiple", pa.string()),
    # idvs/awards listings (source api:idv_awards): which listing named the award, under
    # which vehicle; such rows are not award profiles (Catalog.idv_listings)
    ("listing", pa.string()),  # child_awards | child_idvs | grandchild_awards
    ("listed_under_key", pa.string()),
    # idvs/amounts of a vehicle (source api:idv_detail): USAspending's own child totals;
    # they leave out obligations on the vehicle itself and on its child vehicles
    ("api_child_idv_count", pa.int64()),
    ("api_child_award_count", pa.int64()),
    ("api_child_award_total_obligation", MONEY),
    ("api_child_award_base_and_all_options_value", MONEY),
    ("api_grandchild_award_count", pa.int64()),
    ("api_grandchild_award_total_obligation", MONEY),
    ("api_grandchild_award_base_and_all_options_value", MONEY),
])
LISTING_SOURCE = "api:idv_awards"
IDV_DETAIL_SOURCE = "api:idv_detail"


class DetailShapeError(ValueError):
    """An award profile that lacks what the contract promises."""


def detail_row(data: dict[str, Any], fetched_at: str) -> dict[str, Any]:
    """One DETAIL_SCHEMA row from an awards/<id> response (ContractResponse)."""
    if data.get("category") not in (None, "contract", "idv") and not str(
            data.get("generated_unique_award_id", "")).startswith("CONT_"):
        raise DetailShapeError(f"{data.get('generated_unique_award_id')}: not a contract award")
    parent = data.get("parent_award") or {}
    latest = data.get("latest_transaction_contract_data") or {}
    recipient = data.get("recipient") or {}
    period = data.get("period_of_performance") or {}
    awarding = data.get("awarding_agency") or {}
    sub = awarding.get("subtier_agency") or {}
    return {
        "contract_award_unique_key": data["generated_unique_award_id"],
        "award_id_piid": data.get("piid"),
        "fetched_at": fetched_at,
        "award_type": data.get("type_description"),
        "description": data.get("description"),
        "date_signed": _date(data.get("date_signed")),
        "total_obligation": _money(data.get("total_obligation")),
        "base_exercised_options": _money(data.get("base_exercised_options")),
        "base_and_all_options": _money(data.get("base_and_all_options")),
        "parent_award_key": parent.get("generated_unique_award_id"),
        "parent_award_id_piid": parent.get("piid"),
        "parent_award_agency_id": _str(parent.get("sub_agency_id")),
        "recipient_name": recipient.get("recipient_name"),
        "recipient_uei": recipient.get("recipient_uei"),
        "recipient_parent_name": recipient.get("parent_recipient_name"),
        "recipient_parent_uei": recipient.get("parent_recipient_uei"),
        "type_of_contract_pricing": latest.get("type_of_contract_pricing"),
        "type_of_contract_pricing_description": latest.get(
            "type_of_contract_pricing_description"),
        "extent_competed": latest.get("extent_competed"),
        "extent_competed_description": latest.get("extent_competed_description"),
        "number_of_offers_received": _int(latest.get("number_of_offers_received")),
        "period_of_performance_start_date": _date(period.get("start_date")),
        "period_of_performance_current_end_date": _date(period.get("end_date")),
        "period_of_performance_potential_end_date": _date(period.get("potential_end_date")),
        "last_modified_date": _str(period.get("last_modified_date")),
        "awarding_sub_agency_code": _str(sub.get("code")),
        "awarding_sub_agency_name": sub.get("name"),
        "source": "api:awards",
    }


def idv_detail_row(data: dict[str, Any], amounts: dict[str, Any] | None,
                   fetched_at: str) -> dict[str, Any]:
    """One DETAIL_SCHEMA row for a vehicle: awards/<CONT_IDV_…> (IDVResponse) with the
    vehicle facts, and idvs/amounts/<id> beside them (never summed with transactions)."""
    if data.get("category") not in (None, "idv") and not str(
            data.get("generated_unique_award_id", "")).startswith("CONT_IDV_"):
        raise DetailShapeError(f"{data.get('generated_unique_award_id')}: not an IDV")
    row = detail_row(data, fetched_at)
    latest = data.get("latest_transaction_contract_data") or {}
    parent = data.get("parent_award") or {}
    row.update({
        "source": IDV_DETAIL_SOURCE,
        "award_or_idv_flag": "IDV",
        "idv_type": latest.get("idv_type_description") or data.get("type_description"),
        "solicitation_identifier": latest.get("solicitation_identifier"),
        "multiple_or_single_award_idv": latest.get("multiple_or_single_award_description"),
        "parent_award_type": parent.get("idv_type_description"),
        "parent_award_single_or_multiple": parent.get("multiple_or_single_aw_desc"),
    })
    a = amounts or {}
    row.update({
        "api_child_idv_count": _int(a.get("child_idv_count")),
        "api_child_award_count": _int(a.get("child_award_count")),
        "api_child_award_total_obligation": _money(a.get("child_award_total_obligation")),
        "api_child_award_base_and_all_options_value": _money(
            a.get("child_award_base_and_all_options_value")),
        "api_grandchild_award_count": _int(a.get("grandchild_award_count")),
        "api_grandchild_award_total_obligation": _money(
            a.get("grandchild_award_total_obligation")),
        "api_grandchild_award_base_and_all_options_value": _money(
            a.get("grandchild_award_base_and_all_options_value")),
    })
    return row


def listing_row(item: dict[str, Any], listing: str, vehicle_key: str,
                fetched_at: str) -> dict[str, Any]:
    """One DETAIL_SCHEMA row for an award an idvs/awards listing names (IDVRelatedAwards
    Response): its key, PIID, obligated amount as the API sums it, dates. A grandchild's
    own vehicle is not named by the listing, so its parent stays empty."""
    gid = item["generated_unique_award_id"]
    direct = listing != "grandchild_awards"
    return {
        "contract_award_unique_key": gid,
        "award_id_piid": item.get("piid"),
        "fetched_at": fetched_at,
        "award_type": item.get("award_type"),
        "description": item.get("description"),
        "total_obligation": _money(item.get("obligated_amount")),
        "parent_award_key": vehicle_key if direct else None,
        "parent_award_id_piid": vehicle_key.split("_")[2] if direct else None,
        "period_of_performance_start_date": _date(item.get("period_of_performance_start_date")),
        "period_of_performance_current_end_date": _date(
            item.get("period_of_performance_current_end_date")),
        "source": LISTING_SOURCE,
        "award_or_idv_flag": "IDV" if gid.startswith("CONT_IDV_") else "AWARD",
        "listing": listing,
        "listed_under_key": vehicle_key,
    }


def _money(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DetailShapeError(f"not an amount: {value!r}") from None


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise DetailShapeError(f"not a date: {value!r}") from None


def _int(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError:
        return None  # the API sometimes writes codes here; never invent a count


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["DETAIL_SCHEMA", "IDV_DETAIL_SOURCE", "LISTING_SOURCE", "DetailShapeError",
           "detail_row", "idv_detail_row", "listing_row"]
