"""Nearest-example suggestions at scale: N awards left open by the rules, compared with the
taxonomy's examples by `purpose_examples.suggest`, as a store of about 13×N awards would
have them (7.5% of the sample's awards are left open).

    .venv/bin/python bench/bench_purpose_examples.py [--awards 75000] [--passages 2]

The awards' passages are synthetic and their vectors random unit vectors, written to the
vector cache of a temporary store in the cache's format (meaning.py: shards of `keys` and
int8 `vectors`), so no passage is embedded: this measures the comparison (one matrix product,
the per-award and per-tag maxima, the suggestions), not the model. The 105 examples are
embedded for real. Reports seconds (CPU and wall) and peak memory (ru_maxrss) before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path


def main() -> None:
    import numpy as np

    from contractwatch import meaning, purpose_examples, purposes
    from contractwatch.award_texts import AwardText
    from contractwatch.store import Store

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--awards", type=int, default=75_000)
    ap.add_argument("--passages", type=int, default=2, help="descriptions per award")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Store(Path(tmp)).connect()
        awards = [AwardText(f"A{i}", descriptions=[f"SYNTHETIC ORDER {i} LINE {j}"
                                                   for j in range(args.passages)])
                  for i in range(args.awards)]
        texts = [d for a in awards for d in a.descriptions]
        rng = np.random.default_rng(19)
        chunks = []
        for i in range(0, len(texts), 50_000):  # int8 unit vectors, a slice at a time
            v = rng.standard_normal((min(50_000, len(texts) - i), meaning.DIM))
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            chunks.append(np.clip(np.rint(v * 127), -127, 127).astype(np.int8))
        cache = meaning.meaning_dir(catalog) / "vectors" / meaning.MODEL_ID
        cache.mkdir(parents=True)
        np.savez(cache / "shard-bench.npz",
                 keys=np.array([meaning.text_key(meaning.MODEL_ID, t) for t in texts],
                               dtype="S16"),
                 vectors=np.concatenate(chunks))
        del v, chunks, texts
        examples = purpose_examples.taxonomy_examples(purposes.load_taxonomy())
        meaning.text_vectors(catalog, [e.text for e in examples])  # the model, loaded once
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        cpu, wall = time.process_time(), time.perf_counter()
        found = purpose_examples.suggest(catalog, awards, examples, floor=-1.0)
        out = {"awards": args.awards, "passages": sum(len(a.descriptions) for a in awards),
               "examples": len(examples), "peak_mb_before": round(before),
               "suggestions": len(found),
               "cpu_s": round(time.process_time() - cpu, 2),
               "wall_s": round(time.perf_counter() - wall, 2),
               "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
               "load_average": os.getloadavg()[0]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
