"""Purpose tagging measured against awards labelled by reading (tests/data/purposes): the
precision and recall per tag stated in docs/purposes.md must hold, less a small margin.

The labels were made by people reading the descriptions (tests/data/purposes/LABELLING.md),
never by these rules; the tagging measured is the one every query counts (the stored tags
of stores built from both sample folders).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from contractwatch import purposes
from contractwatch.store import Store

LABELS = Path(__file__).resolve().parent / "data" / "purposes" / "labelled_awards.csv"
MARGIN = 0.05

# (precision, recall) per tag as docs/purposes.md reports them, measured on all 401
# labelled awards with `python -m contractwatch.purposes --evaluate`
REPORTED = {
    "detention": (0.89, 0.73), "removal-transport": (1.00, 0.87),
    "detainee-medical": (0.72, 1.00), "alternatives-to-detention": (0.91, 1.00),
    "surveillance-biometrics": (0.77, 0.68), "data-analytics": (0.89, 0.78),
    "location-services": (0.78, 0.78), "it-cloud": (0.81, 0.83),
    "legal-services": (0.64, 0.84), "construction": (0.84, 0.93),
    "border-barrier": (0.68, 0.84), "aviation-marine": (0.72, 0.80),
    "vehicles-fleet": (0.75, 0.92), "weapons-tactical": (0.84, 0.84),
    "training": (0.79, 0.90), "language-services": (0.78, 1.00),
    "communications": (0.72, 1.00), "professional-support": (0.56, 0.78),
    "facilities-operations": (0.60, 0.88), "supplies-equipment": (0.65, 0.65),
    "all tags (micro)": (0.76, 0.82),
}


@pytest.fixture(scope="module")
def labels() -> dict[str, set[str]]:
    if not LABELS.exists():  # the labelled set arrives in its own change
        pytest.skip(f"{LABELS} is not in this checkout")
    return purposes.read_labels(LABELS)


@pytest.fixture(scope="module")
def measured(labels: dict[str, set[str]], transactions_store: Store,
             fpds_store: Store) -> dict[str, dict]:
    predicted: dict[str, set[str]] = {}
    for store in (transactions_store, fpds_store):
        for key, tags in purposes.stored_tag_sets(store.connect()).items():
            predicted.setdefault(key, set()).update(tags)
    return {r["purpose"]: r for r in purposes.evaluate(predicted, labels)}


def test_every_tag_is_measured(measured: dict[str, dict]) -> None:
    assert set(measured) == set(REPORTED)
    assert all(measured[t]["labelled"] >= 8 for t in purposes.tag_ids())


@pytest.mark.parametrize("tag", list(REPORTED))
def test_quality_holds_what_the_docs_report(measured: dict[str, dict], tag: str) -> None:
    precision, recall = REPORTED[tag]
    got = measured[tag]
    assert got["precision"] >= precision - MARGIN, (tag, got)
    assert got["recall"] >= recall - MARGIN, (tag, got)


def test_the_docs_table_is_the_measured_one(measured: dict[str, dict]) -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "purposes.md").read_text("utf-8")
    for tag in REPORTED:
        row = next(line for line in doc.splitlines() if line.startswith(f"| {tag} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert (float(cells[4]), float(cells[5])) == (
            round(measured[tag]["precision"], 2), round(measured[tag]["recall"], 2)), tag


# The nearest-example suggestions (purpose_examples.py) counted as tags, over the same awards:
# what docs/purposes.md reports (all tags, micro). They cost precision, which is why they are
# suggestions for review and not tags; this fails if that stops being true or the numbers move.
REPORTED_WITH_SUGGESTIONS = {"tagged": 540, "correct": 408}


def test_suggestions_would_cost_precision(labels: dict[str, set[str]], transactions_store: Store,
                                          fpds_store: Store,
                                          measured: dict[str, dict]) -> None:
    pytest.importorskip("onnxruntime", reason="needs contractwatch[meaning]")
    predicted: dict[str, set[str]] = {}
    for store in (transactions_store, fpds_store):
        catalog = store.connect()
        for table in (purposes.stored_tag_sets(catalog), purposes.suggested_tag_sets(catalog)):
            for key, tags in table.items():
                predicted.setdefault(key, set()).update(tags)
    with_suggestions = purposes.evaluate(predicted, labels)[-1]
    without = measured["all tags (micro)"]
    assert {k: with_suggestions[k] for k in REPORTED_WITH_SUGGESTIONS} == \
        REPORTED_WITH_SUGGESTIONS
    assert with_suggestions["precision"] < without["precision"]
