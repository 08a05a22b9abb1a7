"""Real USAspending files (tests/data/real) and the official column lists (tests/data/official).

Expected figures come from the csv module and Decimal over the sample rows; the store's figures
must equal them exactly. Layouts with no real public sample are checked from the official lists;
the few the project does not read are strict xfails naming what is missing.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from contractwatch.ingest import ingest
from contractwatch.sources import detect_layout
from contractwatch.sources.base import Context
from contractwatch.store import Store
from tests.conftest import FPDS, ROOT
from tests.plain import fiscal_year

REAL = ROOT / "tests" / "data" / "real"
OFFICIAL = ROOT / "tests" / "data" / "official"
FULL = REAL / "contracts_full" / "FY2026_012_Contracts_Full_20260909_1.csv"
DELTA = REAL / "contracts_delta" / "FY(All)_012_Contracts_Delta_20260908_1.csv"
LMT = REAL / "contracts_prime_transactions" / "usaspending_transactions_lmt.csv"
TRANSACTION_SAMPLES = [FULL, LMT]
HISTORY = sorted((OFFICIAL / "history").glob("transaction_contracts_*.txt"))

def official(name: str) -> list[str]:
    return (OFFICIAL / name).read_text(encoding="utf-8").split()


def header_of(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def sample_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def live_rows(path: Path) -> list[dict[str, str]]:
    """Rows that are transactions: a delta's D rows withdraw one and carry no money."""
    return [r for r in sample_rows(path) if r.get("correction_delete_ind") != "D"]


def plain_totals(rows: list[dict[str, str]]) -> dict[tuple[str, int], Decimal]:
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for row in rows:
        key = (row["awarding_sub_agency_code"], fiscal_year(row["action_date"]))
        totals[key] += Decimal(row["federal_action_obligation"])
    return dict(totals)


def store_figures(store: Store) -> tuple[dict[tuple[str, int], Decimal], int, set[str]]:
    """Totals per sub-agency x fiscal year, row count and transaction keys, from the store."""
    catalog = store.connect()
    t = catalog.transactions()
    rows = catalog.con.to_pyarrow(t.select(
        "awarding_sub_agency_code", "fiscal_year", "federal_action_obligation",
        "contract_transaction_unique_key")).to_pylist()
    totals: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for r in rows:
        totals[(r["awarding_sub_agency_code"], r["fiscal_year"])] += r["federal_action_obligation"]
    return dict(totals), len(rows), {r["contract_transaction_unique_key"] for r in rows}


