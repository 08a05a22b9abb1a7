"""Each query command as a whole cold process, next to plain DuckDB in the same run.

    .venv/bin/python bench/bench_commands.py [--store DIR] [--repeat 5]

Without --store, loads the shared sample (../shared/data/usaspending/transactions) into a
temporary store first. Then times, each in a fresh process, every query command and a
baseline: a `python -c` that imports DuckDB, opens it in memory and runs the equivalent SQL
on the same Parquet files (the store's committed loads) and fetches the rows. Reports the
median wall time of --repeat runs (interleaved: a shared machine varies by ±15 %), and the
ratio command / baseline. Targets (issue): every ratio ≤ 1.5, every command < 0.5 s on an
idle two-core machine, `--help` < 0.3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "usaspending" / "transactions"
CW = [sys.executable, "-m", "contractwatch"]

# the plain-DuckDB equivalent of each command: the figures it prints, from the same files
AGG = ("sum(federal_action_obligation) AS obligations, count(*) AS transactions, "
       "count(DISTINCT coalesce(contract_award_unique_key, award_id_piid)) AS awards")
ICE26 = "awarding_sub_agency_code = '7012' AND fiscal_year = 2026"
COMMANDS: list[tuple[list[str], str]] = [
    (["--help"], "SELECT 1"),
    (["status"], "SELECT awarding_sub_agency_code, fiscal_year, count(*), "
     "sum(federal_action_obligation), min(action_date), max(action_date) FROM rows "
     "GROUP BY ALL ORDER BY ALL"),
    *[(["top", "--by", by, "--agency", "ICE", "--fy", "2026"],
       f"SELECT {col}, {AGG} FROM rows WHERE {ICE26} GROUP BY 1 ORDER BY 2 DESC LIMIT 20")
      for by, col in (("recipient", "recipient_name"),
                      ("psc", "product_or_service_code_description"),
                      ("naics", "naics_description"), ("fy", "fiscal_year"),
                      ("agency", "awarding_sub_agency_code"),
                      ("family", "recipient_name"), ("brand", "recipient_name"))],
    (["trend", "--agency", "ICE"],
     f"SELECT fiscal_year, {AGG} FROM rows WHERE awarding_sub_agency_code = '7012' "
     "GROUP BY 1 ORDER BY 1"),
    (["award", "70CDCR26FR0000024"],
     "SELECT * FROM rows WHERE award_id_piid = '70CDCR26FR0000024' ORDER BY action_date"),
    (["award", "70CDCR26D00000015"],  # a vehicle: its orders
     "SELECT * FROM rows WHERE parent_award_id_piid = '70CDCR26D00000015' ORDER BY action_date"),
    (["search", "detention", "--agency", "ICE", "--fy", "2026"],
     "SELECT coalesce(contract_award_unique_key, award_id_piid) AS k, "
     "sum(federal_action_obligation) AS o, count(*) FROM rows WHERE "
     f"{ICE26} AND contains(upper(transaction_description), 'DETENTION') "
     "GROUP BY 1 ORDER BY 2 DESC LIMIT 50"),
    (["company", "GEO GROUP"],
     "SELECT fiscal_year, sum(federal_action_obligation) FROM rows WHERE "
     "contains(upper(recipient_name), 'GEO GROUP') GROUP BY 1 ORDER BY 1"),
    (["resolve", "explain", "THE GEO GROUP, INC."],
     "SELECT DISTINCT recipient_name, recipient_uei FROM rows WHERE "
     "recipient_name = 'THE GEO GROUP, INC.'"),
    (["watch", "check"],
     "SELECT count(*), sum(federal_action_obligation) FROM rows WHERE "
     "awarding_sub_agency_code = '7012' AND contains(upper(transaction_description), 'DETENTION')"),
]


def baseline_code(files: list[str], sql: str) -> str:
    return ("import duckdb\ncon = duckdb.connect()\n"
            f"con.execute(\"CREATE VIEW rows AS SELECT * FROM read_parquet({files!r})\")\n"
            f"con.sql({sql!r}).fetchall()\n")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process): on a busy machine the CPU time is the
    steadier measure; the wall time is what a person waits."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.strip()[-500:]}")
    return elapsed, (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", help="only commands starting with this word")
    ap.add_argument("--skip", action="append", default=[],
                    help="leave out commands starting with this word (repeatable)")
    ap.add_argument("--out", help="also write the table as JSON to this file")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    store = args.store or Path(tmp.name) / "store"
    # an installed package has its bytecode compiled; a development checkout may be told not
    # to write it (PYTHONDONTWRITEBYTECODE), which would time the compiler, not the command
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["CONTRACTWATCH_STORE"] = str(store)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   capture_output=True)
    if args.store is None:
        subprocess.run([*CW, "ingest", str(SHARED), "--format", "json"], env=env, check=True,
                       capture_output=True)
        subprocess.run([*CW, "resolve", "update"], env=env, check=True, capture_output=True)
    watches = subprocess.run([*CW, "watch", "list", "--format", "json"], env=env, check=True,
                             capture_output=True, text=True).stdout
    if "bench-ice-detention" not in watches:  # `watch check` needs a watch to check
        subprocess.run([*CW, "watch", "add", "bench-ice-detention", "--agency", "ICE",
                        "--keyword", "detention"], env=env, check=True, capture_output=True)
    manifest = json.loads((store / "manifest.json").read_text())
    files = [str(store / "loads" / ld["load_id"] / "transactions.parquet")
             for ld in manifest["loads"]]
    chosen = [(c, q) for c, q in COMMANDS
              if (not args.only or c[0] == args.only) and c[0] not in args.skip]
    runs: dict[int, tuple[list[tuple[float, float]], list[tuple[float, float]]]] = {
        i: ([], []) for i in range(len(chosen))}
    for cmd, _ in chosen:  # one warm-up each: file cache, .pyc files
        timed([*CW, *cmd], env)
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeat):
        for i, (cmd, sql) in enumerate(chosen):
            runs[i][0].append(timed([*CW, *cmd], env))
            runs[i][1].append(timed([sys.executable, "-c", baseline_code(files, sql)], env))
        loads.append(os.getloadavg()[0])
    rows = []
    print(f"load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}; "
          f"{os.cpu_count()} cores; median of {args.repeat}")
    print(f"{'command':<44} {'wall':>6} {'base':>6} {'ratio':>6}   {'CPU':>6} {'base':>6} "
          f"{'ratio':>6}")
    for i, (cmd, _) in enumerate(chosen):
        ours, base = runs[i]
        w, bw = (statistics.median(t[0] for t in x) for x in (ours, base))
        c, bc = (statistics.median(t[1] for t in x) for x in (ours, base))
        rows.append({"command": " ".join(cmd), "wall": w, "baseline_wall": bw, "cpu": c,
                     "baseline_cpu": bc})
        print(f"{' '.join(cmd):<44} {w:>5.2f}s {bw:>5.2f}s {w / bw:>6.2f}   {c:>5.2f}s "
              f"{bc:>5.2f}s {c / bc:>6.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps({"load_average": [min(loads), max(loads)],
                                              "repeat": args.repeat, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
