"""The labelled ground truth for purpose tags and search by meaning (tests/data/purposes).

Labels and relevance judgements were made by reading award descriptions (LABELLING.md says
how); nothing here derives a label, so quality measured against it is not circular.
Tests import `labelled_awards()` and `search_queries()`; both read the committed files.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PURPOSES = Path(__file__).resolve().parent / "data" / "purposes"
AWARDS_CSV = PURPOSES / "labelled_awards.csv"
QUERIES_YAML = PURPOSES / "queries.yaml"
LABELLING_MD = PURPOSES / "LABELLING.md"

# The agreed purpose tag ids (the same ids as data/purposes.yaml), in their agreed order.
TAG_IDS: tuple[str, ...] = (
    "detention", "removal-transport", "detainee-medical", "alternatives-to-detention",
    "surveillance-biometrics", "data-analytics", "location-services", "it-cloud",
    "legal-services", "construction", "border-barrier", "aviation-marine", "vehicles-fleet",
    "weapons-tactical", "training", "language-services", "communications",
    "professional-support", "facilities-operations", "supplies-equipment",
)

# How the random part of the sample was drawn (see LABELLING.md, "How the sample was drawn").
RANDOM_SEED = 19
RANDOM_SIZE = 160


@dataclass(frozen=True)
class LabelledAward:
    """One award read and labelled by hand; `tags` is empty when no purpose tag fits."""

    award_key: str
    agency: str
    fiscal_years: tuple[int, ...]
    text: str
    tags: frozenset[str]
    note: str
    sampled_by: str  # "random" or "targeted"


@dataclass(frozen=True)
class SearchQuery:
    """A question a reporter would type, with the award keys judged relevant by reading.

    `wording` is "own" when the query uses the words the descriptions use and "other" when
    it says the same thing in other words (what keyword search misses)."""

    query: str
    relevant: tuple[str, ...]
    note: str
    wording: str


@cache
def labelled_awards() -> tuple[LabelledAward, ...]:
    """Every labelled award, in file order (random sample first, then targeted picks)."""
    with open(AWARDS_CSV, newline="", encoding="utf-8") as fh:
        return tuple(
            LabelledAward(
                award_key=row["award_key"],
                agency=row["agency"],
                fiscal_years=tuple(int(y) for y in row["fiscal_years"].split(";")),
                text=row["text"],
                tags=frozenset(t for t in row["tags"].split(";") if t),
                note=row["note"],
                sampled_by=row["sampled_by"],
            )
            for row in csv.DictReader(fh)
        )


@cache
def search_queries() -> tuple[SearchQuery, ...]:
    """The search-by-meaning queries with their relevant award keys."""
    with open(QUERIES_YAML, encoding="utf-8") as fh:
        entries = yaml.safe_load(fh)
    return tuple(
        SearchQuery(query=e["query"], relevant=tuple(e["relevant"]), note=e.get("note", ""),
                    wording=e.get("wording", "own"))
        for e in entries
    )


def positives(tag: str, awards: tuple[LabelledAward, ...] | None = None) -> set[str]:
    """Award keys labelled with `tag`."""
    return {a.award_key for a in (awards or labelled_awards()) if tag in a.tags}


def stated_counts() -> dict[str, int]:
    """The per-tag positive counts as LABELLING.md states them (its "| `id` | n |" rows)."""
    text = LABELLING_MD.read_text(encoding="utf-8")
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^\| `([a-z-]+)` \| (\d+) \|", text, flags=re.MULTILINE)}


def random_sample(award_keys: set[str]) -> list[str]:
    """The seeded random sample drawn from every award key of the sample stores."""
    return random.Random(RANDOM_SEED).sample(sorted(award_keys), RANDOM_SIZE)
