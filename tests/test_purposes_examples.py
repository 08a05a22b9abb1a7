"""Nearest examples (purpose_examples.py) with the real model: the awards the rules leave
untagged or uncertain get the purpose their nearest examples suggest, with the examples and
the score as the reason; suggestions are never counted as tags; a judged award becomes an
example; without the model the reason is off, said in one line.

Scores are checked against an independent computation: the model's float vectors of the
award's passages and of every example, compared with numpy, not by the code under test."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from contractwatch import purpose_examples, purposes
from contractwatch.store import Store
from tests.clitools import run_cli
from tests.conftest import TRANSACTIONS

pytest.importorskip("onnxruntime", reason="needs contractwatch[meaning]")

FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"
MEALS = "70B03C26F00000647"  # "EL PASO SECTOR FOOD SERVICE MEALS": no rule tags it
FORKLIFTS = ("70B01C26F00000391", "70B03C26F00000500")  # both "FORKLIFT", no certain tag


def fy2026_store(root) -> Store:
    from contractwatch.ingest import ingest

    store = Store(root)
    ingest(store, [FY2026], progress=False)
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return fy2026_store(tmp_path_factory.mktemp("examples"))


def suggestions(store: Store) -> dict[str, dict]:
    folder = purposes.suggestions_folder(store.connect())
    assert folder is not None
    return {r["award_key"]: r for r in pq.read_table(folder / "suggestions.parquet").to_pylist()}


def award_key(store: Store, piid: str) -> str:
    return purposes.find_awards(store.connect(), piid)[0]["award_key"]


def test_suggestions_only_for_awards_the_rules_leave_open_and_never_counted(store) -> None:
    catalog = store.connect()
    folder = purposes.purposes_folder(catalog)
    evidence = pq.read_table(folder / "evidence.parquet").to_pylist()
    certain = {e["award_key"] for e in evidence if e["tagged"] and not e["uncertain"]}
    found = suggestions(store)
    assert len(found) > 50
    assert not set(found) & certain
    assert all(r["score"] >= purpose_examples.SUGGEST for r in found.values())
    # the tags every query counts are the rules' (and judgements'): a suggestion adds none
    ruled = {(e["award_key"], e["purpose"]) for e in evidence if e["tagged"]}
    stored = {(r["award_key"], r["purpose"])
              for r in pq.read_table(folder / "tags.parquet").to_pylist()}
    assert stored == ruled


def test_the_score_is_the_cosine_of_the_nearest_example(store) -> None:
    """Recomputed from the model's float vectors: the best cosine between the award's
    description and the taxonomy's examples, and the tag of that example."""
    import numpy as np

    from contractwatch import meaning

    row = suggestions(store)[award_key(store, MEALS)]
    examples = [(text, t.id) for t in purposes.load_taxonomy() for text in t.examples]
    vectors = meaning.embedder().embed(["EL PASO SECTOR FOOD SERVICE MEALS"]
                                       + [text for text, _ in examples])
    cosine = vectors[1:] @ vectors[0]
    best = int(np.argmax(cosine))
    assert row["purpose"] == examples[best][1] == "detention"
    assert row["score"] == pytest.approx(float(cosine[best]), abs=0.02)  # vectors kept as int8
    assert row["passage"] == "EL PASO SECTOR FOOD SERVICE MEALS"
    assert repr(examples[best][0]) in row["evidence"]


def test_explain_and_review_show_the_nearest_examples(store, monkeypatch, capsys) -> None:
    explained = purposes.explain(store.connect(), MEALS)
    example = [r for r in explained.rows if r["reason"] == "example"]
    assert len(example) == 1 and example[0]["status"] == purposes.SUGGESTED
    assert example[0]["evidence"].startswith("nearest examples: '")
    assert explained.facts["purposes"] == purposes.UNTAGGED  # suggested, not tagged
    review = purposes.review(store.connect(), limit=0)
    statuses = [r["status"] for r in review.rows]
    first_rule = next(i for i, s in enumerate(statuses) if s != purposes.SUGGESTED)
    assert first_rule > 0
    assert purposes.SUGGESTED not in statuses[first_rule:]
    scores = [r["score"] for r in review.rows[:first_rule]]
    assert scores == sorted(scores, reverse=True)
    code, out, err = run_cli(["--store", str(store.root), "purpose", "explain", MEALS,
                              "--format", "csv"], monkeypatch, capsys)
    assert code == 0, err
    assert "nearest examples:" in out and "example" in out


def test_a_judged_award_becomes_an_example(tmp_path, monkeypatch, capsys) -> None:
    store = fy2026_store(tmp_path / "s")
    judged, other = (award_key(store, p) for p in FORKLIFTS)
    code, _, err = run_cli(["--store", str(store.root), "purpose", "judge", FORKLIFTS[0],
                            "supplies-equipment", "--yes", "--why", "a forklift"],
                           monkeypatch, capsys)
    assert code == 0, err
    found = suggestions(store)
    assert judged not in found  # decided: a tag now, no longer a suggestion
    assert found[other]["purpose"] == "supplies-equipment"
    assert found[other]["score"] >= 0.99  # the same text
    assert found[other]["evidence"].startswith(
        "nearest examples: 'FORKLIFT' (supplies-equipment, ")
    # a tag a person rejected for an award is not suggested for it again
    code, _, err = run_cli(["--store", str(store.root), "purpose", "judge", FORKLIFTS[1],
                            "supplies-equipment", "--no", "--why", "test: rejected"],
                           monkeypatch, capsys)
    assert code == 0, err
    again = suggestions(store).get(other)
    assert again is None or again["purpose"] != "supplies-equipment"


def test_off_without_the_model_in_one_line(store, monkeypatch, capsys) -> None:
    monkeypatch.setenv("CONTRACTWATCH_PURPOSE_EXAMPLES", "off")
    catalog = store.connect()
    assert purposes.suggestions_folder(catalog) is None
    explained = purposes.explain(catalog, MEALS)
    assert explained.caveats.count(purpose_examples.OFF_NOTE) == 1
    assert not [r for r in explained.rows if r["reason"] == "example"]
    review = purposes.review(catalog, limit=0)
    assert purposes.SUGGESTED not in {r["status"] for r in review.rows}
    code, out, err = run_cli(["--store", str(store.root), "purpose", "update"],
                             monkeypatch, capsys)
    assert code == 0, err
    assert err.count("nearest-example suggestions off") == 1
