"""Agencies named as users name them: 'ICE', '7012' or 'U.S. Immigration and Customs Enforcement'.

The table is the sub-tier list of USAspending's authoritative agency list (2019 vintage),
shipped with the package.
"""

from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

AGENCIES_CSV = Path(__file__).with_name("data") / "agencies.csv"


class Agency(NamedTuple):
    """One sub-tier agency (a tuple: the table is read on every command, and 1,500 tuples
    are made in a tenth of the time of as many frozen dataclasses)."""

    code: str  # sub-tier code, e.g. 7012
    name: str
    abbreviation: str
    toptier_code: str
    toptier_name: str


_NOT_WORD = re.compile(r"[^A-Z0-9]+")
_ASCII_NOT_WORD = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def _norm(text: str) -> str:
    """Upper case, every run of other characters than A-Z and 0-9 one space."""
    upper = text.upper()
    if upper.isascii():  # the same, a tenth of the time (the table is read on every command)
        return " ".join(upper.translate(_ASCII_NOT_WORD).split())
    return _NOT_WORD.sub(" ", upper).strip()


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, Agency], dict[str, list[Agency]]]:
    # read on every command that names an agency: the plain csv reader, columns by position
    by_code: dict[str, Agency] = {}
    by_name: dict[str, list[Agency]] = {}
    with AGENCIES_CSV.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        at = [header.index(c) for c in ("subtier_code", "subtier_name", "subtier_abbreviation",
                                        "toptier_code", "toptier_name")]
        for row in reader:
            a = Agency(*(row[i] for i in at))
            by_code[a.code] = a
            for alias in {a.name, a.abbreviation}:
                if alias:
                    by_name.setdefault(_norm(alias), []).append(a)
            # "U.S. Immigration…" is also said without the "U.S.".
            if a.name.upper().startswith("U.S. "):  # and as "US …"
                by_name.setdefault(_norm(a.name[5:]), []).append(a)
                by_name.setdefault(_norm("US " + a.name[5:]), []).append(a)
    return by_code, by_name


class UnknownAgency(ValueError):
    pass


def resolve_agency(text: str) -> Agency:
    """Find one sub-tier agency by code, abbreviation or name; raise with suggestions."""
    by_code, by_name = _table()
    s = text.strip()
    if s.upper() in by_code:
        return by_code[s.upper()]
    matches = by_name.get(_norm(s), [])
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        # Prefer Homeland Security components (this tool's first users) on a tie such as "OPO".
        dhs = [a for a in matches if a.toptier_code == "070"]
        if len(dhs) == 1:
            return dhs[0]
        listed = ", ".join(f"{a.code} {a.name}" for a in matches[:6])
        raise UnknownAgency(f"agency {text!r} is ambiguous: {listed}; use the code")
    return _by_words(text, by_code)


def _by_words(text: str, by_code: dict[str, Agency]) -> Agency:
    """An agency named in part ("Immigration and Customs", "Customs and Border"): whole
    words first, then word beginnings, then similar spelling; one answer or a ranked list."""
    from contractwatch.lookup import Candidate, choose, rank

    candidates = [Candidate(a.code, f"{a.code} {a.name}",
                            [a.name, a.name.removeprefix("U.S. "), a.abbreviation],
                            weight=1 if a.toptier_code == "070" else 0)  # DHS first on a tie
                  for a in by_code.values()]
    chosen, others = choose(rank(text, candidates))
    if chosen is not None:
        return by_code[chosen.candidate.key]
    if not others:
        raise UnknownAgency(f"unknown agency {text!r}")
    listed = ", ".join(m.candidate.label for m in others[:5])
    raise UnknownAgency(f"unknown agency {text!r}: did you mean {listed}? Use the code")


def agency_by_code(code: str) -> Agency | None:
    return _table()[0].get(code)
