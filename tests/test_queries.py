"""The reporter's first questions, through the library and through the CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.agencies import UnknownAgency, resolve_agency
from contractwatch.analyze import Filters, award, search, status, top, trend
from contractwatch.ingest import ingest
from contractwatch.store import Store
from tests.conftest import FPDS, SNAPSHOTS, TRANSACTIONS
from tests.plain import fiscal_year, read_rows

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"


def cli(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "contractwatch", "--store", str(store.root), *args],
        capture_output=True, text=True, timeout=120,
    )


def test_capgemini_skip_tracing_award(transactions_store: Store) -> None:
    result = award(transactions_store.connect(), "70CDCR26FR0000024")
    actions = [(r["action_date"], r["modification_number"], r["federal_action_obligation"])
               for r in result.rows]
    assert actions == [
        (date(2025, 12, 18), "0", Decimal("4816782.50")),
        (date(2026, 3, 11), "P00001", Decimal("0.00")),
    ]
    assert [r["running_total"] for r in result.rows] == [Decimal("4816782.50")] * 2
    m = result.meta
    assert m["recipient_names"] == ["CAPGEMINI GOVERNMENT SOLUTIONS LLC"]
    assert m["parent_award_id_piid"] == "70CDCR26D00000015"
    assert m["usaspending_permalink"] == (
        "https://www.usaspending.gov/award/"
        "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012/")
    assert m["ceiling"] is None  # the API export has no ceiling: unknown, not zero


def test_award_by_generated_id_and_unknown_award(transactions_store: Store) -> None:
    catalog = transactions_store.connect()
    by_key = award(catalog, "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012")
    assert len(by_key.rows) == 2
    with pytest.raises(LookupError, match="no award"):
        award(catalog, "NOPE123")


def test_search_skip_tracing_finds_18_awards(transactions_store: Store) -> None:
    rows = [r for r in read_rows(FY2026) if r["Agency"] == "ICE"]
    matching = {r["Award ID"] for r in rows if "SKIP TRACING" in r["Transaction Description"]}
    expected = {a: sum(Decimal(r["Federal Action Obligation"]) for r in rows
                       if r["Award ID"] == a) for a in matching}
    result = search(transactions_store.connect(), "skip tracing",
                    Filters(agency="ICE", fy=2026), limit=0)
    assert len(matching) == 18
    assert result.meta["total_awards"] == 18
    got = {r["award_id_piid"]: r["federal_action_obligation"] for r in result.rows}
    assert got == expected
    amounts = [r["federal_action_obligation"] for r in result.rows]
    assert amounts == sorted(amounts, reverse=True)


def test_trend_for_ice_equals_plain_sums(transactions_store: Store) -> None:
    expected: dict[int, Decimal] = {}
    for path in sorted(TRANSACTIONS.glob("*.csv")):
        for r in read_rows(path):
            if r["Agency"] == "ICE":
                fy = fiscal_year(r["Action Date"])
                amount = Decimal(r["Federal Action Obligation"])
                expected[fy] = expected.get(fy, Decimal(0)) + amount
    result = trend(transactions_store.connect(), Filters(agency="7012"))
    assert {r["fiscal_year"]: r["federal_action_obligation"] for r in result.rows} == expected
    assert result.rows[1]["change_from_previous_year"] == expected[2022] - expected[2021]
    assert any("upper bound" in c for c in result.caveats)  # ICE FY2022/2023 truncated blocks


@pytest.mark.parametrize("name", ["ICE", "ice", "7012", "U.S. Immigration and Customs Enforcement",
                                  "Immigration and Customs Enforcement",
                                  "US Immigration and Customs Enforcement"])
def test_agency_names_users_say(name: str) -> None:
    assert resolve_agency(name).code == "7012"


def test_unknown_agency_is_a_clear_error() -> None:
    with pytest.raises(UnknownAgency, match="unknown agency"):
        resolve_agency("Department of Nothing")


def test_cli_top_json_and_csv(transactions_store: Store) -> None:
    plain: dict[str, Decimal] = {}
    for r in read_rows(FY2026):
        if r["Agency"] == "ICE":
            plain[r["Recipient Name"]] = plain.get(r["Recipient Name"], Decimal(0)) + Decimal(
                r["Federal Action Obligation"])
    best = sorted(plain.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    out = cli(transactions_store, "top", "--agency", "ICE", "--fy", "FY2026", "--limit", "5",
              "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout, parse_float=Decimal)
    assert [(d["recipient_name"], d["federal_action_obligation"]) for d in data] == best
    out = cli(transactions_store, "top", "--agency", "ICE", "--fy", "2026", "--limit", "5",
              "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["recipient_name"], Decimal(r["federal_action_obligation"])) for r in rows] == best


def test_cli_search_award_trend_status(transactions_store: Store) -> None:
    out = cli(transactions_store, "search", "skip tracing", "--agency", "ICE", "--fy", "2026",
              "-f", "json", "--limit", "0")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 18
    out = cli(transactions_store, "award", "70CDCR26FR0000024", "-f", "csv")
    assert out.returncode == 0, out.stderr
    assert [r["modification_number"] for r in csv.DictReader(io.StringIO(out.stdout))] == [
        "0", "P00001"]
    out = cli(transactions_store, "award", "70CDCR26FR0000024")
    assert "usaspending.gov/award/CONT_AWD_70CDCR26FR0000024" in out.stderr + out.stdout
    out = cli(transactions_store, "trend", "--agency", "CBP", "-f", "json")
    assert [r["fiscal_year"] for r in json.loads(out.stdout)] == list(range(2021, 2027))
    out = cli(transactions_store, "status", "--loads", "-f", "json")
    assert len(json.loads(out.stdout)) == 6
    out = cli(transactions_store, "top", "--agency", "Nowhere")
    assert out.returncode == 2 and "unknown agency" in out.stderr


def test_show_sql_prints_the_query(transactions_store: Store) -> None:
    out = cli(transactions_store, "top", "--agency", "ICE", "--fy", "2026", "-n", "3",
              "--show-sql", "-f", "json")
    assert out.returncode == 0
    assert "SELECT" in out.stderr and "federal_action_obligation" in out.stderr
    assert json.loads(out.stdout)  # stdout stays pure data


def test_bad_option_value_is_a_usage_error(transactions_store: Store) -> None:
    out = cli(transactions_store, "top", "--limit", "many")
    assert out.returncode == 2
    assert "Invalid value" in out.stderr and "Traceback" not in out.stderr
    for args in (["top", "--limit", "-5"], ["search", "x", "--offset", "-1"]):
        out = cli(transactions_store, *args)
        assert out.returncode == 2, args
        assert "Invalid value" in out.stderr and "Traceback" not in out.stderr


def _fpds_year(row: dict[str, str]) -> int:
    day, month, year = (int(x) for x in row["action_date"].split("/"))
    return year + 1 if month >= 10 else year


@pytest.fixture(scope="module")
def two_layouts_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """ICE in the 2018 download (FY2014 and FY2016) and in an API export (FY2021)."""
    store = Store(tmp_path_factory.mktemp("two-layouts"))
    ingest(store, [FPDS / "ice_fy2014.csv", FPDS / "ice_fy2016.csv",
                   TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"], progress=False)
    return store


def test_top_by_agency_is_one_row_per_agency_however_spelled(two_layouts_store: Store) -> None:
    plain: dict[str, Decimal] = {}
    for path in (FPDS / "ice_fy2014.csv", FPDS / "ice_fy2016.csv"):
        for r in read_rows(path):
            code = r["awarding_sub_agency_code"]
            plain[code] = plain.get(code, Decimal(0)) + Decimal(r["federal_action_obligation"])
    codes = {"ICE": "7012", "CBP": "7014"}
    for r in read_rows(TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"):
        code = codes[r["Agency"]]
        plain[code] = plain.get(code, Decimal(0)) + Decimal(r["Federal Action Obligation"])
    result = top(two_layouts_store.connect(), "agency")
    got = {r["awarding_sub_agency_code"]: r["federal_action_obligation"] for r in result.rows}
    assert got == plain
    assert len(result.rows) == len(plain)  # the capitalised 2018 spelling is no second ICE
    ice = next(r for r in result.rows if r["awarding_sub_agency_code"] == "7012")
    assert ice["awarding_sub_agency_name"] == "U.S. Immigration and Customs Enforcement"
    rows = status(two_layouts_store.connect()).rows
    assert len({(r["awarding_sub_agency_code"], r["fiscal_year"]) for r in rows}) == len(rows)


def test_trend_gives_zero_years_and_no_change_across_a_gap(two_layouts_store: Store) -> None:
    ice = read_rows(FPDS / "ice_fy2014.csv") + read_rows(FPDS / "ice_fy2016.csv")
    api = read_rows(TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv")
    names = {r["recipient_name"] for r in ice} | {r["Recipient Name"] for r in api}
    # a recipient of FY2014 with no row in FY2016 or FY2021, whose name is in no other name
    later = {r["recipient_name"] for r in ice if _fpds_year(r) == 2016}
    name = sorted(n for n in names - later if n and any(
        r["recipient_name"] == n for r in ice) and sum(n.upper() in m.upper()
                                                        for m in names) == 1)[0]
    plain2014 = sum(Decimal(r["federal_action_obligation"]) for r in ice
                    if r["recipient_name"] == name)
    result = trend(two_layouts_store.connect(), Filters(agency="ICE", recipient=name))
    by_year = {r["fiscal_year"]: r for r in result.rows}
    assert sorted(by_year) == [2014, 2016, 2021]  # 2015, 2017–2020: no data loaded
    assert by_year[2014]["federal_action_obligation"] == plain2014
    assert by_year[2016]["federal_action_obligation"] == 0  # loaded, nothing for them
    assert by_year[2016]["transactions"] == 0
    assert by_year[2016]["change_from_previous_year"] is None  # FY2015 is not loaded
    assert by_year[2021]["change_from_previous_year"] is None
    assert any("FY2015, FY2017–FY2020" in c for c in result.caveats)


def test_trend_change_is_against_the_year_before(fpds_store: Store) -> None:
    plain: dict[int, Decimal] = {}
    for path in sorted(FPDS.glob("*.csv")):
        for r in read_rows(path):
            fy = _fpds_year(r)
            plain[fy] = plain.get(fy, Decimal(0)) + Decimal(r["federal_action_obligation"])
    rows = trend(fpds_store.connect(), Filters(agency="ICE")).rows
    assert [(r["fiscal_year"], r["change_from_previous_year"]) for r in rows] == [
        (fy, plain[fy] - plain[fy - 1] if fy - 1 in plain else None) for fy in sorted(plain)]


def test_status_counts_every_load_that_covers_a_block(tmp_path: Path) -> None:
    files = sorted(SNAPSHOTS.glob("FY2026_*.csv"))[:3]
    store = Store(tmp_path / "s")
    ingest(store, files, progress=False)
    holding = sum(any(r["Agency"] == "ICE" and fiscal_year(r["Action Date"]) == 2026
                      for r in read_rows(f)) for f in files)
    row = next(r for r in status(store.connect()).rows
               if (r["awarding_sub_agency_code"], r["fiscal_year"]) == ("7012", 2026))
    assert row["loads_covering"] == holding == 3
    assert row["loads"] == 1  # the newest snapshot's rows are current


def test_json_output_keeps_caveats_on_stderr(transactions_store: Store) -> None:
    # the award has an exact copy of an action in one export: hidden here, counted in totals
    rows = [r for f in sorted(TRANSACTIONS.glob("*.csv")) for r in read_rows(f)
            if r["Award ID"] == "70B03C25F00000004"]
    keep_total = sum(Decimal(r["Federal Action Obligation"]) for r in rows)
    out = cli(transactions_store, "award", "70B03C25F00000004", "-f", "json")
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout, parse_float=Decimal)
    assert len(shown) == len(rows) - 1
    assert f"${keep_total:,.2f}" in " ".join(out.stderr.split())
    out = cli(transactions_store, "top", "--agency", "CBP", "--fy", "2025", "-f", "csv")
    assert out.returncode == 0, out.stderr
    assert list(csv.DictReader(io.StringIO(out.stdout)))
    assert "exact copies" in out.stderr and "note:" not in out.stdout


def test_error_quoting_brackets_keeps_them(tmp_path: Path) -> None:
    src = TRANSACTIONS / "CBP_ICE_FY2021_Contract_Obligations.csv"
    lines = src.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    row[header.index("Federal Action Obligation")] = "[/x]12"  # was a crash of the printer
    bad = tmp_path / "bad [red] file.csv"  # was printed as "bad  file.csv"
    with open(bad, "w", newline="", encoding="utf-8") as fh:
        fh.write(lines[0])
        csv.writer(fh, lineterminator="\n").writerow(row)
    store = Store(tmp_path / "s")
    out = cli(store, "ingest", str(bad))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    message = " ".join(out.stderr.split())
    assert "bad [red] file.csv" in message and "not an amount: [/x]12" in message


def test_a_department_selects_its_components(transactions_store: Store) -> None:
    """DHS is a department: its rows carry the components' codes (ICE, CBP)."""
    plain = sum(Decimal(r["Federal Action Obligation"]) for r in read_rows(FY2026)
                if fiscal_year(r["Action Date"]) == 2026)
    result = top(transactions_store.connect(), "recipient", Filters(agency="DHS", fy=2026),
                 limit=0)
    assert sum(r["federal_action_obligation"] for r in result.rows) == plain
    assert result.meta["total_obligations"] == plain
    assert "all components" in result.title


