"""Search by meaning: index build time, query latency and memory, on a store and at a million
awards (docs/meaning.md).

    python bench/bench_meaning.py build STORE      # index the store from scratch (own process)
    python bench/bench_meaning.py query STORE      # latency of queries after the first
    python bench/bench_meaning.py million STORE    # synthetic 1M-award index (see below)
    python bench/bench_meaning.py quality STORE    # recall@20 of the four rankings (dev set)

Each prints one JSON line: wall and CPU seconds, peak memory (max RSS), counts.

The million-award bench recombines real descriptions: each synthetic award's description is
the first half of one real description and the second half of another (nearly all distinct),
with a real PSC and NAICS title. Embedding throughput is measured on a sample of them with the
real model and extrapolated; the million vectors themselves are the normalised sums of the
two halves' real descriptions' vectors (for timing and memory only: their values do not
matter there). BM25 postings, the index files, and the queries are real and at full size.
"""

from __future__ import annotations

import json
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = ["locating people who missed hearings", "planes taking deportees back home",
           "cameras that read number plates", "ankle monitors for people released",
           "detention bed space", "interpreters for interviews", "body armor",
           "software licences for case management"]


def peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = clock()
    return {"wall_s": round(wall - start[0], 2), "cpu_s": round(cpu - start[1], 2)}


def build(store_dir: str) -> dict:
    """The index from scratch: the store's meaning folder moved aside, then put back."""
    from contractwatch import meaning
    from contractwatch.store import Store

    catalog = Store(store_dir).connect()
    folder = meaning.meaning_dir(catalog)
    aside = Path(tempfile.mkdtemp(prefix="meaning-aside-")) / "meaning"
    if folder.exists():
        shutil.move(str(folder), aside)
    try:
        start = clock()
        ix = meaning.index(catalog, progress=False)
        out = {"bench": "build", **since(start), "passages": len(ix.texts),
               "awards": len(ix.awards), "peak_mb": peak_mb()}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if aside.exists():
            shutil.move(str(aside), folder)
    return out


def query(store_dir: str, ix_folder: Path | None = None) -> dict:
    """A first query (model and index loaded), then the others: wall time of each."""
    from contractwatch import meaning
    from contractwatch.analyze import Filters, filter_values
    from contractwatch.store import Store

    catalog = Store(store_dir).connect()

    def ask(ix: meaning.Index | None, text: str, f: Filters) -> None:
        if ix is None:
            meaning.search(catalog, text, f, limit=20)
        else:  # the synthetic awards are not in the store: the ranking alone
            ranked = meaning.rank(ix, text, meaning.embedder().query(text), filter_values(f))
            [h for _, h in zip(range(40), ranked, strict=False)]

    start = clock()
    ix = meaning.Index.read(ix_folder) if ix_folder is not None else None
    ask(ix, QUERIES[0], Filters())
    first = since(start)["wall_s"]
    times = []
    for q in QUERIES[1:] * 2:
        t0 = time.perf_counter()
        ask(ix, q, Filters(agency="ICE") if len(times) % 2 else Filters())
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"bench": "query" if ix is None else "rank", "first_s": first,
            "median_s": round(times[len(times) // 2], 3), "max_s": round(times[-1], 3),
            "queries": len(times), "peak_mb": peak_mb()}


def million(store_dir: str, awards: int = 1_000_000, sample: int = 2000) -> dict:
    import numpy as np

    from contractwatch import meaning
    from contractwatch.store import Store

    catalog = Store(store_dir).connect()
    real = meaning.index(catalog)
    descriptions = np.flatnonzero(real.kinds == 0)
    psc = np.flatnonzero(real.kinds == 1)
    naics = np.flatnonzero(real.kinds == 2)
    rng = random.Random(7)
    out: dict = {"bench": "million", "awards": awards}

    # texts: halves of two real descriptions
    start = clock()
    passages = meaning.Passages()
    pairs = []
    for n in range(awards):
        a, b = int(rng.choice(descriptions)), int(rng.choice(descriptions))
        wa, wb = real.texts[a].split(), real.texts[b].split()
        text = " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2:])
        passages.add(f"SYNTH_{n}", "7012" if n % 2 else "7014", "7000", 2013 + n % 14, 1,
                     (text, real.texts[int(rng.choice(psc))],
                      real.texts[int(rng.choice(naics))]))
        pairs.append((a, b))
    out["collect"] = since(start)
    out["passages"] = len(passages.texts)

    # embedding throughput on a sample of the synthetic descriptions, with the real model
    model = meaning.embedder()
    texts = [t for t, k in zip(passages.texts, passages.kinds, strict=True) if k == 0]
    chosen = rng.sample(texts, sample)
    start = clock()
    model.embed(chosen)
    took = since(start)
    out["embed_sample"] = {**took, "passages": sample,
                           "passages_per_cpu_s": round(sample / took["cpu_s"], 1),
                           "passages_per_wall_s": round(sample / took["wall_s"], 1)}
    out["embed_1m_estimate_h_two_idle_cores"] = round(
        len(passages.texts) / (2 * sample / took["cpu_s"]) / 3600, 2)

    # stand-in vectors: normalised sums of the two halves' real vectors (see the docstring)
    start = clock()
    vectors = np.zeros((len(passages.texts), meaning.DIM), dtype=np.int8)
    ids = {t: i for i, t in enumerate(real.texts)}
    d = 0
    for i, (text, kind) in enumerate(zip(passages.texts, passages.kinds, strict=True)):
        if kind == 0:
            a, b = pairs[d] if d < len(pairs) else pairs[-1]
            d += 1
            v = real.vectors[a].astype(np.float32) + real.vectors[b].astype(np.float32)
        else:
            v = real.vectors[ids[text]].astype(np.float32)
        v /= max(float(np.linalg.norm(v)), 1e-6)
        vectors[i] = np.clip(np.rint(v * 127), -127, 127).astype(np.int8)
    out["stand_in_vectors"] = since(start)

    folder = Path(tempfile.mkdtemp(prefix="meaning-1m-")) / "index"
    try:
        start = clock()
        meaning.write_index(folder, passages, vectors, {"version": "synthetic-1m",
                                                        "loads": [], "embedded": 0})
        out["write_index_with_bm25"] = since(start)
        out["index_mb"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20)
        out["peak_mb_building"] = peak_mb()
        del passages, vectors, pairs, texts
        out["query"] = query_in_child(store_dir, folder)
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return out


def query_in_child(store_dir: str, folder: Path) -> dict:
    """Query latency and memory at a million awards in a fresh process (its own peak)."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, "query", store_dir, str(folder)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def quality(store_dir: str) -> dict:
    from contractwatch.store import Store
    from tests.meaning_quality import dev_queries, recall_table

    table = recall_table(Store(store_dir).connect(), dev_queries())
    return {"bench": "quality", "recall_at_20": {q: {m: round(v, 2) for m, v in r.items()}
                                                 for q, r in table.items()}}


def main() -> None:
    what, store = sys.argv[1], sys.argv[2]
    if what == "build":
        result = build(store)
    elif what == "query":
        result = query(store, Path(sys.argv[3]) if len(sys.argv) > 3 else None)
    elif what == "million":
        result = million(store, int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000)
    elif what == "quality":
        result = quality(store)
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
