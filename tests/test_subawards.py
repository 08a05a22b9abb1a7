"""Subawards: every report stored, each subaward counted once (the latest report of prime
award × subaward number × subawardee), never added to prime obligations, primes whose
counted subawards exceed their obligations flagged; both report-column namings load.

No real public subaward file was found; the files here are built from the official column
list (tests/data/official/subaward_contracts.txt) around real prime awards of the sample
(ICE FY2026 API export), with invented subaward reports, and the expected figures are
computed from those rows with Decimal.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch import watch
from contractwatch.analyze import Filters, award, top
from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
from tests.official_layouts import official_columns, subaward_report, write_csv
from tests.plain import read_rows

PRIME = "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012"  # Capgemini's order


def _report(number: str, who: str, amount: str, month: int, prime: str = PRIME,
            uei: str = "") -> dict[str, str]:
    return subaward_report(number, who, amount, month, prime=prime, year=2026,
                           prime_award_awarding_sub_agency_code="7012",
                           prime_awardee_name="CAPGEMINI GOVERNMENT SOLUTIONS LLC",
                           subawardee_uei=uei)


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    ingest(s, [TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"], progress=False)
    return s


def test_refiled_subawards_count_once_and_stay_below_the_prime(tmp_path: Path,
                                                               store: Store) -> None:
    reports = [
        _report("SUB-1", "LOCATOR DATA INC", "100000.00", 1, uei="AAAABBBBCCCC"),
        _report("SUB-1", "LOCATOR DATA INC", "150000.00", 2, uei="AAAABBBBCCCC"),
        _report("SUB-1", "LOCATOR DATA, INC.", "200000.00", 3, uei="AAAABBBBCCCC"),
        _report("SUB-2", "FIELD AGENTS LLC", "75000.50", 2),
    ]
    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"), reports)
    before = top(store.connect(), "recipient", Filters(agency="ICE", fy=2026)).meta
    ingest(store, [path], progress=False)
    catalog = store.connect()
    after = top(catalog, "recipient", Filters(agency="ICE", fy=2026)).meta
    assert after["total_obligations"] == before["total_obligations"]  # never added
    m = award(catalog, "70CDCR26FR0000024").meta["subawards"]
    assert m["total"] == Decimal("200000.00") + Decimal("75000.50")
    assert m["refilings_set_aside"] == 2
    assert {r["subaward_number"]: r["subaward_amount"] for r in m["subawards"]} == {
        "SUB-1": Decimal("200000.00"), "SUB-2": Decimal("75000.50")}
    assert not m["exceeds_prime_obligations"]
    subs = top(catalog, "subrecipient", Filters(agency="ICE", fy=2026))
    assert [(r["subawardee_name"], r["subaward_amount"]) for r in subs.rows] == [
        ("LOCATOR DATA, INC.", Decimal("200000.00")), ("FIELD AGENTS LLC", Decimal("75000.50"))]
    assert "2 re-filed reports set aside" in subs.caveats[0]


def test_subawards_beyond_the_prime_are_flagged(tmp_path: Path, store: Store) -> None:
    obligated = sum(Decimal(r["Federal Action Obligation"])
                    for r in read_rows(TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv")
                    if r["Award ID"] == "70CDCR26FR0000024")
    too_much = str(obligated + Decimal("0.01"))
    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"),
                     [_report("SUB-9", "BIG SUB LLC", too_much, 3)])
    ingest(store, [path], progress=False)
    result = award(store.connect(), "70CDCR26FR0000024")
    assert result.meta["subawards"]["exceeds_prime_obligations"]
    assert any("exceed its prime obligations" in c for c in result.caveats)


def test_the_fsrs_report_names_of_before_2025_load(tmp_path: Path, store: Store) -> None:
    columns = [c.replace("subaward_sam_report", "subaward_fsrs_report")
               for c in official_columns("subaward_contracts")]
    rows = []
    for month, amount in ((1, "10.00"), (2, "20.00")):
        r = _report("OLD-1", "OLD SUB LLC", amount, month)
        rows.append({k.replace("subaward_sam_report", "subaward_fsrs_report"): v
                     for k, v in r.items()})
    path = write_csv(tmp_path / "Contracts_Subawards_2024-12-01.csv", columns, rows)
    ingest(store, [path], progress=False)
    m = award(store.connect(), "70CDCR26FR0000024").meta["subawards"]
    assert m["total"] == Decimal("20.00") and m["refilings_set_aside"] == 1


def test_a_bad_subaward_amount_names_file_and_line(tmp_path: Path, store: Store) -> None:
    from contractwatch.sources.base import SourceError

    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"),
                     [_report("S", "X LLC", "12.00", 1), _report("S", "X LLC", "12,0.0x", 2)])
    before = store.manifest()
    with pytest.raises(SourceError) as err:
        ingest(store, [path], progress=False)
    assert err.value.line == 3 and "subaward_amount" in err.value.problem
    assert store.manifest() == before
    assert not list((store.root / "subawards").glob("*.parquet"))


def test_the_2018_layout_names_its_prime_by_piid_only(tmp_path: Path, store: Store) -> None:
    columns = (Path(__file__).parent / "data" / "official" / "history" /
               "subaward_contracts_2018-08-17.txt").read_text().split()
    rows = []
    for month, amount in ((4, "300.00"), (5, "450.00")):
        rows.append({c: "" for c in columns} | {
            "subaward_number": "OLD-7", "prime_award_piid": "70CDCR26FR0000024",
            "subaward_amount": amount, "subaward_action_date": "2026-01-05",
            "subaward_report_year": "2026", "subaward_report_month": str(month),
            "prime_awarding_agency_code": "070", "prime_awarding_sub_agency_code": "7012",
            "subawardee_name": "OLDER LAYOUT LLC"})
    path = write_csv(tmp_path / "Contracts_Subawards_2026-06-01.csv", columns, rows)
    ingest(store, [path], progress=False)
    m = award(store.connect(), "70CDCR26FR0000024").meta["subawards"]
    assert m["total"] == Decimal("450.00") and m["refilings_set_aside"] == 1


GEO_PRIME = "CONT_AWD_70B03C24C00000054_7014_-NONE-_-NONE-"  # a CBP award of the sample


def _counted(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The latest report of each prime × subaward number × subawardee, by plain Python."""
    latest: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in rows:
        k = (r["prime_award_unique_key"], r["subaward_number"],
             r["subawardee_uei"] or r["subawardee_name"].upper())
        if k not in latest or (r["subaward_sam_report_last_modified_date"]
                               > latest[k]["subaward_sam_report_last_modified_date"]):
            latest[k] = r
    return list(latest.values())


