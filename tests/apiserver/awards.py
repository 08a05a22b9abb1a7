"""Vehicles and subawards for the local test API, built from real-shaped rows.

Awards (orders and IDVs) come from full-download rows (the 2018 layout of
../shared/data/fpds_full, or today's), grouped by USAspending's award key, so the test server
can serve awards/<CONT_IDV_…>, idvs/amounts and idvs/awards as the server code computes them
(usaspending_api/idvs/v2/views/amounts.py and awards.py): child awards are orders whose
parent is the IDV, child IDVs are IDVs whose parent is it, grandchild awards are orders
under its child IDVs; `child_award_total_obligation` sums the orders' total obligations
(the IDV's own and its child IDVs' obligations are not in it); listings sort by the
requested column and then the award's id.

Subawards are rows shaped like a Contracts_Subawards file's (the official column names),
served by search/spending_by_award with `subawards: true` as spending_by_award.py does:
sorted by the sort field and then the prime award's id (not unique among subawards), the
page's last row giving `last_record_sort_value` / `last_record_unique_id`, and the cursor
returning only rows strictly after it (Elasticsearch search_after).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

IDV_TYPES = {"GWAC": "IDV_A", "IDC": "IDV_B", "FSS": "IDV_C", "BOA": "IDV_D", "BPA": "IDV_E"}


def award_number(gid: str) -> int:
    """The internal (surrogate) award id: stable per generated id."""
    return zlib.crc32(gid.encode()) % 10**8


def _day(text: str) -> str:
    """ISO day from the 2018 layout's day-first dates or today's ISO dates."""
    day = text.split()[0] if text else ""
    if len(day) >= 10 and day[4] == "-":
        return day[:10]
    return datetime.strptime(day, "%d/%m/%Y" if len(day) == 10 else "%d/%m/%y").date(
    ).isoformat()


@dataclass
class ServedAward:
    gid: str
    piid: str
    agency: str
    is_idv: bool
    parent_piid: str | None = None
    parent_agency: str | None = None
    recipient: str | None = None
    obligation: Decimal = Decimal("0")
    ceiling: Decimal = Decimal("0")
    first_date: str | None = None
    last_date: str | None = None
    idv_type: str | None = None
    solicitation: str | None = None
    multiple: str | None = None
    description: str | None = None
    sub_agency_name: str | None = None
    _latest: str = field(default="", repr=False)

    @property
    def parent_gid(self) -> str | None:
        if not self.parent_piid:
            return None
        return f"CONT_IDV_{self.parent_piid}_{self.parent_agency}"

    @property
    def id(self) -> int:
        return award_number(self.gid)


def _col(row: dict[str, str], *names: str) -> str:
    for n in names:
        if row.get(n):
            return row[n]
    return ""


def awards_from_rows(rows: list[dict[str, str]]) -> dict[str, ServedAward]:
    """Awards by generated id from full-download rows (2018 or today's layout); vehicles
    that orders name but the rows do not hold are added with no transactions."""
    out: dict[str, ServedAward] = {}
    for r in rows:
        piid, agency = r["award_id_piid"], r["awarding_sub_agency_code"]
        parent = _col(r, "parent_award_id_piid", "parent_award_id") or None
        pagency = r.get("parent_award_agency_id") or None
        if pagency and pagency.isdigit():  # FPDS agency codes are four digits in keys
            pagency = pagency.zfill(4)
        is_idv = r["award_or_idv_flag"] == "IDV"
        gid = f"CONT_IDV_{piid}_{agency}" if is_idv else \
            f"CONT_AWD_{piid}_{agency}_{parent or '-NONE-'}_{pagency or '-NONE-'}"
        a = out.setdefault(gid, ServedAward(gid, piid, agency, is_idv, parent, pagency))
        day = _day(r["action_date"])
        a.obligation += Decimal(r["federal_action_obligation"] or "0")
        a.first_date = min(a.first_date or day, day)
        a.last_date = max(a.last_date or day, day)
        order = f"{day}|{r.get('modification_number', '')}"
        if order >= a._latest:  # the latest action's values
            a._latest = order
            a.recipient = r["recipient_name"]
            if r.get("potential_total_value_of_award"):
                a.ceiling = Decimal(r["potential_total_value_of_award"])
            a.idv_type = r.get("idv_type") or a.idv_type
            a.solicitation = r.get("solicitation_identifier") or a.solicitation
            a.multiple = r.get("multiple_or_single_award_idv") or a.multiple
            a.description = _col(r, "award_description", "transaction_description") or None
            a.sub_agency_name = r.get("awarding_sub_agency_name")
    for a in list(out.values()):
        if a.parent_gid and a.parent_gid not in out:
            out[a.parent_gid] = ServedAward(a.parent_gid, a.parent_piid or "",
                                            a.parent_agency or "", True)
    return out


def children(awards: dict[str, ServedAward], gid: str, idv: bool) -> list[ServedAward]:
    return [a for a in awards.values() if a.parent_gid == gid and a.is_idv == idv]


def grandchildren(awards: dict[str, ServedAward], gid: str) -> list[ServedAward]:
    return [o for c in children(awards, gid, True) for o in children(awards, c.gid, False)]


def rollup(awards: dict[str, ServedAward], a: ServedAward) -> Decimal:
    """parent_award.rollup_total_obligation: orders under it and under its child IDVs."""
    return sum((o.obligation for o in children(awards, a.gid, False)
                + grandchildren(awards, a.gid)), Decimal("0"))


def idv_amounts(contracts: Any, awards: dict[str, ServedAward], gid: str) -> dict[str, Any]:
    ep = contracts.endpoint("GET", f"/api/v2/idvs/amounts/{gid}/")
    data: dict[str, Any] = {}
    for k, a in (ep[0].responses[0].children if ep else {}).items():
        data[k] = None if a.nullable else ([] if a.type.startswith("array") else 0)
    kids, grand = children(awards, gid, False), grandchildren(awards, gid)
    data.update({
        "award_id": award_number(gid), "generated_unique_award_id": gid,
        "child_idv_count": len(children(awards, gid, True)),
        "child_award_count": len(kids),
        "child_award_total_obligation": float(sum((o.obligation for o in kids), Decimal(0))),
        "child_award_base_and_all_options_value": float(sum((o.ceiling for o in kids),
                                                            Decimal(0))),
        "grandchild_award_count": len(grand),
        "grandchild_award_total_obligation": float(sum((o.obligation for o in grand),
                                                       Decimal(0))),
        "grandchild_award_base_and_all_options_value": float(sum((o.ceiling for o in grand),
                                                                 Decimal(0))),
    })
    return data


_LISTING_SORT = {
    "piid": lambda r: r["piid"] or "",
    "obligated_amount": lambda r: r["obligated_amount"],
    "period_of_performance_start_date": lambda r: r["period_of_performance_start_date"] or "",
    "description": lambda r: r["description"] or "",
    "award_type": lambda r: r["award_type"] or "",
}


def idv_listing(awards: dict[str, ServedAward], gid: str, kind: str, sort: str,
                order: str) -> list[dict[str, Any]]:
    """idvs/awards rows, ordered by the sort column and then the award id (awards.py)."""
    if kind == "child_idvs":
        found = [(c, rollup(awards, c)) for c in children(awards, gid, True)]
    elif kind == "child_awards":
        found = [(c, c.obligation) for c in children(awards, gid, False)]
    else:
        found = [(c, c.obligation) for c in grandchildren(awards, gid)]
    rows = [{
        "award_id": a.id, "award_type": a.idv_type or "DELIVERY ORDER",
        "description": a.description, "funding_agency": None,
        "awarding_agency": "DEPARTMENT OF HOMELAND SECURITY", "funding_agency_id": None,
        "awarding_agency_id": 1, "funding_agency_slug": None,
        "awarding_agency_slug": "department-of-homeland-security",
        "generated_unique_award_id": a.gid, "last_date_to_order": None,
        "obligated_amount": float(amount), "period_of_performance_current_end_date": None,
        "period_of_performance_start_date": a.first_date, "piid": a.piid,
    } for a, amount in found]
    key = _LISTING_SORT.get(sort, _LISTING_SORT["period_of_performance_start_date"])
    rows.sort(key=lambda r: (key(r), r["award_id"]), reverse=order == "desc")
    return rows


def idv_json(contracts: Any, awards: dict[str, ServedAward], a: ServedAward) -> dict[str, Any]:
    """awards/<CONT_IDV_…> as the contract's IDVResponse."""
    file = "v2/awards/award_id.md"
    data = contracts.skeleton(file, "IDVResponse")
    parent = None
    if a.parent_gid:
        parent = {**contracts.skeleton(file, "ParentDetails"),
                  "award_id": award_number(a.parent_gid),
                  "generated_unique_award_id": a.parent_gid, "piid": a.parent_piid,
                  "sub_agency_id": a.parent_agency, "idv_type_description": "FSS",
                  "multiple_or_single_aw_desc": "MULTIPLE AWARD"}
    latest = {**contracts.skeleton(file, "ContractDetails"),
              "idv_type_description": a.idv_type,
              "solicitation_identifier": a.solicitation,
              "multiple_or_single_award_description": a.multiple}
    data.update({
        "id": a.id, "category": "idv", "type": IDV_TYPES.get(a.idv_type or "", "IDV_B"),
        "type_description": a.idv_type or "IDC", "generated_unique_award_id": a.gid,
        "piid": a.piid, "description": a.description,
        "total_obligation": float(a.obligation), "base_exercised_options": None,
        "base_and_all_options": float(a.ceiling), "date_signed": a.first_date,
        "subaward_count": 0, "parent_award": parent,
        "latest_transaction_contract_data": latest,
        "awarding_agency": {**contracts.skeleton(file, "Agency"), "id": 1,
                            "has_agency_page": True,
                            "toptier_agency": {**contracts.skeleton(file, "TopTierAgency"),
                                               "name": "Department of Homeland Security",
                                               "code": "070", "abbreviation": "DHS"},
                            "subtier_agency": {"name": a.sub_agency_name or "",
                                               "code": a.agency, "abbreviation": ""}},
        **profile_parts(contracts, a.recipient, {
            "start_date": a.first_date or "", "end_date": a.last_date or "",
            "last_modified_date": f"{a.last_date or ''} 00:00:00".strip(),
            "potential_end_date": None}),
    })
    return data


def profile_parts(contracts: Any, recipient: str | None,
                  period: dict[str, Any]) -> dict[str, Any]:
    """The parts of an award profile (awards/<id>) the test rows say little about."""
    file = "v2/awards/award_id.md"
    return {
        "recipient": {**contracts.skeleton(file, "Recipient"), "recipient_name": recipient,
                      "business_categories": []},
        "period_of_performance": period,
        "place_of_performance": contracts.skeleton(file, "Location"),
        "executive_details": {"officers": []},
        "naics_hierarchy": {"toptier_code": {}, "midtier_code": {}, "base_code": {}},
        "psc_hierarchy": {"toptier_code": {}, "midtier_code": {}, "subtier_code": {},
                          "base_code": {}},
    }


# ---- subawards ----------------------------------------------------------------------------

def subaward_hit(row: dict[str, str]) -> dict[str, Any]:
    """The subaward search index's document for one Contracts_Subawards row."""
    key = row["prime_award_unique_key"]
    return {
        "subaward_number": row["subaward_number"], "award_id": award_number(key),
        "unique_award_key": key, "subaward_amount": Decimal(row["subaward_amount"]),
        "sub_action_date": row["subaward_action_date"][:10],
        "values": {
            "Sub-Award ID": row["subaward_number"],
            "Sub-Awardee Name": row.get("subawardee_name") or None,
            "Sub-Recipient UEI": row.get("subawardee_uei") or None,
            "Sub-Award Date": row["subaward_action_date"][:10],
            "Sub-Award Amount": float(Decimal(row["subaward_amount"])),
            "Sub-Award Description": row.get("subaward_description") or None,
            "Prime Award ID": row.get("prime_award_piid") or None,
            "Prime Recipient Name": row.get("prime_awardee_name") or None,
            "Awarding Agency": row.get("prime_award_awarding_agency_name") or None,
            "Awarding Sub Agency": row.get("prime_award_awarding_sub_agency_name") or None,
        },
    }


def subaward_matches(hit: dict[str, Any], filters: dict[str, Any]) -> bool:
    for p in filters.get("time_period") or []:
        if not p["start_date"] <= hit["sub_action_date"] <= p["end_date"]:
            return False
    agencies = [a for a in filters.get("agencies") or [] if a.get("type") == "awarding"]
    if agencies and not any(a.get("name") == hit["values"]["Awarding Sub Agency"]
                            or a.get("name") == hit["values"]["Awarding Agency"]
                            for a in agencies):
        return False
    unique = filters.get("award_unique_id")
    return not unique or hit["unique_award_key"] == unique


def subaward_page(hits: list[dict[str, Any]], body: dict[str, Any],
                  window: int) -> dict[str, Any]:
    """One page as spending_by_award.py serves subawards from Elasticsearch."""
    fields = body["fields"]
    limit, page = int(body.get("limit", 10)), int(body.get("page", 1))
    desc = body.get("order", "desc") == "desc"
    found = [h for h in hits if subaward_matches(h, body["filters"])]
    found.sort(key=lambda h: (h["subaward_amount"], h["award_id"]), reverse=desc)
    cursor_id, cursor_value = body.get("last_record_unique_id"), \
        body.get("last_record_sort_value")
    if cursor_id is not None:
        last = (Decimal(str(cursor_value)), int(cursor_id))
        after = [h for h in found if ((h["subaward_amount"], h["award_id"]) < last if desc
                                      else (h["subaward_amount"], h["award_id"]) > last)]
        chunk = after[: limit + 1]
        has_next = len(chunk) > limit
        served = chunk[:limit]
    else:
        start = (page - 1) * limit
        if start >= window:
            raise ValueError(f"Page #{page} with limit {limit} is over the maximum result "
                             f"limit {window}. Please provide the 'last_record_sort_value' "
                             "and 'last_record_unique_id' to paginate sequentially.")
        served = found[start: start + limit]
        has_next = len(found) - start > limit
    results = [{"internal_id": h["subaward_number"], "prime_award_internal_id": h["award_id"],
                **{f: h["values"].get(f) for f in fields},
                "prime_award_generated_internal_id": h["unique_award_key"]} for h in served]
    last_id = last_value = None
    if served and has_next:
        last_id, last_value = served[-1]["award_id"], served[-1]["subaward_amount"]
    return {"spending_level": "subawards", "limit": limit, "results": results,
            "page_metadata": {"page": page, "hasNext": has_next,
                              "last_record_unique_id": last_id,
                              "last_record_sort_value": str(last_value)},
            "messages": []}
