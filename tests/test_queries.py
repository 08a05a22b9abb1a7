"""The reporter's first questions, through the library and through the CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from contractwatch.agencies import UnknownAgency, resolve_agency
from contractwatch.analyze import Filters, award, search, trend
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
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
                                  "Immigration and Customs Enforcement"])
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
