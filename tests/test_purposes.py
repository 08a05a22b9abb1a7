"""Purpose tags over the real rows: every tag explained, no money lost or added up twice,
stored with the data and recomputed when the data, the taxonomy or a judgement changes.

Expected figures come from csv-module sums over the source files, joined with the stored
tags (award key, purpose) read as a plain Parquet table, never from the queries under test.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch import award_texts, purposes
from contractwatch.analyze import Filters, search, top, trend
from contractwatch.store import Store
from tests.clitools import run_cli
from tests.conftest import TRANSACTIONS
from tests.plain import fiscal_year, read_rows
from tests.test_query_templates import HEAVY, _modules_after

AGREED_IDS = [
    "detention", "removal-transport", "detainee-medical", "alternatives-to-detention",
    "surveillance-biometrics", "data-analytics", "location-services", "it-cloud",
    "legal-services", "construction", "border-barrier", "aviation-marine", "vehicles-fleet",
    "weapons-tactical", "training", "language-services", "communications",
    "professional-support", "facilities-operations", "supplies-equipment",
]


def plain_rows(agency: str | None = None, fy: int | None = None) -> list[dict[str, str]]:
    out = []
    for path in sorted(TRANSACTIONS.glob("*.csv")):
        for r in read_rows(path):
            if (agency and r["Agency"] != agency) or (
                    fy and fiscal_year(r["Action Date"]) != fy):
                continue
            out.append(r)
    return out


def row_key(r: dict[str, str]) -> str:
    return r.get("Generated Award ID") or r["Award ID"]


def stored_tags(store: Store) -> dict[str, set[str]]:
    """award key -> tags, read from the stored Parquet file with pyarrow alone."""
    import pyarrow.parquet as pq

    folder = purposes.purposes_folder(store.connect())
    out: dict[str, set[str]] = defaultdict(set)
    for r in pq.read_table(folder / "tags.parquet").to_pylist():
        out[r["award_key"]].add(r["purpose"])
    return out


# ---- the taxonomy -----------------------------------------------------------------------

def test_taxonomy_has_exactly_the_agreed_tags_each_defined_with_sources():
    tags = purposes.load_taxonomy()
    assert [t.id for t in tags] == AGREED_IDS
    for t in tags:
        assert t.definition and t.sources, t.id
        assert len(t.examples) >= 3, t.id
        assert t.phrases, t.id


def test_the_psc_titles_shipped_are_the_official_list():
    """Titles of the API export turn back into codes with the official list: the title of
    the guard services PSC is S206, and a border-wall title maps to its Y code."""
    codes = purposes.psc_codes_by_title()
    assert codes["HOUSEKEEPING- GUARD"] == ("S206",)
    assert "Y1PZ" in codes["CONSTRUCTION OF OTHER NON-BUILDING FACILITIES"]


@pytest.mark.parametrize("text, problem", [
    ("tags:\n  - id: x\n    name: X\n    definition: d\n    sources: [s]\n    phrase: [a]\n",
     "unknown key(s) phrase"),
    ("tags:\n  - id: x\n    name: X\n    definition: d\n", "'sources' is missing"),
    ("tags:\n  - {id: x, name: X, definition: d, sources: [s]}\n"
     "  - {id: x, name: Y, definition: d, sources: [s]}\n", "repeated: x"),
    ("tags:\n  - {id: x, name: X, definition: d, sources: [s], naics: [Software]}\n",
     "is not 'CODE Title'"),
    ("tags: [\n", "purposes.yaml"),
])
def test_a_bad_taxonomy_is_refused_naming_file_and_tag(tmp_path: Path, text: str,
                                                       problem: str) -> None:
    path = tmp_path / "purposes.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(purposes.TaxonomyError) as err:
        purposes.load_taxonomy(path)
    assert str(path) in str(err.value) and problem in str(err.value)


# ---- the rules --------------------------------------------------------------------------

def tags_of(description: str, psc: str | None = None, code: str | None = None) -> dict:
    award = award_texts.AwardText("K", descriptions=[description])
    if psc or code:
        award.psc.add((code, psc))
    out: dict[str, list] = defaultdict(list)
    for e in purposes.tag_award(award, purposes.matcher(purposes.taxonomy_path())):
        out[e.purpose].append(e)
    return out


def test_other_words_for_locating_people_are_location_services():
    for text in ("SKIP TRACING SERVICES FOR ERO", "LOCATE SERVICES FOR FUGITIVE OPERATIONS",
                 "ADDRESS VERIFICATION OF RELEASED NONCITIZENS", "FUGITIVE LOCATION SUPPORT"):
        found = tags_of(text)["location-services"]
        assert found and all(e.tagged and not e.uncertain for e in found), text


def test_exclusions_hold_a_tag_back_for_review():
    """Employee relocation is not locating people; OPLA's copier lease is not legal work."""
    assert not any(e.tagged for e in tags_of("EMPLOYEE RELOCATION SERVICES")
                   ["location-services"])
    legal = tags_of("THIS AWARD PROVIDES THE ICE-OFFICE OF PRINCIPAL LEGAL ADVISOR WITH THE "
                    "LEASE OF A MULTI-FUNCTIONAL DEVICE")["legal-services"]
    assert legal and not any(e.tagged for e in legal) and all(e.uncertain for e in legal)


