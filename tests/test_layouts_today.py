"""Today's download layouts: the 297-column transactions (timestamps with a zone), the
monthly delta (C and D rows), award summaries (award facts, never summed) and the subaward
file of a `download/transactions` archive (loaded beside the prime rows).

Fixtures are built from the official column lists with real ICE rows
(tests/official_layouts.py) where no real public sample exists; expected figures are plain
csv-module sums over the rows written.
"""

from __future__ import annotations

import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from contractwatch.ingest import ingest
from contractwatch.sources.base import SourceError
from contractwatch.store import Store
from tests.official_layouts import official_columns, todays_rows, write_csv
from tests.plain import fiscal_year

TXN = "transaction_contracts"


def _totals(rows: list[dict[str, str]]) -> dict[tuple[str, int], Decimal]:
    out: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r["awarding_sub_agency_code"], fiscal_year(r["action_date"]))] += Decimal(
            r["federal_action_obligation"])
    return dict(out)


def _store_totals(store: Store) -> dict[tuple[str, int], Decimal]:
    catalog = store.connect()
    t = catalog.transactions()
    expr = t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        total=t.federal_action_obligation.sum())
    return {(r["awarding_sub_agency_code"], r["fiscal_year"]): r["total"]
            for r in catalog.execute_arrow(expr).to_pylist()}


def test_todays_layout_loads_every_row_and_keeps_every_column(tmp_path: Path) -> None:
    rows = todays_rows(400)
    path = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18_H10M01S02_1.csv",
                     official_columns(TXN), rows)
    store = Store(tmp_path / "store")
    report = ingest(store, [path], progress=False)
    load = report.loads[0]
    assert (load.rows_read, load.rows_kept, load.rows_rejected) == (400, 400, 0)
    assert _store_totals(store) == _totals(rows)
    # the keys are the file's own
    catalog = store.connect()
    stored = catalog.execute_arrow(catalog.transactions().select(
        "source_row", "contract_award_unique_key", "contract_transaction_unique_key",
        "last_modified_date")).to_pylist()
    by_row = {r["source_row"]: r for r in stored}
    for n, row in enumerate(rows, start=1):
        assert by_row[n]["contract_award_unique_key"] == row["contract_award_unique_key"]
        assert by_row[n]["contract_transaction_unique_key"] == row[
            "contract_transaction_unique_key"]
        # a zone never moves the day
        assert str(by_row[n]["last_modified_date"]) == row["last_modified_date"][:10]
    # every source column is kept: the canonical ones typed, the others as the file gave them
    kept = set(load.source_columns)
    assert "solicitation_identifier" in kept and "cage_code" in kept
    assert "federal_action_obligation" not in kept
    files = str(store.root / "loads" / load.load_id / "source_columns.parquet")
    con = duckdb.connect()
    got = dict(con.execute(f"SELECT source_row, solicitation_identifier FROM '{files}'")
               .fetchall())
    assert {n: got[n] for n in got} == {
        n: (row["solicitation_identifier"] or None) for n, row in enumerate(rows, start=1)}
    # …and reachable by name in the DuckDB catalog, beside the canonical columns
    cat = duckdb.connect(str(store.root / "catalog.duckdb"), read_only=True)
    n, offers = cat.execute(
        "SELECT count(*), count(*) FILTER (WHERE number_of_offers_received IS NOT NULL) "
        "FROM transactions_wide WHERE cage_code IS NOT NULL").fetchall()[0]
    assert n == sum(1 for r in rows if r["cage_code"])
    assert offers <= n


@pytest.mark.parametrize("stamp, day", [
    ("2025-06-17 09:31:45+00", "2025-06-17"),
    ("2025-06-17T23:59:59-05:00", "2025-06-17"),
    ("2025-06-17 00:00:00.123456+00", "2025-06-17"),
    ("2025-06-17T09:31:45Z", "2025-06-17"),
    ("2025-06-17 09:31", "2025-06-17"),
])
def test_every_timestamp_form_keeps_its_day(tmp_path: Path, stamp: str, day: str) -> None:
    rows = todays_rows(3)
    for r in rows:
        r["last_modified_date"] = stamp
    path = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18.csv",
                     official_columns(TXN), rows)
    store = Store(tmp_path / "store")
    ingest(store, [path], progress=False)
    catalog = store.connect()
    days = {str(d) for d in catalog.execute_arrow(
        catalog.transactions().select("last_modified_date")).column(0).to_pylist()}
    assert days == {day}


@pytest.mark.parametrize("bad", ["2025-09-30 99:99:99", "2025-02-30 10:00:00+00",
                                 "2025-09-30 24:00:00"])
