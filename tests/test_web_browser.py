"""The web app in a real browser (Debian's Chromium driven by Playwright).

Loads the overview, searches "skip tracing" with the keyboard, opens an award, checks the
figures shown against plain sums over the shared files, checks that markup injected into
descriptions and names stays inert, and saves a screenshot of each page under
test-artifacts/web/.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from tests.browsertools import SHOTS, accessible_basics, cells, fact
from tests.conftest import ROOT, TRANSACTIONS
from tests.plain import api_export_totals, read_rows
from tests.webtools import AWARD, NAME_PAYLOAD, injected_store, running_server

FILES = sorted(TRANSACTIONS.glob("*.csv"))

pytestmark = [pytest.mark.browser]  # needs Debian chromium: `make system-deps` installs it


@pytest.fixture(scope="module")
def base(transactions_store):
    with running_server(transactions_store.root) as url:
        yield url


def test_overview_figures_match_plain_sums(page, base):
    page.goto(f"{base}/agency/ICE")
    assert "Immigration and Customs Enforcement" in page.locator("h1").inner_text()
    accessible_basics(page)
    years = [int(y) for y in cells(page, "by_year", "fiscal_year")]
    amounts = [Decimal(v) for v in cells(page, "by_year", "federal_action_obligation")]
    expected = {fy: v for (agency, fy), v in api_export_totals(FILES).items() if agency == "ICE"}
    assert dict(zip(years, amounts, strict=True)) == expected
    assert page.locator("figure.chart svg").count() >= 2  # year chart, recipients chart
    assert page.locator("text=Data coverage by fiscal year").count() >= 1
    page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

    # the figure's source rows: the rows page sums them to the same number
    row = page.locator('table[data-table="by_year"] tbody tr').nth(years.index(2025))
    row.get_by_role("link", name="source rows").click()
    page.wait_for_url("**/rows?**")
    assert fact(page, "federal_action_obligation") == expected[2025]
    assert page.locator('table[data-table="rows"] td[data-col="source_file"]').count() == 100
    page.screenshot(path=str(SHOTS / "source-rows.png"))
    assert page.errors == []


def test_search_by_keyboard_then_open_award(page, base):
    rows = [r for p in FILES for r in read_rows(p)]
    matching = {r["Generated Award ID"] or r["Award ID"] for r in rows
                if "SKIP TRACING" in r["Transaction Description"].upper()}
    page.goto(f"{base}/search")
    accessible_basics(page, sections=False)
    # keyboard only: the skip link comes first, then the form is reachable by Tab
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("skip tracing")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "agency"
    page.keyboard.type("ICE")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=skip+tracing**")
    assert "agency=ICE" in page.url  # a shareable URL carries the filters
    count = page.locator("#result-count").inner_text()
    assert count.startswith(f"{len(matching)} awards match")
    shown = cells(page, "results", "award_id_piid")
    assert len(shown) == len(matching)
    page.screenshot(path=str(SHOTS / "search.png"), full_page=True)

    page.locator('table[data-table="results"]').get_by_role("link", name=AWARD).click()
    page.wait_for_url(f"**/award/**{AWARD}**")
    accessible_basics(page)
    mine = {tuple(r.values()) for r in rows if r["Award ID"] == AWARD}
    assert fact(page, "federal_action_obligation") == sum(Decimal(r[3]) for r in mine)
    running = [Decimal(v) for v in cells(page, "actions", "running_total")]
    assert running[-1] == fact(page, "federal_action_obligation") and len(running) == 2
    assert page.locator("figure.chart svg").count() == 1
    link = page.get_by_role("link", name="award page").get_attribute("href")
    assert link.startswith("https://www.usaspending.gov/award/CONT_AWD_" + AWARD)
    assert "70CDCR26D00000015" in page.locator("dl.facts").inner_text()
    page.screenshot(path=str(SHOTS / "award.png"), full_page=True)
    assert page.errors == []


def test_company_and_home_pages(page, base):
    rows = [r for p in FILES for r in read_rows(p)]
    page.goto(f"{base}/")
    accessible_basics(page)
    codes = set(cells(page, "agencies", "awarding_sub_agency_code"))
    assert codes == {"7012", "7014"}
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
    page.goto(f"{base}/company?name=GLOBAL+RECOVERY+GROUP%2C+LLC")
    accessible_basics(page)
    members = cells(page, "members", "recipient_name")
    assert "GLOBAL RECOVERY GROUP, LLC" in members
    per_member = defaultdict(Decimal)
    for r in rows:
        per_member[r["Recipient Name"]] += Decimal(r["Federal Action Obligation"])
    shown = dict(zip(members, [Decimal(v) for v in cells(page, "members",
                                                           "federal_action_obligation")],
                     strict=True))
    assert shown["GLOBAL RECOVERY GROUP, LLC"] == per_member["GLOBAL RECOVERY GROUP, LLC"]
    page.screenshot(path=str(SHOTS / "company.png"), full_page=True)
    page.goto(f"{base}/watches")
    accessible_basics(page)
    assert "no watches yet" in page.locator("main").inner_text()
    assert page.errors == []


def test_injected_markup_is_inert(browser, tmp_path):
    root = injected_store(tmp_path)
    with running_server(root) as url:
        # bypass the CSP so that escaping alone is what keeps the markup inert
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path, shown in (("/search?q=skip+tracing", "<script>alert(1)</script>"),
                            (f"/award/{AWARD}", "<B>EVIL</B>"),
                            ("/agency/ICE?fy=2026", None),
                            ("/rows?agency=ICE&fy=2026", "<img src=x onerror=alert(2)>"),
                            ("/company?" + urlencode({"name": NAME_PAYLOAD}), "<B>EVIL</B>")):
            pg.goto(url + path)
            assert pg.locator("script").count() == 0, path
            assert pg.locator("main img, main b, main svg script").count() == 0, path
            text = pg.locator("main").inner_text()
            if shown:
                assert shown in text, path
        pg.goto(f"{url}/search?q=skip+tracing")
        pg.screenshot(path=str(SHOTS / "injected-search.png"), full_page=True)
        pg.goto(f"{url}/award/{AWARD}")
        assert '"CORP"' in pg.locator("main p").first.inner_text()
        pg.screenshot(path=str(SHOTS / "injected-award.png"), full_page=True)
        assert dialogs == []
        context.close()


REAL = ROOT / "tests" / "data" / "real"
REAL_FILES = [REAL / "contracts_full" / "FY2026_012_Contracts_Full_20260909_1.csv",
              REAL / "contracts_prime_transactions" / "usaspending_transactions_lmt.csv"]


def _every_column(pg, row_id: str, column: str) -> tuple[str, str, str]:
    """(kind, label, value) of one column in a row's every-column view, opened by a click."""
    details = pg.locator(f'details.row-columns[data-row="{row_id}"]')
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    tr = details.locator(f'tr[data-column="{column}"]')
    assert tr.is_visible()
    return (tr.get_attribute("data-kind"), tr.locator("th").inner_text().strip(),
            tr.locator("td.text").inner_text().strip())


