"""Purpose tags: what the money buys, per award, with the evidence for every tag.

PSC and NAICS codes do not answer "how much does ICE spend on detention, on removal flights,
on locating people": a skip-tracing order is coded as generic support. So each award gets tags
from a curated taxonomy shipped as data (`data/purposes.yaml`), each tag with its reason:

- `code`: the award's PSC or NAICS is one the tag lists. Rows of the API export carry only
  the PSC *title*; the title is turned back into its code(s) with the official PSC list
  (`data/psc_titles.csv`), and titles newer than that list are matched on the title words the
  tag lists (`psc_titles`). NAICS titles are matched as the taxonomy spells them.
- `phrase`: words of the tag found in the award's descriptions (every action's), with the
  passage around them.
- `judgement`: a person's decision (`purpose judge`), stored as data under the store and
  overriding the rules either way.

For an award the rules leave untagged or uncertain, `explain` and `review` also show the tag
its nearest labelled examples suggest (reason `example`, purpose_examples.py): a suggestion
for review, never counted as a tag (measured, it costs precision: docs/purposes.md).

A tag given only by a weak phrase, by a code the text does not back, or held back by the
tag's exclusions is marked uncertain and goes to the review queue (`purpose review`), the
largest money first.

Tags describe what the government buys, never who is paid: they belong to awards, and a
recipient recorded as an individual gets nothing beyond its award's tags.

Tagging runs once per state of the data and is stored with it, like resolution:
`<store>/resolve/purposes/<version>/` holds `tags.parquet` (award key, tag: what queries
join), `evidence.parquet` (every reason, passage and note) and `awards.parquet` (each
award's text and money, for explain and review). The version hashes the loads, the taxonomy
and the judgements, so a new load, a taxonomy edit or a judgement makes the next question that
needs tags compute them again (as does a new version of this module); no query ever tags.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from contractwatch import award_texts, purpose_examples, settings
from contractwatch.analyze import (
    Filters,
    Result,
    apply_values,
    award_key,
    caveats,
    filter_values,
    run_query,
)
from contractwatch.award_texts import AwardText, iter_awards, words
from contractwatch.store import Catalog, resolve_dir, stored_folder, stored_version

UNTAGGED = "untagged"
TAGS_TABLE = "cw_purpose_tags"
MULTI_TAG_NOTE = (
    "purpose view: an award with several purposes counts in full under each, so the rows add "
    "up to more than the scope's total; never add them up (the scope's total is given once)")
RULES_NOTE = ("purposes are read from descriptions and PSC/NAICS codes by the rules in "
              "purposes.yaml; `contractwatch purpose explain AWARD` shows why")


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used: names the file, the tag and the problem."""


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    definition: str
    psc: tuple[str, ...] = ()
    psc_titles: tuple[str, ...] = ()
    naics: tuple[tuple[str, str], ...] = ()  # (code, title)
    phrases: tuple[str, ...] = ()
    weak_phrases: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    context_phrases: tuple[str, ...] = ()  # name a place or programme, not what is bought
    code_needs_text: bool = False
    code_yields_to: tuple[str, ...] = ()  # a code-only match steps back for these tags
    residual: bool = False  # a catch-all: only when no more specific tag applies


TAG_KEYS = {"id", "name", "definition", "psc", "psc_titles", "naics", "phrases",
            "weak_phrases", "context_phrases", "exclude", "examples", "sources",
            "code_needs_text", "code_yields_to", "residual"}


def taxonomy_path() -> Path:
    """The taxonomy in use: CONTRACTWATCH_PURPOSES if set, else the shipped one."""
    chosen = settings.purposes_file()
    if chosen:
        return chosen
    return Path(str(resources.files("contractwatch.data").joinpath("purposes.yaml")))


def load_taxonomy(path: Path | None = None) -> list[Tag]:
    """The tags of a taxonomy file, checked: every tag needs an id, a name, a definition and
    at least one source; ids are unique; unknown keys are refused (a typo would silently
    disable a rule)."""
    return list(_load_taxonomy(path or taxonomy_path()))


