"""Benchmark: resolve N recipient names generated as variants of the real names in ../shared/data.

Variants are the kinds seen in the real files: punctuation and spacing ("NET DIRECT SYSTEMS  LLC"),
legal-form spellings (INC/INCORPORATED, L.P./LIMITED PARTNERSHIP), a moved article ("GEO GROUP
INC., THE"), FPDS's 30-character truncation, spaced initials, and one-letter typos. A third of
rows carry a DUNS (their base name's, zero-padded from the real FPDS value where known).
Individuals (sole proprietors) are left out of the base names.

    .venv/bin/python bench/bench_resolve.py --n 1000000
Reports wall time per stage and peak RSS (resource.getrusage).
"""

from __future__ import annotations

import argparse
import csv
import glob
import random
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

FORMS = [
    ("INC", "INCORPORATED"),
    ("CORP", "CORPORATION"),
    ("LLC", "L.L.C."),
    ("LTD", "LIMITED"),
    ("L.P.", "LIMITED PARTNERSHIP"),
    ("CO", "COMPANY"),
]


def base_names() -> list[tuple[str, str | None]]:
    names: dict[str, str | None] = {}
    for f in sorted(glob.glob(str(DATA / "fpds_full" / "*.csv"))):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                if r["sole_proprietorship"] != "t":
                    names.setdefault(r["recipient_name"], r["recipient_duns"].zfill(9))
    for f in sorted(glob.glob(str(DATA / "usaspending" / "transactions" / "*.csv"))):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                names.setdefault(r["Recipient Name"], None)
    return sorted(names.items())


def variant(name: str, rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return name
    if kind == 1:
        return name.replace(", ", "  ").replace(",", "")
    if kind == 2:
        for a, b in FORMS:
            if name.endswith(" " + a) or name.endswith(" " + a + "."):
                return name.rsplit(" ", 1)[0] + " " + b
            if name.endswith(" " + b):
                return name[: -len(b)] + a
        return name + " INC"
    if kind == 3:
        return name[4:] + ", THE" if name.startswith("THE ") else "THE " + name
    if kind == 4:
        return name[:30]
    if kind == 5:
        return name.replace(".", "")
    if kind == 6 and len(name) > 6:
        i = rng.randrange(1, len(name) - 1)
        return name[:i] + name[i + 1 :]
    return name.upper().replace("&", "AND")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bases = base_names()
    t0 = time.perf_counter()
    rows = []
    for _ in range(args.n):
        name, duns = bases[rng.randrange(len(bases))]
        rows.append(
            {
                "recipient_name": variant(name, rng),
                "recipient_duns": duns if duns and rng.random() < 0.33 else None,
            }
        )
    t1 = time.perf_counter()
    from contractwatch.resolve import resolve

    res = resolve(rows)
    t2 = time.perf_counter()
    m = res.mapping
    orgs = len(set(m.column("organisation_id").to_pylist()))
    fams = len(set(m.column("family_id").to_pylist()))
    pairs = res.scores.num_rows if res.scores is not None else 0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"n={args.n} base names={len(bases)} generate={t1 - t0:.1f}s resolve={t2 - t1:.1f}s "
        f"organisations={orgs} families={fams} scored pairs={pairs} peak RSS={peak_mb:.0f} MB",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
