"""Page latency of `contractwatch serve` under concurrent clients, on the shared data.

    .venv/bin/python bench/bench_web.py [--clients 20] [--requests 600] [--seconds 120]
                                        [--store DIR] [--flood 1000] [--out NAME]

Starts `contractwatch serve` in its own process on 127.0.0.1 (over --store, or a fresh store
ingested from ../shared/data/usaspending/transactions), then runs --clients concurrent
clients (httpx, asyncio) that pick pages from a fixed mix until --requests responses or
--seconds have passed, whichever comes first. Reports median and p95 latency overall, for
first requests of a URL (the page is computed) and for repeats (served from the app's
per-manifest page cache), and per page kind (first visits and repeats apart), and how long
the server took to answer its first request and its home page. With --flood N, it then
sends N concurrent requests at once (127.0.0.1 only; half of them to distinct uncached
pages) while timing the home page, and reports how each request ended and how long the
slowest took. Results go to bench/out/<NAME>.json (default web).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "usaspending" / "transactions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list, in milliseconds."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return round(ordered[k] * 1000, 1)


def summary(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "median_ms": round(statistics.median(values) * 1000, 1),
            "p95_ms": pct(values, 95), "max_ms": round(max(values) * 1000, 1)}


def url_mix(awards: list[str]) -> list[tuple[str, str]]:
    """(kind, path): the pages a person clicking around would open."""
    mix = [("home", "/"), ("agency", "/agency/ICE"), ("agency", "/agency/CBP"),
           ("search", "/search")]
    for fy in (2024, 2025, 2026):
        mix += [("agency", f"/agency/ICE?fy={fy}"), ("agency", f"/agency/CBP?fy={fy}")]
    for q in ("skip tracing", "detention", "guard", "software", "aviation", "medical"):
        mix += [("search", f"/search?q={q.replace(' ', '+')}"),
                ("search", f"/search?q={q.replace(' ', '+')}&agency=ICE&sort=date"),
                ("search_json", f"/search.json?q={q.replace(' ', '+')}&page=2")]
    mix += [("award", f"/award/{a}") for a in awards]
    mix += [("award_json", f"/award/{a}.json") for a in awards[:10]]
    for fy in (2025, 2026):
        mix += [("rows", f"/rows?agency=ICE&fy={fy}"),
                ("rows", f"/rows?agency=CBP&fy={fy}&offset=100")]
    mix += [("company", "/company?name=CAPGEMINI+GOVERNMENT+SOLUTIONS+LLC"),
            ("company", "/company?name=THE+GEO+GROUP%2C+INC.")]
    return mix


async def run_load(base: str, mix: list[tuple[str, str]], clients: int, max_requests: int,
                   seconds: float, seed: int = 7) -> list[dict]:
    import httpx

    results: list[dict] = []
    seen: set[str] = set()
    lock = asyncio.Lock()
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    issued = 0

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal issued
        async with c:
            while time.monotonic() < deadline:
                async with lock:
                    if issued >= max_requests:
                        return
                    issued += 1
                    kind, path = rng.choice(mix)
                    first = path not in seen
                    seen.add(path)
                t0 = time.monotonic()
                try:
                    r = await c.get(path)
                    status = r.status_code
                except httpx.HTTPError as exc:
                    status = f"error {type(exc).__name__}"
                results.append({"kind": kind, "path": path, "first": first,
                                "status": status, "seconds": time.monotonic() - t0})

    # every client is made before any is timed: making one (its TLS context) takes tens of
    # milliseconds, which would otherwise count in the first requests of the others
    made = [httpx.AsyncClient(base_url=base, timeout=seconds) for _ in range(clients)]
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(client(c) for c in made))
    return results


async def run_flood(base: str, n: int, seconds: float) -> dict:
    """N requests at once (half to distinct uncached search pages, half to cached pages),
    and the home page timed once a second meanwhile. Bounded by `seconds`."""
    import httpx

    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, timeout=seconds, limits=limits) as c:
        async def one(i: int) -> tuple[str, float]:
            path = f"/search?q=flood+{i}&agency=ICE" if i % 2 else "/agency/ICE"
            t0 = time.monotonic()
            try:
                status = str((await c.get(path)).status_code)
            except httpx.HTTPError as exc:
                status = f"error {type(exc).__name__}"
            return status, time.monotonic() - t0

        async def home_probe(stop: asyncio.Event) -> list[float]:
            times: list[float] = []
            async with httpx.AsyncClient(base_url=base, timeout=seconds) as h:
                while not stop.is_set():
                    t0 = time.monotonic()
                    await h.get("/")
                    times.append(time.monotonic() - t0)
                    await asyncio.sleep(0.2)
            return times

        stop = asyncio.Event()
        probe = asyncio.create_task(home_probe(stop))
        t0 = time.monotonic()
        done = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.monotonic() - t0
        stop.set()
        home = await probe
    statuses: dict[str, int] = {}
    for status, _ in done:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": n, "wall_seconds": round(wall, 1), "statuses": statuses,
            "slowest_ms": round(max(t for _, t in done) * 1000, 1),
            "home_page_during_flood": summary(home)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=600)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--store", type=Path)
    ap.add_argument("--flood", type=int, default=0, help="then N concurrent requests at once")
    ap.add_argument("--out", default="web", help="result name under bench/out/")
    args = ap.parse_args()

    tmp = None
    store = args.store
    if store is None:
        tmp = tempfile.TemporaryDirectory(prefix="cw-bench-web-")
        store = Path(tmp.name) / "store"
        t0 = time.monotonic()
        subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store), "ingest",
                        str(SHARED), "--format", "json"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"ingested the shared files in {time.monotonic() - t0:.1f} s", file=sys.stderr)

    load_before = [round(x, 2) for x in os.getloadavg()]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu_before = time.process_time()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CONTRACTWATCH_STORE": str(store)}
    started = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "contractwatch", "serve", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        import httpx

        for _ in range(3000):
            try:
                httpx.get(base + "/static/style.css", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.01)
        first_answer = time.monotonic() - started
        refused = 0  # a server still building a large store's snapshot answers 503 at first
        while (home := httpx.get(base + "/", timeout=300)).status_code == 503 \
                and time.monotonic() - started < 900:
            refused += 1
            time.sleep(float(home.headers.get("retry-after", "1")))
        home.raise_for_status()
        home_answer = time.monotonic() - started
        found = httpx.get(base + "/search.json", params={"q": "services", "agency": "ICE"},
                          timeout=300).json()
        awards = [r["award_key"] for r in found["tables"]["results"]["rows"]][:25]
        mix = url_mix(awards)
        t0 = time.monotonic()
        results = asyncio.run(run_load(base, mix, args.clients, args.requests, args.seconds))
        wall = time.monotonic() - t0
        flood = asyncio.run(run_flood(base, args.flood, args.seconds)) if args.flood else None
    finally:
        server.terminate()
        server.wait(timeout=30)
        if tmp:
            tmp.cleanup()
    # the server's CPU time (user + system) over its whole life, and the bench's own
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = (children.ru_utime + children.ru_stime
                  - children_before.ru_utime - children_before.ru_stime)
    client_cpu = time.process_time() - client_cpu_before

    ok = [r for r in results if r["status"] == 200]
    out = {
        "clients": args.clients, "requests": len(results), "ok": len(ok),
        "failed": len(results) - len(ok), "wall_seconds": round(wall, 1),
        "requests_per_second": round(len(results) / wall, 1) if wall else None,
        "distinct_urls": len(mix), "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "server_cpu_seconds": round(server_cpu, 1), "client_cpu_seconds": round(client_cpu, 1),
        "server_peak_rss_mb": round(children.ru_maxrss / 1024),
        "server_first_answer_seconds": round(first_answer, 2),
        "server_home_page_seconds": round(home_answer, 2), "home_page_refused_503": refused,
        "all": summary([r["seconds"] for r in ok]),
        "first_request_of_url": summary([r["seconds"] for r in ok if r["first"]]),
        "repeat_requests": summary([r["seconds"] for r in ok if not r["first"]]),
        "by_kind": {k: summary([r["seconds"] for r in ok if r["kind"] == k])
                    for k in sorted({r["kind"] for r in results})},
        "first_visits_by_kind": {k: summary([r["seconds"] for r in ok
                                             if r["kind"] == k and r["first"]])
                                 for k in sorted({r["kind"] for r in results})},
        "repeats_by_kind": {k: summary([r["seconds"] for r in ok
                                        if r["kind"] == k and not r["first"]])
                            for k in sorted({r["kind"] for r in results})},
        "statuses": sorted({str(r["status"]) for r in results}),
        "flood": flood,
    }
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / f"{args.out}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
