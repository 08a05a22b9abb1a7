"""Search by meaning (meaning.py) with the real model: the index, its versions and its
incremental rebuild, BM25 against the textbook formula, the money of each result against plain
sums of the source rows, the CLI and the Python API giving the same rows, the one-line error
without the extra, and the ranking's quality on labelled queries (recall@20)."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.clitools import run_cli
from tests.conftest import FPDS, TRANSACTIONS
from tests.meaning_quality import dev_queries, labelled_queries, recall_table

pytest.importorskip("onnxruntime", reason="needs contractwatch[meaning]")

# reported in docs/meaning.md (dev queries, sample store); the test fails below it - MARGIN
REPORTED_HYBRID_MEAN = 0.432  # dev queries
REPORTED_LABELLED_MEAN = 0.46  # the 32 labelled queries (tests/data/purposes/queries.yaml)
REPORTED_OTHER_MEAN = 0.297  # those of them worded in other words
MARGIN = 0.03


def fpds_key(row: dict[str, str]) -> str:
    """The award key USAspending gives a 2018-layout row (PIID, agency, vehicle)."""
    return "CONT_AWD_{}_{}_{}_{}".format(
        row["award_id_piid"], row["awarding_sub_agency_code"],
        row["parent_award_id"] or "-NONE-", row["parent_award_agency_id"] or "-NONE-")


def fpds_fiscal_year(day_month_year: str) -> int:
    _, month, year = (int(x) for x in day_month_year.split("/"))
    return year + 1 if month >= 10 else year


@pytest.fixture(scope="module")
def ice_store(tmp_path_factory: pytest.TempPathFactory):
    """ICE FY2013-18 (2018-layout files), indexed."""
    from contractwatch import meaning
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    store = Store(tmp_path_factory.mktemp("meaning-ice"))
    ingest(store, [FPDS], progress=False)
    meaning.index(store.connect())
    return store


def test_passages_and_terms() -> None:
    from contractwatch.meaning import PASSAGE_WORDS, passages_of, terms

    assert passages_of("  ") == []
    assert passages_of("DAILY CHARTER FLIGHTS") == ["DAILY CHARTER FLIGHTS"]
    words = [f"W{i}" for i in range(150)]
    parts = passages_of(" ".join(words))
    assert all(len(p.split()) <= PASSAGE_WORDS for p in parts)
    assert set(" ".join(parts).split()) == set(words)  # nothing lost at the cuts
    assert terms("Locating, LOCATE and location of the people")[:3] == ["locat"] * 3


def test_bm25_is_the_textbook_formula(ice_store) -> None:
    from contractwatch import meaning

    ix = meaning.index(ice_store.connect())
    docs = [meaning.terms(t) for t in ix.texts]
    avg = sum(map(len, docs)) / len(docs)
    query = "detention bed space guard services"
    q = set(meaning.terms(query))
    df = {t: sum(1 for d in docs if t in d) for t in q}
    expected = []
    for d in docs:
        s = 0.0
        for t in q:
            tf = d.count(t)
            if tf:
                idf = math.log(1 + (len(docs) - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(d) / avg))
        expected.append(s)
    got = ix.bm25(query)
    assert max(expected) > 0
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < 1e-3


def test_index_is_versioned_by_loads_and_incremental(tmp_path: Path, monkeypatch) -> None:
    """A new load's index embeds only the passages never embedded before; built in small
    chunks here (links flushed every 50, passages embedded 300 at a time, as a million-award
    build does with larger ones), every vector is the model's for its passage."""
    import numpy as np

    from contractwatch import meaning
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    monkeypatch.setattr(meaning.IndexWriter, "LINKS_AT_ONCE", 50)
    monkeypatch.setattr(meaning, "EMBED_AT_ONCE", 300)
    store = Store(tmp_path / "store")
    ingest(store, [FPDS / "ice_fy2013.csv"], as_of="2014-01-01", progress=False)
    first = meaning.index(store.connect())
    assert first.meta["embedded"] == len(first.texts)
    assert (tmp_path / "store" / "meaning" / "index" / first.meta["version"]).is_dir()
    assert meaning.index(store.connect()).meta == first.meta  # same loads: same index
    ingest(store, [FPDS / "ice_fy2014.csv"], as_of="2015-01-01", progress=False)
    second = meaning.index(store.connect())
    assert second.meta["version"] != first.meta["version"]
    # only passages never embedded before were embedded
    new = {(t, k) for t, k in zip(second.texts, second.kinds, strict=True)}
    old = {(t, k) for t, k in zip(first.texts, first.kinds, strict=True)}
    assert second.meta["embedded"] == len({t for t, _ in new} - {t for t, _ in old})
    assert second.meta["embedded"] < len(second.texts)
    # cached or new, each passage's vector is the one the model gives for its text now
    model = meaning.embedder()
    for ix in (first, second):
        some = np.random.default_rng(1).choice(len(ix), 40, replace=False)
        fresh = model.embed([ix.texts[int(i)] for i in some])
        cosines = (fresh * (ix.vectors[some] / 127.0)).sum(axis=1)
        assert cosines.min() > 0.99
    # links flushed in chunks: every row with a PSC title counted once, on its title's link
    rows = 0
    for name in ("ice_fy2013.csv", "ice_fy2014.csv"):
        with open(FPDS / name, newline="", encoding="utf-8") as fh:
            rows += sum(1 for r in csv.DictReader(fh)
                        if r["product_or_service_code_description"].strip())
    psc_links = second.kinds[second.link_passage] == 1
    assert int(second.link_actions[psc_links].sum()) == rows


