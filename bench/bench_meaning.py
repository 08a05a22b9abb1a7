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
    """Peak resident memory, memory-mapped file pages included."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class PeakAnon:
    """Peak anonymous memory (the heap: what the process itself allocated, without the pages
    of memory-mapped files, which the kernel can drop), sampled every 50 ms."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.done.wait(0.05):
            with open("/proc/self/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        self.peak = max(self.peak, int(line.split()[1]) // 1024)

    def stop(self) -> int:
        self.done.set()
        self.thread.join()
        return self.peak


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
    anon = PeakAnon()

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
    times, cpu = [], []
    for q in QUERIES[1:] * 2:
        t0, c0 = clock()
        ask(ix, q, Filters(agency="ICE") if len(times) % 2 else Filters())
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times.sort()
    cpu.sort()
    out = {"bench": "query" if ix is None else "rank", "first_s": first,
           "median_s": round(times[len(times) // 2], 3), "max_s": round(times[-1], 3),
           "cpu_median_s": round(cpu[len(cpu) // 2], 3), "cpu_max_s": round(cpu[-1], 3),
           "queries": len(times) + 1, "peak_mb": peak_mb(), "peak_anon_mb": anon.stop()}
    if ix is not None:  # the coarse pass against scoring every passage exactly
        shared = differ = 0
        exact_times = []
        for q in QUERIES:
            vector = meaning.embedder().query(q)
            t0 = time.perf_counter()
            want = [h.award_key for _, h in zip(range(20), meaning.rank(
                ix, q, vector, {}, exact=True), strict=False)]
            exact_times.append(time.perf_counter() - t0)
            got = [h.award_key for _, h in zip(range(20), meaning.rank(ix, q, vector, {}),
                                               strict=False)]
            shared += len(set(got) & set(want))
            differ += got != want
        out["exact_median_s"] = round(sorted(exact_times)[len(exact_times) // 2], 3)
        out["top20_shared_with_exact"] = round(shared / (20 * len(QUERIES)), 3)
        out["top20_rankings_differing"] = differ
    return out


def million(store_dir: str, awards: int = 1_000_000, sample: int = 2000) -> dict:
    """Embedding throughput on a sample of synthetic descriptions with the real model; the
    index of `awards` synthetic awards built and queried in child processes (their own peak
    memory)."""
    from contractwatch import meaning
    from contractwatch.store import Store

    catalog = Store(store_dir).connect()
    real = meaning.index(catalog)
    rng = random.Random(7)
    out: dict = {"bench": "million", "awards": awards}
    texts = [synthetic_award(real, rng)[1][0] for _ in range(sample)]
    start = clock()
    meaning.embedder().embed(texts)
    took = since(start)
    out["embed_sample"] = {**took, "passages": sample,
                           "passages_per_cpu_s": round(sample / took["cpu_s"], 1),
                           "passages_per_wall_s": round(sample / took["wall_s"], 1)}
    folder = Path(tempfile.mkdtemp(prefix="meaning-1m-")) / "index"
    try:
        out["build"] = in_child("million-build", store_dir, str(folder), str(awards))
        out["embed_estimate_h_two_idle_cores"] = round(
            out["build"]["passages"] / (2 * sample / took["cpu_s"]) / 3600, 2)
        out["index_mb"] = round(sum(f.stat().st_size for f in folder.iterdir()) / 2**20)
        out["query"] = in_child("query", store_dir, str(folder))
    finally:
        shutil.rmtree(folder.parent, ignore_errors=True)
    return out


BY_KIND: dict[int, list] = {}  # passages of each kind, per index


def synthetic_award(real, rng: random.Random) -> tuple[tuple[int, int], tuple[str, str, str]]:
    """The halves of two real descriptions, and a real PSC and NAICS title."""
    import numpy as np

    if id(real) not in BY_KIND:
        BY_KIND[id(real)] = [np.flatnonzero(np.asarray(real.kinds) == k) for k in range(3)]
    by_kind = BY_KIND[id(real)]
    a, b = int(rng.choice(by_kind[0])), int(rng.choice(by_kind[0]))
    wa, wb = real.texts[a].split(), real.texts[b].split()
    text = " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2:])
    return (a, b), (text, real.texts[int(rng.choice(by_kind[1]))],
                    real.texts[int(rng.choice(by_kind[2]))])


def million_build(store_dir: str, folder: Path, awards: int) -> dict:
    """The synthetic index, streamed through meaning.IndexWriter as a real build is. Vectors
    of the synthetic descriptions are the normalised sums of their two halves' real vectors
    (for timing, memory and the coarse pass's agreement; embedding a million texts would take
    the better part of an hour on two cores), found from a hash of the text."""
    import numpy as np

    from contractwatch import meaning
    from contractwatch.store import Store

    anon = PeakAnon()
    real = meaning.index(Store(store_dir).connect())
    rng = random.Random(7)
    hashes = np.zeros(awards, dtype=np.int64)
    pairs = np.zeros((awards, 2), dtype=np.int32)
    start = clock()
    writer = meaning.IndexWriter(folder)
    for n in range(awards):
        (a, b), texts = synthetic_award(real, rng)
        hashes[n] = hash(texts[0])
        pairs[n] = a, b
        writer.add(f"SYNTH_{n:07d}", "7012" if n % 2 else "7014", "7000", 2013 + n % 14, 1,
                   texts)
    collected = since(start)
    order = np.argsort(hashes)
    hashes, pairs = hashes[order], pairs[order]
    real_ids = {t: i for i, t in enumerate(real.texts)}

    def stand_in(texts: list[str], advance=None) -> np.ndarray:
        out = np.zeros((len(texts), meaning.DIM), dtype=np.float32)
        for i, text in enumerate(texts):
            j = real_ids.get(text)
            if j is not None:  # a real PSC or NAICS title
                out[i] = real.vectors[j] / 127.0
                continue
            k = min(int(np.searchsorted(hashes, hash(text))), len(hashes) - 1)
            a, b = pairs[k]
            out[i] = real.vectors[a].astype(np.float32) + real.vectors[b].astype(np.float32)
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)

    cache = meaning.VectorCache(folder.parent / "vectors")
    start = clock()
    meta = writer.finish(cache, {"version": "synthetic", "loads": []}, embed=stand_in)
    return {"collect": collected, "finish_with_stand_in_vectors": since(start),
            "passages": meta["passages"], "links": meta["links"], "peak_mb": peak_mb(),
            "peak_anon_mb": anon.stop()}


def in_child(*args: str) -> dict:
    """One bench in a fresh process (its own peak memory)."""
    import subprocess

    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                          check=True)
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
    elif what == "million-build":
        result = million_build(store, Path(sys.argv[3]), int(sys.argv[4]))
    elif what == "million":
        result = million(store, int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000)
    elif what == "quality":
        result = quality(store)
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