def test_an_impossible_timestamp_is_refused_with_its_line(tmp_path: Path, bad: str) -> None:
    rows = todays_rows(5)
    rows[3]["last_modified_date"] = bad
    path = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18.csv",
                     official_columns(TXN), rows)
    store = Store(tmp_path / "store")
    with pytest.raises(SourceError) as err:
        ingest(store, [path], progress=False)
    assert err.value.line == 5 and "last_modified_date" in err.value.problem
    assert not store.exists()


def test_skipping_every_bad_row_says_so(tmp_path: Path) -> None:
    rows = todays_rows(2)
    for r in rows:
        r["action_date"] = "2025-02-30"
    path = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18.csv",
                     official_columns(TXN), rows)
    report = ingest(Store(tmp_path / "store"), [path], progress=False, skip_bad_rows=True)
    warnings = report.loads[0].warnings
    assert not any("header only" in w for w in warnings)
    assert any("every row was set aside" in w for w in warnings)


def _delta(rows: list[dict[str, str]]) -> list[str]:
    return ["correction_delete_ind", "agency_id", *official_columns(TXN)]


def test_delta_replaces_deletes_and_adds_and_withdraws_nothing_else(tmp_path: Path) -> None:
    full = todays_rows(60)
    first = write_csv(tmp_path / "FY2017_070_Contracts_Full_20250608_1.csv",
                      official_columns(TXN), full)
    corrected = dict(full[10], correction_delete_ind="C", agency_id="7012",
                     federal_action_obligation="1234.56")
    gone = full[20]
    deleted = {c: "" for c in _delta(full)}
    deleted.update(correction_delete_ind="D", agency_id=gone["awarding_sub_agency_code"],
                   parent_award_agency_id=gone["parent_award_agency_id"],
                   award_id_piid=gone["award_id_piid"],
                   modification_number=gone["modification_number"],
                   parent_award_id_piid=gone["parent_award_id_piid"],
                   transaction_number=gone["transaction_number"],
                   contract_transaction_unique_key=gone["contract_transaction_unique_key"],
                   last_modified_date="2025-07-01")
    new = dict(todays_rows(61)[60], correction_delete_ind="", agency_id="7012")
    delta = write_csv(tmp_path / "FY(All)_070_Contracts_Delta_20250708.csv", _delta(full),
                      [corrected, deleted, new])
    store = Store(tmp_path / "store")
    ingest(store, [first], progress=False)
    report = ingest(store, [delta], progress=False)
    load = report.loads[0]
    assert load.deletes == 1 and not load.complete
    assert any("1 transaction deleted" in w and "not in the store" not in w
               for w in load.warnings)
    expected = [r for r in full if r is not gone and r is not full[10]] + [corrected, new]
    assert _store_totals(store) == _totals(expected)
    catalog = store.connect()
    keys = set(catalog.execute_arrow(catalog.transactions().select(
        "contract_transaction_unique_key")).column(0).to_pylist())
    assert gone["contract_transaction_unique_key"] not in keys
    assert len(keys) == 60
    # a later full snapshot that still holds the deleted row brings it back (newest wins)
    again = write_csv(tmp_path / "FY2017_070_Contracts_Full_20250808_1.csv",
                      official_columns(TXN), full)
    ingest(store, [again], progress=False)
    assert _store_totals(store) == _totals(full)


def test_award_summaries_are_award_facts_never_obligations(tmp_path: Path) -> None:
    from contractwatch.analyze import award

    rows = todays_rows(80)
    txn = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18.csv",
                    official_columns(TXN), rows)
    target = next(r for r in rows if r["award_or_idv_flag"] != "IDV" and not any(
        o["parent_award_id_piid"] == r["award_id_piid"] for o in rows))
    summary = {c: "" for c in official_columns("award_contracts")}
    summary.update({k: target.get(k, "") for k in summary if k in target})
    summary.update(total_obligated_amount="999999999.99",
                   potential_total_value_of_award="365800000.00",
                   current_total_value_of_award="4800000.00",
                   solicitation_identifier="70CDCR25R00000001", idv_type="",
                   last_modified_date="2025-06-17 09:31:45+00")
    awards = write_csv(tmp_path / "Contracts_PrimeAwardSummaries_2025-06-18.csv",
                       official_columns("award_contracts"), [summary])
    store = Store(tmp_path / "store")
    report = ingest(store, [txn, awards], progress=False)
    statuses = {Path(r.source_file).name: r.status for r in report.results}
    assert statuses == {txn.name: "loaded", awards.name: "loaded"}
    assert _store_totals(store) == _totals(rows)  # the summary's total is not added
    catalog = store.connect()
    facts = catalog.execute_arrow(catalog.award_details()).to_pylist()
    assert len(facts) == 1
    fact = facts[0]
    assert fact["contract_award_unique_key"] == target["contract_award_unique_key"]
    assert fact["base_and_all_options"] == Decimal("365800000.00")
    assert fact["solicitation_identifier"] == "70CDCR25R00000001"
    assert fact["source"] == "usaspending-award-summaries"
    # every source column kept under its own name
    assert fact["total_obligated_amount"] == "999999999.99"
    # loading the same file again adds nothing
    again = ingest(store, [awards], progress=False)
    assert again.results[0].status == "already-loaded"
    assert award(store.connect(), target["award_id_piid"]).meta["detail"][
        "base_and_all_options"] == Decimal("365800000.00")


