"""Probabilistic matching of recipient-name variants with Splink (DuckDB now, Spark later).

Scores only: this module returns scored pairs; what gets merged is decided in
``resolve/__init__.py`` from the threshold *and* the stored judgements (nomenklatura's split
of scores from decisions).

The model's m/u probabilities are set by hand (documented below) instead of trained by EM:
trained weights drift with every new download, and a reviewer's accepted pair should not flip
because the data grew. Each level is a readable rule, so ``explain`` can show why two names
were merged. Splink never downloads anything here (no ``splink_datasets``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contractwatch.resolve.names import compact_key, display_name, match_key

_PLAIN = re.compile(r"[^A-Z0-9&]+")

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MatchRecord", "model_settings", "score_pairs", "describe_pair", "LEVEL_LABELS", "PRIOR"]

# Prior probability that two records in the same block are one organisation.
PRIOR = 0.01
# Old FPDS names were cut at exactly 30 characters ("SPECTRUM SECURITY SERVICES, IN",
# "INTERNATIONAL BUSINESS MACHINE"): a 30-character name that the other name continues is
# treated as a truncation. (Any shorter prefix is not: "THE JOHNS HOPKINS UNIVERSITY".)
TRUNCATED_LENGTH = 30

LEVEL_LABELS = {
    "name": [
        "null",
        "exact match key",
        "same letters ignoring spaces",
        "truncated name (one is a prefix of the other)",
        "Jaro-Winkler >= 0.95",
        "Jaro-Winkler >= 0.90",
        "Jaro-Winkler >= 0.80",
        "different names",
    ],
    "duns": ["null", "same DUNS", "different DUNS"],
    "uei": ["null", "same UEI", "different UEI"],
    "parent": ["null", "same parent", "different parent"],
}


@dataclass(frozen=True)
class MatchRecord:
    """One organisation as the matcher sees it."""

    unique_id: str
    name: str
    duns: str | None = None
    uei: str | None = None
    parent: str | None = None  # parent organisation id, if the data gives one


def _records_table(records: list[MatchRecord]) -> pa.Table:
    import pyarrow as pa

    rows: dict[str, list[Any]] = {
        "unique_id": [],
        "name_display": [],
        "plain": [],
        "raw_len": [],
        "mk": [],
        "compact": [],
        "first_token": [],
        "second_prefix": [],
        "compact6": [],
        "duns": [],
        "uei": [],
        "parent": [],
    }
    for r in records:
        mk = match_key(r.name)
        words = mk.split()
        rows["unique_id"].append(r.unique_id)
        rows["name_display"].append(display_name(r.name))
        rows["plain"].append(" ".join(_PLAIN.sub(" ", r.name.upper()).split()) or None)
        rows["raw_len"].append(len(r.name.strip()))
        rows["mk"].append(mk or None)
        rows["compact"].append(compact_key(r.name) or None)
        rows["first_token"].append(words[0] if words else None)
        rows["second_prefix"].append(words[1][:2] if len(words) > 1 else "")
        rows["compact6"].append(compact_key(r.name)[:6] or None)
        rows["duns"].append(r.duns)
        rows["uei"].append(r.uei)
        rows["parent"].append(r.parent)
    return pa.table(rows)


def model_settings() -> Any:
    """The Splink settings: one comparison per evidence column, hand-set m/u, three blocks."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    def lvl(level: Any, m: float, u: float) -> Any:
        return level.configure(m_probability=m, u_probability=u)

    trunc = (
        f"((raw_len_l = {TRUNCATED_LENGTH} AND starts_with(plain_r, plain_l)) OR "
        f"(raw_len_r = {TRUNCATED_LENGTH} AND starts_with(plain_l, plain_r)))"
    )
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("mk"),
            lvl(cll.ExactMatchLevel("mk"), 0.60, 0.0005),
            lvl(cll.ExactMatchLevel("compact"), 0.08, 0.0002),
            lvl(cll.CustomLevel(trunc, "plain"), 0.05, 0.0001),
            lvl(cll.JaroWinklerLevel("mk", 0.95), 0.12, 0.002),
            lvl(cll.JaroWinklerLevel("mk", 0.90), 0.06, 0.01),
            lvl(cll.JaroWinklerLevel("mk", 0.80), 0.04, 0.05),
            lvl(cll.ElseLevel(), 0.05, 0.9373),
        ],
    )

    def ident(col: str, m_same: float, u_same: float) -> Any:
        return cl.CustomComparison(
            output_column_name=col,
            comparison_levels=[
                cll.NullLevel(col),
                lvl(cll.ExactMatchLevel(col), m_same, u_same),
                lvl(cll.ElseLevel(), 1 - m_same, 1 - u_same),
            ],
        )

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=PRIOR,
        comparisons=[
            name,
            # A company can hold several DUNS (Dell, Xerox), so "different" is weak evidence.
            ident("duns", 0.90, 0.0001),
            ident("uei", 0.90, 0.0001),
            ident("parent", 0.50, 0.001),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("first_token", "second_prefix"),
            block_on("compact6"),
            block_on("duns"),
        ],
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
    )


def score_pairs(records: list[MatchRecord], min_probability: float = 0.05,
                engine: str = "duckdb") -> pa.Table:
    """Score candidate pairs; returns Splink's prediction table as Arrow.

    Columns include unique_id_l/_r, name_display_l/_r, match_probability, match_weight and, per
    comparison, gamma_<name> (the level hit) and mw_<name> (its match weight, log2 Bayes factor).
    """
    import pyarrow as pa

    from contractwatch.extras import require

    if len(records) >= 2:
        require("match", "grouping recipients into corporate families (the name matcher)",
                "splink")
    if len(records) < 2:
        return pa.table(
            {
                "unique_id_l": pa.array([], pa.string()),
                "unique_id_r": pa.array([], pa.string()),
                "match_probability": pa.array([], pa.float64()),
            }
        )
    import logging

    from splink import Linker

    from contractwatch.engines import splink_db_api

    logging.getLogger("splink").setLevel(logging.ERROR)
    db_api = splink_db_api(engine)  # the same model on DuckDB or Spark
    sdf = db_api.register(_records_table(records))
    linker = Linker(sdf, model_settings())
    logging.getLogger("splink").setLevel(logging.ERROR)  # Linker() resets it to INFO
    preds = linker.inference.predict(threshold_match_probability=min_probability)
    if engine == "duckdb":
        return preds.as_duckdbpyrelation().to_arrow_table()
    return pa.Table.from_pandas(preds.as_pandas_dataframe(), preserve_index=False)


def describe_pair(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The evidence of one scored pair: each comparison's level and match weight."""
    out = []
    for comp, labels in LEVEL_LABELS.items():
        gamma = row.get(f"gamma_{comp}")
        if gamma is None:
            continue
        # Splink numbers levels from the top, null = -1, highest gamma = first non-null level.
        n_levels = len(labels) - 1
        label = labels[0] if gamma == -1 else labels[n_levels - gamma]
        out.append({"comparison": comp, "level": label, "match_weight": row.get(f"mw_{comp}")})
    return out
