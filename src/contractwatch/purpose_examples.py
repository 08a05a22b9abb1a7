"""Nearest examples: purposes suggested for the awards the phrase and code rules leave
untagged or uncertain, read from the labelled examples their texts are nearest to in meaning.

The rules (purposes.py) read words and codes; an award that says what it buys in other words
escapes them. Such an award is compared, by the sentence model of search by meaning, with
labelled examples:

- each tag's `examples` in the taxonomy (written in other words than its phrases), and
- the awards a person judged to be for a purpose (`purpose judge AWARD TAG --yes`): their
  descriptions become examples of that tag.

The score of a tag is the best cosine between one of the award's description passages and
one of the tag's examples; the award's suggestion is its best tag, kept from SUGGEST on, with
the reason: the nearest examples (text, tag, score). Suggestions are not tags: measured on
the labelled awards they cost precision at every threshold chosen on the dev awards
(docs/purposes.md), so they go to the review queue (`purpose review` lists them first, best
score first) and `purpose explain` shows them; a person's `purpose judge` turns one into a
tag. SUGGEST was chosen on the dev awards (`tests/data/purposes/dev_awards.csv`, awards
outside the labelled test set, labelled by reading), never on the test labels.

Vectors come from meaning.py's public functions: the store's vector cache, shared with the
index for search by meaning (passages already indexed are not embedded again). Without the
`meaning` extra this reason is off, in one line. Suggestions are stored per state of the data
like the tags (`<store>/resolve/purpose-examples/<version>/suggestions.parquet`), computed by
the first question that shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contractwatch import settings
from contractwatch.award_texts import AwardText, clean, iter_awards
from contractwatch.store import Catalog, resolve_dir, stored_folder, stored_version

SUGGEST = 0.30  # a suggestion from this score (cosine) on: the best F1 on the dev awards
NEAREST = 3  # examples shown as the reason
OFF_NOTE = ("nearest-example suggestions off: install contractwatch[meaning] (and leave "
            "CONTRACTWATCH_PURPOSE_EXAMPLES unset) to compare the awards the rules leave "
            "untagged with the taxonomy's examples and judged awards")
SCHEMA = (("award_key", "string"), ("purpose", "string"), ("score", "float64"),
          ("evidence", "string"), ("passage", "string"))


def available() -> bool:
    """True when the sentence model of search by meaning is installed."""
    from contractwatch import meaning
    from contractwatch.extras import installed

    return installed(*meaning.MODULES)


def model_id() -> str:
    from contractwatch import meaning

    return meaning.MODEL_ID


@dataclass(frozen=True)
class Example:
    """A labelled example: a text known to be for a tag."""

    text: str
    tag: str
    source: str  # "taxonomy" or "judged <award key>"


@dataclass
class Suggestion:
    """The nearest examples of one award, and the tag they point to."""

    award_key: str
    tag: str
    score: float
    passage: str
    nearest: list[tuple[Example, float]]

    def evidence(self) -> str:
        return "nearest examples: " + "; ".join(
            f"{e.text!r} ({e.tag}, {s:.2f})" for e, s in self.nearest)


def taxonomy_examples(tags: Iterable[Any]) -> list[Example]:
    return [Example(text, t.id, "taxonomy") for t in tags for text in t.examples]


def judged_examples(awards: Iterable[AwardText],
                    judged: dict[tuple[str, str], dict[str, str]]) -> list[Example]:
    """The descriptions of awards judged yes for a tag, as examples of that tag."""
    yes: dict[str, list[str]] = {}
    for (key, tag), j in judged.items():
        if j.get("judgement") == "yes":
            yes.setdefault(key, []).append(tag)
    out = []
    for a in awards:
        for tag in yes.get(a.award_key, ()):
            out += [Example(p, tag, f"judged {a.award_key}") for p in passages(a)]
    return out


def passages(award: AwardText) -> list[str]:
    """The award's description passages, cut as the index for search by meaning cuts them
    (so their vectors are found in the store's cache)."""
    from contractwatch.meaning import passages_of

    out: list[str] = []
    for d in award.descriptions:
        for p in passages_of(clean(d)):
            if p not in out:
                out.append(p)
    return out


def suggest(catalog: Catalog, awards: list[AwardText], examples: list[Example],
            floor: float = SUGGEST, decided: dict[str, set[str]] | None = None
            ) -> list[Suggestion]:
    """For each award, the tag its nearest examples point to, when the best score reaches
    `floor`. An award is never its own example, and a tag a person `decided` for an award
    is not suggested for it. One matrix product for all passages against all examples."""
    import numpy as np

    from contractwatch.meaning import text_vectors

    decided = decided or {}
    examples = sorted(examples, key=lambda e: e.tag)  # each tag's examples side by side
    with_passages = [(a, passages(a)) for a in awards]
    with_passages = [(a, ps) for a, ps in with_passages if ps]
    if not with_passages or not examples:
        return []
    awards = [a for a, _ in with_passages]
    per_award = [ps for _, ps in with_passages]
    texts = sorted({p for ps in per_award for p in ps} | {e.text for e in examples})
    row = {t: i for i, t in enumerate(texts)}
    vectors = text_vectors(catalog, texts)  # int8, kept so: a million passages fit
    ex = unit(vectors[[row[e.text] for e in examples]])
    starts = np.cumsum([0] + [len(ps) for ps in per_award[:-1]])
    cos = cosines(vectors, np.array([row[p] for ps in per_award for p in ps]), ex)
    best = np.maximum.reduceat(cos, starts, axis=0)  # awards × examples
    tags = [e.tag for e in examples]
    tag_starts = [i for i, t in enumerate(tags) if i == 0 or tags[i - 1] != t]
    tag_ids = [tags[i] for i in tag_starts]
    for n, award in enumerate(awards):
        own = [i for i, e in enumerate(examples) if e.source == f"judged {award.award_key}"]
        best[n, own] = -1.0
    per_tag = np.maximum.reduceat(best, tag_starts, axis=1)  # awards × tags
    for n, award in enumerate(awards):
        for t in decided.get(award.award_key, ()):
            if t in tag_ids:
                per_tag[n, tag_ids.index(t)] = -1.0
    out: list[Suggestion] = []
    for n in np.flatnonzero(per_tag.max(axis=1) >= floor):
        award, ps, score = awards[n], per_award[n], best[n]
        t = int(per_tag[n].argmax())
        tag = tag_ids[t]
        end = tag_starts[t + 1] if t + 1 < len(tag_starts) else len(examples)
        i = tag_starts[t] + int(score[tag_starts[t]:end].argmax())
        passage = ps[int(cos[starts[n]:starts[n] + len(ps), i].argmax())]
        order = np.argsort(-score, kind="stable")[:NEAREST]
        out.append(Suggestion(award.award_key, tag, round(float(per_tag[n, t]), 3), passage,
                              [(examples[j], round(float(score[j]), 3)) for j in order]))
    return out


def cosines(int8_vectors: Any, rows: Any, unit_examples: Any, step: int = 65536) -> Any:
    """Cosine of each of `rows` of the int8 vectors with each example (rows × examples),
    a slice at a time so that no float copy of all the vectors is made."""
    import numpy as np

    out = np.empty((len(rows), len(unit_examples)), dtype=np.float32)
    for i in range(0, len(rows), step):
        out[i:i + step] = unit(int8_vectors[rows[i:i + step]]) @ unit_examples.T
    return out


def unit(int8_vectors: Any) -> Any:
    """The cache's int8 vectors (unit vectors × 127) as float unit vectors."""
    import numpy as np

    v = int8_vectors.astype(np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


# ---- stored with the data -----------------------------------------------------------------

def mode() -> str:
    """The model that scores nearest examples, or 'off' (the `meaning` extra is not
    installed, or CONTRACTWATCH_PURPOSE_EXAMPLES=off)."""
    if settings.purpose_examples_off():
        return "off"
    return model_id() if available() else "off"


def suggestions_folder(catalog: Catalog, tags_folder: Path, tags: list[Any],
                       judged: dict[tuple[str, str], dict[str, str]],
                       steering: list[Path]) -> Path | None:
    """The stored suggestions of the current state (None when off): computed for the awards
    `tags_folder`'s evidence leaves untagged or uncertain, versioned by the tagging they
    complete, the model, this module and the files that steer them."""
    current = mode()
    if current == "off":
        return None
    key = "purpose-examples-folder"
    if key not in catalog._cache:
        version = stored_version(catalog, "purpose-examples", current, tags_folder.name,
                                 SUGGEST, files=[*steering, Path(__file__)])
        catalog._cache[key] = stored_folder(
            resolve_dir(catalog) / "purpose-examples", version,
            lambda folder: _write(catalog, folder, tags_folder, tags, judged))
    return catalog._cache[key]


def _write(catalog: Catalog, folder: Path, tags_folder: Path, tags: list[Any],
           judged: dict[tuple[str, str], dict[str, str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    evidence = str(tags_folder / "evidence.parquet").replace("'", "''")
    certain = {r["award_key"] for r in catalog.fetch(
        f"SELECT DISTINCT award_key FROM read_parquet('{evidence}') "
        "WHERE tagged AND NOT uncertain")}
    judged_yes = {k for (k, _), j in judged.items() if j.get("judgement") == "yes"}
    candidates: list[AwardText] = []
    judged_awards: list[AwardText] = []
    for a in iter_awards(catalog):
        slim = AwardText(a.award_key, descriptions=a.descriptions)
        if a.award_key not in certain:
            candidates.append(slim)
        if a.award_key in judged_yes:
            judged_awards.append(slim)
    examples = taxonomy_examples(tags) + judged_examples(judged_awards, judged)
    decided: dict[str, set[str]] = {}
    for key, tag in judged:
        decided.setdefault(key, set()).add(tag)  # a person decided those
    found = suggest(catalog, candidates, examples, decided=decided)
    columns = {"award_key": [s.award_key for s in found], "purpose": [s.tag for s in found],
               "score": [s.score for s in found], "evidence": [s.evidence() for s in found],
               "passage": [s.passage for s in found]}
    schema = pa.schema([(n, getattr(pa, t)()) for n, t in SCHEMA])
    pq.write_table(pa.table(columns, schema=schema), folder / "suggestions.parquet")
    (folder / "examples.json").write_text(json.dumps({
        "model": model_id(), "suggest_from": SUGGEST, "examples": len(examples),
        "judged_examples": len(examples) - len(taxonomy_examples(tags)),
        "awards_compared": len(candidates), "suggestions": len(found)}, indent=1),
        encoding="utf-8")
