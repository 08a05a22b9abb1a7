"""Sync throughput through the local API server, and the cost of re-syncs.

Serves FY2025 (closed year, fetched 2026-08-22) and the FY2026 snapshot of 2026-08-19 of the
shared data, syncs one agency's two fiscal years from scratch, then measures three reruns:
no change upstream (awards/last_updated unchanged), a data refresh that changed nothing,
and the next day's snapshot. Rate limiting is off so the numbers are the code's, not the
politeness delay's (the live default is 4 requests per second).

    .venv/bin/python bench/bench_sync.py [--agency ICE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from contractwatch.sources.usaspending_api import UsaspendingClient  # noqa: E402
from contractwatch.store import Store  # noqa: E402
from contractwatch.sync import make_query, sync  # noqa: E402
from tests.apiserver import ApiServer, Dataset  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "usaspending"


def run(agency: str) -> None:
    ds = Dataset()
    ds.load([DATA / "snapshots" / "FY2025_fetched_2026-08-22.csv",
             DATA / "snapshots" / "FY2026_through_2026-08-19.csv"], "2026-08-19")
    query = make_query(agency, "2024-10-01")
    rows = []
    with ApiServer(ds) as srv, tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        client = UsaspendingClient(srv.url, rate_per_second=0, poll_interval=0.01)

        def step(label: str, **kw: object) -> None:
            t0 = time.perf_counter()
            r = sync(store, query, api_url=srv.url, client=client, **kw)
            wall = time.perf_counter() - t0
            rows.append((label, r.mode, r.requests, r.rows_fetched, wall, r.new, r.changed))

        step("full sync")
        step("rerun, nothing changed upstream")
        ds.as_of = "2026-08-20"  # a data refresh that changed no row
        step("rerun after a refresh that changed nothing")
        ds.add([DATA / "snapshots" / "FY2026_through_2026-08-20.csv"], "2026-08-21")
        step("rerun after the next day's snapshot")
        ds.as_of = "2026-08-22"
        step("refresh that changed nothing, --overlap-days 3", overlap_days=3)
        client.close()
    full = rows[0]
    print(f"agency {agency}, {len(ds.records):,} rows served; rate limit off\n")
    print(f"{'run':45} {'mode':12} {'requests':>8} {'rows':>6} {'wall s':>7} "
          f"{'% of full':>9} {'new':>5} {'changed':>7}")
    for label, mode, req, n, wall, new, changed in rows:
        print(f"{label:45} {mode:12} {req:8} {n:6} {wall:7.2f} {100 * wall / full[4]:8.1f}% "
              f"{new:5} {changed:7}")
    print(f"\nfull sync: {full[3] / full[4]:,.0f} rows/s end to end (fetch + ingest), "
          f"{full[2] / full[4]:.0f} requests/s")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--agency", default="ICE")
    run(p.parse_args().agency)
