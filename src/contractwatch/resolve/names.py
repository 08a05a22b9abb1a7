"""Recipient names: a display form, an organisation key and a match key.

Three forms, because they answer three questions:

- :func:`display_name` — what the public record says, with whitespace runs collapsed
  (``NET DIRECT SYSTEMS  LLC`` and ``NET DIRECT SYSTEMS LLC`` are one spelling).
- :func:`org_key` — the identity of a registration when the data has no UEI/DUNS: punctuation
  dropped, legal forms *canonicalised* (``L.P.``/``LIMITED PARTNERSHIP`` → ``LP``), never removed,
  so ``GUIDEHOUSE INC.`` and ``GUIDEHOUSE LLP`` stay two organisations.
- :func:`match_key` — evidence for the matcher: legal forms *removed*, a leading or trailing
  ``THE`` dropped, spaced initials joined (``M V M`` → ``MVM``), word order kept so
  Jaro-Winkler still works.

Normaliser choice (measured by ``bench/compare_normalisers.py`` on
``tests/data/labelled_pairs.csv``; see the report in that script's docstring): legal forms are
stripped with **cleanco** ``basename`` — pure Python, already a runtime dependency, keeps word
order and handles CORPORATION / COMPANY / INCORPORATED / LIMITED PARTNERSHIP. rigour 2.6.1 leaves
CORP/CO/COMPANY/CORPORATION and THE in place and reads ``AT`` in ``AT&T`` as an Austrian legal
form; ``fingerprints.generate`` sorts tokens (a key, not a name) and pulls in ICU. cleanco alone
misses ``…, THE``, ``INC.`` in mid-name (``CACI, INC. - FEDERAL``), FPDS's ``(3626)`` suffixes
and spaced initials, so a small pre-pass here handles those before cleanco runs.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["display_name", "org_key", "match_key", "compact_key", "tokens"]

_WS = re.compile(r"\s+")
# FPDS appends a registration counter to some names: "BOOZ ALLEN HAMILTON INCORPORATED (3626)".
_PAREN_NUMBER = re.compile(r"\(\s*\d+\s*\)")
_PUNCT = re.compile(r"[^A-Z0-9& ]+")
# Public bodies are filed both ways: "MESA, CITY OF" and "CITY OF MESA".
_INVERTED_BODY = re.compile(r"^(?P<place>.+?),\s*(?P<kind>CITY|COUNTY|TOWN|VILLAGE|STATE) OF$")
# Multi-word legal forms first, so "LIMITED LIABILITY COMPANY" is not read as "LIMITED" + "CO".
_LEGAL_PHRASES: tuple[tuple[str, str], ...] = (
    ("LIMITED LIABILITY COMPANY", "LLC"),
    ("LIMITED LIABILITY CO", "LLC"),
    ("LIMITED LIABILITY PARTNERSHIP", "LLP"),
    ("LIMITED PARTNERSHIP", "LP"),
    ("PROFESSIONAL CORPORATION", "PC"),
    ("L L C", "LLC"),
    ("L L P", "LLP"),
    ("L P", "LP"),
    ("P L L C", "PLLC"),
    ("P C", "PC"),
)
_LEGAL_WORDS: dict[str, str] = {
    "INCORPORATED": "INC",
    "INC": "INC",
    "CORPORATION": "CORP",
    "CORP": "CORP",
    "COMPANY": "CO",
    "CO": "CO",
    "LIMITED": "LTD",
    "LTD": "LTD",
    "LLC": "LLC",
    "LLP": "LLP",
    "LP": "LP",
    "PLC": "PLC",
    "PLLC": "PLLC",
    "PC": "PC",
}
# Legal-form tokens that never carry meaning mid-name ("CACI INC FEDERAL"); CO/CORP/LTD can
# ("CORRECTIONS CORPORATION OF AMERICA"), so those are only stripped at the end.
_ANYWHERE = {"INC", "LLC", "LLP", "PLLC"}
_TRAILING = {"INC", "CORP", "CO", "LTD", "LLC", "LLP", "LP", "PLC", "PLLC", "PC"}


def _ascii_upper(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = text.encode("ascii", "ignore").decode("ascii")
    return text.upper()


def display_name(name: str | None) -> str:
    """The recorded name with whitespace runs collapsed; otherwise exactly as published."""
    if not name:
        return ""
    return _WS.sub(" ", name).strip()


def _join_initials(words: list[str]) -> list[str]:
    """'M V M' → 'MVM', 'I S S ACTION' → 'ISS ACTION': runs of 2+ single letters are one word."""
    out: list[str] = []
    run: list[str] = []
    for word in words + [""]:
        if len(word) == 1 and word.isalpha():
            run.append(word)
            continue
        if len(run) >= 2:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        if word:
            out.append(word)
    return out


def _join_and_initials(words: list[str]) -> list[str]:
    """'AT AND T' → 'AT&T', 'L AND R' → 'L&R': letter-and-letter abbreviations stay one word."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if (
            i + 2 < len(words)
            and words[i + 1] == "AND"
            and len(words[i]) <= 2
            and len(words[i + 2]) <= 2
            and words[i].isalpha()
            and words[i + 2].isalpha()
        ):
            out.append(f"{words[i]}&{words[i + 2]}")
            i += 3
            continue
        out.append(words[i])
        i += 1
    return out


