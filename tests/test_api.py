"""The Python API (`import contractwatch as cw`): the same answers as the CLI, for notebooks.

Expected figures are plain csv-module sums over the source rows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest

import contractwatch as cw
from contractwatch.store import Store
from tests.conftest import ROOT, TRANSACTIONS
from tests.plain import fiscal_year, read_rows

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"


def ice_2026() -> list[dict[str, str]]:
    return [r for r in read_rows(FY2026) if r["Agency"] == "ICE"
            and fiscal_year(r["Action Date"]) == 2026]


def test_import_is_cheap() -> None:
    code = ("import sys, contractwatch as cw; cw.open; "
            "print(sorted(m for m in ('ibis', 'pandas', 'pyarrow', 'duckdb', 'rich', 'typing')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr


def test_top_by_family_to_pandas_arrow_and_html(transactions_store: Store) -> None:
    store = cw.open(transactions_store.root)
    result = store.top(agency="ICE", fy=2026, by="family", limit=0)
    total = sum(Decimal(r["Federal Action Obligation"]) for r in ice_2026())
    df = result.to_pandas()
    assert sum(df["federal_action_obligation"]) == total  # exact Decimals, nothing lost
    assert df["transactions"].sum() == len(ice_2026())
    table = result.to_arrow()
    assert table.column_names == result.columns
    assert str(table.schema.field("federal_action_obligation").type).startswith("decimal")
    assert result.facts["scope_total_obligations"] == total
    page = result._repr_html_()
    assert "<th title='federal_action_obligation'>obligations</th>" in page
    assert f"${total:,.2f}" in page and "note: family view" in page
    assert "SELECT" in result.sql.upper()


def test_to_polars_is_optional(transactions_store: Store, monkeypatch) -> None:
    result = cw.open(transactions_store.root).trend(agency="ICE")
    monkeypatch.setitem(sys.modules, "polars", None)  # as if Polars were not installed
    with pytest.raises(ImportError, match="pip install polars"):
        result.to_polars()


def test_the_cli_prints_what_the_api_returns(transactions_store: Store) -> None:
    store = cw.open(transactions_store.root)
    api = store.search("skip tracing", agency="ICE", fy="FY2026", limit=0)
    out = subprocess.run([sys.executable, "-m", "contractwatch", "--store",
                          str(transactions_store.root), "search", "skip tracing", "--agency",
                          "ICE", "--fy", "2026", "-n", "0", "-f", "json"],
                         capture_output=True, text=True, timeout=300)
    cli = json.loads(out.stdout, parse_float=Decimal)
    assert [r["award_key"] for r in cli] == [r["award_key"] for r in api.rows]
    assert [r["federal_action_obligation"] for r in cli] == [
        r["federal_action_obligation"] for r in api.rows]
    assert api.facts["total_awards"] == len(api.rows) == 18


def test_award_company_explain_status(transactions_store: Store) -> None:
    store = cw.open(transactions_store.root)
    rows = [r for f in TRANSACTIONS.glob("*.csv") for r in read_rows(f)
            if r["Award ID"] == "70CDCR26FR0000024"]
    award = store.award("70CDCR26FR0000024")
    assert award.facts["award_total_obligations"] == sum(
        Decimal(r["Federal Action Obligation"]) for r in rows)
    assert award.facts["award_ceiling"] is None  # unknown in the API export, never zero
    company = store.company("capgemini")
    assert company.facts["family_name"].startswith("Capgemini")
    assert set(company.parts) == {"members", "largest_awards", "brands_resold",
                                  "received_as_subcontractor"}
    assert len(company.parts["largest_awards"].to_pandas()) > 0
    explained = store.explain("DELL MARKETING L.P.")
    assert explained.rows[0]["family_name"].startswith("Dell")
    status = store.status()
    assert status.facts["rows_current"] == sum(len(read_rows(f))
                                               for f in TRANSACTIONS.glob("*.csv"))
    assert repr(status).startswith("<Result 'Store ")