def test_an_empty_answer_says_what_the_store_holds(transactions_store: Store) -> None:
    out = cli(transactions_store, "top", "--agency", "FBI", "-f", "json")
    assert out.returncode == 0 and json.loads(out.stdout) == []
    message = " ".join(out.stderr.split())
    assert "nothing is loaded for FBI" in message
    assert "ICE (7012) FY2021–FY2026" in message and "CBP (7014) FY2021–FY2026" in message


def test_json_users_learn_the_scope_total_and_match_count(transactions_store: Store) -> None:
    ice = [r for r in read_rows(FY2026) if r["Agency"] == "ICE"
           and fiscal_year(r["Action Date"]) == 2026]
    total = sum(Decimal(r["Federal Action Obligation"]) for r in ice)
    out = cli(transactions_store, "top", "--agency", "ICE", "--fy", "FY 2026", "-n", "3",
              "-f", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout, parse_float=Decimal)
    assert len(data) == 3  # the scope's total is part of the answer, on every row
    assert {d["scope_total_obligations"] for d in data} == {total}
    out = cli(transactions_store, "search", "skip tracing", "--agency", "ICE", "--fy", "2026",
              "-n", "5", "-f", "json")
    data = json.loads(out.stdout)
    assert len(data) == 5 and {d["total_awards"] for d in data} == {18}
    out = cli(transactions_store, "search", "wall", "--min-amount", "nan")
    assert out.returncode == 2 and "not an amount" in out.stderr


def test_filter_text_is_matched_without_surrounding_spaces(transactions_store: Store) -> None:
    catalog = transactions_store.connect()
    padded = trend(catalog, Filters(keyword="  detention ")).rows
    assert padded == trend(catalog, Filters(keyword="detention")).rows
    plain = sum(1 for f in sorted(TRANSACTIONS.glob("*.csv")) for r in read_rows(f)
                if any("DETENTION" in r[c].upper() for c in (
                    "Transaction Description", "Recipient Name", "Product/Service Description",
                    "NAICS Description")))
    assert sum(r["transactions"] for r in padded) == plain
