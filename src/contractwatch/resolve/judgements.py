"""Stored merge decisions: a reviewer's word outlives every rerun of the matcher.

A judgement is about a pair of organisation ids (POSITIVE = same organisation, NEGATIVE = not,
UNSURE = looked at, undecided). POSITIVE merges whatever the score; NEGATIVE forbids a matched
merge whatever the score. Curated and data-parent links are not overridden here: edit the
families file for those. Storage is a plain CSV under the store (``<store>/resolve/
judgements.csv``) so it can be diffed, reviewed and committed.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path

__all__ = [
    "Judgement",
    "Decision",
    "load_judgements",
    "save_judgement",
    "export_review",
    "import_review",
    "pair_key",
]

FIELDS = [
    "left_id",
    "right_id",
    "judgement",
    "left_name",
    "right_name",
    "decided_at",
    "decided_by",
    "note",
]
REVIEW_FIELDS = [
    "left_id",
    "right_id",
    "left_name",
    "right_name",
    "match_probability",
    "evidence",
    "judgement",
    "note",
]


class Judgement(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    UNSURE = "unsure"


Decision = dict[str, str]


def pair_key(a: str, b: str) -> tuple[str, str]:
    """Judgements are symmetric: (a, b) and (b, a) are one pair."""
    return (a, b) if a <= b else (b, a)


def load_judgements(path: str | Path) -> dict[tuple[str, str], Decision]:
    """All stored decisions, the last line for a pair winning; a missing file is empty."""
    p = Path(path)
    if not p.exists():
        return {}
    out: dict[tuple[str, str], Decision] = {}
    with p.open(newline="") as fh:
        for row in csv.DictReader(fh):
            Judgement(row["judgement"])  # reject typos early
            out[pair_key(row["left_id"], row["right_id"])] = row
    return out


def save_judgement(
    path: str | Path,
    left_id: str,
    right_id: str,
    judgement: Judgement | str,
    *,
    left_name: str = "",
    right_name: str = "",
    decided_by: str = "",
    note: str = "",
) -> None:
    """Append one decision (history is kept; the newest line per pair counts)."""
    j = Judgement(judgement)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    new = not p.exists()
    a, b = pair_key(left_id, right_id)
    if (a, b) != (left_id, right_id):
        left_name, right_name = right_name, left_name
    with p.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        w.writerow(
            {
                "left_id": a,
                "right_id": b,
                "judgement": j.value,
                "left_name": left_name,
                "right_name": right_name,
                "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "decided_by": decided_by,
                "note": note,
            }
        )


def export_review(rows: Iterable[dict[str, object]], out: str | Path) -> int:
    """Write uncertain pairs to a CSV for people; they fill in ``judgement``. Returns the count."""
    n = 0
    with Path(out).open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=REVIEW_FIELDS, extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow(
                {**row, "judgement": row.get("judgement") or "", "note": row.get("note") or ""}
            )
            n += 1
    return n


def import_review(review_csv: str | Path, judgements_path: str | Path, decided_by: str = "") -> int:
    """Store the filled-in decisions of a review file; blank rows are skipped. Returns the count."""
    n = 0
    with Path(review_csv).open(newline="") as fh:
        for row in csv.DictReader(fh):
            value = (row.get("judgement") or "").strip().lower()
            if not value:
                continue
            save_judgement(
                judgements_path,
                row["left_id"],
                row["right_id"],
                value,
                left_name=row.get("left_name", ""),
                right_name=row.get("right_name", ""),
                decided_by=decided_by,
                note=row.get("note", ""),
            )
            n += 1
    return n
