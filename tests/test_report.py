"""The report's figures against independent sums, its footnotes, and its self-containment."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.report import build_report, to_markdown, write_report
from contractwatch.store import Store
from tests.conftest import FPDS, TRANSACTIONS
from tests.plain import api_export_totals, fiscal_year, read_rows

FILES = sorted(TRANSACTIONS.glob("*.csv"))
FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
ZERO = Decimal("0")


@pytest.fixture(scope="module")
def ice_report(transactions_store: Store):
    return build_report(transactions_store.connect(), "ICE", 2026, limit=10)


def fig(report, fid: str):
    return next(f for f in report.figures if f.id == fid)


def test_totals_by_year_match_plain_sums(ice_report) -> None:
    totals = api_export_totals(FILES)
    rows = fig(ice_report, "F1").rows
    assert {r["fiscal_year"]: r["federal_action_obligation"] for r in rows} == {
        fy: s for (agency, fy), s in totals.items() if agency == "ICE"}
    assert ice_report.summary["obligations"] == totals[("ICE", 2026)]
    assert ice_report.summary["transactions"] == sum(
        1 for r in read_rows(FY2026) if r["Agency"] == "ICE")


def test_top_recipients_match_plain_sums(ice_report) -> None:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for r in read_rows(FY2026):
        if r["Agency"] == "ICE":
            sums[r["Recipient Name"]] += Decimal(r["Federal Action Obligation"])
    expected = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    got = [(r["recipient_name"], r["federal_action_obligation"])
           for r in fig(ice_report, "F2").rows]
    assert got == expected


def test_largest_new_awards_match_plain_sums(ice_report) -> None:
    """New = base action (modification 0) dated in FY2026; amount = all the award's actions."""
    per_award: dict[str, Decimal] = defaultdict(Decimal)
    new = set()
    for path in FILES:
        for r in read_rows(path):
            if r["Agency"] != "ICE":
                continue
            per_award[r["Generated Award ID"]] += Decimal(r["Federal Action Obligation"])
            if r["Modification"] == "0" and fiscal_year(r["Action Date"]) == 2026:
                new.add(r["Generated Award ID"])
    expected = sorted(((k, per_award[k]) for k in new), key=lambda kv: (-kv[1], kv[0]))[:10]
    f5 = fig(ice_report, "F5")
    assert [r["federal_action_obligation"] for r in f5.rows] == [v for _, v in expected]
    assert [u for _, u in f5.links] == [
        f"https://www.usaspending.gov/award/{k}/" for k, _ in expected]


def test_footnotes_and_caveats(ice_report) -> None:
    for f in ice_report.figures:
        if f.rows:
            assert f.sql and "SELECT" in f.sql.upper(), f.id
            assert f.loads, f.id
    assert [ld["source_file"] for ld in fig(ice_report, "F2").loads] == [str(FY2026)]
    assert len(fig(ice_report, "F1").loads) == 6
    text = " ".join(ice_report.caveats)
    assert "FY2022 has 3,000 rows" in text and "FY2023 has 3,300 rows" in text  # truncated
    assert "45 rows are exact copies" in text  # ICE FY2026 duplicate copies (README)
    assert "ceiling unknown for every award" in text  # the API export has no ceilings
    assert "partial year" in text
    md = to_markdown(ice_report)
    for f in ice_report.figures:
        assert f"[^{f.id}]:" in md
    assert "query: `SELECT" in md and "CBP_ICE_FY2026_Contract_Obligations.csv" in md


