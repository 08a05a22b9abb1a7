"""Technology brands named in transaction descriptions (the third view of every amount).

ICE buys Microsoft licences from DELL FEDERAL SYSTEMS L.P and AWS from FOUR POINTS TECHNOLOGY,
L.L.C.: the brand appears only in the free text. Rules live in ``data/brands.yaml`` (users add
their own file): word-boundary regexes plus exclusions for common words. A hit says "named in
description"; the amount is never added to the brand owner's prime-recipient total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["BrandRule", "BrandHit", "load_brands", "find_brands", "detect_brands"]


@dataclass(frozen=True)
class BrandRule:
    brand_id: str
    brand: str
    family_id: str | None
    patterns: tuple[re.Pattern[str], ...]
    excludes: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class BrandHit:
    brand_id: str
    brand: str
    family_id: str | None
    matched: str  # the text that matched, for explanation


def load_brands(*paths: str | Path, builtin: bool = True) -> list[BrandRule]:
    """Rules from the shipped brands.yaml (unless builtin=False) plus user files; later ids win."""
    import yaml

    docs = []
    if builtin:
        docs.append(
            yaml.safe_load(
                resources.files("contractwatch.data").joinpath("brands.yaml").read_text()
            )
        )
    docs += [yaml.safe_load(Path(p).expanduser().read_text()) for p in paths]
    rules: dict[str, BrandRule] = {}
    for doc in docs:
        for b in (doc or {}).get("brands") or []:
            if not b.get("id") or not b.get("patterns"):
                raise ValueError(f"brand rule needs id and patterns: {b!r}")
            rules[b["id"]] = BrandRule(
                brand_id=b["id"],
                brand=b.get("name") or b["id"],
                family_id=b.get("family"),
                patterns=tuple(re.compile(p) for p in b["patterns"]),
                excludes=tuple(re.compile(p) for p in b.get("exclude") or []),
            )
    return list(rules.values())


_WS = re.compile(r"\s+")


def find_brands(description: str | None, rules: list[BrandRule] | None = None) -> list[BrandHit]:
    """Brands named in one description (0, 1 or several), in rule order."""
    if not description:
        return []
    text = _WS.sub(" ", description.upper())
    hits: list[BrandHit] = []
    for rule in rules if rules is not None else _default_rules():
        # Blank out excluded spans, then look for the brand in what is left.
        masked = text
        for ex in rule.excludes:
            masked = ex.sub(lambda m: " " * len(m.group(0)), masked)
        for pat in rule.patterns:
            m = pat.search(masked)
            if m:
                hits.append(BrandHit(rule.brand_id, rule.brand, rule.family_id, m.group(0)))
                break
    return hits


_DEFAULT: list[BrandRule] | None = None


def _default_rules() -> list[BrandRule]:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = load_brands()
    return _DEFAULT


def detect_brands(
    descriptions: Iterable[str | None], rules: list[BrandRule] | None = None
) -> pa.Table:
    """One row per (distinct description, brand named in it).

    Columns: transaction_description, brand_id, brand, brand_family_id, matched_text,
    brands_in_description (how many brands the text names: an amount shown under each of
    them is the same money, so brand totals must not be added up across brands).
    Join it to transactions on ``transaction_description``.
    """
    import pyarrow as pa

    cols: dict[str, list[object]] = {
        "transaction_description": [],
        "brand_id": [],
        "brand": [],
        "brand_family_id": [],
        "matched_text": [],
        "brands_in_description": [],
    }
    seen: set[str] = set()
    for desc in descriptions:
        if desc is None or desc in seen:
            continue
        seen.add(desc)
        hits = find_brands(desc, rules)
        for h in hits:
            cols["transaction_description"].append(desc)
            cols["brand_id"].append(h.brand_id)
            cols["brand"].append(h.brand)
            cols["brand_family_id"].append(h.family_id)
            cols["matched_text"].append(h.matched)
            cols["brands_in_description"].append(len(hits))
    schema = pa.schema(
        [
            ("transaction_description", pa.string()),
            ("brand_id", pa.string()),
            ("brand", pa.string()),
            ("brand_family_id", pa.string()),
            ("matched_text", pa.string()),
            ("brands_in_description", pa.int32()),
        ]
    )
    return pa.table(cols, schema=schema)