def test_a_code_is_read_from_the_title_when_the_row_has_no_code():
    """API-export rows: the PSC title R608 stands for tags language services by code."""
    found = tags_of("EXERCISE OPTION PERIOD III",
                    psc="SUPPORT- ADMINISTRATIVE: TRANSLATION AND INTERPRETING")
    reasons = [e for e in found["language-services"] if e.reason == "code"]
    assert reasons and reasons[0].tagged and "R608" in reasons[0].evidence


def test_a_code_that_needs_text_alone_is_only_a_candidate():
    found = tags_of("ADD FUNDING", code="V121",
                    psc="TRANSPORTATION/TRAVEL/RELOCATION- TRANSPORTATION: AIR CHARTER")
    assert found["removal-transport"] and not any(e.tagged
                                                  for e in found["removal-transport"])


def test_word_beginnings_and_whole_words():
    assert tags_of("HOUSING FOR DETAINEES")["detention"]
    assert not tags_of("DEVELOPMENT OF ATDX SYSTEM")["alternatives-to-detention"]


# ---- over the store ---------------------------------------------------------------------

def test_each_purpose_row_is_the_money_of_its_tagged_awards(transactions_store: Store) -> None:
    """Every tag's row equals the plain sum of the rows of the awards stored with that tag;
    the untagged row the plain sum of the rest; the rows add up to more than the scope's
    total (an award counts under each of its tags), which is said, and the total is the
    plain total."""
    rows = plain_rows("ICE", 2026)
    tags = stored_tags(transactions_store)
    result = top(transactions_store.connect(), "purpose", Filters(agency="ICE", fy=2026), 0)
    got = {r["purpose"]: r for r in result.rows}
    expected: dict[str, Decimal] = defaultdict(Decimal)
    actions: dict[str, int] = defaultdict(int)
    for r in rows:
        for t in tags.get(row_key(r)) or {"untagged"}:
            expected[t] += Decimal(r["Federal Action Obligation"])
            actions[t] += 1
    assert set(got) == set(expected)
    for t, money in expected.items():
        assert got[t]["federal_action_obligation"] == money, t
        assert got[t]["transactions"] == actions[t], t
    total = sum(Decimal(r["Federal Action Obligation"]) for r in rows)
    assert result.facts["scope_total_obligations"] == total
    assert sum(r["federal_action_obligation"] for r in result.rows) > total
    assert sum("never add them up" in c for c in result.caveats) == 1


def test_the_purpose_filter_keeps_the_tagged_awards_rows(transactions_store: Store) -> None:
    rows = plain_rows("ICE")
    tags = stored_tags(transactions_store)
    catalog = transactions_store.connect()
    for purpose in ("location-services", "untagged"):
        wanted = [r for r in rows if purpose in (tags.get(row_key(r)) or {"untagged"})]
        result = trend(catalog, Filters(agency="ICE", purpose=purpose))
        assert sum(r["federal_action_obligation"] for r in result.rows) == sum(
            Decimal(r["Federal Action Obligation"]) for r in wanted)
        assert sum(r["transactions"] for r in result.rows) == len(wanted)
    found = search(catalog, "ERO", Filters(agency="ICE", purpose="location-services"), 0)
    assert found.rows and all("location-services" in tags[r["award_key"]]
                              for r in found.rows)


