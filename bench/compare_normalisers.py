"""Compare name normalisers on the labelled real-name pairs (exact equality of keys).

For each normaliser: how many "same" pairs get equal keys (recall of an exact-key join) and how
many "different" pairs collide (false merges). Spelling pairs only (renames are out of reach
of any normaliser). fingerprints is optional: ``pip install --target /tmp/fpdeps fingerprints``
and run with ``PYTHONPATH=/tmp/fpdeps``.

    .venv/bin/python bench/compare_normalisers.py

Result on 2026-11-29 (307 same-spelling pairs, 181 different; rigour 2.6.1, cleanco 2.3,
fingerprints 1.3.1) -- share of pairs whose keys are equal:

    normaliser                              same -> equal   different -> equal
    rigour replace_org_types_compare          72 (23%)          0
    rigour remove_org_types                  202 (66%)          2
    cleanco basename                         202 (66%)          1
    fingerprints.generate                    204 (66%)          0
    fingerprints remove_types + generate     235 (77%)          2
    contractwatch org_key                    241 (79%)          0
    contractwatch match_key (pre-pass+cleanco) 275 (90%)        2

The two false merges are SHRED-IT USA LLC = SHRED-IT USA INC. (two DUNS) and DELL FEDERAL
SYSTEMS L.P = DELL FEDERAL SYSTEMS GP LLC (cleanco strips GP); both are sent on to the matcher,
which also sees DUNS where the data has them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "data" / "labelled_pairs.csv"


def _ws(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def normalisers() -> dict[str, Callable[[str], str]]:
    from cleanco import basename
    from rigour.names import remove_org_types, replace_org_types_compare

    from contractwatch.resolve.names import match_key, org_key

    out: dict[str, Callable[[str], str]] = {
        "whitespace only": lambda s: _ws(s).upper(),
        "rigour replace_org_types_compare": lambda s: _ws(replace_org_types_compare(s.lower())),
        "rigour remove_org_types": lambda s: _ws(remove_org_types(s.lower())).strip(" ,"),
        "cleanco basename": lambda s: _ws(basename(s)).upper(),
        "contractwatch org_key": org_key,
        "contractwatch match_key (pre-pass + cleanco)": match_key,
    }
    try:
        import fingerprints

        out["fingerprints.generate"] = lambda s: fingerprints.generate(s) or ""
        out["fingerprints remove_types+generate"] = lambda s: (
            fingerprints.generate(fingerprints.remove_types(s)) or ""
        )
    except ImportError:
        pass
    return out


def main() -> None:
    with open(PAIRS, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["kind"] != "renamed"]
    same = [r for r in rows if r["label"] == "same"]
    diff = [r for r in rows if r["label"] == "different"]
    print(f"{len(same)} same-spelling pairs, {len(diff)} different pairs\n")
    print(f"{'normaliser':48} {'same→equal':>12} {'diff→equal':>12}")
    for name, fn in normalisers().items():
        tp = sum(fn(r["name_a"]) == fn(r["name_b"]) for r in same)
        fp = sum(fn(r["name_a"]) == fn(r["name_b"]) for r in diff)
        print(f"{name:48} {tp:5d} ({tp / len(same):4.0%}) {fp:5d} ({fp / len(diff):4.0%})")
        misses = [(r["name_a"], r["name_b"]) for r in diff if fn(r["name_a"]) == fn(r["name_b"])]
        for a, b in misses[:4]:
            print(f"{'':8}false merge: {a!r} = {b!r}")


if __name__ == "__main__":
    main()
