"""A large USAspending API-export file built from the real shared rows, for scale benchmarks.

    .venv/bin/python bench/make_scaled.py --rows 10000000 --out /tmp/scaled_10M.csv

Repetition 0 is the 57,476 real rows unchanged. Each further repetition r copies them with:
  - its own award ids (PIID + "X" + r, also inside the Generated Award ID), so transaction
    keys stay unique the way a longer history's are;
  - action dates moved back r mod 20 years (fiscal years FY2002–FY2026, each year holding
    the real within-year pattern of dates);
  - amounts scaled by a factor in [0.5, 1.5] hashed from the row's content and r, rounded to
    the cent: signs, zeros and the spread of sizes are kept, and rows that were exact copies
    in the real file (paging duplicates) stay exact copies.
Recipients, agencies, PSC/NAICS titles and descriptions keep their real values, so group
sizes grow with N as an agency's would over more years. Deterministic: the same --rows gives
the same bytes. Written in chunks of one repetition, so memory does not grow with --rows.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "usaspending" / "transactions"
YEARS = 20


def base_table() -> object:
    """The real rows of the six fiscal-year files, in file order, all text."""
    import pyarrow as pa

    header: list[str] = []
    rows: list[list[str]] = []
    for path in sorted(SHARED.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            rows.extend(reader)
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    table = pa.table({"i": list(range(len(rows))), **columns})
    return table


def _sql(header: list[str]) -> str:
    q = {name: f'"{name}"' for name in header}
    award, gen = q["Award ID"], q["Generated Award ID"]
    amount, when = q["Federal Action Obligation"], q["Action Date"]
    new_award = f"({award} || 'X' || lpad(CAST($rep AS VARCHAR), 4, '0'))"
    pos = f"position({award} IN {gen})"
    h = (f"hash($rep, {award}, {q['Modification']}, {amount}, {when}, {q['Recipient Name']}, "
         f"{q['Transaction Description']})")
    exprs = {
        "Award ID": new_award,
        "Generated Award ID": (
            f"CASE WHEN {gen} IS NULL OR {gen} = '' OR {pos} = 0 THEN {gen} ELSE "
            f"substr({gen}, 1, {pos} - 1) || {new_award} || "
            f"substr({gen}, {pos} + length({award})) END"),
        "Action Date": (f"strftime(CAST({when} AS DATE) - to_years(CAST($rep % {YEARS} AS "
                        "INTEGER)), '%Y-%m-%d')"),
        "Federal Action Obligation": (
            f"CAST(CAST(round(CAST({amount} AS DECIMAL(18, 2)) * "
            f"CAST(5000 + {h} % 10001 AS DECIMAL(18, 0)) / 10000, 2) AS DECIMAL(18, 2)) "
            "AS VARCHAR)"),
    }
    cols = [f"CASE WHEN $rep = 0 THEN {q[name]} ELSE {exprs[name]} END AS {q[name]}"
            if name in exprs else q[name] for name in header]
    return f"SELECT {', '.join(cols)} FROM base WHERE i < $upto ORDER BY i"


def generate(rows: int, out: Path, fmt: str = "csv", progress: bool = True) -> int:
    """Write `rows` rows to `out`; returns the number written.

    CSV chunks are written by DuckDB (quotes only where needed, like the real files) and
    appended to one file; Parquet goes through one ParquetWriter.
    """
    import shutil

    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    base = base_table()
    header = [c for c in base.column_names if c != "i"]
    n = base.num_rows
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.register("base", base)
    sql = _sql(header)
    tmp = out.with_name(out.name + ".tmp")
    part = out.with_name(out.name + ".part")
    writer: pq.ParquetWriter | None = None
    written = 0
    start = time.perf_counter()
    try:
        with open(tmp, "wb") as fh:
            if fmt == "csv":
                fh.write((",".join(_csv_field(h) for h in header) + "\n").encode())
            for rep in range(math.ceil(rows / n)):
                upto = min(n, rows - written)
                params = {"rep": rep, "upto": upto}
                if fmt == "csv":
                    con.execute(f"COPY ({sql}) TO '{part}' (FORMAT csv, HEADER false)", params)
                    with open(part, "rb") as src:
                        shutil.copyfileobj(src, fh, 1 << 22)
                else:
                    chunk = con.execute(sql, params).to_arrow_table()
                    chunk = chunk.cast(pa.schema([(c, pa.string()) for c in header]))
                    if writer is None:
                        writer = pq.ParquetWriter(fh, chunk.schema, compression="zstd")
                    writer.write_table(chunk)
                written += upto
                if progress and rep % 50 == 0:
                    rate = written / max(time.perf_counter() - start, 1e-9)
                    print(f"{written:,} rows ({rate:,.0f}/s)", file=sys.stderr)
            if writer is not None:
                writer.close()
    finally:
        part.unlink(missing_ok=True)
    tmp.replace(out)
    return written


def _csv_field(text: str) -> str:
    return f'"{text}"' if any(c in text for c in ',"\n') else text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = ap.parse_args()
    start = time.perf_counter()
    n = generate(args.rows, args.out, args.format)
    size = args.out.stat().st_size
    print(f"{n:,} rows, {size / 1e9:.2f} GB in {time.perf_counter() - start:.1f} s → {args.out}")


if __name__ == "__main__":
    main()