def test_every_skip_tracing_award_is_tagged_location_services(transactions_store) -> None:
    tags = stored_tags(transactions_store)
    skip = {row_key(r) for r in plain_rows()
            if re.search(r"SKIP ?TRAC", r["Transaction Description"])}
    assert skip and all("location-services" in tags[k] for k in skip)


def test_explain_gives_reason_phrase_and_passage(transactions_store: Store) -> None:
    result = purposes.explain(transactions_store.connect(), "70CDCR26FR0000024")
    tagged = [r for r in result.rows if r["status"] == "tagged"]
    assert tagged and tagged[0]["purpose"] == "location-services"
    assert tagged[0]["reason"] == "phrase" and "SKIP TRACING" in tagged[0]["passage"]
    assert result.facts["purposes"] == "location-services"


def test_review_lists_uncertain_tags_largest_money_first(transactions_store: Store) -> None:
    """After the nearest-example suggestions (tests/test_purposes_examples.py), the rules'
    uncertain tags, largest money first."""
    result = purposes.review(transactions_store.connect(), 0)
    rules = [r for r in result.rows if r["status"] != purposes.SUGGESTED]
    assert result.rows[-len(rules):] == rules
    money = [abs(r["federal_action_obligation"]) for r in rules]
    assert money and money == sorted(money, reverse=True)
    assert all(r["note"] for r in result.rows)


