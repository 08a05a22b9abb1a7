"""Ingest speed and memory next to plain DuckDB and Polars CSV→Parquet, in the same run.

    .venv/bin/python bench/bench_ingest.py [--rows 2000000] [--repeat 3] [--only cw] [--keep]
                                           [--layout api-export|wide]

Builds a CSV of about --rows rows by repeating the shared API-export rows (each repetition
gets its own award ids, so keys stay unique as in a real multi-year pull), then times, each
in a fresh subprocess so peak memory (max RSS) is its own:
  1. `contractwatch ingest` (parse, validate, normalise, hash, dedupe, commit);
  2. DuckDB `COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'` (all text, no validation);
  3. Polars `scan_csv(...).sink_parquet(...)` (if polars is installed);
  4. PyArrow CSV→Parquet with the reader settings and writer contractwatch itself uses (all
     text, no validation; writing in a second thread). Not a baseline of the issue: it shows
     what the libraries a load is built on cost before any normalising or checking.
The baselines write snappy Parquet, the codec of contractwatch's default store. Besides wall
time, each job's CPU seconds (user + system) are reported: on two cores a job cannot finish
faster than half its CPU time, which tells what a target leaves room for.
Target (issue): contractwatch ≥ 0.5× their speed, peak memory < 1.5 GB at any size.
`--layout wide` builds the file in today's 297-column download layout instead, from real rows:
the ICE rows of the 2018 download (../shared/data/fpds_full) in today's columns
(tests/official_layouts.py) and the real FY2026 archive rows of tests/data/real. Every
baseline and contractwatch then keep every column.
The jobs run --repeat times, interleaved, and the median is reported: on a shared machine
single runs vary by ±15 %.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "usaspending" / "transactions"


# The reader settings of contractwatch.sources.csvfile.read_batches (4 MB blocks, quoted line
# breaks allowed, every column text) and a snappy ParquetWriter fed from a second thread.
PYARROW_RAW = """
import csv, queue, threading
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
with open('{src}', newline='') as fh:
    header = next(csv.reader(fh))
reader = pacsv.open_csv('{src}', read_options=pacsv.ReadOptions(block_size=4 << 20),
    parse_options=pacsv.ParseOptions(newlines_in_values=True),
    convert_options=pacsv.ConvertOptions(column_types={{h: pa.string() for h in header}},
        strings_can_be_null=False, quoted_strings_can_be_null=False))
batches = queue.Queue(maxsize=4)
def write():
    with pq.ParquetWriter('{out}', reader.schema, compression='snappy') as writer:
        while (batch := batches.get()) is not None:
            writer.write_batch(batch)
thread = threading.Thread(target=write)
thread.start()
for batch in reader:
    batches.put(batch)