def test_stored_texts_read_back(tmp_path: Path) -> None:
    from contractwatch.meaning import Strings

    texts = ["DAILY CHARTER FLIGHTS", "", "SERVICIOS DE TRADUCCIÓN — 24/7", "x" * 5000]
    Strings.write(tmp_path, "t", texts)
    column = Strings(tmp_path, "t")
    assert len(column) == 4 and list(column) == texts and column[2] == texts[2]
    Strings.write(tmp_path, "empty", [])
    assert list(Strings(tmp_path, "empty")) == []


def test_coarse_pass_ranks_as_exact_scoring(ice_store, monkeypatch) -> None:
    """The binary codes' estimate picks the candidates that the exact int8 cosine ranks.
    This store's 3,900 passages are fewer than the candidates re-scored by default, so 256
    are re-scored here (6.5%, against at least a sixteenth by default): on every dev and
    labelled query, with and without a filter, nearly all of the first 20 awards are those
    of scoring every passage exactly (the slow test asks for all of them at the default, on
    the sample store); and the estimate follows the cosine."""
    import numpy as np

    from contractwatch import meaning

    ix = meaning.index(ice_store.connect())
    monkeypatch.setattr(meaning, "CANDIDATES", 256)
    assert len(ix) > 8 * meaning.CANDIDATES  # the coarse pass is used
    model = meaning.embedder()
    queries = [q["query"] for q in dev_queries() + labelled_queries()]
    shared = total = differ = 0
    for text in queries:
        vector = model.query(text)
        for values in ({}, {"fy": 2016}):
            for mode in ("hybrid", "meaning"):
                got, want = ([h.award_key for _, h in zip(range(20), meaning.rank(
                    ix, text, vector, values, mode=mode, exact=exact), strict=False)]
                    for exact in (False, True))
                shared += len(set(got) & set(want))
                total += len(want)
                differ += got != want
    assert shared / total >= 0.98, (shared, total)  # measured: 0.994
    assert differ <= 0.1 * 4 * len(queries), differ  # measured: 13 of 172
    # 512 random directions estimate an angle within about 0.06 on average (measured here:
    # 0.054-0.064 on three dev queries); a random guess is off by about 0.2
    for text in queries[:3]:
        vector = model.query(text)
        error = np.abs(ix.meaning(vector) - ix.meaning_estimate(vector))
        assert float(error.mean()) < 0.08


