"""Names as people type them: companies, agencies and recipients found by words, not letters.

The labelled queries (tests/data/company_queries.csv) are company names from the real rows of
../shared/data, typed as people type them; each names a recipient (as recorded) that the
answer's family must hold.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.agencies import UnknownAgency, resolve_agency
from contractwatch.analyze import Filters, top, trend
from contractwatch.companies import find_family, resolution
from contractwatch.lookup import words
from contractwatch.store import Store
from tests.conftest import TRANSACTIONS
from tests.plain import read_rows

QUERIES = Path(__file__).parent / "data" / "company_queries.csv"  # expected: one|or another


def labelled() -> list[dict[str, str]]:
    with open(QUERIES, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_labelled_list_is_real_and_large_enough() -> None:
    recorded = {r["Recipient Name"] for f in TRANSACTIONS.glob("*.csv") for r in read_rows(f)}
    rows = labelled()
    assert len(rows) >= 50
    assert {n for r in rows for n in r["expected_recipient"].split("|")} <= recorded


def test_first_answer_precision_on_labelled_queries(transactions_store: Store) -> None:
    catalog = transactions_store.connect()
    members: dict[str, set[str]] = {}
    for m in resolution(catalog).mapping.to_pylist():
        members.setdefault(m["family_id"], set()).add(m["recipient_name"])
    wrong = []
    for row in labelled():
        try:
            got = find_family(catalog, row["query"])
        except LookupError as e:
            wrong.append((row["query"], str(e)[:120]))
            continue
        if not set(row["expected_recipient"].split("|")) & members[got["family_id"]]:
            wrong.append((row["query"], got["family_name"]))
    precision = 1 - len(wrong) / len(labelled())
    print(f"first-answer precision {precision:.3f} on {len(labelled())} queries; wrong: {wrong}")
    assert precision >= 0.95, wrong


def test_an_ambiguous_name_lists_candidates_ranked_with_totals(
        transactions_store: Store) -> None:
    with pytest.raises(LookupError) as refused:
        find_family(transactions_store.connect(), "Paragon")
    message = str(refused.value)
    # the two largest PARAGON recipients, heavier first, each with its total (plain sums)
    totals = {}
    for f in TRANSACTIONS.glob("*.csv"):
        for r in read_rows(f):
            if r["Recipient Name"].startswith("PARAGON"):
                totals[r["Recipient Name"]] = totals.get(r["Recipient Name"], Decimal(0)) + \
                    Decimal(r["Federal Action Obligation"])
    first, second = sorted(totals, key=lambda n: -totals[n])[:2]
    assert message.index(first) < message.index(second)
    assert f"${totals[first]:,.2f}" in message


def test_dell_is_a_word_not_letters(transactions_store: Store) -> None:
    got = find_family(transactions_store.connect(), "Dell")
    assert got["family_name"].startswith("Dell")
    dell = sum(Decimal(r["Federal Action Obligation"]) for f in TRANSACTIONS.glob("*.csv")
               for r in read_rows(f) if "DELL" in words(r["Recipient Name"]))
    rows = trend(transactions_store.connect(), Filters(recipient="Dell")).rows
    assert sum(r["federal_action_obligation"] for r in rows) == dell  # not CADDELL's money


def test_cli_company_goes_straight_to_the_family(transactions_store: Store) -> None:
    base = [sys.executable, "-m", "contractwatch", "--store", str(transactions_store.root)]
    for query, family in (("Dell", "Dell"), ("palantir", "Palantir"), ("GEO", "The GEO")):
        out = subprocess.run([*base, "company", query, "-f", "json"], capture_output=True,
                             text=True, timeout=180)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["family_name"].startswith(family)


@pytest.mark.parametrize(("typed", "code"), [
    ("Immigration and Customs", "7012"), ("customs and border", "7014"),
    ("coast guard", "7008"), ("Imigration and Customs Enforcement", "7012")])
def test_agencies_by_words_then_spelling(typed: str, code: str) -> None:
    assert resolve_agency(typed).code == code


def test_an_unknown_agency_is_still_refused() -> None:
    with pytest.raises(UnknownAgency, match="unknown agency"):
        resolve_agency("Department of Nothing")


@pytest.mark.parametrize("typed", ["CSI Aviation Inc.", "Dell Federal Systems L.P.",
                                   "geo group,"])
def test_a_recipient_typed_with_trailing_punctuation_is_found(transactions_store: Store,
                                                              typed: str) -> None:
    """The recipient filter matches words from a word's start; the precompiled queries once
    kept the trailing space the typed punctuation leaves (their RTRIM's literal had lost its
    spaces), so a name typed as the record writes it, "CSI AVIATION INC.", found nothing."""
    import re

    def spaced(text: str) -> str:
        return " " + re.sub("[^A-Z0-9]+", " ", text.upper())

    wanted = spaced(typed).rstrip()
    plain = sum((Decimal(r["Federal Action Obligation"]) for f in TRANSACTIONS.glob("*.csv")
                 for r in read_rows(f) if wanted in spaced(r["Recipient Name"])), Decimal(0))
    assert plain > 0
    result = top(transactions_store.connect(), "recipient", Filters(recipient=typed), 0)
    assert result.meta["total_obligations"] == plain
