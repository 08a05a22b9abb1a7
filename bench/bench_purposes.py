"""Purpose tagging at scale: the real sample's awards repeated to N awards, tagged in one
process, as `purposes_folder` tags a store.

    .venv/bin/python bench/bench_purposes.py --store STORE [--awards 1000000] [--distinct]

Repetition r gives each award a new key; with --distinct every description also gets a
word of its own (" R<r>"), so no description is read from the matcher's cache (the worst
case: a million different texts); without it, descriptions repeat as a longer history's
would. Reports awards per second, evidence rows and peak memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace
from pathlib import Path


def main() -> None:
    from contractwatch import purposes
    from contractwatch.store import Store

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--awards", type=int, default=1_000_000)
    ap.add_argument("--distinct", action="store_true")
    args = ap.parse_args()
    catalog = Store(args.store).connect()
    t = time.perf_counter()
    base = purposes.awards_to_tag(catalog)
    read = time.perf_counter() - t
    m = purposes.matcher(purposes.taxonomy_path())
    t = time.perf_counter()
    evidence = tagged = 0
    n = 0
    r = 0
    while n < args.awards:
        for a in base:
            if n >= args.awards:
                break
            b = replace(a, award_key=f"{a.award_key}#{r}",
                        descriptions=[f"{d} R{r}" for d in a.descriptions] if args.distinct
                        else a.descriptions)
            ev = purposes.tag_award(b, m)
            evidence += len(ev)
            tagged += any(e.tagged for e in ev)
            n += 1
        r += 1
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"read {len(base):,} awards from the store in {read:.1f} s; tagged {n:,} awards "
          f"({'distinct' if args.distinct else 'repeated'} descriptions) in {took:.1f} s: "
          f"{n / took:,.0f} awards/s, {tagged:,} with a tag, {evidence:,} evidence rows, "
          f"peak memory {peak:,.0f} MB")


if __name__ == "__main__":
    main()