def write_variant(src: Path, out: Path, drop: set[str]) -> Path:
    """The real file with some columns removed, rows otherwise as they are."""
    with open(src, newline="", encoding="utf-8") as fh, \
            open(out, "w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(fh)
        fields = [f for f in reader.fieldnames or [] if f not in drop]
        writer = csv.DictWriter(dst, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in reader:
            writer.writerow(row)
    return out


# ---- the samples against the official lists (these hold today) ----

def test_plain_figures_of_the_samples() -> None:
    """What the samples hold, computed with the csv module (the figures quoted in PROVENANCE)."""
    full = sample_rows(FULL)
    assert len(full) == 7
    assert plain_totals(full) == {("12C2", 2026): Decimal("156673.00")}
    assert len({r["contract_transaction_unique_key"] for r in full}) == 7
    assert len({r["contract_award_unique_key"] for r in full}) == 5
    assert sum(r["award_or_idv_flag"] == "IDV" for r in full) == 2
    delta = sample_rows(DELTA)
    assert [r["correction_delete_ind"] for r in delta] == ["", "D", "D", "", "", ""]
    assert plain_totals(live_rows(DELTA)) == {
        ("1204", 2026): Decimal("613317.12"), ("1204", 2023): Decimal("165000.00"),
        ("1204", 2024): Decimal("0.00"), ("1205", 2019): Decimal("0.00")}
    assert len({r["contract_transaction_unique_key"] for r in delta}) == 6
    lmt = sample_rows(LMT)
    assert plain_totals(lmt) == {
        ("5700", 2026): Decimal("501936786.22"), ("2100", 2026): Decimal("9071946.54"),
        ("8000", 2026): Decimal("75000000.00"), ("7014", 2026): Decimal("402125.62"),
        ("7008", 2026): Decimal("1792619.31")}
    assert sum(r["contract_award_unique_key"].split("_")[3] == "9700" for r in lmt) == 3
    assert LMT.read_bytes().count(b"\r\n") == 7  # CRLF line ends, as USAspending writes them


def test_sample_headers_equal_the_official_lists() -> None:
    assert header_of(FULL) == official("transaction_contracts.txt")
    assert header_of(LMT) == official("transaction_contracts.txt")
    assert header_of(DELTA) == official("delta_contracts.txt")
    assert official("delta_contracts.txt")[:2] == ["correction_delete_ind", "agency_id"]
    assert official("delta_contracts.txt")[2:] == official("transaction_contracts.txt")


def test_official_lists_are_well_formed() -> None:
    for path in [*OFFICIAL.glob("*.txt"), *(OFFICIAL / "history").glob("*.txt")]:
        names = official(str(path.relative_to(OFFICIAL)))
        assert names and len(names) == len(set(names)), path.name
    assert len(official("transaction_contracts.txt")) == 297
    assert len(official("award_contracts.txt")) == 286
    assert len(official("subaward_contracts.txt")) == 118


def test_the_2018_list_is_the_shared_2018_download_header() -> None:
    shared = header_of(FPDS / "ice_fy2013.csv")
    assert shared[-1] == "fiscal_year"  # added by the project that published the files
    assert shared[:-1] == official("history/transaction_contracts_2018-08-17.txt")


def canonical_fields(header: list[str]) -> set[str]:
    layout = detect_layout(header, "official list")
    return {name for name, f in layout.fields(header, Context(file="official list")).items()
            if f.source is not None}


def test_every_official_transaction_layout_is_recognised_and_fully_mapped() -> None:
    """A column renamed upstream shows here: the adapter would stop finding it in today's list."""
    lists = {p.stem.rsplit("_", 1)[1]: official(f"history/{p.name}") for p in HISTORY}
    lists["current"] = official("transaction_contracts.txt")
    everything = sorted({c for names in lists.values() for c in names})
    known = canonical_fields(everything)
    missing = {vintage: known - canonical_fields(names) for vintage, names in lists.items()}
    assert missing["current"] == set()
    assert missing["2023-10-30"] == set()
    assert missing["2022-09-14"] == set()
    # before 2022 there was no UEI; the 2018 download carried no keys (they are derived)
    assert missing["2020-08-06"] == {"recipient_uei", "recipient_parent_uei"}
    assert missing["2018-08-17"] == {"recipient_uei", "recipient_parent_uei",
                                     "contract_transaction_unique_key",
                                     "contract_award_unique_key", "usaspending_permalink"}


# ---- loading the samples ----

@pytest.mark.parametrize("path", TRANSACTION_SAMPLES, ids=lambda p: p.parent.name)
def test_transaction_sample_loads_with_plain_totals(tmp_path: Path, path: Path) -> None:
    store = Store(tmp_path / "s")
    report = ingest(store, [path], progress=False)
    rows = sample_rows(path)
    assert report.results[0].load.rows_kept == len(rows)
    totals, count, keys = store_figures(store)
    assert totals == plain_totals(rows)
    assert count == len(rows)
    assert keys == {r["contract_transaction_unique_key"] for r in rows}


def test_full_archive_part_loads_from_the_command_line(tmp_path: Path) -> None:
    store = tmp_path / "s"
    done = subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store),
                           "ingest", str(FULL)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    totals, count, _ = store_figures(Store(store))
    assert totals == plain_totals(sample_rows(FULL)) and count == 7


def wide_catalog(path: Path, tmp_path: Path) -> tuple[list[str], duckdb.DuckDBPyConnection]:
    """Load one sample; return the source columns its load kept and the catalog."""
    store = Store(tmp_path / "s")
    load = ingest(store, [path], progress=False).results[0].load
    return list(load.source_columns), duckdb.connect(
        str(store.root / "catalog.duckdb"), read_only=True)


@pytest.mark.parametrize("path", TRANSACTION_SAMPLES, ids=lambda p: p.parent.name)
def test_every_source_column_of_every_real_row_is_kept(tmp_path: Path, path: Path) -> None:
    """Columns the project does not type are kept as the file gave them."""
    kept, cat = wide_catalog(path, tmp_path)
    assert set(kept) < set(header_of(path))
    assert {"solicitation_identifier", "idv_type", "type_of_set_aside",
            "inherently_governmental_functions", "initial_report_date"} <= set(kept)
    names = ", ".join('"' + c + '"' for c in kept)
    wide = cat.execute(f"SELECT source_row, {names} FROM transactions_wide").fetchall()
    assert {r[0]: list(r[1:]) for r in wide} == {
        n: [row[c] or None for c in kept] for n, row in enumerate(sample_rows(path), start=1)}


def test_every_source_column_is_queryable_by_its_own_name(tmp_path: Path) -> None:
    _, cat = wide_catalog(FULL, tmp_path)
    queryable = {r[0] for r in cat.execute("DESCRIBE transactions_wide").fetchall()}
    assert set(header_of(FULL)) - queryable == set()


def test_delta_file_loads_its_rows_and_withdraws_its_deletions(tmp_path: Path) -> None:
    """Over a full file: the delta adds its rows, drops its D keys, and leaves alone what it
    does not name (the USDA full part shares no key with it)."""
    store = Store(tmp_path / "s")
    ingest(store, [FULL], progress=False)
    ingest(store, [DELTA], progress=False)
    full, live = sample_rows(FULL), live_rows(DELTA)
    totals, count, keys = store_figures(store)
    assert totals == plain_totals(full + live)
    assert count == len(full) + len(live) == 11
    deleted = {r["contract_transaction_unique_key"] for r in sample_rows(DELTA)} - {
        r["contract_transaction_unique_key"] for r in live}
    assert len(deleted) == 2 and not keys & deleted


KEY_COLUMNS = {"contract_transaction_unique_key", "contract_award_unique_key",
               "usaspending_permalink"}  # the permalink repeats the award key


def derived_and_file_keys(path: Path, tmp_path: Path) -> tuple[dict, dict]:
    """Load a sample without its key columns; return (derived, file) keys per row."""
    variant = write_variant(path, tmp_path / "Contracts_PrimeTransactions_2026-09-09_1.csv",
                            KEY_COLUMNS)
    store = Store(tmp_path / "s")
    ingest(store, [variant], progress=False)
    catalog = store.connect()
    got = catalog.con.to_pyarrow(catalog.transactions().select(
        "source_row", "contract_transaction_unique_key", "contract_award_unique_key")).to_pylist()
    derived = {r["source_row"]: (r["contract_transaction_unique_key"],
                                 r["contract_award_unique_key"]) for r in got}
    in_file = {n: (r["contract_transaction_unique_key"], r["contract_award_unique_key"])
               for n, r in enumerate(sample_rows(path), start=1)}
    return derived, in_file


@pytest.mark.parametrize("path", TRANSACTION_SAMPLES, ids=lambda p: p.parent.name)
def test_derived_keys_equal_the_files_own_keys(tmp_path: Path, path: Path) -> None:
    """USDA awards, orders and IDVs; Air Force and Army rows (keys carry 9700, not the
    sub-tier 5700/2100) next to NASA, CBP and Coast Guard rows: derived = USAspending's own."""
    derived, in_file = derived_and_file_keys(path, tmp_path)
    assert derived == in_file


# ---- layouts with no public real sample: the official lists stand in ----

def vintages(kind: str) -> list:
    """Today's list and the earlier ones (2018 on)."""
    out: list = [f"{kind}_contracts.txt"]
    for p in sorted((OFFICIAL / "history").glob(f"{kind}_contracts_*.txt")):
        out.append(pytest.param(f"history/{p.name}"))
    return out


AWARD_LISTS = vintages("award")
SUBAWARD_LISTS = vintages("subaward")


@pytest.mark.parametrize("name", AWARD_LISTS)
def test_award_summary_headers_are_recognised_as_award_facts(name: str) -> None:
    """Award summaries hold award totals: never to be read as transactions and summed."""
    layout = detect_layout(official(name), name)
    assert layout.name != "usaspending-prime-transactions"


@pytest.mark.parametrize("name", SUBAWARD_LISTS)
def test_subaward_headers_are_recognised(name: str) -> None:
    detect_layout(official(name), name)


def test_download_zip_with_an_empty_subaward_member_loads_its_transactions(
        tmp_path: Path) -> None:
    """What download/transactions serves: the transactions and a header-only subaward file."""
    archive = tmp_path / "PrimeTransactionsAndSubawards_2026-09-21_H01M47S25022891.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(LMT, "Contracts_PrimeTransactions_2026-09-21_H01M47S35_1.csv")
        zf.writestr("Contracts_Subawards_2026-09-21_H01M48S02_1.csv",
                    ",".join(official("subaward_contracts.txt")) + "\r\n")
    store = Store(tmp_path / "s")
    ingest(store, [archive], progress=False)
    totals, count, _ = store_figures(store)
    assert totals == plain_totals(sample_rows(LMT)) and count == 6
