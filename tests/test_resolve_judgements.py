"""Stored decisions are respected on every rerun; individuals are never resolved."""

from __future__ import annotations

import csv

from contractwatch.resolve import resolve, review_pairs
from contractwatch.resolve.judgements import (
    Judgement,
    export_review,
    import_review,
    load_judgements,
    save_judgement,
)

ROWS = [
    # Real names from the USAspending export; no ids, so only names can link them.
    {"recipient_name": "SHRED-IT USA LLC"},
    {"recipient_name": "SHRED-IT USA INC."},
    {"recipient_name": "FEDERAL FACILITATORS GROUP LLC"},
    {"recipient_name": "FEDERAL FACILITATORS, LLC."},
]


def fam(res, name: str) -> str:  # type: ignore[no-untyped-def]
    return next(r["family_id"] for r in res.mapping.to_pylist() if r["recipient_name"] == name)


def test_negative_judgement_blocks_a_merge_on_rerun(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "resolve" / "judgements.csv"
    before = resolve(ROWS, judgements_path=path)
    assert fam(before, "SHRED-IT USA LLC") == fam(before, "SHRED-IT USA INC.")
    save_judgement(
        path,
        "name:SHRED IT USA LLC",
        "name:SHRED IT USA INC",
        Judgement.NEGATIVE,
        note="different DUNS in FPDS",
    )
    after = resolve(ROWS, judgements_path=path)
    assert fam(after, "SHRED-IT USA LLC") != fam(after, "SHRED-IT USA INC.")


def test_review_export_import_positive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "judgements.csv"
    res = resolve(ROWS, judgements_path=path)
    assert fam(res, "FEDERAL FACILITATORS GROUP LLC") != fam(res, "FEDERAL FACILITATORS, LLC.")
    pending = review_pairs(res, judgements_path=path)
    assert any(
        {p["left_name"], p["right_name"]}
        == {"FEDERAL FACILITATORS GROUP LLC", "FEDERAL FACILITATORS, LLC."}
        for p in pending
    )
    review = tmp_path / "review.csv"
    assert export_review(pending, review) == len(pending)
    rows = list(csv.DictReader(review.open()))
    for r in rows:
        if "FACILITATORS" in r["left_name"]:
            r["judgement"] = "positive"
    with review.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert import_review(review, path, decided_by="test") == 1
    assert len(load_judgements(path)) == 1
    again = resolve(ROWS, judgements_path=path)
    assert fam(again, "FEDERAL FACILITATORS GROUP LLC") == fam(again, "FEDERAL FACILITATORS, LLC.")
    assert review_pairs(again, judgements_path=path) == [
        p for p in review_pairs(again, judgements_path=path) if "FACILITATORS" not in p["left_name"]
    ]


def test_individuals_are_shown_as_recorded_and_never_matched() -> None:
    rows = [
        # Real FPDS rows flagged sole_proprietorship = t.
        {
            "recipient_name": "RADVANY, PAUL",
            "recipient_duns": "79944512",
            "recipient_parent_name": "RADVANY  PAUL",
            "recipient_is_individual": True,
        },
        {"recipient_name": "RADVANY, PAUL", "recipient_duns": None, "recipient_is_individual": "t"},
        {"recipient_name": "RADVANY PAUL"},  # the same spelling, unflagged, a company row
    ]
    res = resolve(rows)
    out = res.mapping.to_pylist()
    assert [r["family_source"] for r in out[:2]] == ["individual-not-resolved"] * 2
    assert out[0]["organisation_name"] == "RADVANY, PAUL"
    assert out[0]["family_id"] == out[0]["organisation_id"] == "individual:079944512"
    assert out[2]["family_id"] not in {out[0]["family_id"], out[1]["family_id"]}
    scored_ids = set()
    if res.scores is not None and res.scores.num_rows:
        scored_ids = set(res.scores.column("unique_id_l").to_pylist()) | set(
            res.scores.column("unique_id_r").to_pylist()
        )
    assert not any(i.startswith("individual:") for i in scored_ids)
