"""Family and brand views over the real rows: no money lost, doubled or mislabelled."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal

from contractwatch.analyze import Filters, top
from contractwatch.companies import company
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
from tests.plain import fiscal_year, read_rows


def plain_rows(agency: str | None = None, fy: int | None = None) -> list[dict[str, str]]:
    out = []
    for path in sorted(TRANSACTIONS.glob("*.csv")):
        for r in read_rows(path):
            if agency and r["Agency"] != agency:
                continue
            if fy and fiscal_year(r["Action Date"]) != fy:
                continue
            out.append(r)
    return out


def test_families_partition_the_money(transactions_store: Store) -> None:
    rows = plain_rows("ICE", 2026)
    result = top(transactions_store.connect(), "family", Filters(agency="ICE", fy=2026), 0)
    assert sum(r["federal_action_obligation"] for r in result.rows) == sum(
        Decimal(r["Federal Action Obligation"]) for r in rows)
    assert sum(r["transactions"] for r in result.rows) == len(rows)
    assert any("family view" in c for c in result.caveats)


def test_capgemini_family_holds_its_us_subsidiary(transactions_store: Store) -> None:
    result = company(transactions_store.connect(), "Capgemini")
    members = {m["recipient_name"]: m["federal_action_obligation"]
               for m in result.meta["members"]}
    expected = sum(Decimal(r["Federal Action Obligation"]) for r in plain_rows()
                   if r["Recipient Name"] == "CAPGEMINI GOVERNMENT SOLUTIONS LLC")
    assert members["CAPGEMINI GOVERNMENT SOLUTIONS LLC"] == expected
    assert "Capgemini" in result.meta["family_name"]
    assert result.meta["federal_action_obligation"] == sum(members.values())
    piids = {a["award_id_piid"] for a in result.meta["largest_awards"]}
    assert piids  # its largest awards are listed


def test_brand_view_is_labelled_and_found_in_descriptions(transactions_store: Store) -> None:
    result = top(transactions_store.connect(), "brand", Filters(agency="ICE"), 0)
    brands = {r["brand"]: r for r in result.rows}
    assert "Microsoft" in brands
    assert any("not the brand's own prime-recipient total" in c for c in result.caveats)
    # the actions whose descriptions name Microsoft or its products (Azure, Office 365)
    word = re.compile(r"\b(MICROSOFT|AZURE|OFFICE ?365|O365|M365)\b")
    plain = sum(Decimal(r["Federal Action Obligation"]) for r in plain_rows("ICE")
                if word.search(r["Transaction Description"]))
    assert brands["Microsoft"]["federal_action_obligation"] == plain
    # most of that money was paid to resellers, which the view counts once per action
    resellers = {r["Recipient Name"] for r in plain_rows("ICE")
                 if word.search(r["Transaction Description"])}
    assert brands["Microsoft"]["prime_recipients"] == len(resellers) > 1


def test_person_shaped_names_are_never_merged(transactions_store: Store) -> None:
    from contractwatch.companies import resolution

    mapping = resolution(transactions_store.connect()).mapping.to_pylist()
    person = [m for m in mapping if m["recipient_name"] == "SHAH, RUPAL"]
    assert person and person[0]["family_source"] == "individual-not-resolved"


def test_cli_company_and_explain_json(transactions_store: Store) -> None:
    base = [sys.executable, "-m", "contractwatch", "--store", str(transactions_store.root)]
    out = subprocess.run(base + ["company", "Capgemini", "-f", "json"], capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["family_name"].startswith("Capgemini")
    out = subprocess.run(base + ["resolve", "explain", "DELL MARKETING L.P.", "-f", "json"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    explained = json.loads(out.stdout)["organisations"][0]
    assert explained["family_name"].startswith("Dell") and explained["links"]
    out = subprocess.run(base + ["resolve", "explain", "NO SUCH COMPANY ZZZ"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 2 and "no recipient" in out.stderr
    out = subprocess.run(base + ["top", "--by", "brand", "-f", "csv", "-n", "3"],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and out.stdout.startswith("brand,")