def test_company_shows_money_received_as_a_subcontractor_apart(tmp_path: Path,
                                                               store: Store) -> None:
    from contractwatch.companies import company

    member = "CAPGEMINI GOVERNMENT SOLUTIONS LLC"
    reports = [
        _report("C-1", member, "1000.00", 1, prime=GEO_PRIME),
        _report("C-1", member, "1500.00", 2, prime=GEO_PRIME),  # re-filed: counts once
        _report("C-2", member, "250.25", 3, prime=GEO_PRIME),
        _report("P-1", member, "999.00", 2, prime=GEO_PRIME),  # a person recorded so
        _report("O-1", "OTHER SUB LLC", "42.00", 2, prime=GEO_PRIME),
    ]
    for r in reports:
        r.update(prime_award_awarding_sub_agency_code="7014",
                 prime_award_awarding_sub_agency_name="U.S. Customs and Border Protection",
                 prime_awardee_name="THE GEO GROUP, INC.")
    reports[3]["subawardee_business_types"] = "Individual/Sole Proprietorship"
    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"), reports)
    before = company(store.connect(), "Capgemini").meta["federal_action_obligation"]
    ingest(store, [path], progress=False)
    result = company(store.connect(), "Capgemini")
    written = read_rows(path)
    expected = sum((Decimal(r["subaward_amount"]) for r in _counted(written)
                    if r["subawardee_name"] == member
                    and "individual" not in r["subawardee_business_types"].lower()),
                   Decimal("0"))
    assert expected == Decimal("1750.25")
    part = result.parts["received_as_subcontractor"]
    assert part.meta["subaward_amount"] == expected
    assert result.facts["subawards_received"] == expected
    assert {r["prime_award_piid"] for r in part.rows} == {"70B03C24C00000054"}
    assert {r["prime_award_awarding_sub_agency_name"] for r in part.rows} == {
        "U.S. Customs and Border Protection"}
    assert all(r["matched_by"] == "name as recorded" for r in part.rows)
    # apart from prime money, never added to it, and said so
    assert result.meta["federal_action_obligation"] == before
    assert any("never added to prime obligations" in c for c in part.caveats)
    assert any("individuals are never matched" in c for c in part.caveats)
    # the person is listed by subrecipient as recorded, nowhere matched
    subs = top(store.connect(), "subrecipient", Filters(agency="CBP"))
    assert sum(r["subaward_amount"] for r in subs.rows) == sum(
        Decimal(r["subaward_amount"]) for r in _counted(written))
    assert any("never matched" in c for c in subs.caveats)


