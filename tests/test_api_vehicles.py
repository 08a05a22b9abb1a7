"""`enrich --vehicles` against the local API: IDV detail, idvs/amounts and idvs/awards
(child awards, child IDVs, grandchild awards) stored as award facts, and `award <IDV>`
showing each figure with its source, the API's child totals beside the store's own sums.

The server serves the real ICE rows of the 2018 download (../shared/data/fpds_full) as
vehicles and orders; the store holds the same rows, less one order the test withholds, so
the API's child total differs from the store's sum by that order (said aloud). Expected
figures are csv-module sums over the rows.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.enrich import enrich_vehicles, vehicles_to_enrich
from contractwatch.ingest import ingest
from contractwatch.sources.usaspending_api import UsaspendingClient
from contractwatch.store import Store
from contractwatch.vehicles import vehicle
from tests.apiserver import ApiServer
from tests.apiserver.awards import awards_from_rows
from tests.conftest import FPDS
from tests.plain import read_rows

TOP = "GS35F0612L"  # GSA schedule (not ICE's): ICE's BPAs sit under it
CHILD = "70CTD018A00000003"  # ICE's BPA under it, with orders
IDC = "HSCEMS13D00001"  # an ICE IDC with orders


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for path in sorted(FPDS.glob("ice_fy*.csv")):
        out.extend(read_rows(path))
    return out


def _sum(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["federal_action_obligation"] or "0") for r in rows), Decimal("0"))


def _family(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of the two vehicles, their child vehicles and the orders under them."""
    vehicles = {IDC, TOP} | {r["award_id_piid"] for r in rows
                             if r["award_or_idv_flag"] == "IDV" and r["parent_award_id"] == TOP}
    return [r for r in rows if r["award_id_piid"] in vehicles
            or r["parent_award_id"] in vehicles]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, rows):
    """A store of the vehicles' rows but one order under IDC; a server holding every row."""
    withheld = sorted(r["award_id_piid"] for r in rows if r["parent_award_id"] == IDC)[0]
    tmp = tmp_path_factory.mktemp("vehicles")
    header = list(rows[0].keys())
    import csv

    path = tmp / "ice_vehicles_less_one_order.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, header)
        w.writeheader()
        w.writerows(r for r in _family(rows) if r["award_id_piid"] != withheld)
    store = Store(tmp / "store")
    ingest(store, [path], progress=False)
    server = ApiServer()
    server.awards_served = awards_from_rows(rows)
    with server:
        with UsaspendingClient(server.url, rate_per_second=0, backoff_base=0.01) as client:
            report = enrich_vehicles(store, client)
        yield store, server, report, withheld
    assert server.violations == []


def test_every_vehicle_the_store_knows_is_asked_once(setup, rows) -> None:
    store, server, report, _ = setup
    rows = _family(rows)
    own = {f"CONT_IDV_{r['award_id_piid']}_{r['awarding_sub_agency_code']}" for r in rows
           if r["award_or_idv_flag"] == "IDV"}
    named = {f"CONT_IDV_{r['parent_award_id']}_{r['parent_award_agency_id']}" for r in rows
             if r["parent_award_id"]}
    assert report.vehicles == report.fetched == len(own | named)
    asked = [p for _, p, *_ in server.requests if p == "/api/v2/awards/{award_id}/"]
    assert len(asked) == len(own | named)
    for _, path, body, _ in server.requests:  # the contract's paging and sort
        if path == "/api/v2/idvs/awards/":
            assert body["type"] in ("child_awards", "child_idvs", "grandchild_awards")
            assert body["sort"] == "piid" and body["limit"] <= 100
    # a second run asks nothing: every vehicle has its IDV detail
    assert vehicles_to_enrich(store) == []