def test_families_and_brands_degrade_with_a_caveat(transactions_store: Store,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import contractwatch.companies as companies

    def broken(*args, **kwargs):
        raise RuntimeError("resolver offline")

    monkeypatch.setattr(companies, "top_by_family_or_brand", broken)
    r = build_report(transactions_store.connect(), "ICE", 2026, charts=False)
    assert not fig(r, "F3").rows and "resolver offline" in fig(r, "F3").unavailable
    assert any("F4" in c and "brand view unavailable" in c for c in r.caveats)
    assert fig(r, "F2").rows  # the rest of the report stands


def test_ceilings_from_full_download_rows(fpds_store: Store) -> None:
    """F6 on the full-layout ICE files: ceiling = the award's latest action's potential total."""
    r = build_report(fpds_store.connect(), "ICE", 2016, limit=5, charts=False)
    rows = fig(r, "F6").rows
    assert len(rows) == 5
    ceilings = [x["potential_total_value_of_award"] for x in rows]
    assert ceilings == sorted(ceilings, reverse=True)
    top = rows[0]
    actions = [x for p in sorted(FPDS.glob("*.csv")) for x in read_rows(p)
               if x["award_id_piid"] == top["award_id_piid"]
               and (x["parent_award_id"] or None) == top["parent_award_id_piid"]]
    def iso(d: str) -> str:  # these files write dates as DD/MM/YYYY
        day, month, year = d[:10].split("/")
        return f"{year}-{month}-{day}"

    latest = max(actions, key=lambda x: (iso(x["action_date"]), x["modification_number"],
                                         x["transaction_number"].zfill(6)))
    assert top["potential_total_value_of_award"] == Decimal(
        latest["potential_total_value_of_award"])
    assert top["federal_action_obligation"] == sum(
        (Decimal(x["federal_action_obligation"] or "0") for x in actions), ZERO)


@pytest.mark.browser
def test_html_makes_no_external_request(ice_report, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = write_report(ice_report, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert "<script" not in html and 'src="http' not in html
    external: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page()
            page.route("**/*", route)
            page.goto(path.as_uri())
            page.wait_for_load_state("networkidle")
            assert page.locator("figure svg").count() >= 4  # F1–F4 charts drawn inline
            assert page.locator("#fn-F5 a[href^='https://www.usaspending.gov/award/']").count() \
                == 10
            total = page.locator("p strong").first.inner_text()
        finally:
            browser.close()
    assert external == []
    assert total == "$6,770,140,465.18"  # README: ICE FY2026 sum


def test_cli_report(transactions_store: Store, tmp_path: Path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                               str(transactions_store.root), *args],
                              capture_output=True, text=True, timeout=300)

    out = tmp_path / "ice.md"
    r = cli("report", "--agency", "ICE", "--fy", "2026", "-o", str(out), "--limit", "5")
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("# U.S. Immigration and Customs")
    assert cli("report", "--agency", "ICE", "--fy", "2026", "-o", "x.pdf").returncode == 2
    assert cli("report", "--agency", "ICE", "--fy", "2003", "-o",
               str(tmp_path / "x.html")).returncode == 2


def test_vehicles_section_sums_orders_and_keeps_ceilings_apart(fpds_store: Store) -> None:
    """F8: obligations on the year's orders per vehicle (csv sums over the real 2018-layout
    ICE rows), each vehicle's own ceiling from its latest IDV action, unknown (not zero)
    where the store has no IDV record; no figure adds ceilings up."""
    from tests.official_layouts import iso_day

    rows = [r for p in sorted(FPDS.glob("ice_fy*.csv")) for r in read_rows(p)]
    per: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in rows:
        if (r["parent_award_id"] and r["awarding_sub_agency_code"] == "7012"
                and fiscal_year(iso_day(r["action_date"])) == 2018):
            per[(r["parent_award_id"], r["parent_award_agency_id"])] += Decimal(
                r["federal_action_obligation"])
    expected = sorted(per.items(), key=lambda kv: (-kv[1], f"CONT_IDV_{kv[0][0]}_{kv[0][1]}"))
    report = build_report(fpds_store.connect(), "ICE", 2018, limit=10, charts=False)
    vehicles = fig(report, "F8")
    assert [(r["vehicle_piid"], r["obligated"]) for r in vehicles.rows] == [
        (piid, total) for (piid, _), total in expected[:10]]
    for r in vehicles.rows:
        own = [x for i, x in enumerate(rows) if x["award_or_idv_flag"] == "IDV"
               and x["award_id_piid"] == r["vehicle_piid"]
               and x["awarding_sub_agency_code"] == r["vehicle_key"].rsplit("_", 1)[1]]
        if not own:
            assert r["vehicle_ceiling"] is None  # unknown, never zero
            # its type as its orders' rows record it (parent_award_type)
            recorded = {x["parent_award_type"] for x in rows
                        if x["parent_award_id"] == r["vehicle_piid"]
                        and fiscal_year(iso_day(x["action_date"])) == 2018
                        and x["parent_award_type"]}
            assert r["vehicle_type"] == max(recorded)
            continue
        latest = max(own, key=lambda x: iso_day(x["action_date"]))
        assert r["vehicle_ceiling"] == Decimal(latest["potential_total_value_of_award"])
        assert r["holder"] == latest["recipient_name"]
        # type and solicitation from the vehicle's own row (full downloads' source columns)
        assert r["vehicle_type"] == latest["idv_type"] != ""
        assert r["solicitation_identifier"] == (latest["solicitation_identifier"] or None)
    assert any(r["vehicle_ceiling"] is None for r in vehicles.rows)
    assert any("never added up" in n for n in vehicles.notes)
    assert fig(report, "F9").unavailable.startswith("no subaward file loaded")
