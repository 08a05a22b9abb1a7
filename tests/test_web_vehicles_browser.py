"""Vehicles and subawards in the web app, in a real browser (Debian's Chromium, Playwright).

The store holds the real ICE rows of the 2018-layout downloads (../shared/data/fpds_full:
IDV rows of vehicles and the orders placed under them) and a subaward file built from the
official column list around one of those orders (no real public subaward file exists, see
tests/test_subawards.py). Expected figures are csv-module sums over those rows.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.browsertools import SHOTS, accessible_basics, cells, fact
from tests.conftest import FPDS
from tests.official_layouts import iso_day, official_columns, subaward_report, write_csv
from tests.plain import read_rows
from tests.webtools import running_server

pytestmark = [pytest.mark.browser]

VEHICLE = "HSCEDM15D00015"  # an ICE IDC held by the GEO Group
ORDER = "HSCEDM17J00032"  # a task order under it
PRIME = f"CONT_AWD_{ORDER}_7012_{VEHICLE}_7012"
SUB = "B.I. INCORPORATED"  # a prime recipient of ICE too: its company page shows both


def _report(number: str, who: str, amount: str, month: int) -> dict[str, str]:
    return subaward_report(
        number, who, amount, month, prime=PRIME, year=2018,
        prime_award_awarding_sub_agency_code="7012",
        prime_award_awarding_sub_agency_name="U.S. Immigration and Customs Enforcement",
        prime_awardee_name="GEO GROUP INC., THE")


REPORTS = [_report("GEO-1", SUB, "250000.00", 2), _report("GEO-1", SUB, "400000.00", 3),
           _report("GEO-2", "TRANSPORT PARTNER LLC", "12345.67", 3)]


@pytest.fixture(scope="module")
def fpds_rows() -> list[dict[str, str]]:
    return [r for p in sorted(FPDS.glob("ice_fy*.csv")) for r in read_rows(p)]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    folder = tmp_path_factory.mktemp("vehicles-web")
    subawards = write_csv(folder / "Contracts_Subawards_2018-06-01.csv",
                          official_columns("subaward_contracts"), REPORTS)
    store = Store(folder / "store")
    ingest(store, [FPDS, subawards], progress=False)
    with running_server(store.root) as url:
        yield url


def _sum(rows: list[dict[str, str]]) -> Decimal:
    return sum((Decimal(r["federal_action_obligation"]) for r in rows), Decimal("0"))


def _latest_ceiling(rows: list[dict[str, str]]) -> Decimal:
    return Decimal(max(rows, key=lambda r: iso_day(r["action_date"]))[
        "potential_total_value_of_award"])


def test_vehicle_page_and_the_order_names_its_vehicle(page, base, fpds_rows):
    own = [r for r in fpds_rows if r["award_or_idv_flag"] == "IDV"
           and r["award_id_piid"] == VEHICLE]
    orders = [r for r in fpds_rows if r["parent_award_id"] == VEHICLE]
    mine = [r for r in orders if r["award_id_piid"] == ORDER]
    page.goto(f"{base}/award/{VEHICLE}")
    accessible_basics(page)
    assert page.locator("h1").inner_text() == f"Vehicle {VEHICLE}"
    assert fact(page, "ceiling") == _latest_ceiling(own)
    assert fact(page, "obligated_on_orders") == _sum(orders)
    assert fact(page, "obligated_total") == _sum(own) + _sum(orders)
    shown = dict(zip(cells(page, "orders", "award_id_piid"),
                     [Decimal(v) for v in cells(page, "orders", "obligated")], strict=True))
    assert shown == {p: _sum([r for r in orders if r["award_id_piid"] == p])
                     for p in {r["award_id_piid"] for r in orders}}
    assert Decimal(dict(zip(cells(page, "orders", "award_id_piid"),
                            cells(page, "orders", "own_ceiling"), strict=True))[ORDER]) \
        == _latest_ceiling(mine)
    assert "GEO GROUP" in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "vehicle.png"), full_page=True)

    page.locator('table[data-table="orders"]').get_by_role("link", name=ORDER).click()
    page.wait_for_url(f"**/award/**{ORDER}**")
    accessible_basics(page)
    assert fact(page, "federal_action_obligation") == _sum(mine)
    # the order's own ceiling and its vehicle's, side by side
    assert fact(page, "order_ceiling") == _latest_ceiling(mine)
    assert fact(page, "vehicle_ceiling") == _latest_ceiling(own)
    assert fact(page, "vehicle_obligated_total") == _sum(own) + _sum(orders)
    assert fact(page, "order_ceiling") != fact(page, "vehicle_ceiling")
    page.screenshot(path=str(SHOTS / "order-with-vehicle.png"), full_page=True)
    assert page.errors == []


def test_award_page_lists_subawards_counted_once(page, base):
    counted = {"GEO-1": Decimal("400000.00"), "GEO-2": Decimal("12345.67")}  # latest reports
    assert counted == {r["subaward_number"]: Decimal(r["subaward_amount"]) for r in REPORTS
                       if r["subaward_sam_report_id"] in ("GEO-1-3", "GEO-2-3")}
    page.goto(f"{base}/award/{PRIME}")
    accessible_basics(page)
    shown = dict(zip(cells(page, "subawards", "subaward_number"),
                     [Decimal(v) for v in cells(page, "subawards", "subaward_amount")],
                     strict=True))
    assert shown == counted
    assert fact(page, "subawards_total") == sum(counted.values())
    aside = cells(page, "subawards_set_aside", "subaward_report_id")
    assert aside == ["GEO-1-2"]  # the earlier report of GEO-1, not counted
    assert "not added to its obligations" in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "award-subawards.png"), full_page=True)
    assert page.errors == []


def test_company_page_shows_subaward_money_apart(page, base, fpds_rows):
    prime = _sum([r for r in fpds_rows if r["recipient_name"] == SUB])
    page.goto(f"{base}/company?name=B.I.+INCORPORATED")
    accessible_basics(page)
    members = dict(zip(cells(page, "members", "recipient_name"),
                       [Decimal(v) for v in cells(page, "members",
                                                   "federal_action_obligation")], strict=True))
    assert members[SUB] == prime  # prime money as before: the subaward is not in it
    assert fact(page, "subawards_received") == Decimal("400000.00")
    assert cells(page, "received_as_subcontractor", "prime_award_piid") == [ORDER]
    assert "never added" in page.locator("main").inner_text()
    page.screenshot(path=str(SHOTS / "company-subawards.png"), full_page=True)
    assert page.errors == []
