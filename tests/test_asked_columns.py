"""`--columns` on top, search and award: any canonical or source column, on real files.

The store holds the real samples of tests/data/real (today's layout, every source column kept)
and a real API export (which lacks the competition fields and every source column). Expected
figures are plain csv sums over the files' rows.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

import contractwatch as cw
from contractwatch.analyze import Filters, award, search, top
from contractwatch.asked_columns import NOT_IN_SOURCE
from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import ROOT, TRANSACTIONS
from tests.plain import fiscal_year, read_rows

REAL = ROOT / "tests" / "data" / "real"
FULL = REAL / "contracts_full" / "FY2026_012_Contracts_Full_20260909_1.csv"
LMT = REAL / "contracts_prime_transactions" / "usaspending_transactions_lmt.csv"
EXPORT = TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("asked-columns"))
    ingest(s, [FULL, LMT, EXPORT], progress=False)
    return s


def today_rows() -> list[dict[str, str]]:
    return read_rows(FULL) + read_rows(LMT)


def export_total() -> Decimal:
    return sum((Decimal(r["Federal Action Obligation"]) for r in read_rows(EXPORT)),
               Decimal("0"))


def plain_by(rows: list[dict[str, str]], column: str) -> dict[str | None, Decimal]:
    totals: dict[str | None, Decimal] = defaultdict(Decimal)
    for r in rows:
        totals[r[column] or None] += Decimal(r["federal_action_obligation"])
    return dict(totals)


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store.root),
                           *args], capture_output=True, text=True, timeout=120)


def test_top_splits_money_by_a_canonical_column(store: Store) -> None:
    result = top(store.connect(), None, Filters(fy=2026), limit=0, columns="extent_competed")
    got = {r["extent_competed"]: r["federal_action_obligation"] for r in result.rows}
    fy2026 = [r for r in today_rows() if fiscal_year(r["action_date"]) == 2026]
    assert got == plain_by(fy2026, "extent_competed")
    assert result.columns[0] == "extent_competed"


def test_top_by_a_source_column_keeps_the_money_of_files_without_it(store: Store) -> None:
    """The API export has no solicitation id: its money is under 'not in source', said."""
    result = top(store.connect(), None, Filters(), limit=0, columns="solicitation_identifier")
    got = {r["solicitation_identifier"]: r["federal_action_obligation"] for r in result.rows}
    expected = plain_by(today_rows(), "solicitation_identifier")
    expected[NOT_IN_SOURCE] = export_total()
    assert got == expected
    assert result.meta["total_obligations"] == sum(expected.values())
    said = [c for c in result.caveats if c.startswith("solicitation_identifier:")]
    assert len(said) == 1 and EXPORT.name in said[0] and NOT_IN_SOURCE in said[0]
    assert FULL.name not in said[0]


def test_top_groups_by_by_and_columns(store: Store) -> None:
    result = top(store.connect(), "agency", Filters(fy=2026), limit=0,
                 columns=["number_of_offers_received"])
    got = {(r["awarding_sub_agency_code"], r["number_of_offers_received"]):
           r["federal_action_obligation"] for r in result.rows}
    expected: dict[tuple[str, str | None], Decimal] = defaultdict(Decimal)
    for r in today_rows():
        expected[(r["awarding_sub_agency_code"], r["number_of_offers_received"] or None)] += \
            Decimal(r["federal_action_obligation"])
    assert got == dict(expected)


def test_award_shows_each_actions_value_and_says_when_they_differ(store: Store) -> None:
    rows = [r for r in read_rows(FULL) if r["award_id_piid"] == "12024B26M0522"]
    result = award(store.connect(), "12024B26M0522",
                   columns="funding_office_name,extent_competed")
    by_line = {r["source_row"]: r for r in result.rows}
    # source_row is the 1-based data record number in the file
    lines = [i + 1 for i, r in enumerate(read_rows(FULL)) if r["award_id_piid"] ==
             "12024B26M0522"]
    assert [by_line[n]["funding_office_name"] for n in lines] == \
        [r["funding_office_name"] for r in rows]
    latest = max(rows, key=lambda r: (r["action_date"], r["modification_number"]))
    assert result.facts["funding_office_name"] == latest["funding_office_name"]
    differ = [c for c in result.caveats if c.startswith("funding_office_name differs")]
    assert len(differ) == 1 and "2 values" in differ[0]
    assert not any(c.startswith("extent_competed differs") for c in result.caveats)


def test_search_shows_the_latest_value_per_award_and_names_awards_that_differ(
        store: Store) -> None:
    result = search(store.connect(), "NOMADIC", Filters(),
                    columns="funding_office_name,solicitation_identifier")
    (row,) = result.rows
    rows = [r for r in read_rows(FULL) if r["award_id_piid"] == "12024B26M0522"]
    latest = max(rows, key=lambda r: (r["action_date"], r["modification_number"]))
    assert row["funding_office_name"] == latest["funding_office_name"]
    assert row["solicitation_identifier"] is None  # blank in the file
    assert "_loads" not in row and not any(k.startswith("_values") for k in row)
    assert any(c.startswith("funding_office_name: 1 of the awards shown") and
               "12024B26M0522" in c for c in result.caveats)


def test_unknown_column_is_one_line_naming_near_ones(store: Store) -> None:
    proc = cli(store, "top", "--columns", "solicitation_id")
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "solicitation_id" in line and "solicitation_identifier" in line


def test_cli_python_api_and_library_agree(store: Store) -> None:
    proc = cli(store, "top", "--fy", "2026", "--columns",
               "extent_competed,solicitation_identifier", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout, parse_float=Decimal)
    from_cli = {(r["extent_competed"], r["solicitation_identifier"]):
                r["federal_action_obligation"] for r in payload}
    api = cw.open(store.root).top(fy=2026, columns=["extent_competed",
                                                    "solicitation_identifier"])
    from_api = {(r["extent_competed"], r["solicitation_identifier"]):
                r["federal_action_obligation"] for r in api.rows}
    assert from_cli == from_api
    fy2026 = [r for r in today_rows() if fiscal_year(r["action_date"]) == 2026]
    assert sum(from_api.values()) == sum(plain_by(fy2026, "extent_competed").values())
    found = cli(store, "search", "NOMADIC", "--columns", "funding_office_name", "--format",
                "csv")
    assert found.returncode == 0, found.stderr
    (row,) = list(csv.DictReader(found.stdout.splitlines()))
    assert row["funding_office_name"] == "IDAHO PANHANDLE NATIONAL FOREST"


def test_a_source_column_named_like_a_canonical_one_is_reached_with_source_suffix(
        tmp_path: Path) -> None:
    """The 2018 download's own fiscal_year (not the federal fiscal year of action_date)."""
    s = Store(tmp_path / "s")
    fpds = ROOT.parent / "shared" / "data" / "fpds_full" / "ice_fy2018.csv"
    ingest(s, [fpds], progress=False)
    result = top(s.connect(), None, Filters(), limit=0, columns="fiscal_year_source")
    expected: dict[str | None, Decimal] = defaultdict(Decimal)
    for r in read_rows(fpds):
        expected[r["fiscal_year"] or None] += Decimal(r["federal_action_obligation"] or "0")
    assert {r["fiscal_year_source"]: r["federal_action_obligation"] for r in result.rows} == \
        dict(expected)