def test_cli_purpose_answers_and_bad_purpose(transactions_store, monkeypatch, capsys):
    store = str(transactions_store.root)
    code, out, err = run_cli(["--store", store, "top", "--by", "purpose", "--agency", "ICE",
                              "--format", "csv"], monkeypatch, capsys)
    assert code == 0 and "location-services" in out and "untagged" in out
    assert err.count("never add them up") == 1
    code, out, err = run_cli(["--store", store, "trend", "--purpose", "Detentoin"],
                             monkeypatch, capsys)
    assert code == 2 and "no purpose 'Detentoin'" in err and "detention" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("args", [
    ["top", "--by", "purpose", "--agency", "ICE"],
    ["top", "--purpose", "detention", "-n", "5"],
    ["trend", "--purpose", "location-services"],
    ["search", "services", "--purpose", "language-services", "-n", "3"],
])
def test_purpose_answers_read_the_stored_tags(args, transactions_store) -> None:
    """Once tagged, purpose answers cost what a recipient answer costs: no Ibis, no Arrow."""
    _modules_after(args, str(transactions_store.root))
    loaded = _modules_after(args, str(transactions_store.root))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_tags_follow_the_data_and_judgements_override_the_rules(tmp_path, monkeypatch,
                                                                 capsys) -> None:
    from contractwatch.ingest import ingest

    store = Store(tmp_path / "s")
    ingest(store, [TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"], progress=False)
    first = purposes.purposes_folder(store.connect())
    assert (first / "tags.parquet").is_file()
    assert purposes.purposes_folder(store.connect()) == first  # stored, not recomputed
    code, _, err = run_cli(["--store", str(store.root), "purpose", "judge",
                            "70CDCR26FR0000024", "location-services", "--no", "--why",
                            "test: overridden"], monkeypatch, capsys)
    assert code == 0, err
    with purposes.judgements_path(store.connect()).open(newline="") as fh:
        assert [r["judgement"] for r in csv.DictReader(fh)] == ["no"]
    second = purposes.purposes_folder(store.connect())
    assert second != first
    assert "location-services" not in stored_tags(store).get(
        "CONT_AWD_70CDCR26FR0000024_7012_70CDCR26D00000015_7012", set())
    explained = purposes.explain(store.connect(), "70CDCR26FR0000024")
    assert any(r["reason"] == "judgement" and "overridden" in r["passage"]
               for r in explained.rows)
    code, _, err = run_cli(["--store", str(store.root), "purpose", "judge",
                            "70CDCR26FR0000024", "nonsense", "--yes", "--why", "x"],
                           monkeypatch, capsys)
    assert code == 2 and "no purpose 'nonsense'" in err


def test_exports_carry_purposes_and_filter_by_them(transactions_store: Store,
                                                   tmp_path: Path) -> None:
    from contractwatch.export import export_tables

    tags = stored_tags(transactions_store)
    f = Filters(agency="ICE", fy=2026, purpose="location-services")
    report = export_tables(transactions_store.connect(), "csv", tmp_path / "out", f,
                           ("transactions", "awards"))
    with (tmp_path / "out" / "awards.csv").open(newline="") as fh:
        awards = list(csv.DictReader(fh))
    wanted = {row_key(r) for r in plain_rows("ICE", 2026)
              if "location-services" in tags.get(row_key(r), set())}
    assert {a["award_key"] for a in awards} == wanted
    for a in awards:
        assert a["purposes"].split(";") == sorted(tags[a["award_key"]])
    with (tmp_path / "out" / "transactions.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert report.counts["transactions"] == len(rows) == sum(
        1 for r in plain_rows("ICE", 2026) if row_key(r) in wanted)


def test_the_report_says_what_the_money_buys(transactions_store: Store) -> None:
    from contractwatch.report import build_report, to_markdown

    r = build_report(transactions_store.connect(), "ICE", 2025, charts=False)
    fig = next(f for f in r.figures if f.id == "F7")
    ranking = top(transactions_store.connect(), "purpose", Filters(agency="ICE", fy=2025), 0)
    assert fig.rows == ranking.rows
    text = to_markdown(r)
    assert "What the money buys" in text and "not to be added up" in text


def test_web_agency_page_by_purpose_and_filtered(transactions_store: Store) -> None:
    """The agency page (a real server) shows what the money buys with the library's figures,
    and its purpose filter keeps the plain sums of the tagged awards' rows."""
    import json

    import httpx

    from tests.webtools import running_server

    tags = stored_tags(transactions_store)
    ranking = top(transactions_store.connect(), "purpose", Filters(agency="ICE", fy=2025), 0)
    with running_server(transactions_store.root) as url, \
            httpx.Client(base_url=url, timeout=120) as client:
        page = client.get("/agency/ICE.json", params={"fy": "2025"})
        assert page.status_code == 200, page.text[:300]
        table = json.loads(page.text, parse_float=Decimal)["tables"]["purpose"]
        assert {r["purpose"]: r["federal_action_obligation"] for r in table["rows"]} == {
            r["purpose"]: r["federal_action_obligation"] for r in ranking.rows}
        assert any("never add them up" in c for c in table["caveats"])
        page = client.get("/agency/ICE.json", params={"purpose": "detention"})
        data = json.loads(page.text, parse_float=Decimal)
        by_year = {r["fiscal_year"]: r["federal_action_obligation"]
                   for r in data["tables"]["by_year"]["rows"]}
        expected: dict[int, Decimal] = defaultdict(Decimal)
        for r in plain_rows("ICE"):
            if "detention" in tags.get(row_key(r), set()):
                expected[fiscal_year(r["Action Date"])] += Decimal(r["Federal Action Obligation"])
        assert by_year == dict(expected)
        html = client.get("/agency/ICE", params={"purpose": "detention"}).text
        assert 'value="detention" selected' in html and "What the money buys" in html
        assert client.get("/agency/ICE", params={"purpose": "nonsense"}).status_code == 400


def test_tags_belong_to_awards_never_to_people(fpds_store: Store) -> None:
    """Recipients recorded as individuals get no tags beyond their award's: the stored
    tagging holds award keys, tags and the awards' own texts, and no recipient at all."""
    import pyarrow.parquet as pq

    catalog = fpds_store.connect()
    folder = purposes.purposes_folder(catalog)
    for name in ("tags", "evidence", "awards"):
        names = pq.read_schema(folder / f"{name}.parquet").names
        assert not [n for n in names if "recipient" in n], (name, names)
    suggestions = purposes.suggestions_folder(catalog)
    if suggestions is not None:  # the nearest-example suggestions, when the model is installed
        names = pq.read_schema(suggestions / "suggestions.parquet").names
        assert not [n for n in names if "recipient" in n], names
    catalog.raw_tables()
    individual = {r["k"] for r in catalog.fetch(
        "SELECT DISTINCT coalesce(contract_award_unique_key, award_id_piid) AS k "
        "FROM cw_rows WHERE recipient_is_individual")}
    assert individual  # the FY2013-18 files record some
    tags = purposes.stored_tag_sets(catalog)
    for key in individual:
        award = next(a for a in award_texts.iter_awards(catalog) if a.award_key == key)
        expected = {e.purpose for e in purposes.tag_award(
            award, purposes.matcher(purposes.taxonomy_path())) if e.tagged}
        assert tags.get(key, set()) == expected, key
