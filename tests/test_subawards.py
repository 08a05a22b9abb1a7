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

from contractwatch.analyze import Filters, award, top
from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
from tests.official_layouts import official_columns, write_csv
from tests.plain import read_rows

PRIME = "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012"  # Capgemini's order


def _report(number: str, who: str, amount: str, month: int, prime: str = PRIME,
            uei: str = "") -> dict[str, str]:
    row = {c: "" for c in official_columns("subaward_contracts")}
    row.update(prime_award_unique_key=prime, prime_award_piid=prime.split("_")[2],
               prime_award_awarding_agency_code="070",
               prime_award_awarding_sub_agency_code="7012",
               prime_awardee_name="CAPGEMINI GOVERNMENT SOLUTIONS LLC",
               subaward_sam_report_id=f"{number}-{month}", subaward_sam_report_year="2026",
               subaward_sam_report_month=str(month),
               subaward_sam_report_last_modified_date=f"2026-{month:02d}-15 10:00:00+00",
               subaward_number=number, subaward_amount=amount,
               subaward_action_date="2026-01-10", subawardee_name=who, subawardee_uei=uei)
    return row


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