def _base_words(name: str) -> list[str]:
    text = _ascii_upper(display_name(name))
    text = _PAREN_NUMBER.sub(" ", text)
    body = _INVERTED_BODY.match(text)
    if body:
        text = f"{body['kind']} OF {body['place']}"
    # "ERNST & YOUNG" = "ERNST AND YOUNG".
    text = text.replace("&", " AND ")
    # "L.L.C." → "L L C"; "AT&T" → "AT & T"; "DATA-PAGES" → "DATA PAGES".
    text = _PUNCT.sub(" ", text)
    text = " " + _WS.sub(" ", text).strip() + " "
    for phrase, short in _LEGAL_PHRASES:
        text = text.replace(f" {phrase} ", f" {short} ")
    words = text.split()
    words = _join_initials(words)
    # "AT&T" became "AT AND T": keep it one word so it is not read as 'AT' + 'T'.
    words = _join_and_initials(words)
    # "GEO GROUP INC THE" / "THE GEO GROUP INC": the article is not part of the identity.
    if words and words[-1] == "THE":
        words = words[:-1]
    if words and words[0] == "THE" and len(words) > 1:
        words = words[1:]
    return words


@lru_cache(maxsize=200_000)
def org_key(name: str | None) -> str:
    """Identity of a registration by name: legal forms canonicalised, not removed."""
    if not name:
        return ""
    words = [_LEGAL_WORDS.get(w, w) for w in _base_words(name)]
    return " ".join(words)


@lru_cache(maxsize=200_000)
def match_key(name: str | None) -> str:
    """Name evidence for matching: legal forms removed (cleanco), word order kept."""
    if not name:
        return ""
    words = [_LEGAL_WORDS.get(w, w) for w in _base_words(name)]
    words = [w for w in words if w not in _ANYWHERE] or words
    # "KEARNEY & COMPANY": after '&' a legal word is part of the name.
    while len(words) > 1 and words[-1] in _TRAILING and words[-2] != "AND":
        words = words[:-1]
    from cleanco import basename

    stripped = basename(" ".join(words)).strip()
    # cleanco can eat a whole short name ("CO") or the word after '&' ("KEARNEY & CO"): keep
    # ours then.
    key = stripped if stripped and not stripped.endswith(" AND") else " ".join(words)
    return _WS.sub(" ", key).strip()


def compact_key(name: str | None) -> str:
    """Match key without spaces: 'CORE CIVIC' = 'CORECIVIC', 'M V M' = 'MVM'."""
    return match_key(name).replace(" ", "")


def tokens(name: str | None) -> list[str]:
    """Words of the match key, for token-overlap comparisons and blocking."""
    return match_key(name).split()


_PERSON_SHAPE = re.compile(
    r"^[A-Z][A-Z'\-]+(?: [A-Z][A-Z'\-]+)?, [A-Z][A-Z'\-]+(?: [A-Z][A-Z'\-]*\.?){0,2}$"
)
_NOT_A_PERSON = re.compile(
    r"\b(INC|INCORPORATED|LLC|LCC|CORP|CORPORATION|CO|COMPANY|LTD|LIMITED|LP|LLP|PLLC|PC|PA|"
    r"GROUP|SERVICES?|CITY|COUNTY|STATE|THE|OF|ASSOCIATES|ENTERPRISES|HOLDINGS|SOLUTIONS|"
    r"TECHNOLOGIES|JV|DBA|TRUST|BANK|UNIVERSITY)\b"
)


def looks_like_person(name: str | None) -> bool:
    """A name recorded as 'LAST, FIRST [M]' with no organisational word (e.g. 'SHAH, RUPAL').

    Exports that carry no sole-proprietor flag still name individuals this way. Such
    recipients are kept as recorded and never matched to anyone (product principle); a false
    positive only costs a missed merge, never a wrong link.
    """
    if not name:
        return False
    s = _WS.sub(" ", name.strip().upper())
    return bool(_PERSON_SHAPE.match(s)) and not _NOT_A_PERSON.search(s)