@cache
def _load_taxonomy(path: Path) -> tuple[Tag, ...]:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"{path}: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tags"), list):
        raise TaxonomyError(f"{path}: expected a mapping with a 'tags' list")
    tags: list[Tag] = []
    for n, raw in enumerate(doc["tags"], 1):
        where = f"{path}: tag {n}"
        if not isinstance(raw, dict):
            raise TaxonomyError(f"{where}: expected a mapping")
        where = f"{path}: tag {raw.get('id', n)!s}"
        unknown = set(raw) - TAG_KEYS
        if unknown:
            raise TaxonomyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("id", "name", "definition"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise TaxonomyError(f"{where}: '{key}' is missing")
        if not raw.get("sources"):
            raise TaxonomyError(f"{where}: 'sources' is missing (say what the definition "
                                "relies on)")
        if raw["id"] == UNTAGGED or not re.fullmatch(r"[a-z][a-z0-9-]*", raw["id"]):
            raise TaxonomyError(f"{where}: id must be lower-case words joined by '-'")
        naics = []
        for item in raw.get("naics") or []:
            m = re.fullmatch(r"\s*(\d{2,6})\s+(.+?)\s*", str(item))
            if not m:
                raise TaxonomyError(f"{where}: NAICS {item!r} is not 'CODE Title'")
            naics.append((m.group(1), m.group(2).upper()))
        lists = {}
        for key in ("psc", "psc_titles", "phrases", "weak_phrases", "context_phrases",
                    "exclude", "examples", "sources", "code_yields_to"):
            value = raw.get(key) or []
            if not isinstance(value, list):
                raise TaxonomyError(f"{where}: '{key}' must be a list")
            lists[key] = tuple(str(v).strip() for v in value if str(v).strip())
        tags.append(Tag(id=raw["id"], name=raw["name"].strip(),
                        definition=" ".join(raw["definition"].split()),
                        naics=tuple(naics), code_needs_text=bool(raw.get("code_needs_text")),
                        residual=bool(raw.get("residual")), **lists))
    ids = [t.id for t in tags]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise TaxonomyError(f"{path}: tag id(s) repeated: {', '.join(repeated)}")
    return tuple(tags)


def tag_ids() -> list[str]:
    return [t.id for t in load_taxonomy()]


def check_purpose(value: str) -> str:
    """A purpose as typed, checked against the taxonomy ('Detention' -> 'detention')."""
    wanted = value.strip().lower()
    ids = tag_ids()
    if wanted in ids or wanted == UNTAGGED:
        return wanted
    by_name = {t.name.lower(): t.id for t in load_taxonomy()}
    if wanted in by_name:
        return by_name[wanted]
    raise ValueError(f"no purpose {value!r}: choose one of {', '.join(ids)} "
                     "(`contractwatch purpose list` defines them)")


# ---- matching ---------------------------------------------------------------------------

@cache
def psc_codes_by_title() -> dict[str, tuple[str, ...]]:
    """Official PSC titles (2017 list) -> their codes; some titles have two codes."""
    path = Path(str(resources.files("contractwatch.data").joinpath("psc_titles.csv")))
    out: dict[str, list[str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["title"].upper(), []).append(row["code"])
    return {k: tuple(v) for k, v in out.items()}


@dataclass
class Rules:
    """A tag's code rules compiled for matching."""

    tag: Tag
    psc_not: frozenset[str]
    psc_exact: frozenset[str]
    psc_prefixes: tuple[str, ...]
    psc_titles: tuple[str, ...]
    naics_codes: frozenset[str]
    naics_titles: frozenset[str]

    @classmethod
    def of(cls, tag: Tag) -> Rules:
        return cls(
            tag=tag,
            psc_not=frozenset(c[1:].upper() for c in tag.psc if c.startswith("!")),
            psc_exact=frozenset(c.upper() for c in tag.psc
                                if not c.endswith("*") and not c.startswith("!")),
            psc_prefixes=tuple(c[:-1].upper() for c in tag.psc if c.endswith("*")),
            psc_titles=tuple(words(t).strip() for t in tag.psc_titles),
            naics_codes=frozenset(c for c, _ in tag.naics),
            naics_titles=frozenset(words(t).strip() for _, t in tag.naics))

    def psc_match(self, code: str | None, title: str | None) -> str | None:
        """Why this PSC (code, or title only) means the tag, or None."""
        codes = [code.upper()] if code else []
        via_title = False
        if not codes and title:
            codes = list(psc_codes_by_title().get(title.strip().upper(), ()))
            via_title = True
        if any(c in self.psc_not for c in codes):
            return None
        for c in codes:
            if c in self.psc_exact or c.startswith(self.psc_prefixes or ("\0",)):
                return (f"PSC {c} ({title})" if not via_title else
                        f"PSC title {title!r} = code {c} in the official PSC list")
        if title and self.psc_titles:
            w = words(title)
            for t in self.psc_titles:
                if f" {t} " in w:
                    return f"PSC title {title!r} (contains {t!r})"
        return None

    def naics_match(self, code: str | None, title: str | None) -> str | None:
        if code and code in self.naics_codes:
            return f"NAICS {code} ({title})"
        if title and words(title).strip() in self.naics_titles:
            return f"NAICS title {title!r}"
        return None


CACHE_TEXTS = 100_000  # descriptions whose phrases a matcher remembers (repeats are common)


@dataclass(frozen=True)
class Phrase:
    tag: str
    kind: str  # phrases | weak | context | exclude
    text: str  # as the taxonomy writes it
    words: tuple[str, ...]
    star: bool  # the last word is a word's beginning


class Matcher:
    """The whole taxonomy compiled: phrases indexed by their first word (or the first three
    letters of a one-word beginning), so a description is read once, word by word, for all
    tags; and each distinct description and code is matched once per tagging."""

    def __init__(self, tags: list[Tag]) -> None:
        self.tags = tags
        self.rules = [Rules.of(t) for t in tags]
        self.by_first: dict[str, list[Phrase]] = {}
        self.by_stem: dict[str, list[Phrase]] = {}
        for t in tags:
            for kind, phrases in (("phrases", t.phrases), ("weak", t.weak_phrases),
                                  ("context", t.context_phrases), ("exclude", t.exclude)):
                for text in phrases:
                    ws = tuple(words(text.rstrip("*")).split())
                    if not ws:
                        continue
                    p = Phrase(t.id, kind, text, ws, text.endswith("*"))
                    if p.star and len(ws) == 1:
                        if len(ws[0]) < 3:
                            raise TaxonomyError(f"{t.id}: {text!r}: a word beginning needs "
                                                "three letters at least")
                        self.by_stem.setdefault(ws[0][:3], []).append(p)
                    else:
                        self.by_first.setdefault(ws[0], []).append(p)
        self._phrases: dict[str, frozenset[Phrase]] = {}
        self._codes: dict[tuple[str, Any, Any], list[tuple[str, str]]] = {}

    def phrases_in(self, text: str) -> frozenset[Phrase]:
        found = self._phrases.get(text)
        if found is not None:
            return found
        ws = words(text).split()
        hits: set[Phrase] = set()
        for i, w in enumerate(ws):
            for p in self.by_first.get(w, ()):
                n = len(p.words)
                if n == 1:
                    hits.add(p)
                    continue
                if i + n > len(ws) or tuple(ws[i + 1:i + n - 1]) != p.words[1:-1]:
                    continue
                last = ws[i + n - 1]
                if last == p.words[-1] or (p.star and last.startswith(p.words[-1])):
                    hits.add(p)
            for p in self.by_stem.get(w[:3], ()):
                if w.startswith(p.words[0]):
                    hits.add(p)
        if len(self._phrases) >= CACHE_TEXTS:  # bounded: a store of a million distinct texts
            self._phrases.clear()
        found = self._phrases[text] = frozenset(hits)
        return found

    def codes(self, kind: str, code: str | None, title: str | None) -> list[tuple[str, str]]:
        """(tag, why) for each tag this PSC or NAICS (code, or title only) means."""
        key = (kind, code, title)
        found = self._codes.get(key)
        if found is None:
            found = []
            for r in self.rules:
                why = r.psc_match(code, title) if kind == "psc" else r.naics_match(code, title)
                if why:
                    found.append((r.tag.id, why))
            self._codes[key] = found
        return found


@cache
def matcher(path: Path | None = None) -> Matcher:
    return Matcher(load_taxonomy(path))


@dataclass
class Evidence:
    """One reason for (or against) one tag of one award."""

    award_key: str
    purpose: str
    reason: str  # code | phrase | judgement
    evidence: str
    passage: str = ""
    score: float | None = None
    tagged: bool = True
    uncertain: bool = False
    note: str = ""


def _passage(text: str, phrase: str, width: int = 60) -> str:
    """The words around a phrase in the original text (the evidence a reader checks)."""
    core = phrase.strip()
    m = re.search(r"\b" + r"\W+".join(re.escape(w) for w in core.split()), text, re.I)
    if not m:
        return text[: 2 * width]
    start, end = max(0, m.start() - width), min(len(text), m.end() + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def tag_award(award: AwardText, m: Matcher,
              judged: dict[tuple[str, str], dict[str, str]] | None = None) -> list[Evidence]:
    """Every reason for every tag of one award, each marked tagged or not, certain or not."""
    per_tag: dict[str, dict[str, list[str]]] = {}
    where: dict[str, str] = {}  # phrase -> the description it was found in
    for d in award.descriptions:
        for p in m.phrases_in(d):
            found = per_tag.setdefault(p.tag, {}).setdefault(p.kind, [])
            if p.text not in found:
                found.append(p.text)
                where.setdefault(p.text, d)
    for kind, pairs in (("psc", award.psc), ("naics", award.naics)):
        for code, title in sorted(pairs, key=str):
            for tid, why in m.codes(kind, code, title):
                per_tag.setdefault(tid, {}).setdefault("codes", []).append(why)
    strong = {t for t, f in per_tag.items() if f.get("phrases") and not f.get("exclude")}
    out: list[Evidence] = []
    for tag in m.tags:
        f = per_tag.get(tag.id)
        if not f or not any(f.get(k) for k in ("phrases", "weak", "context", "codes")):
            continue
        others = sorted(strong - {tag.id})
        tagged, uncertain, note = _decide(tag, f, others)
        for kind, label in (("phrases", ""), ("context", " (place)"), ("weak", " (weak)")):
            for phrase in sorted(f.get(kind, [])):
                out.append(Evidence(award.award_key, tag.id, "phrase", phrase + label,
                                    _passage(where[phrase], phrase.rstrip("*")), None,
                                    tagged, uncertain, note))
        for why in f.get("codes", []):
            out.append(Evidence(award.award_key, tag.id, "code", why, "", None, tagged,
                                uncertain, note))
    specific = {e.purpose for e in out if e.tagged and e.reason == "phrase"} - {
        t.id for t in m.tags if t.residual}
    if specific:  # a catch-all tag steps back for a more specific one
        residual = {t.id for t in m.tags if t.residual}
        for e in out:
            if e.purpose in residual and e.tagged:
                e.tagged, e.uncertain = False, False
                e.note = f"catch-all; more specific: {', '.join(sorted(specific))}"
    if judged:
        out = _apply_judgements(award.award_key, out, judged, [t.id for t in m.tags])
    return out


def _decide(tag: Tag, f: dict[str, list[str]], others: list[str]) -> tuple[bool, bool, str]:
    """(tagged, uncertain, note) for one tag from what matched: its own phrases decide;
    a place named, a code or a weak phrase decides only when no other tag's phrases say
    what is bought (else it is held back: a code or weak phrase for review)."""
    if f.get("exclude"):
        return False, True, ("held back: the text says "
                             f"{', '.join(repr(x) for x in sorted(f['exclude']))}")
    if f.get("phrases"):
        return True, False, ""
    reads_as = f"the text reads as {', '.join(others)}"
    if f.get("context"):
        if others:
            return False, False, f"names the place only; {reads_as}"
        return True, False, ""
    if f.get("codes"):
        yields = others if "*" in tag.code_yields_to else sorted(
            set(others) & set(tag.code_yields_to))
        if yields:
            return False, True, f"code only; the text reads as {', '.join(yields)}"
        if not tag.code_needs_text:
            return True, bool(others), f"code only; {reads_as}" if others else ""
        if f.get("weak"):
            return True, True, "code and a weak phrase only"
        return False, True, "the code alone does not decide this tag and no phrase backs it"
    if others:
        return False, True, f"only a weak phrase; {reads_as}"
    return True, True, "only a weak phrase"


def _apply_judgements(key: str, out: list[Evidence], judged: dict[tuple[str, str],
                      dict[str, str]], ids: list[str]) -> list[Evidence]:
    """A person's yes or no overrides the rules for that (award, tag)."""
    for tid in ids:
        j = judged.get((key, tid))
        if j is None:
            continue
        yes = j["judgement"] == "yes"
        for e in out:
            if e.purpose == tid:
                e.tagged, e.uncertain = yes, False
                e.note = f"judged {'yes' if yes else 'no'}" + (f": {e.note}" if e.note else "")
        out.append(Evidence(key, tid, "judgement", f"judged {j['judgement']}",
                            j.get("why", ""), None, yes, False,
                            f"{j.get('decided_at', '')} {j.get('decided_by', '')}".strip()))
    return out


# ---- judgements -------------------------------------------------------------------------

JUDGEMENT_FIELDS = ["award_key", "purpose", "judgement", "why", "decided_at", "decided_by"]


def judgements_path(catalog: Catalog) -> Path:
    return catalog.store.root / "resolve" / "purpose_judgements.csv"


def load_judgements(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Stored decisions, the newest line per (award, purpose) winning; none when missing."""
    if not path.exists():
        return {}
    out: dict[tuple[str, str], dict[str, str]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            if row.get("judgement") not in ("yes", "no"):
                raise ValueError(f"{path}, line {n}: judgement must be yes or no, not "
                                 f"{row.get('judgement')!r}")
            out[(row["award_key"], row["purpose"])] = row
    return out


def judge(catalog: Catalog, award: str, purpose: str, yes: bool, why: str,
          decided_by: str = "") -> dict[str, str]:
    """Store a person's decision that an award is (or is not) for a purpose. The award must
    be in the store; the decision overrides the rules from the next question on."""
    tid = check_purpose(purpose)
    if tid == UNTAGGED:
        raise ValueError("judge a purpose of the taxonomy, not 'untagged'")
    if not why.strip():
        raise ValueError("say why (--why \"…\"): the reason is kept with the decision")
    found = find_awards(catalog, award)
    if len(found) > 1:
        raise LookupError(f"{award!r} names {len(found)} awards: "
                          f"{', '.join(a['award_key'] for a in found)}; give the award key")
    path = judgements_path(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    row = {"award_key": found[0]["award_key"], "purpose": tid,
           "judgement": "yes" if yes else "no", "why": " ".join(why.split()),
           "decided_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
           "decided_by": decided_by}
    with path.open("a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=JUDGEMENT_FIELDS)
        if new:
            w.writeheader()
        w.writerow(row)
    return row


# ---- tagging the store ------------------------------------------------------------------

def awards_to_tag(catalog: Catalog) -> list[AwardText]:
    return list(iter_awards(catalog))


def tag_all(awards: list[AwardText], m: Matcher,
            judged: dict[tuple[str, str], dict[str, str]] | None = None) -> list[Evidence]:
    out: list[Evidence] = []
    for a in awards:
        out.extend(tag_award(a, m, judged))
    return out


def purposes_folder(catalog: Catalog) -> Path:
    """The stored tagging of the current state, computed when missing."""
    if "purposes-folder" not in catalog._cache:
        psc = Path(str(resources.files("contractwatch.data").joinpath("psc_titles.csv")))
        # this module and the texts it reads are part of the version: a change to how tags
        # are decided retags
        version = stored_version(catalog, "purposes", files=[
            taxonomy_path(), psc, judgements_path(catalog), Path(__file__),
            Path(award_texts.__file__)])
        catalog._cache["purposes-folder"] = stored_folder(
            resolve_dir(catalog) / "purposes", version,
            lambda folder: _write_tags(catalog, folder))
    return catalog._cache["purposes-folder"]


EVIDENCE_TYPES = {"score": "float64", "tagged": "bool_", "uncertain": "bool_"}


def _write_tags(catalog: Catalog, folder: Path, batch: int = 50_000) -> None:
    """Tag every award and write evidence, tags and awards, a batch of awards at a time
    (memory stays flat on a large store)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    m = matcher(taxonomy_path())
    judged = load_judgements(judgements_path(catalog))
    cols = list(Evidence.__dataclass_fields__)
    schemas = {
        "evidence": pa.schema([(c, getattr(pa, EVIDENCE_TYPES.get(c, "string"))())
                               for c in cols]),
        "tags": pa.schema([("award_key", pa.string()), ("purpose", pa.string())]),
        "awards": pa.schema([("award_key", pa.string()), ("award_id_piid", pa.string()),
                             ("awarding_sub_agency_code", pa.string()),
                             ("federal_action_obligation", pa.decimal128(38, 2)),
                             ("description", pa.string()),
                             ("product_or_service_code_description", pa.string()),
                             ("naics_description", pa.string())]),
    }
    writers = {name: pq.ParquetWriter(folder / f"{name}.parquet", schema)
               for name, schema in schemas.items()}

    def flush(awards: list[AwardText]) -> None:
        evidence = tag_all(awards, m, judged)
        tables = {
            "evidence": {c: [getattr(e, c) for e in evidence] for c in cols},
            "tags": _tag_pairs(evidence),
            "awards": {
                "award_key": [a.award_key for a in awards],
                "award_id_piid": [a.award_id_piid for a in awards],
                "awarding_sub_agency_code": [a.agency for a in awards],
                "federal_action_obligation": [a.obligations for a in awards],
                "description": [a.text() for a in awards],
                "product_or_service_code_description": [
                    "; ".join(sorted({t or c or "" for c, t in a.psc})) for a in awards],
                "naics_description": [
                    "; ".join(sorted({t or c or "" for c, t in a.naics})) for a in awards],
            }}
        for name, data in tables.items():
            writers[name].write_table(pa.table(data, schema=schemas[name]))

    try:
        pending: list[AwardText] = []
        for award in iter_awards(catalog):
            pending.append(award)
            if len(pending) >= batch:
                flush(pending)
                pending = []
        flush(pending)
    finally:
        for w in writers.values():
            w.close()


def _tag_pairs(evidence: list[Evidence]) -> dict[str, list[str]]:
    pairs = sorted({(e.award_key, e.purpose) for e in evidence if e.tagged})
    return {"award_key": [p[0] for p in pairs], "purpose": [p[1] for p in pairs]}


def attach_tags(catalog: Catalog) -> str:
    """The stored tags as the table the purpose queries join (computed when missing)."""
    catalog.attach_parquet(TAGS_TABLE, [str(purposes_folder(catalog) / "tags.parquet")])
    return TAGS_TABLE


def _stored_rows(catalog: Catalog, name: str, where: str = "") -> list[dict[str, Any]]:
    path = str(purposes_folder(catalog) / name).replace("'", "''")
    return catalog.fetch(f"SELECT * FROM read_parquet('{path}') {where}")


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def find_awards(catalog: Catalog, award: str) -> list[dict[str, Any]]:
    """The awards an award key or PIID names."""
    key = award.strip().upper()
    found = _stored_rows(catalog, "awards.parquet",
                         f"WHERE upper(award_key) = {_quoted(key)} "
                         f"OR upper(award_id_piid) = {_quoted(key)} ORDER BY award_key")
    if not found:
        raise LookupError(f"no award {award!r} in the store (give a PIID such as "
                          "70CDCR26FR0000024 or a generated id CONT_AWD_…)")
    return found


# ---- the questions ----------------------------------------------------------------------

def suggestions_folder(catalog: Catalog) -> Path | None:
    """The stored nearest-example suggestions of the current state (None when off)."""
    return purpose_examples.suggestions_folder(
        catalog, purposes_folder(catalog), load_taxonomy(),
        load_judgements(judgements_path(catalog)), [taxonomy_path(), judgements_path(catalog)])


SUGGESTED = "suggested (nearest examples)"
SUGGESTED_NOTE = ("not counted as a tag: the nearest examples suggest it; "
                  "`contractwatch purpose judge` decides")


def explain(catalog: Catalog, award: str) -> Result:
    """Why an award has each of its tags (and why not others that came close): the reason,
    the phrase or code, and the passage of its descriptions that matched; for an award the
    rules leave untagged or uncertain, the tag its nearest examples suggest, with them."""
    found = find_awards(catalog, award)
    keys = ", ".join(_quoted(a["award_key"]) for a in found)
    rows = _stored_rows(catalog, "evidence.parquet",
                        f"WHERE award_key IN ({keys}) ORDER BY award_key, NOT tagged, purpose")
    for r in rows:
        r["status"] = ("tagged, uncertain" if r["tagged"] and r["uncertain"] else
                       "tagged" if r["tagged"] else "not tagged (candidate)")
    tags = sorted({r["purpose"] for r in rows if r["tagged"]})
    a = found[0]
    notes = [RULES_NOTE]
    if not tags:
        notes.append("no purpose tag: no rule of the taxonomy matched this award's "
                      "descriptions or codes (it counts as untagged)")
    folder = suggestions_folder(catalog)
    if folder is None:
        notes.append(purpose_examples.OFF_NOTE)
    else:
        path = str(folder / "suggestions.parquet").replace("'", "''")
        for r in catalog.fetch(f"SELECT * FROM read_parquet('{path}') "
                               f"WHERE award_key IN ({keys}) ORDER BY award_key"):
            rows.append({**r, "reason": "example", "status": SUGGESTED, "tagged": False,
                         "uncertain": True, "note": SUGGESTED_NOTE})
    names = {t.id: t.name for t in load_taxonomy()}
    for r in rows:
        r["purpose_name"] = names.get(r["purpose"], r["purpose"])
    return Result(
        title=f"Why award {a['award_key']} has the purposes it has",
        columns=["purpose", "status", "reason", "evidence", "passage", "score", "note",
                 "purpose_name"],
        rows=rows, caveats=notes,
        meta={"awards": found, "purposes": tags},
        facts={"award_key": a["award_key"], "award_id_piid": a["award_id_piid"],
               "award_total_obligations": a["federal_action_obligation"],
               "purposes": "; ".join(tags) or UNTAGGED,
               "description": a["description"]})


def review(catalog: Catalog, limit: int = 50, purpose: str | None = None) -> Result:
    """What to decide: first the tags the nearest examples suggest for awards the rules leave
    untagged or uncertain, best score first; then the uncertain tags of the rules, largest
    money first (tagged only by a weak phrase, by a code the text does not back or
    contradicts, or held back by a tag's exclusions). Judge them with
    `contractwatch purpose judge`."""
    tid = check_purpose(purpose) if purpose else None
    folder = purposes_folder(catalog)
    ev = str(folder / "evidence.parquet").replace("'", "''")
    aw = str(folder / "awards.parquet").replace("'", "''")
    only = f"AND e.purpose = {_quoted(tid)}" if tid else ""
    suggestions = suggestions_folder(catalog)
    suggested = ""
    if suggestions is not None:
        sg = str(suggestions / "suggestions.parquet").replace("'", "''")
        suggested = f"""
        SELECT 0 AS queue, e.award_key, a.award_id_piid, e.purpose,
               {_quoted(SUGGESTED)} AS status, e.score,
               'example: ' || e.evidence AS evidence, {_quoted(SUGGESTED_NOTE)} AS note,
               a.federal_action_obligation, a.description
        FROM read_parquet('{sg}') e JOIN read_parquet('{aw}') a USING (award_key)
        WHERE true {only}
        UNION ALL"""
    rows = catalog.fetch(f"""
        SELECT * FROM ({suggested}
        SELECT 1 AS queue, e.award_key, a.award_id_piid, e.purpose,
               CASE WHEN bool_or(e.tagged) THEN 'tagged, uncertain'
                    ELSE 'not tagged (candidate)' END AS status,
               CAST(NULL AS DOUBLE) AS score,
               string_agg(e.reason || ': ' || e.evidence, '; ' ORDER BY e.reason, e.evidence)
                   AS evidence,
               any_value(e.note) AS note, a.federal_action_obligation,
               a.description
        FROM read_parquet('{ev}') e JOIN read_parquet('{aw}') a USING (award_key)
        WHERE e.uncertain {only}
        GROUP BY e.award_key, a.award_id_piid, e.purpose, a.federal_action_obligation,
                 a.description)
        ORDER BY queue, score DESC, abs(federal_action_obligation) DESC, award_key, purpose
        LIMIT {int(limit) if limit else 1000000}""")
    for r in rows:
        del r["queue"]
    notes = [RULES_NOTE, "decide with `contractwatch purpose judge AWARD TAG --yes/--no "
             "--why \"…\"`; decisions override the rules"]
    if suggestions is None:
        notes.append(purpose_examples.OFF_NOTE)
    return Result(
        title="Purposes to review: nearest-example suggestions (best score first), then "
              "uncertain tags (largest money first)",
        columns=["award_id_piid", "purpose", "status", "score", "federal_action_obligation",
                 "note", "evidence", "description", "award_key"],
        rows=rows, caveats=notes)


def taxonomy_result() -> Result:
    rows = [{"purpose": t.id, "purpose_name": t.name, "definition": t.definition,
             "psc": ", ".join(t.psc), "naics": ", ".join(c for c, _ in t.naics),
             "examples": "; ".join(t.examples), "sources": "; ".join(t.sources)}
            for t in load_taxonomy()]
    return Result(title=f"Purpose tags ({taxonomy_path()})",
                  columns=["purpose", "purpose_name", "definition", "psc", "naics",
                           "examples", "sources"], rows=rows)


def top_by_purpose(catalog: Catalog, f: Filters, policy: str = "keep") -> Result:
    """Obligations by purpose tag, every tag and the untagged money as its own row. An award
    with several tags counts under each: the rows do not add up to the scope's total."""
    attach_tags(catalog)
    rows, sql = run_query(catalog, f"top:purpose:{policy}", filter_values(f),
                          lambda v: _top_expr(catalog, policy, v))
    names = {t.id: t.name for t in load_taxonomy()}
    names[UNTAGGED] = "(no purpose tag)"
    total = rows[0]["_scope_total"] if rows else None
    for r in rows:
        r["purpose_name"] = names.get(r["purpose"], r["purpose"])
        del r["_scope_total"]
    return Result(
        title=f"Obligations by purpose — {f.describe()}",
        columns=["purpose", "purpose_name", "federal_action_obligation", "transactions",
                 "awards"],
        rows=rows, sql=sql,
        caveats=[MULTI_TAG_NOTE, RULES_NOTE, *caveats(catalog, f, policy)],
        meta={"by": "purpose", "policy": policy, "total_obligations": total},
        facts={"scope_total_obligations": total} if rows else {})


def _top_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    import ibis

    tags = v.get("purpose_tags")
    if tags is None or isinstance(tags, str):  # ranking without a purpose filter
        tags = catalog.table(TAGS_TABLE)
    scope = apply_values(catalog.transactions(policy), v)
    scope = scope.mutate(award_key=award_key(scope))
    tagged = scope.join(tags, scope.award_key == tags.award_key)
    by_tag = tagged.group_by(tags.purpose).aggregate(
        federal_action_obligation=tagged.federal_action_obligation.sum(),
        transactions=tagged.count(),
        awards=tagged.award_key.nunique(),
    )
    rest = scope.anti_join(tags, scope.award_key == tags.award_key)
    untagged = rest.aggregate(
        federal_action_obligation=rest.federal_action_obligation.sum(),
        transactions=rest.count(),
        awards=rest.award_key.nunique(),
    ).mutate(purpose=ibis.literal(UNTAGGED))
    cols = ["purpose", "federal_action_obligation", "transactions", "awards"]
    expr = by_tag.select(*cols).union(untagged.filter(untagged.transactions > 0).select(*cols))
    # the scope's total rides along once (not the rows' sum: an award counts under each tag)
    expr = expr.mutate(_scope_total=scope.federal_action_obligation.sum().as_scalar())
    return expr.order_by([expr.federal_action_obligation.desc(), expr.purpose])


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The purpose queries as templates (see queries.py)."""
    for policy in ("keep", "collapse"):
        yield f"top:purpose:{policy}", _top_expr(catalog, policy, p)


# ---- quality ----------------------------------------------------------------------------

def stored_tag_sets(catalog: Catalog) -> dict[str, set[str]]:
    """award key -> its tags, as stored (what every query counts)."""
    out: dict[str, set[str]] = {}
    for r in _stored_rows(catalog, "tags.parquet"):
        out.setdefault(r["award_key"], set()).add(r["purpose"])
    return out


def suggested_tag_sets(catalog: Catalog, floor: float | None = None) -> dict[str, set[str]]:
    """award key -> the tags its nearest examples suggest from `floor` on (default: every
    stored suggestion); empty when the nearest-example reason is off. Not counted by any
    query: this measures what they would add."""
    folder = suggestions_folder(catalog)
    if folder is None:
        return {}
    path = str(folder / "suggestions.parquet").replace("'", "''")
    out: dict[str, set[str]] = {}
    for r in catalog.fetch(f"SELECT award_key, purpose FROM read_parquet('{path}') "
                           f"WHERE score >= {float(floor or 0)}"):
        out.setdefault(r["award_key"], set()).add(r["purpose"])
    return out


def read_labels(path: Path) -> dict[str, set[str]]:
    """award key -> tags from a labelled CSV (columns award_key and tags, ';'-separated)."""
    with path.open(newline="", encoding="utf-8") as fh:
        return {r["award_key"]: {t for t in (r["tags"] or "").split(";") if t}
                for r in csv.DictReader(fh)}


def evaluate(predicted: dict[str, set[str]], truth: dict[str, set[str]],
             ids: list[str] | None = None) -> list[dict[str, Any]]:
    """Precision and recall per tag of `predicted` against `truth`, over the awards `truth`
    labels (an award the rules leave untagged predicts no tag), and the micro average."""
    ids = ids or tag_ids()
    rows = []
    totals = {"tp": 0, "fp": 0, "fn": 0}
    for tid in ids:
        tp = fp = fn = 0
        for key, labels in truth.items():
            got = tid in predicted.get(key, set())
            want = tid in labels
            tp += got and want
            fp += got and not want
            fn += want and not got
        for k, v in (("tp", tp), ("fp", fp), ("fn", fn)):
            totals[k] += v
        rows.append(_scores(tid, tp, fp, fn))
    rows.append(_scores("all tags (micro)", totals["tp"], totals["fp"], totals["fn"]))
    return rows


def _scores(name: str, tp: int, fp: int, fn: int) -> dict[str, Any]:
    return {"purpose": name, "labelled": tp + fn, "tagged": tp + fp, "correct": tp,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


def quality_table(rows: list[dict[str, Any]]) -> str:
    """The evaluation as a Markdown table (docs/purposes.md)."""
    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v:.2f}"

    out = ["| purpose | labelled | tagged | correct | precision | recall |",
           "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {r['purpose']} | {r['labelled']} | {r['tagged']} | {r['correct']} | "
            f"{pct(r['precision'])} | {pct(r['recall'])} |" for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """python -m contractwatch.purposes --evaluate LABELS.csv [--store DIR ...]: precision
    and recall per tag of the stored tagging of one or more stores, as a Markdown table."""
    import argparse
    import json

    from contractwatch.store import Store

    parser = argparse.ArgumentParser(prog="python -m contractwatch.purposes")
    parser.add_argument("--evaluate", type=Path, required=True, metavar="LABELS_CSV")
    parser.add_argument("--store", type=Path, action="append", default=[],
                        help="a store (repeatable; default: the default store)")
    parser.add_argument("--sampled-by", help="only labelled rows with this sampled_by value")
    parser.add_argument("--with-suggestions", action="store_true",
                        help="count the nearest-example suggestions as tags (to measure them)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    truth = read_labels(args.evaluate)
    if args.sampled_by:
        with args.evaluate.open(newline="", encoding="utf-8") as fh:
            keep = {r["award_key"] for r in csv.DictReader(fh)
                    if r.get("sampled_by") == args.sampled_by}
        truth = {k: v for k, v in truth.items() if k in keep}
    if not args.store:
        from contractwatch import settings

        args.store = [Path(settings.load(None).store_dir)]
    predicted: dict[str, set[str]] = {}
    found: set[str] = set()
    for root in args.store:
        catalog = Store(root).connect()
        for key, tags in stored_tag_sets(catalog).items():
            predicted.setdefault(key, set()).update(tags)
        if args.with_suggestions:
            for key, tags in suggested_tag_sets(catalog).items():
                predicted.setdefault(key, set()).update(tags)
        found |= {r["award_key"] for r in _stored_rows(catalog, "awards.parquet")}
    missing = sorted(set(truth) - found)
    truth = {k: v for k, v in truth.items() if k in found}
    rows = evaluate(predicted, truth)
    if args.json:
        print(json.dumps({"awards": len(truth), "missing": missing, "rows": rows}, indent=1))
        return
    print(quality_table(rows))
    print(f"\n{len(truth)} labelled awards evaluated"
          + (f"; {len(missing)} not in the store(s): {', '.join(missing[:5])}" if missing
             else ""))


if __name__ == "__main__":
    main()