def test_source_rows_page_shows_every_column_of_a_real_file(browser, tmp_path):
    """The file's own columns (solicitation id, offers received) beside the canonical ones,
    with the canonical ones named in words; markup in a kept column stays text."""
    import csv

    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    store = Store(tmp_path / "real")
    ingest(store, REAL_FILES, progress=False)
    lmt = read_rows(REAL_FILES[1])
    first = lmt[0]  # data record 1 of the file
    load_id = next(ld.load_id for ld in store.connect().loads
                   if ld.source_file.endswith(REAL_FILES[1].name))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(120_000)
    with running_server(store.root) as url:
        pg.goto(f"{url}/rows?award={first['award_id_piid']}")
        accessible_basics(pg)
        assert _every_column(pg, f"{load_id}:1", "solicitation_identifier") == (
            "source", "solicitation identifier (as in the file)",
            first["solicitation_identifier"])
        kind, label, value = _every_column(pg, f"{load_id}:1", "number_of_offers_received")
        assert (kind, value) == ("canonical", first["number_of_offers_received"])
        kind, label, value = _every_column(pg, f"{load_id}:1", "federal_action_obligation")
        assert (kind, label) == ("canonical", "obligations")  # columns.py's label
        assert value == f"${Decimal(first['federal_action_obligation']):,}"
        kept = pg.locator(f'details[data-row="{load_id}:1"] tr[data-kind="source"]').count()
        header = next(csv.reader(REAL_FILES[1].open(encoding="utf-8")))
        assert kept == len(store.connect().loads[1].source_columns) and kept < len(header)
        pg.screenshot(path=str(SHOTS / "rows-every-column.png"), full_page=True)
    # markup in a kept column (one the canonical schema does not read) is shown as text
    evil = tmp_path / "evil" / REAL_FILES[1].name
    evil.parent.mkdir()
    rows = [dict(r) for r in lmt]
    rows[0]["solicitation_identifier"] = "<img src=x onerror=alert(4)>"
    with open(evil, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(lmt[0]))
        writer.writeheader()
        writer.writerows(rows)
    store2 = Store(tmp_path / "evil-store")
    ingest(store2, [evil], progress=False)
    dialogs: list[str] = []
    ctx2 = browser.new_context(bypass_csp=True)  # escaping alone keeps it inert
    pg2 = ctx2.new_page()
    pg2.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with running_server(store2.root) as url:
        pg2.goto(f"{url}/rows?award={first['award_id_piid']}")
        load2 = store2.connect().loads[0].load_id
        assert _every_column(pg2, f"{load2}:1", "solicitation_identifier")[2] == \
            "<img src=x onerror=alert(4)>"
        assert pg2.locator("main img").count() == 0 and dialogs == []
    context.close()
    ctx2.close()


def test_agency_page_by_purpose(page, base, transactions_store):
    """What the money buys on the agency page, then narrowed to one purpose with the form:
    every year's figure is the plain sum of the rows of the awards stored with that tag."""
    import pyarrow.parquet as pq

    from contractwatch.purposes import purposes_folder

    tagged = {r["award_key"] for r in pq.read_table(
        purposes_folder(transactions_store.connect()) / "tags.parquet").to_pylist()
              if r["purpose"] == "removal-transport"}
    page.goto(f"{base}/agency/ICE")
    assert page.locator('table[data-table="purpose"]').count() == 1
    assert "never add them up" in page.locator("section#purpose").inner_text()
    page.get_by_label("Purpose", exact=True).select_option("removal-transport")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**purpose=removal-transport**")
    accessible_basics(page)
    years = [int(y) for y in cells(page, "by_year", "fiscal_year")]
    amounts = [Decimal(v) for v in cells(page, "by_year", "federal_action_obligation")]
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for path in FILES:
        for r in read_rows(path):
            if r["Agency"] == "ICE" and (r["Generated Award ID"] or r["Award ID"]) in tagged:
                expected[int(r["Action Date"][:4]) + (r["Action Date"][5:7] >= "10")] += \
                    Decimal(r["Federal Action Obligation"])
    assert {y: a for y, a in zip(years, amounts, strict=True) if a} == dict(expected)
    page.screenshot(path=str(SHOTS / "agency-purpose.png"), full_page=True)
    assert page.errors == []
