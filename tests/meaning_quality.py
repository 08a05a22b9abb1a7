"""Recall@20 of search by meaning against labelled queries, for four rankings: the keyword
search (`search`, a phrase in the descriptions, by obligations), BM25 alone, meaning alone
and the hybrid that `search --meaning` uses. Shared by tests/test_meaning.py and
bench/bench_meaning.py.

recall@20 of a query = labelled awards among the first 20 / min(labelled awards, 20): a
query with 100 relevant awards scores 1.0 when its first 20 are all relevant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEV = Path(__file__).parent / "data" / "meaning_dev.yaml"
AT = 20
MODES = ("keyword", "bm25", "meaning", "hybrid")


def dev_queries() -> list[dict[str, Any]]:
    return yaml.safe_load(DEV.read_text(encoding="utf-8"))["queries"]


def recall(found: list[str], relevant: set[str]) -> float:
    if not relevant:
        return 0.0
    return len(set(found[:AT]) & relevant) / min(len(relevant), AT)


def ranked_keys(catalog: Any, query: str, mode: str, **kw: Any) -> list[str]:
    """The first AT award keys of one ranking, over all the data."""
    from contractwatch import meaning
    from contractwatch.analyze import Filters, search

    if mode == "keyword":
        return [r["award_key"] for r in search(catalog, query, Filters(), limit=AT).rows]
    ix = meaning.index(catalog)
    vector = meaning.embedder().query(query)
    out = []
    for hit in meaning.rank(ix, query, vector, {}, mode=mode, **kw):
        out.append(hit.award_key)
        if len(out) == AT:
            break
    return out


def recall_table(catalog: Any, queries: list[dict[str, Any]], modes: tuple[str, ...] = MODES,
                 **kw: Any) -> dict[str, dict[str, float]]:
    """{query: {mode: recall@20}}, plus a 'mean' row."""
    table: dict[str, dict[str, float]] = {}
    for q in queries:
        relevant = set(q["relevant"])
        table[q["query"]] = {m: recall(ranked_keys(catalog, q["query"], m, **kw), relevant)
                             for m in modes}
    table["mean"] = {m: sum(r[m] for r in table.values()) / max(len(queries), 1)
                     for m in modes}
    return table


def labelled_queries() -> list[dict[str, Any]]:
    """The labelled test queries (tests/data/purposes/queries.yaml, judged by reading), with
    their wording: 'own' (the descriptions' words) or 'other' (said in other words)."""
    from tests.purposes_truth import search_queries

    return [{"query": q.query, "relevant": list(q.relevant), "wording": q.wording}
            for q in search_queries()]