def test_api_child_totals_beside_the_stores_sums(setup, rows) -> None:
    store, _, _, withheld = setup
    orders = [r for r in rows if r["parent_award_id"] == IDC and r["award_or_idv_flag"] != "IDV"]
    kept = [r for r in orders if r["award_id_piid"] != withheld]
    result = vehicle(store.connect(), IDC)
    m = result.meta
    api = m["usaspending_child_figures"]
    assert api["child_awards"] == len({r["award_id_piid"] for r in orders})
    assert api["child_award_obligated"] == _sum(orders)
    assert m["orders"] == len({r["award_id_piid"] for r in kept})
    assert m["obligated_on_orders"] == _sum(kept)
    missing = _sum([r for r in orders if r["award_id_piid"] == withheld])
    said = " ".join(result.caveats)
    assert "USAspending counts" in said and f"{missing:,.2f}" in said.replace("$", "")
    assert api["listed_orders_not_in_store"] == 1
    assert api["listed_orders_not_in_store_obligated"] == missing
    assert "leave out obligations on the vehicle itself" in said
    # ceilings by source: the latest IDV action and the API's IDV detail, side by side
    own = [r for r in rows if r["award_or_idv_flag"] == "IDV" and r["award_id_piid"] == IDC]
    sources = {c["source"].split()[0]: c["ceiling"] for c in m["ceilings_by_source"]}
    latest = max(own, key=lambda r: r["action_date"][6:10] + r["action_date"][3:5]
                 + r["action_date"][:2])
    assert sources["the"] == Decimal(latest["potential_total_value_of_award"])
    assert "api:idv_detail" in sources


def test_grandchild_orders_count_once(setup, rows) -> None:
    """Orders under ICE's BPA sit under the GSA schedule as grandchildren: listed by the API
    both as the BPA's child awards and as the schedule's grandchild awards, counted once."""
    store, _, _, _ = setup
    children = {x["award_id_piid"] for x in rows if x["award_or_idv_flag"] == "IDV"
                and x["parent_award_id"] == TOP}
    grand = [r for r in rows if r["parent_award_id"] in children
             and r["award_or_idv_flag"] != "IDV"]
    result = vehicle(store.connect(), TOP)
    m = result.meta
    api = m["usaspending_child_figures"]
    n = len({(r["award_id_piid"], r["parent_award_id"]) for r in grand})
    assert api["grandchild_awards"] == n
    assert api["grandchild_award_obligated"] == _sum(grand)
    assert m["orders_under_child_vehicles"] == n
    assert m["obligated_on_orders_under_child_vehicles"] == _sum(grand)
    assert api["listed_orders"] == n  # no order listed twice
    assert api["listed_orders_not_in_store"] == 0
    assert m["holder"] is None or m["holder"] == ""  # the schedule's holder is not in the rows
    child = vehicle(store.connect(), CHILD).meta
    assert child["usaspending_child_figures"]["child_award_obligated"] == _sum(
        [r for r in rows if r["parent_award_id"] == CHILD])


def test_enrich_vehicles_from_the_command_line(tmp_path: Path, rows, monkeypatch,
                                               capsys) -> None:
    import csv

    from tests.clitools import run_cli

    sample = tmp_path / "one_vehicle.csv"
    picked = [r for r in rows if r["award_id_piid"] == IDC or r["parent_award_id"] == IDC]
    with open(sample, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, list(rows[0].keys()))
        w.writeheader()
        w.writerows(picked)
    store = str(tmp_path / "store")
    assert run_cli(["--store", store, "ingest", str(sample)], monkeypatch, capsys)[0] == 0
    server = ApiServer()
    server.awards_served = awards_from_rows(rows)
    with server:
        code, out, err = run_cli(["--store", store, "enrich", "--vehicles", "--api-url",
                                  server.url, "--rate", "0", "--format", "json"],
                                 monkeypatch, capsys)
    assert code == 0, err
    assert '"fetched": 1' in out
    code, out, err = run_cli(["--store", store, "award", IDC], monkeypatch, capsys)
    assert code == 0, err
    assert "api:idv_detail" in out + err