batches.put(None)
thread.join()
"""


def build_csv(target: Path, rows: int) -> int:
    sources = sorted(SHARED.glob("*.csv"))
    base: list[list[str]] = []
    header: list[str] = []
    for path in sources:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            base.extend(reader)
    award_col = header.index("Award ID")
    gen_col = header.index("Generated Award ID")
    written = 0
    with open(target, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        rep = 0
        while written < rows:
            suffix = f"R{rep:03d}"
            for row in base:
                if written >= rows:
                    break
                new = list(row)
                new[award_col] = row[award_col] + suffix
                new[gen_col] = row[gen_col].replace(row[award_col], new[award_col], 1)
                writer.writerow(new)
                written += 1
            rep += 1
    return written


def build_wide_csv(target: Path, rows: int) -> int:
    """Today's 297-column layout from real rows, each repetition with its own PIIDs."""
    sys.path.insert(0, str(ROOT))
    from tests.official_layouts import official_columns, todays_rows

    header = official_columns("transaction_contracts")
    base: list[dict[str, str]] = []
    for year in range(2013, 2019):
        base.extend(todays_rows(10**6, year))
    for path in sorted((ROOT / "tests" / "data" / "real" / "contracts_full").glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            base.extend(csv.DictReader(fh))
    written = 0
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        rep = 0
        while written < rows:
            suffix = f"R{rep:03d}"
            for row in base:
                if written >= rows:
                    break
                piid = row["award_id_piid"]
                new = dict(row, award_id_piid=piid + suffix)
                for key in ("contract_award_unique_key", "contract_transaction_unique_key"):
                    new[key] = row[key].replace(piid, piid + suffix, 1)
                writer.writerow([new.get(c, "") for c in header])
                written += 1
            rep += 1
    return written


def run(label: str, code: str) -> dict[str, float | str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stderr[-2000:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"job": label, "seconds": round(wall, 2),
            "peak_mb": round(max(peak_kb, before) / 1024, 1) if peak_kb > before else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per job (median reported)")
    ap.add_argument("--only", choices=["cw"], help="cw: only contractwatch (memory at scale)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--layout", choices=["api-export", "wide"], default="api-export",
                    help="wide: today's 297-column download, every column kept")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    try:
        src = work / "big.csv"
        t0 = time.perf_counter()
        n = (build_wide_csv if args.layout == "wide" else build_csv)(src, args.rows)
        print(f"built {n:,} rows, {src.stat().st_size / 1e9:.2f} GB in "
              f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
        jobs = [
            ("duckdb csv->parquet",
             f"import duckdb; c=duckdb.connect(config={{'threads':2}}); c.execute(\"COPY (SELECT * "
             f"FROM read_csv('{src}', all_varchar=true)) TO '{work}/duck.parquet' "
             f"(FORMAT parquet, COMPRESSION snappy)\")"),
            ("contractwatch ingest",
             f"import shutil; shutil.rmtree('{work}/store', ignore_errors=True); "
             f"from contractwatch.store import Store; from contractwatch.ingest import ingest; "
             f"ingest(Store('{work}/store'), ['{src}'], progress=False)"),
        ]
        if args.layout == "wide":  # the cost of keeping every source column: the same load
            # with the layouts told to keep none (canonical columns only), in the same run
            jobs.append(("contractwatch ingest, canonical columns only",
                         f"import shutil; shutil.rmtree('{work}/store-narrow', "
                         f"ignore_errors=True); from contractwatch.sources import base; "
                         f"base.Layout.kept_as_source = lambda self, header, ctx: []; "
                         f"from contractwatch.store import Store; "
                         f"from contractwatch.ingest import ingest; "
                         f"ingest(Store('{work}/store-narrow'), ['{src}'], progress=False)"))
        jobs.append(("pyarrow csv->parquet", PYARROW_RAW.format(src=src, out=work / "pa.parquet")))
        try:
            import polars  # noqa: F401

            jobs.insert(1, ("polars csv->parquet",
                            f"import polars as pl; pl.scan_csv('{src}', infer_schema=False)"
                            f".sink_parquet('{work}/polars.parquet', compression='snappy')"))
        except ImportError:
            print("polars not installed: skipping its baseline", file=sys.stderr)
        if args.only == "cw":
            jobs = [j for j in jobs if j[0] == "contractwatch ingest"]
        runs: dict[str, list[dict[str, float | str]]] = {label: [] for label, _ in jobs}
        for _ in range(args.repeat):
            for label, code in jobs:  # interleaved, so a slow spell hits every job
                runs[label].append(run_measured(label, code))
        results = []
        for label, measured in runs.items():
            seconds = sorted(float(m["seconds"]) for m in measured)
            results.append({"job": label, "seconds": statistics.median(seconds),
                            "all_seconds": seconds,
                            "cpu_seconds": statistics.median(
                                float(m["cpu_seconds"]) for m in measured)
                            if all("cpu_seconds" in m for m in measured) else None,
                            "peak_mb": max(float(m["peak_mb"] or 0) for m in measured)})
        ours = next(r for r in results if r["job"] == "contractwatch ingest")
        for r in results:
            r["rows_per_second"] = round(n / r["seconds"])
            if r is not ours:  # the ratio: our speed over the baseline's
                r["contractwatch_speed_ratio"] = round(r["seconds"] / ours["seconds"], 2)
        sizes = {name: _folder_bytes(work / name) for name in ("store", "store-narrow")
                 if (work / name).exists()}
        sizes.update({name: (work / name).stat().st_size
                      for name in ("duck.parquet", "polars.parquet", "pa.parquet")
                      if (work / name).exists()})
        print(json.dumps({"layout": args.layout, "rows": n, "csv_bytes": src.stat().st_size,
                          "repeat": args.repeat, "output_bytes": sizes,
                          "results": results}, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_measured(label: str, code: str) -> dict[str, float | str]:
    """Wall time and the child's own peak RSS (via /usr/bin/time when present)."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists()
                                        else None)
    if time_bin is None:
        return run(label, code)
    start = time.perf_counter()
    proc = subprocess.run([time_bin, "-f", "%M %U %S", sys.executable, "-c", code],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stderr[-2000:]}")
    peak_kb, user, system = proc.stderr.strip().splitlines()[-1].split()
    return {"job": label, "seconds": round(wall, 2), "peak_mb": round(int(peak_kb) / 1024, 1),
            "cpu_seconds": round(float(user) + float(system), 2)}


if __name__ == "__main__":
    main()