def test_report_lists_subawards_under_the_agency_primes_and_flags_excess(
        tmp_path: Path, store: Store) -> None:
    from contractwatch.report import build_report

    obligated = sum(Decimal(r["Federal Action Obligation"])
                    for r in read_rows(TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv")
                    if r["Generated Award ID"] == PRIME)
    reports = [_report("S-1", "LOCATOR DATA INC", "100.00", 1),
               _report("S-1", "LOCATOR DATA INC", str(obligated), 2),  # re-filed, counted
               _report("S-2", "FIELD AGENTS LLC", "0.01", 2)]
    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"), reports)
    ingest(store, [path], progress=False)
    subs_fig = next(f for f in build_report(store.connect(), "ICE", 2026, charts=False).figures
              if f.id == "F9")
    counted = _counted(read_rows(path))
    assert [(r["prime_award_piid"], r["subaward_amount"], r["subawards"], r["refiled"])
            for r in subs_fig.rows] == [("70CDCR26FR0000024", sum(
                (Decimal(r["subaward_amount"]) for r in counted), Decimal("0")), 2, 1)]
    assert subs_fig.rows[0]["prime_obligated"] == obligated
    assert subs_fig.rows[0]["exceeds_prime_obligations"]
    assert any("exceed the prime's obligations" in n and "70CDCR26FR0000024" in n
               for n in subs_fig.notes)


def test_watch_reports_new_subaward_reports_in_every_format(tmp_path: Path,
                                                            store: Store) -> None:
    """A report not seen at the previous check is an event (a new subaward, or a re-filing
    of one); a report a newer download repeats is not. JSON, Markdown, the table and the
    Atom feed all carry them."""
    import json
    import subprocess
    import sys
    import xml.etree.ElementTree as ET

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                               str(store.root), *args], capture_output=True, text=True,
                              timeout=180)

    columns = official_columns("subaward_contracts")
    first = [_report("W-1", "LOCATOR DATA INC", "100.00", 1),
             _report("W-2", "FIELD AGENTS LLC", "20.00", 1)]
    second = [first[0], _report("W-1", "LOCATOR DATA INC", "130.00", 2),
              _report("W-3", "NEW SUB LLC", "7.50", 2)]
    assert cli("watch", "add", "ice", "--agency", "ICE").returncode == 0
    ingest(store, [write_csv(tmp_path / "Contracts_Subawards_2026-02-01.csv", columns, first)],
           progress=False)
    r = cli("watch", "check", "ice", "--format", "json")
    assert r.returncode == 0, r.stderr
    events = json.loads(r.stdout)[0]["new_subaward_reports"]
    assert sorted((e["subaward_number"], e["kind"], Decimal(str(e["subaward_amount"])))
                  for e in events) == [("W-1", "new subaward", Decimal("100.00")),
                                       ("W-2", "new subaward", Decimal("20.00"))]
    ingest(store, [write_csv(tmp_path / "Contracts_Subawards_2026-03-01.csv", columns, second)],
           progress=False)
    seen = {(x["subaward_number"], x["subaward_sam_report_id"]) for x in first}
    expected = {(x["subaward_number"], x["subaward_amount"]) for x in second
                if (x["subaward_number"], x["subaward_sam_report_id"]) not in seen}
    finding = watch.check(store, "ice", update=False)
    assert {(e["subaward_number"], str(e["subaward_amount"]))
            for e in finding.new_subaward_reports} == expected
    assert {e["subaward_number"]: e["kind"] for e in finding.new_subaward_reports} == {
        "W-1": "re-filed subaward", "W-3": "new subaward"}
    assert finding.counts()["new_subaward_reports"] == 2
    assert "2 new subaward reports" in finding.headline()
    md = watch.to_markdown(finding)
    assert "### New subaward reports (below the prime, never added to it) (2)" in md
    assert "NEW SUB LLC" in md and "$130.00" in md
    table = cli("watch", "check", "ice")
    assert table.returncode == 0, table.stderr
    assert "New subaward reports" in table.stdout + table.stderr
    assert "NEW SUB LLC" in table.stdout
    feed = ET.parse(store.root / "watches" / "ice" / "feed.atom").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    newest = feed.findall("a:entry", ns)[0]
    assert "2 new subaward reports" in newest.find("a:title", ns).text
    assert "NEW SUB LLC" in newest.find("a:content", ns).text
    again = cli("watch", "check", "ice", "--format", "json")  # nothing new the 2nd time
    assert json.loads(again.stdout)[0]["new_subaward_reports"] == []