def test_a_download_archive_with_a_subaward_file_loads_its_transactions(tmp_path: Path) -> None:
    rows = todays_rows(30)
    prime = write_csv(tmp_path / "Contracts_PrimeTransactions_2025-06-18_H10M01S02_1.csv",
                      official_columns(TXN), rows)
    subs = write_csv(tmp_path / "Contracts_Subawards_2025-06-18_H10M01S02_1.csv",
                     official_columns("subaward_contracts"), [])
    archive = tmp_path / "ICE_2025-06-18.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(prime, prime.name)
        zf.write(subs, subs.name)
    store = Store(tmp_path / "store")
    report = ingest(store, [archive], progress=False)
    assert [r.status for r in report.results] == ["loaded", "loaded"]
    assert "0 subaward reports" in report.results[1].message
    assert _store_totals(store) == _totals(rows)
    assert len(store.manifest()["subawards"]) == 1


def test_the_2018_files_own_fiscal_year_is_kept_beside_the_computed_one(fpds_store: Store
                                                                         ) -> None:
    from tests.conftest import FPDS
    from tests.plain import read_rows

    loads = fpds_store.loads()
    assert all(any("fiscal_year_source" in w for w in ld.warnings) for ld in loads)
    con = duckdb.connect(str(fpds_store.root / "catalog.duckdb"), read_only=True)
    rows, same = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE CAST(fiscal_year_source AS BIGINT) = "
        "fiscal_year) FROM transactions_wide").fetchall()[0]
    expected = sum(len(read_rows(p)) for p in FPDS.glob("ice_fy*.csv"))
    assert rows == same == expected


def test_a_2018_award_summary_gets_usaspendings_key(tmp_path: Path) -> None:
    from tests.official_layouts import OFFICIAL

    columns = (OFFICIAL / "history" / "award_contracts_2018-08-17.txt").read_text().split()
    row = {c: "" for c in columns} | {
        "award_id_piid": "W56HZV21F0165", "parent_award_id": "W56HZV17D0034",
        "parent_award_agency_id": "9700", "awarding_agency_code": "097",
        "awarding_sub_agency_code": "2100", "award_or_idv_flag": "AWARD",
        "obligated_amount": "10.00", "potential_total_value_of_award": "20.00"}
    path = write_csv(tmp_path / "Contracts_PrimeAwardSummaries_2018-08-01.csv", columns, [row])
    store = Store(tmp_path / "store")
    ingest(store, [path], progress=False)
    catalog = store.connect()
    fact = catalog.execute_arrow(catalog.award_details()).to_pylist()[0]
    assert fact["contract_award_unique_key"] == "CONT_AWD_W56HZV21F0165_9700_W56HZV17D0034_9700"
    assert fact["total_obligation"] == Decimal("10.00")


def test_exports_carry_every_source_column_and_filter_on_them(tmp_path: Path) -> None:
    """The real custom download (tests/data/real): the CSV export holds every column of the
    file, and --where selects rows by a column the canonical schema does not have."""
    import csv
    import subprocess
    import sys

    from tests.plain import read_rows

    real = (Path(__file__).parent / "data" / "real" / "contracts_prime_transactions" /
            "usaspending_transactions_lmt.csv")
    source = read_rows(real)
    store = tmp_path / "store"
    run = [sys.executable, "-m", "contractwatch", "--store", str(store)]
    subprocess.run([*run, "ingest", str(real), "--as-of", "2026-06-15"], check=True,
                   capture_output=True)
    out = tmp_path / "out"
    done = subprocess.run([*run, "export", "--format", "csv", "-o", str(out), "--table",
                           "transactions", "--where", "extent_competed_code=A"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with open(out / "transactions.csv", newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    wanted = [r for r in source if r["extent_competed_code"] == "A"]
    assert 0 < len(got) == len(wanted) < len(source)
    assert set(source[0]) <= set(got[0])  # every column of the file
    by_key = {r["contract_transaction_unique_key"]: r for r in got}
    for r in wanted:
        row = by_key[r["contract_transaction_unique_key"]]
        for column in ("solicitation_identifier", "type_of_set_aside", "sole_proprietorship",
                       "number_of_offers_received"):
            assert row[column] == r[column]
    bad = subprocess.run([*run, "export", "--format", "csv", "-o", str(tmp_path / "x"),
                          "--where", "no_such_column=1"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no_such_column" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
