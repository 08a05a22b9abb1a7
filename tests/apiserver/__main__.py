"""Run the local API server: python -m tests.apiserver FILE... [--port 8765] [--as-of DATE]."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tests.apiserver import ApiServer, Dataset, Faults


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--as-of", default="2026-08-20", help="the data's last_updated date")
    p.add_argument("--fault-rate", type=float, default=0.0)
    args = p.parse_args()
    ds = Dataset()
    ds.load(args.files, args.as_of)
    srv = ApiServer(ds, Faults(rate=args.fault_rate), port=args.port).start()
    print(f"serving {len(ds.records):,} rows at {srv.url} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()


if __name__ == "__main__":
    main()
