"""Vehicles (IDVs): the vehicle's own record, its orders, orders under its child vehicles,
and sibling vehicles of one solicitation whose ceilings are never added.

Expected figures are csv-module sums over the real ICE rows of the 2018 download
(../shared/data/fpds_full); the sibling program is built from real rows in today's layout
(tests/official_layouts.py), because no real file of the sample has two vehicles of one
solicitation.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.analyze import award
from contractwatch.ingest import ingest
from contractwatch.store import Store
from contractwatch.vehicles import vehicle
from tests.conftest import FPDS
from tests.official_layouts import iso_day, official_columns, todays_rows, write_csv
from tests.plain import read_rows


@pytest.fixture(scope="module")
def fpds_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(FPDS.glob("ice_fy*.csv")):
        rows.extend(read_rows(path))
    return rows


def _sum(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["federal_action_obligation"]) for r in rows), Decimal("0"))


def test_a_vehicle_with_its_own_record_and_orders(fpds_store: Store, fpds_rows) -> None:
    piid = "HSCEMS13D00001"  # an IDC held by VISTA OUTDOOR SALES LLC
    own = [r for r in fpds_rows if r["award_or_idv_flag"] == "IDV" and r["award_id_piid"] == piid]
    orders = [r for r in fpds_rows if r["parent_award_id"] == piid
              and r["award_or_idv_flag"] != "IDV"]
    latest = max(own, key=lambda r: iso_day(r["action_date"]))
    result = award(fpds_store.connect(), piid)
    m = result.meta
    assert m["vehicle_piid"] == piid
    assert m["holder"] == latest["recipient_name"]
    assert m["ceiling"] == Decimal(latest["potential_total_value_of_award"])
    assert m["obligated_on_vehicle"] == _sum(own)
    assert m["obligated_on_orders"] == _sum(orders)
    assert m["orders"] == len({r["award_id_piid"] for r in orders})
    assert m["obligated_total"] == _sum(own) + _sum(orders)
    assert sum(r["obligated"] for r in result.rows) == _sum(orders)


def test_orders_under_child_vehicles_count_once(fpds_store: Store, fpds_rows) -> None:
    # the GSA schedule GS35F0612L is not ICE's; ICE's BPA 70CTD018A00000003 sits under it
    children = {r["award_id_piid"] for r in fpds_rows
                if r["award_or_idv_flag"] == "IDV" and r["parent_award_id"] == "GS35F0612L"}
    assert "70CTD018A00000003" in children
    grand = [r for r in fpds_rows if r["parent_award_id"] in children]
    on_children = [r for r in fpds_rows if r["award_or_idv_flag"] == "IDV"
                   and r["award_id_piid"] in children]
    m = vehicle(fpds_store.connect(), "GS35F0612L").meta
    assert m["child_vehicles"] == len(children)
    assert m["obligated_on_child_vehicles"] == _sum(on_children)
    assert m["obligated_on_orders_under_child_vehicles"] == _sum(
        [r for r in grand if r["award_or_idv_flag"] != "IDV"])
    assert m["holder"] is None and m["ceiling"] is None  # its own record is not in the store


def test_sibling_vehicles_of_one_program_are_never_added(tmp_path: Path) -> None:
    rows = todays_rows(200)
    idvs = [r for r in rows if r["award_or_idv_flag"] == "IDV"][:2]
    plain = [r for r in rows if r["award_or_idv_flag"] != "IDV"][:3]
    assert len(idvs) == 2 and len(plain) == 3
    first, second = (dict(r) for r in idvs)
    for r, ceiling in ((first, "365800000.00"), (second, "365800000.00")):
        r.update(solicitation_identifier="70CDCR25R00000007",
                 potential_total_value_of_award=ceiling)
    second["recipient_name"] = "SECOND HOLDER LLC"
    orders = []
    for n, r in enumerate(plain):
        order = dict(r, parent_award_id_piid=first["award_id_piid"],
                     parent_award_agency_id=first["awarding_sub_agency_code"],
                     award_id_piid=f"70CDCR26FR00000{n:02d}",
                     potential_total_value_of_award="4800000.00")
        order["contract_award_unique_key"] = (
            f"CONT_AWD_{order['award_id_piid']}_7012_{first['award_id_piid']}_7012")
        order["contract_transaction_unique_key"] = f"7012_7012_{order['award_id_piid']}_0_x_{n}"
        orders.append(order)
    path = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18.csv",
                     official_columns("transaction_contracts"), [first, second, *orders])
    store = Store(tmp_path / "store")
    ingest(store, [path], progress=False)
    result = vehicle(store.connect(), first["award_id_piid"])
    m = result.meta
    assert m["solicitation_identifier"] == "70CDCR25R00000007"
    assert [s["holder"] for s in m["siblings"]] == ["SECOND HOLDER LLC"]
    assert m["siblings"][0]["ceiling"] == Decimal("365800000.00")
    assert m["ceiling"] == Decimal("365800000.00")  # its own, not 2 × the program's
    assert m["obligated_total"] == _sum([first]) + _sum(orders)
    assert {r["own_ceiling"] for r in result.rows} == {Decimal("4800000.00")}
    assert any("never added" in c for c in result.caveats)


def test_an_unknown_vehicle_is_a_clear_lookup_error(fpds_store: Store) -> None:
    with pytest.raises(LookupError, match="no vehicle"):
        vehicle(fpds_store.connect(), "CONT_IDV_NOSUCHPIID_7012")


def test_search_by_vehicle_groups_the_matching_awards(transactions_store: Store) -> None:
    """`search --by vehicle`: the matching awards' obligations in scope per vehicle, by
    plain csv sums over the API export (the vehicle read from the generated award id)."""
    from collections import defaultdict

    from contractwatch.analyze import Filters, search
    from tests.conftest import TRANSACTIONS

    rows = [r for r in read_rows(TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv")
            if r["Agency"] == "ICE"]
    matched = {r["Generated Award ID"] for r in rows
               if "skip tracing" in r["Transaction Description"].lower()}
    per: dict[tuple[str | None, str | None], Decimal] = defaultdict(Decimal)
    awards: dict[tuple[str | None, str | None], set[str]] = defaultdict(set)
    for r in rows:
        if r["Generated Award ID"] in matched:
            parts = r["Generated Award ID"].split("_")
            parent = (None, None) if parts[4] == "-NONE-" else (parts[4], parts[5])
            per[parent] += Decimal(r["Federal Action Obligation"])
            awards[parent].add(r["Generated Award ID"])
    result = search(transactions_store.connect(), "skip tracing",
                    Filters(agency="ICE", fy=2026), limit=0, by="vehicle")
    got = {(r["parent_award_id_piid"], r["parent_award_agency_id"]):
           (r["federal_action_obligation"], r["awards"]) for r in result.rows}
    assert got == {k: (per[k], len(awards[k])) for k in per}
    assert result.facts["total_awards"] == len(matched)
    assert "70CDCR26D00000015" in {k[0] for k in got}
    assert any("never added up" in c for c in result.caveats)