def test_ftm_export_carries_subawards_from_prime_recipient_to_subrecipient(
        tmp_path: Path, store: Store) -> None:
    import io
    import json

    from contractwatch.export import export_ftm

    reports = [_report("F-1", "LOCATOR DATA INC", "100.00", 1, uei="AAAABBBBCCCC"),
               _report("F-1", "LOCATOR DATA INC", "160.00", 2, uei="AAAABBBBCCCC"),
               _report("F-2", "DOE, JANE", "40.00", 2)]
    reports[2]["subawardee_business_types"] = "Individual"
    path = write_csv(tmp_path / "Contracts_Subawards_2026-04-01.csv",
                     official_columns("subaward_contracts"), reports)
    ingest(store, [path], progress=False)
    out = io.StringIO()
    rep = export_ftm(store.connect(), out, Filters(agency="ICE", fy=2026))
    entities = [json.loads(line) for line in out.getvalue().splitlines()]
    by_id = {e["id"]: e for e in entities}
    subs = [e for e in entities if e["schema"] == "Contract"
            and e["properties"].get("name", [""])[0].startswith("F-")]
    assert len(subs) == 2
    prime_award = next(e for e in entities if e["schema"] == "ContractAward"
                       and e["properties"].get("recordId") == [PRIME])
    prime_supplier = prime_award["properties"]["supplier"][0]
    assert all(s["properties"]["authority"] == [prime_supplier] for s in subs)
    sub_awards = {by_id[e["properties"]["contract"][0]]["properties"]["name"][0]: e
                  for e in entities if e["schema"] == "ContractAward"
                  and e["properties"]["contract"][0] in {s["id"] for s in subs}}
    counted = {r["subaward_number"]: r["subaward_amount"] for r in _counted(read_rows(path))}
    assert {k: Decimal(v["properties"]["amount"][0]) for k, v in sub_awards.items()} == {
        k: Decimal(v) for k, v in counted.items()}
    person = by_id[sub_awards["F-2"]["properties"]["supplier"][0]]
    assert person["schema"] == "LegalEntity" and set(person["properties"]) == {"name"}
    assert person["properties"]["name"] == ["DOE, JANE"]
    assert not any(e["schema"] == "Person" for e in entities)
    company = by_id[sub_awards["F-1"]["properties"]["supplier"][0]]
    assert company["properties"]["uniqueEntityId"] == ["AAAABBBBCCCC"]
    assert any("never matched" in n for n in rep.notes)
