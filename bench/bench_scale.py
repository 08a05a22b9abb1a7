"""Scale benchmark: ingest and the standard agency report at N rows, next to baselines.

    .venv/bin/python bench/bench_scale.py --rows 10000000 --work /tmp/cw-scale [--spark]
        [--ingest-repeat 3]

In one run, each job in a fresh subprocess (peak memory = the larger of the job's max RSS
from /usr/bin/time and its process tree's resident set sampled every 50 ms, JVM included):
  ingest   contractwatch.ingest (parse, validate, normalise, hash, dedupe, commit)
           DuckDB  COPY (SELECT * FROM read_csv(...)) TO '...parquet'
           Polars  scan_csv(...).sink_parquet(...)
           (the baselines write snappy Parquet, the codec of contractwatch's default store;
           with --ingest-repeat N the three run N times, interleaved, median reported)
  report   the standard agency report — top 20 recipients and top 20 PSC titles of one agency
           in one fiscal year, and the agency's obligations by fiscal year — through
           contractwatch.analyze (DuckDB; with --spark also Spark local[2]; "general path" =
           the newest-vintage joins a store of overlapping snapshots needs), hand-written
           DuckDB SQL and Polars over the same Parquet file. Median of --repeat warm runs plus
           the first (cold) run; the three must agree on every figure or the run fails.
Results go to <work>/results_<rows>.json and are printed as a Markdown table.
The input CSV comes from bench/make_scaled.py (built if missing; kept with --keep-csv).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
AGENCY, AGENCY_NAME, FY = "7012", "ICE", 2025


# ---- measuring a subprocess ---------------------------------------------------------------

def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (JVMs included), from /proc."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_job(args: list[str], timeout: float = 7200) -> dict[str, Any]:
    """Run `bench_scale.py --job …` and return its JSON output plus wall time and peak MB."""
    # /usr/bin/time reports the job's own max RSS; os.wait4 here would not, because a child
    # forked from this (large) process inherits its resident set in the high-water mark.
    cmd = ["/usr/bin/time", "-f", "MAXRSS_KB %M",
           sys.executable, str(Path(__file__).resolve()), "--job", *args]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks: list[str] = []
    err_chunks: list[str] = []
    readers = [threading.Thread(target=lambda s=s, c=c: c.append(s.read()), daemon=True)
               for s, c in ((proc.stdout, out_chunks), (proc.stderr, err_chunks))]
    for r in readers:
        r.start()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"job {args[0]} failed:\n{''.join(err_chunks)[-3000:]}")
    result = json.loads(''.join(out_chunks).strip().splitlines()[-1])
    result["wall_s"] = round(wall, 2)
    maxrss = max((int(line.split()[1]) for line in ''.join(err_chunks).splitlines()
                  if line.startswith("MAXRSS_KB ")), default=0)
    result["peak_mb"] = round(max(peak[0], maxrss) / 1024)
    return result


def median_run(measured: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time, with every run's seconds and the largest peak."""
    ordered = sorted(measured, key=lambda m: m["seconds"])
    result = dict(ordered[(len(ordered) - 1) // 2])
    result["all_seconds"] = [m["seconds"] for m in measured]
    result["peak_mb"] = max(m["peak_mb"] for m in measured)
    return result


# ---- jobs (run inside the subprocess) -----------------------------------------------------

def job_ingest_contractwatch(csv: str, store: str) -> dict[str, Any]:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    start = time.perf_counter()
    report = ingest(Store(store), [csv], as_of="2026-08-22", progress=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": sum(ld.rows_kept for ld in report.loads)}


def job_ingest_duckdb(csv: str, out: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    start = time.perf_counter()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}' "
                "(FORMAT parquet, COMPRESSION snappy)")
    seconds = time.perf_counter() - start
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{out}')").fetchall()[0][0]
    return {"seconds": seconds, "rows": rows}


def job_ingest_polars(csv: str, out: str) -> dict[str, Any]:
    import polars as pl

    start = time.perf_counter()
    pl.scan_csv(csv, infer_schema_length=10000).sink_parquet(out, compression="snappy")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": pl.scan_parquet(out).select(pl.len()).collect().item()}


def _report_contractwatch(catalog: Any, full: bool) -> dict[str, Any]:
    """The report through the library: with full=True exactly what `top`/`trend` return
    (figures, caveats, totals); else only the three figure queries."""
    from contractwatch import analyze as A

    scope = A.Filters(agency=AGENCY, fy=FY)
    if full:
        top = A.top(catalog, "recipient", scope, 20).rows
        psc = A.top(catalog, "psc", scope, 20).rows
        trend = A.trend(catalog, A.Filters(agency=AGENCY)).rows
    else:
        t = catalog.transactions("keep")

        def grouped(keys: list[str], f: A.Filters) -> Any:
            s = A.apply_filters(t, f)
            return s.group_by(keys).aggregate(
                federal_action_obligation=s.federal_action_obligation.sum(),
                transactions=s.count(), awards=A.award_key(s).nunique())

        e = grouped(["recipient_name"], scope)
        top = catalog.con.to_pyarrow(e.order_by([e.federal_action_obligation.desc(),
                                                 "recipient_name"]).limit(20)).to_pylist()
        e = grouped(["product_or_service_code_description"], scope)
        psc = catalog.con.to_pyarrow(e.order_by([
            e.federal_action_obligation.desc(), "product_or_service_code_description"])
            .limit(20)).to_pylist()
        s = A.apply_filters(t, A.Filters(agency=AGENCY))
        e = s.group_by("fiscal_year").aggregate(
            federal_action_obligation=s.federal_action_obligation.sum(),
            transactions=s.count(), awards=A.award_key(s).nunique(),
            recipients=s.recipient_name.nunique()).order_by("fiscal_year")
        trend = catalog.con.to_pyarrow(e).to_pylist()
    return _digest(top, psc, trend)


def _digest(top: list[dict], psc: list[dict], trend: list[dict]) -> dict[str, Any]:
    """Engine-neutral figures to compare methods: names, exact sums, counts."""
    def money(v: Any) -> str:
        return str(Decimal(str(v)).quantize(Decimal("0.01")))

    return {
        "top": [[r["recipient_name"], money(r["federal_action_obligation"]),
                 int(r["transactions"])] for r in top],
        "psc": [[r["product_or_service_code_description"], money(r["federal_action_obligation"]),
                 int(r["transactions"])] for r in psc],
        "trend": [[int(r["fiscal_year"]), money(r["federal_action_obligation"]),
                   int(r["transactions"]), int(r["awards"]), int(r["recipients"])]
                  for r in trend],
    }


def _timed(fn: Any, repeat: int) -> tuple[Any, float, list[float]]:
    start = time.perf_counter()
    result = fn()
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - start)
    return result, cold, warm


def job_report_contractwatch(store: str, engine: str, mode: str, repeat: int) -> dict[str, Any]:
    from contractwatch import store as store_module
    from contractwatch.store import Store

    if mode.endswith("-general"):  # as if the loads overlapped (snapshots of the same years)
        store_module.loads_are_disjoint = lambda loads: False
    start = time.perf_counter()
    if engine == "spark":
        from contractwatch.engines import spark_session

        spark_session(master="local[2]")
    setup = time.perf_counter() - start
    catalog = Store(store).connect(engine=engine)
    full = mode.startswith("full")
    digest, cold, warm = _timed(lambda: _report_contractwatch(catalog, full), repeat)
    return {"setup_s": setup, "cold_s": cold, "warm_s": warm, "digest": digest}


def job_report_duckdb_sql(files: str, repeat: int) -> dict[str, Any]:
    """The same report as three hand-written SQL statements over the Parquet files."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    src = f"read_parquet({json.loads(files)!r})"
    award = "COALESCE(contract_award_unique_key, award_id_piid)"
    where = f"awarding_sub_agency_code = '{AGENCY}' AND fiscal_year = {FY}"

    def top(col: str) -> str:
        return (f"SELECT {col}, SUM(federal_action_obligation) AS federal_action_obligation, "
                f"COUNT(*) AS transactions, COUNT(DISTINCT {award}) AS awards FROM {src} "
                f"WHERE {where} GROUP BY {col} "
                f"ORDER BY federal_action_obligation DESC, {col} LIMIT 20")

    trend_sql = (f"SELECT fiscal_year, SUM(federal_action_obligation) AS "
                 f"federal_action_obligation, COUNT(*) AS transactions, COUNT(DISTINCT {award}) "
                 f"AS awards, COUNT(DISTINCT recipient_name) AS recipients FROM {src} "
                 f"WHERE awarding_sub_agency_code = '{AGENCY}' GROUP BY fiscal_year "
                 "ORDER BY fiscal_year")

    def rows(sql: str) -> list[dict]:
        return con.sql(sql).to_arrow_table().to_pylist()

    def report() -> dict[str, Any]:
        return _digest(rows(top("recipient_name")),
                       rows(top("product_or_service_code_description")), rows(trend_sql))

    digest, cold, warm = _timed(report, repeat)
    return {"cold_s": cold, "warm_s": warm, "digest": digest}


def job_report_polars(files: str, repeat: int) -> dict[str, Any]:
    import polars as pl

    paths = json.loads(files)
    award = pl.coalesce("contract_award_unique_key", "award_id_piid")

    def report() -> dict[str, Any]:
        lf = pl.scan_parquet(paths)
        scope = lf.filter((pl.col("awarding_sub_agency_code") == AGENCY)
                          & (pl.col("fiscal_year") == FY))

        def top(col: str) -> list[dict]:
            return (scope.group_by(col).agg(
                pl.col("federal_action_obligation").sum(), pl.len().alias("transactions"),
                award.n_unique().alias("awards"))
                .sort(["federal_action_obligation", col], descending=[True, False],
                      nulls_last=True)
                .head(20).collect().to_dicts())

        trend = (lf.filter(pl.col("awarding_sub_agency_code") == AGENCY)
                 .group_by("fiscal_year").agg(
                     pl.col("federal_action_obligation").sum(), pl.len().alias("transactions"),
                     award.n_unique().alias("awards"),
                     pl.col("recipient_name").drop_nulls().n_unique().alias("recipients"))
                 .sort("fiscal_year").collect().to_dicts())
        return _digest(top("recipient_name"), top("product_or_service_code_description"), trend)

    digest, cold, warm = _timed(report, repeat)
    return {"cold_s": cold, "warm_s": warm, "digest": digest}


JOBS = {
    "ingest-contractwatch": job_ingest_contractwatch,
    "ingest-duckdb": job_ingest_duckdb,
    "ingest-polars": job_ingest_polars,
    "report-contractwatch": job_report_contractwatch,
    "report-duckdb-sql": job_report_duckdb_sql,
    "report-polars": job_report_polars,
}


def _job_main(argv: list[str]) -> None:
    name, *rest = argv
    fn = JOBS[name]
    args: list[Any] = [int(a) if a.isdigit() else a for a in rest]
    result = fn(*args)
    print(json.dumps(result, default=str))


# ---- the benchmark ------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--work", type=Path, default=Path("/tmp/cw-scale"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--spark", action="store_true", help="also run the report on Spark")
    ap.add_argument("--spark-repeat", type=int, default=1)
    ap.add_argument("--no-general", action="store_true",
                    help="skip the general-path report (slow at 50M rows)")
    ap.add_argument("--skip-ingest-baselines", action="store_true")
    ap.add_argument("--ingest-repeat", type=int, default=1,
                    help="ingest runs per job, interleaved (the median run is reported)")
    ap.add_argument("--keep-csv", action="store_true")
    ap.add_argument("--keep-store", action="store_true")
    ap.add_argument("--reuse-store", action="store_true",
                    help="report only, on the store a --keep-store run left (no ingest)")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    csv = work / f"scaled_{args.rows}.csv"
    results: dict[str, Any] = {"rows": args.rows, "agency": AGENCY_NAME, "fy": FY,
                               "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               "load_average_start": os.getloadavg()}
    if not csv.exists():
        sys.path.insert(0, str(HERE))
        from make_scaled import generate

        start = time.perf_counter()
        generate(args.rows, csv, progress=False)
        results["generate_s"] = round(time.perf_counter() - start, 1)
    results["csv_gb"] = round(csv.stat().st_size / 1e9, 3)
    print(f"input: {csv} ({results['csv_gb']} GB)", file=sys.stderr)

    store = work / f"store_{args.rows}"
    reuse = args.reuse_store and (store / "manifest.json").exists()
    if not reuse:
        shutil.rmtree(store, ignore_errors=True)
    ingest: dict[str, Any] = {}
    if not reuse:
        names = ["contractwatch"] + ([] if args.skip_ingest_baselines else ["duckdb", "polars"])
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for _ in range(args.ingest_repeat):  # interleaved: a slow spell hits every job
            for name in names:
                if name == "contractwatch":
                    shutil.rmtree(store, ignore_errors=True)
                    out = store
                else:
                    out = work / f"baseline_{name}.parquet"
                runs[name].append(run_job([f"ingest-{name}", str(csv), str(out)]))
                if name != "contractwatch":
                    out.unlink(missing_ok=True)
                print("ingest", name, runs[name][-1], file=sys.stderr)
        for name, measured in runs.items():
            ingest[name] = median_run(measured)
    results["ingest"] = ingest
    files = sorted(str(p) for p in store.glob("loads/*/transactions.parquet"))
    results["store_gb"] = round(sum(Path(f).stat().st_size for f in files) / 1e9, 3)

    report: dict[str, Any] = {}
    r = str(args.repeat)
    report["contractwatch (duckdb)"] = run_job(["report-contractwatch", str(store), "duckdb",
                                                "full", r])
    report["contractwatch figures only (duckdb)"] = run_job(
        ["report-contractwatch", str(store), "duckdb", "figures", r])
    if not args.no_general:
        report["contractwatch, general path (duckdb)"] = run_job(
            ["report-contractwatch", str(store), "duckdb", "full-general", r])
    report["hand-written DuckDB SQL"] = run_job(["report-duckdb-sql", json.dumps(files), r])
    report["Polars"] = run_job(["report-polars", json.dumps(files), r])
    if args.spark:
        report["contractwatch (spark local[2])"] = run_job(
            ["report-contractwatch", str(store), "spark", "full", str(args.spark_repeat)])
    reference = report["hand-written DuckDB SQL"]["digest"]
    for name, res in report.items():
        res["agrees"] = res.pop("digest") == reference
        res["warm_median_s"] = round(statistics.median(res["warm_s"]), 3) if res["warm_s"] \
            else None
        res["warm_s"] = [round(x, 3) for x in res["warm_s"]]
        res["cold_s"] = round(res["cold_s"], 3)
        print("report", name, res, file=sys.stderr)
    results["report"] = report
    results["load_average_end"] = os.getloadavg()
    out = work / f"results_{args.rows}.json"
    out.write_text(json.dumps(results, indent=1, default=str))
    print(markdown(results))
    if not args.keep_store and not args.reuse_store:
        shutil.rmtree(store, ignore_errors=True)
    if not args.keep_csv:
        csv.unlink(missing_ok=True)
    if not all(res["agrees"] for res in report.values()):
        raise SystemExit("the methods disagree on the report's figures: see " + str(out))


def markdown(res: dict[str, Any]) -> str:
    lines = [f"### {res['rows']:,} rows ({res['csv_gb']} GB CSV, store {res['store_gb']} GB "
             f"Parquet); load average {res['load_average_start'][0]:.1f} at start", "",
             "| ingest | seconds | rows/s | peak MB |", "|---|---|---|---|"]
    for name, r in res["ingest"].items():
        lines.append(f"| {name} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
                     f"{r['peak_mb']:,} |")
    base = res["report"]["hand-written DuckDB SQL"]["warm_median_s"]
    lines += ["", f"| report (ICE FY{res['fy']}) | cold s | warm median s | × SQL | peak MB "
              "| agrees |", "|---|---|---|---|---|---|"]
    for name, r in res["report"].items():
        ratio = r["warm_median_s"] / base if base else float("nan")
        lines.append(f"| {name} | {r['cold_s']:.2f} | {r['warm_median_s']:.3f} | "
                     f"{ratio:.2f} | {r['peak_mb']:,} | {'yes' if r['agrees'] else 'NO'} |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--job":
        _job_main(sys.argv[2:])
    else:
        main()