def test_cli_search_by_meaning_money_from_source_rows(ice_store, monkeypatch, capsys) -> None:
    code, out, err = run_cli(["--store", str(ice_store.root), "search",
                              "planes flying deportees home", "--meaning", "--agency", "ICE",
                              "--fy", "2018", "--limit", "5", "--format", "json"],
                             monkeypatch, capsys)
    assert code == 0, err
    rows = json.loads(out)
    assert 0 < len(rows) <= 5
    assert any("CHARTER" in r["matched_passage"] or "FLIGHT" in r["matched_passage"]
               for r in rows)
    fused = [r["score_fused"] for r in rows]
    assert fused == sorted(fused, reverse=True)
    for r in rows:
        assert {"score_bm25", "score_meaning", "matched_passage", "recipient_name"} <= set(r)
    # obligations as plain sums of the source rows of that award in FY2018
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for path in sorted(FPDS.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if fpds_fiscal_year(row["action_date"]) == 2018:
                    sums[fpds_key(row)] += Decimal(row["federal_action_obligation"] or "0")
    for r in rows:
        assert Decimal(str(r["federal_action_obligation"])) == sums[r["award_key"]]
    assert "ranked by meaning and keywords together" in err


def test_python_api_gives_the_cli_rows(ice_store, monkeypatch, capsys) -> None:
    import contractwatch as cw

    result = cw.open(ice_store.root).search("bullet resistant vests", meaning=True, limit=8)
    code, out, _ = run_cli(["--store", str(ice_store.root), "search",
                            "bullet resistant vests", "--meaning", "-n", "8", "-f", "json"],
                           monkeypatch, capsys)
    assert code == 0
    cli_rows = json.loads(out)
    assert [r["award_key"] for r in result.rows] == [r["award_key"] for r in cli_rows]
    assert [r["score_fused"] for r in result.rows] == [r["score_fused"] for r in cli_rows]
    assert result.columns[:3] == ["award_key", "award_id_piid", "recipient_name"]
    with pytest.raises(ValueError, match="sort, offset, columns and by do not apply"):
        cw.open(ice_store.root).search("vests", meaning=True, offset=5)


def test_missing_extra_is_one_line_naming_it(ice_store, monkeypatch, capsys) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    code, out, err = run_cli(["--store", str(ice_store.root), "search", "vests",
                              "--meaning"], monkeypatch, capsys)
    assert code != 0 and out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "contractwatch[meaning]" in lines[0], err


def check_quality(catalog) -> None:
    """Recall@20 no worse than docs/meaning.md reports (minus MARGIN), on the dev queries
    and on the labelled test queries; hybrid beats keyword search on the queries worded
    without the descriptions' words."""
    dev = recall_table(catalog, dev_queries())
    mean = dev.pop("mean")
    assert mean["hybrid"] >= REPORTED_HYBRID_MEAN - MARGIN, dev
    assert mean["hybrid"] > mean["keyword"]
    assert sum(r["hybrid"] > r["keyword"] for r in dev.values()) > len(dev) / 2
    queries = labelled_queries()
    assert len(queries) >= 30
    table = recall_table(catalog, queries)
    assert table.pop("mean")["hybrid"] >= REPORTED_LABELLED_MEAN - MARGIN, table
    other = [table[q["query"]] for q in queries if q["wording"] == "other"]
    assert len(other) >= 10
    assert sum(r["hybrid"] for r in other) > sum(r["keyword"] for r in other)
    assert sum(r["hybrid"] for r in other) / len(other) >= REPORTED_OTHER_MEAN - MARGIN


@pytest.mark.slow
def test_recall_no_worse_than_reported(tmp_path_factory) -> None:
    """The sample store (ICE+CBP FY2021-26, ICE FY2013-18), indexed from scratch."""
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    store = Store(tmp_path_factory.mktemp("meaning-sample"))
    ingest(store, [FPDS], as_of="2018-12-31", progress=False)
    ingest(store, [TRANSACTIONS], as_of="2026-11-30", progress=False)
    catalog = store.connect()
    check_quality(catalog)
    # the coarse pass gives the exact ranking's first 20 on the labelled queries
    from contractwatch import meaning

    ix, model = meaning.index(catalog), meaning.embedder()
    for q in labelled_queries():
        vector = model.query(q["query"])
        got, want = ([h.award_key for _, h in zip(range(20), meaning.rank(
            ix, q["query"], vector, {}, exact=exact), strict=False)] for exact in (False, True))
        assert got == want, q["query"]
