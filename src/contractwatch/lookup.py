"""Names as people type them: "Dell", "palantir", "GEO", "ICE".

A typed name is compared with each candidate's names by tiers: the same words (legal forms
such as INC or LLC aside), the leading words, whole words anywhere, word prefixes, then a
fuzzy match. Only the best tier counts, so "Dell" finds DELL MARKETING L.P. and never
CADDELL CONSTRUCTION (a word that merely contains it). Within that tier a candidate whose
weight (its obligations) dwarfs the others' wins; otherwise the caller lists them ranked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

LEGAL = frozenset({"INC", "INCORPORATED", "LLC", "LLP", "LP", "L", "P", "LTD", "LIMITED",
                   "CORP", "CORPORATION", "CO", "COMPANY", "THE", "SE", "PLC", "NA", "GP",
                   "AG", "SA", "DE", "USA", "US"})
DOMINANT = 3  # a candidate wins its tier when its weight is at least this many times the next
FUZZY = 0.85


@lru_cache(maxsize=65536)
def words(name: str | None) -> tuple[str, ...]:
    """Upper-case words with legal forms dropped ('The GEO Group, Inc.' -> GEO GROUP);
    an apostrophe joins ('FRADELLA'S' -> FRADELLAS), '&' reads as AND."""
    found = _all_words(name)
    kept = tuple(w for w in found if w not in LEGAL)
    return kept or found


@lru_cache(maxsize=65536)
def _all_words(name: str | None) -> tuple[str, ...]:
    text = (name or "").upper().replace("'", "").replace("’", "").replace("&", " AND ")
    return tuple(re.findall(r"[A-Z0-9]+", text))


def _initials(name: str) -> set[str]:
    """'SCIENCE APPLICATIONS INTERNATIONAL CORPORATION' -> SAIC and SAI; 'UNITED PARCEL
    SERVICE, INC.' -> UPS: companies known by their initials."""
    out = {"".join(w[0] for w in words(name) if w != "AND")}
    out.add("".join(w[0] for w in _all_words(name) if w not in ("AND", "THE")))
    return {i for i in out if len(i) >= 2}


@dataclass
class Candidate:
    key: str  # what the caller returns (a family id, an agency code)
    label: str  # how it is listed
    names: list[str]  # every spelling that may be typed for it
    weight: Any = 0  # ranks candidates of one tier (obligations)
    exact: list[str] = field(default_factory=list)  # names that win outright (family, brand)
    source: str | None = None  # where the candidate comes from (a family's grouping)


@dataclass
class Match:
    candidate: Candidate
    tier: int
    name: str  # the spelling that matched


def tier(query: tuple[str, ...], name: str) -> int | None:
    """The best tier (0 best) at which typed words `query` match `name` without spelling
    tolerance, or None."""
    have = words(name)
    if not query or not have:
        return None
    n = len(query)
    if have == query or "".join(have) == "".join(query):
        return 0
    if have[:n] == query:
        return 1
    if any(have[i:i + n] == query for i in range(len(have) - n + 1)):
        return 2
    if n == 1 and len(query[0]) <= 5 and query[0] in _initials(name):
        return 2
    if _prefixes_in_order(query, have):
        return 3
    return None


def similar(query: tuple[str, ...], name: str) -> bool:
    """Spelling tolerance, tried only when nothing matched by words: the whole name, or
    each typed word against some word of the name ('Palantr' ~ PALANTIR)."""
    have = words(name)
    if not have:
        return False
    typed = " ".join(query)
    if len(typed) < 5:  # 'NOPE' is not a misspelt OPE: too short to guess at
        return False
    if SequenceMatcher(None, typed, " ".join(have)).ratio() >= FUZZY:
        return True
    return all(any(SequenceMatcher(None, q, w).ratio() >= FUZZY for w in have if len(w) >= 5)
               for q in query if len(q) >= 5)


def _prefixes_in_order(query: list[str], name: list[str]) -> bool:
    i = 0
    for w in name:
        if i < len(query) and w.startswith(query[i]):
            i += 1
    return i == len(query)


def rank(query: str, candidates: list[Candidate]) -> list[Match]:
    """Candidates matching `query`, best tier first, heavier first within a tier."""
    typed = words(query)
    exact = " ".join(typed)
    found: list[Match] = []
    for c in candidates:
        if query.strip() == c.key or any(" ".join(words(x)) == exact for x in c.exact):
            found.append(Match(c, -1, query.strip()))
            continue
        best: Match | None = None
        for name in c.names:
            t = tier(typed, name)
            if t is not None and (best is None or t < best.tier):
                best = Match(c, t, name)
                if t == 0:
                    break
        if best is not None:
            found.append(best)
    if not found and typed:
        for c in candidates:
            name = next((n for n in c.names if similar(typed, n)), None)
            if name is not None:
                found.append(Match(c, 4, name))
    return sorted(found, key=lambda m: (m.tier, -_number(m.candidate.weight),
                                        m.candidate.label))


def choose(matches: list[Match]) -> tuple[Match | None, list[Match]]:
    """(the answer, the others of its tier) or (None, the ambiguous candidates ranked).

    The best tier decides; inside it one candidate must be the only one, or outweigh the
    next by DOMINANT times (GEO GROUP's obligations against a small GEO-named firm's)."""
    if not matches:
        return None, []
    best = [m for m in matches if m.tier == matches[0].tier]
    if len(best) == 1:
        return best[0], []
    first, second = _number(best[0].candidate.weight), _number(best[1].candidate.weight)
    if first > 0 and first >= DOMINANT * max(second, 0):
        return best[0], best[1:]
    return None, best


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
