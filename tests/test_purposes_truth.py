"""The labelled purpose set and the search queries agree with the agreed tag ids, with
LABELLING.md and with stores built from the sample data (tests/data/purposes)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from contractwatch.store import Store
from tests.purposes_truth import (
    TAG_IDS,
    labelled_awards,
    positives,
    random_sample,
    search_queries,
    stated_counts,
)

AGENCIES = {"7012": "ICE", "7014": "CBP"}


@pytest.fixture(scope="module")
def sample_awards(transactions_store: Store, fpds_store: Store) -> dict[str, dict[str, Any]]:
    """Per award key of both sample stores: agencies, fiscal years and recipient names."""
    awards: dict[str, dict[str, Any]] = {}
    for store in (transactions_store, fpds_store):
        catalog = store.connect()
        t = catalog.transactions()
        rows = catalog.con.to_pyarrow(t.select(
            "contract_award_unique_key", "awarding_sub_agency_code", "fiscal_year",
            "recipient_name", "recipient_is_individual")).to_pylist()
        for r in rows:
            a = awards.setdefault(r["contract_award_unique_key"],
                                  {"agencies": set(), "years": set(), "names": set(),
                                   "individual": False})
            a["agencies"].add(AGENCIES.get(r["awarding_sub_agency_code"],
                                           r["awarding_sub_agency_code"]))
            a["years"].add(r["fiscal_year"])
            if r["recipient_name"]:
                a["names"].add(r["recipient_name"])
            a["individual"] = a["individual"] or bool(r["recipient_is_individual"])
    return awards


def test_enough_awards_and_queries() -> None:
    awards = labelled_awards()
    assert len(awards) >= 300
    assert len({a.award_key for a in awards}) == len(awards), "an award is labelled twice"
    assert sum(a.sampled_by == "random" for a in awards) >= 150
    assert {a.sampled_by for a in awards} == {"random", "targeted"}
    assert len(search_queries()) >= 30


def test_every_tag_is_an_agreed_id() -> None:
    used = {t for a in labelled_awards() for t in a.tags}
    assert used <= set(TAG_IDS), sorted(used - set(TAG_IDS))
    assert used == set(TAG_IDS), f"no positive for {sorted(set(TAG_IDS) - used)}"


def test_counts_are_as_labelling_md_states() -> None:
    stated = stated_counts()
    assert set(stated) == set(TAG_IDS)
    assert {t: len(positives(t)) for t in TAG_IDS} == stated


def test_every_tag_has_at_least_eight_positives() -> None:
    thin = {t: len(positives(t)) for t in TAG_IDS if len(positives(t)) < 8}
    assert not thin, thin


def test_every_year_and_both_agencies_are_covered() -> None:
    awards = labelled_awards()
    years = Counter(y for a in awards for y in a.fiscal_years)
    assert set(range(2013, 2019)) | set(range(2021, 2027)) <= set(years)
    assert {a.agency for a in awards} == {"ICE", "CBP"}


def test_keys_agencies_and_years_match_the_sample_stores(
        sample_awards: dict[str, dict[str, Any]]) -> None:
    for a in labelled_awards():
        stored = sample_awards.get(a.award_key)
        assert stored is not None, f"{a.award_key} is in no sample store"
        assert stored["agencies"] == {a.agency}, a.award_key
        assert stored["years"] == set(a.fiscal_years), a.award_key
    for q in search_queries():
        missing = [k for k in q.relevant if k not in sample_awards]
        assert not missing, f"{q.query!r}: {missing[:3]} in no sample store"


def test_random_rows_are_the_seeded_sample(sample_awards: dict[str, dict[str, Any]]) -> None:
    drawn = random_sample(set(sample_awards))
    labelled = [a.award_key for a in labelled_awards() if a.sampled_by == "random"]
    assert sorted(labelled) == sorted(drawn)


def test_no_recipient_name_is_in_the_file(sample_awards: dict[str, dict[str, Any]]) -> None:
    for a in labelled_awards():
        said = f"{a.text} {a.note}".upper()
        stored = sample_awards[a.award_key]
        for name in stored["names"]:
            if len(name) > 3:
                assert name.upper() not in said, a.award_key
            if stored["individual"]:
                for word in re.findall(r"[A-Za-z]{3,}", name):
                    assert not re.search(rf"\b{word.upper()}\b", said), a.award_key


def test_queries_are_well_formed() -> None:
    queries = search_queries()
    assert len({q.query for q in queries}) == len(queries), "a query is listed twice"
    for q in queries:
        assert 3 <= len(q.relevant) <= 40, (q.query, len(q.relevant))
        assert len(set(q.relevant)) == len(q.relevant), q.query
        assert q.wording in {"own", "other"}, q.query
        assert q.note, q.query
    assert 2 * sum(q.wording == "other" for q in queries) >= len(queries)
