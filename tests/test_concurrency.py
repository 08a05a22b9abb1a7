"""Concurrency: readers during commits see one consistent state; writers never interleave.

Readers (separate processes using the library, a thread in this process, and the CLI in a
loop) query the store while a sequence of ingests commits. Every observation must equal the
plain csv + Decimal totals of exactly the loads its manifest listed, with no error. Two
ingests at once: the second is refused with the first one's pid, or with --wait runs after it
and commits after it, never between its files.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import ROOT, TRANSACTIONS
from tests.plain import fiscal_year

CODES = {"CBP": "7014", "ICE": "7012"}
FILES = {y: TRANSACTIONS / f"CBP_ICE_FY{y}_Contract_Obligations.csv"
         for y in range(2021, 2027)}


def plain_totals(names: list[str]) -> dict[str, str]:
    """'agency|fy' -> exact obligations, over the named shared files (all rows count)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for name in names:
        with open(TRANSACTIONS / name, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                key = f"{CODES[row['Agency']]}|{fiscal_year(row['Action Date'])}"
                totals[key] += Decimal(row["Federal Action Obligation"])
    return {k: str(v.quantize(Decimal("0.01"))) for k, v in totals.items()}


def observe(root: str) -> dict:
    """One reader's look: the loads its catalog holds and the totals it computes."""
    from contractwatch.analyze import Filters, top
    from contractwatch.store import Store

    catalog = Store(root).connect()
    names = sorted(Path(r.source_file).name for r in catalog.loads)
    result = top(catalog, "fy", Filters(), 0, "keep") if catalog.loads else None
    by_fy = {str(r["fiscal_year"]): str(r["federal_action_obligation"])
             for r in (result.rows if result else [])}
    t = catalog.transactions("keep")
    expr = t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        s=t.federal_action_obligation.sum())
    totals = {f"{r['awarding_sub_agency_code']}|{r['fiscal_year']}": str(r["s"])
              for r in catalog.con.to_pyarrow(expr).to_pylist()} if catalog.loads else {}
    return {"loads": names, "totals": totals, "by_fy": by_fy}


def reader_loop(root: str, stop: str, out: str) -> None:
    """Run in a separate process: observe until the stop file appears; log every result."""
    with open(out, "w") as fh:
        while not os.path.exists(stop):
            try:
                record = observe(root)
            except Exception as exc:  # an error is a finding, not a crash of the reader
                record = {"error": f"{type(exc).__name__}: {exc}"}
            fh.write(json.dumps(record) + "\n")
            fh.flush()


def cli(root: Path, *args: str, wait: bool = True) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "contractwatch", "--store", str(root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "1000"},
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_staging(root: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the writer has the lock and is staging its first load."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.endswith(".tmp") for p in (root / "loads").iterdir()):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.002)
    raise AssertionError("the writer never started staging")


def manifest_names(root: Path) -> list[str]:
    data = json.loads((root / "manifest.json").read_text())
    return [Path(x["source_file"]).name for x in sorted(data["loads"], key=lambda x: x["seq"])]


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store

    root = tmp_path / "store"
    ingest(Store(root), [FILES[2021]], progress=False)
    return root


def test_readers_see_consistent_states_while_ingests_commit(store_root: Path,
                                                            tmp_path: Path) -> None:
    root = store_root
    stop = tmp_path / "stop"
    logs = [tmp_path / f"reader-{i}.jsonl" for i in range(2)]
    readers = [subprocess.Popen(
        [sys.executable, "-c", "import sys; from tests.test_concurrency import reader_loop; "
         "reader_loop(*sys.argv[1:])", str(root), str(stop), str(log)], cwd=ROOT)
        for log in logs]
    thread_log: list[dict] = []

    def thread_reader() -> None:
        while not stop.exists():
            try:
                thread_log.append(observe(str(root)))
            except Exception as exc:
                thread_log.append({"error": f"{type(exc).__name__}: {exc}"})

    thread = threading.Thread(target=thread_reader)
    thread.start()
    cli_outputs: list[tuple[int, str, str]] = []

    def cli_reader() -> None:
        while not stop.exists():
            p = cli(root, "top", "--by", "fy", "--limit", "0", "--format", "json")
            out, err = p.communicate(timeout=120)
            cli_outputs.append((p.returncode, out, err))

    cli_thread = threading.Thread(target=cli_reader)
    cli_thread.start()
    port = free_port()
    server = cli(root, "serve", "--port", str(port))
    web_log: list[dict] = []

    def web_reader() -> None:
        import httpx

        url = f"http://127.0.0.1:{port}/agency/ICE.json"
        deadline = time.monotonic() + 600
        # until the writers are done, and at least 5 pages in all (a slow machine serves few)
        while (not stop.exists() or len(web_log) < 5) and time.monotonic() < deadline:
            try:
                r = httpx.get(url, timeout=60)
            except httpx.TransportError:  # not listening yet
                time.sleep(0.2)
                continue
            if r.status_code != 200:
                web_log.append({"error": f"HTTP {r.status_code}: {r.text[:300]}"})
                continue
            page = json.loads(r.text, parse_float=Decimal)
            web_log.append({
                "loads": sorted(Path(x["source_file"]).name for x in page["loads"].values()),
                "by_year": {str(x["fiscal_year"]): x["federal_action_obligation"]
                            for x in page["tables"]["by_year"]["rows"]},
            })

    web_thread = threading.Thread(target=web_reader)
    web_thread.start()
    try:
        started = time.monotonic()  # the web app must have served the first state
        while not web_log and time.monotonic() - started < 180:
            time.sleep(0.2)
        for year in (2022, 2023, 2024):  # three commits, one file each, from the CLI
            p = cli(root, "ingest", "--format", "json", str(FILES[year]))
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            time.sleep(0.5)
        # and one commit of two files at once
        p = cli(root, "ingest", "--format", "json", str(FILES[2025]), str(FILES[2026]))
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        time.sleep(0.5)
    finally:
        stop.touch()
        for r in readers:
            r.wait(timeout=120)
        thread.join(timeout=120)
        cli_thread.join(timeout=300)
        web_thread.join(timeout=300)
        server.terminate()
        server.communicate(timeout=60)

    order = [f"CBP_ICE_FY{y}_Contract_Obligations.csv" for y in range(2021, 2027)]
    valid = {tuple(sorted(order[:n])): plain_totals(order[:n]) for n in (1, 2, 3, 4, 6)}
    records = [json.loads(line) for log in logs for line in log.read_text().splitlines()]
    records += thread_log
    errors = [r["error"] for r in records if "error" in r]
    assert errors == []
    states_seen = set()
    for r in records:
        key = tuple(r["loads"])
        assert key in valid, key  # never a mix: 2025 without 2026 would be one
        assert r["totals"] == valid[key]
        by_fy: dict[str, Decimal] = defaultdict(Decimal)
        for k, v in valid[key].items():
            by_fy[k.split("|")[1]] += Decimal(v)
        assert {k: Decimal(v) for k, v in r["by_fy"].items()} == dict(by_fy)
        states_seen.add(key)
    assert len(records) >= 20
    assert len(states_seen) >= 3, states_seen  # the readers really ran across commits
    assert cli_outputs and all(code == 0 for code, _, _ in cli_outputs), cli_outputs
    # the web app (its own process, a real HTTP server) sees the same consistent states
    assert [r["error"] for r in web_log if "error" in r] == []
    web_states = set()
    for r in web_log:
        key = tuple(r["loads"])
        assert key in valid, key
        ice = {k.split("|")[1]: Decimal(v) for k, v in valid[key].items()
               if k.startswith("7012|")}
        assert {k: Decimal(v) for k, v in r["by_year"].items()} == ice
        web_states.add(key)
    assert len(web_log) >= 5 and len(web_states) >= 2, (len(web_log), web_states)
    fy_totals = [{str(x["fiscal_year"]) for x in json.loads(out)} for _, out, _ in cli_outputs]
    assert all(fys <= {str(y) for y in range(2021, 2027)} for fys in fy_totals)
    print(f"\n{len(records)} library observations over {len(states_seen)} states, "
          f"{len(cli_outputs)} CLI queries, {len(web_log)} web pages over "
          f"{len(web_states)} states, 0 errors")


def test_second_ingest_is_refused_with_the_writers_pid(store_root: Path,
                                                       tmp_path: Path) -> None:
    root = store_root
    # a first load that takes seconds (the FY2022 rows thirty times over, each repeat an
    # export's exact copy), so that the second process, however slow to start on a busy
    # machine, finds it still writing
    text = FILES[2022].read_text(encoding="utf-8")
    header, _, rows = text.partition("\n")
    big = tmp_path / "FY2022_thirty_times.csv"
    big.write_text(header + "\n" + rows * 30, encoding="utf-8")
    first = cli(root, "ingest", "--format", "json", str(big))
    wait_for_staging(root, first)
    second = cli(root, "ingest", "--format", "json", str(FILES[2025]))
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert second.returncode == 2
    message = " ".join(err2.split())
    assert f"is being written by pid {first.pid}" in message, message
    assert "--wait" in message and "Traceback" not in err2
    assert manifest_names(root) == [FILES[2021].name, big.name]


def test_library_writer_refuses_with_store_busy(store_root: Path) -> None:
    from contractwatch.ingest import ingest
    from contractwatch.store import Store, StoreBusy

    store = Store(store_root)
    with store.writer():
        p = cli(store_root, "ingest", "--format", "json", str(FILES[2022]))
        out, err = p.communicate(timeout=120)
        assert p.returncode == 2
        assert f"pid {os.getpid()}" in " ".join(err.split())
        with pytest.raises(StoreBusy):  # a second writer in another thread of this process
            result: list[BaseException] = []

            def other() -> None:
                try:
                    ingest(Store(store_root), [FILES[2022]], progress=False)
                except BaseException as exc:
                    result.append(exc)

            t = threading.Thread(target=other)
            t.start()
            t.join()
            raise result[0]
    assert manifest_names(store_root) == [FILES[2021].name]


def test_waiting_ingest_runs_after_the_first_never_between(store_root: Path) -> None:
    root = store_root
    first = cli(root, "ingest", "--format", "json", str(FILES[2022]), str(FILES[2023]),
                str(FILES[2024]))
    wait_for_staging(root, first)
    second = cli(root, "ingest", "--wait", "--format", "json", str(FILES[2025]),
                 str(FILES[2026]))
    seen: list[tuple[str, ...]] = []
    while first.poll() is None or second.poll() is None:
        names = tuple(manifest_names(root))
        if not seen or seen[-1] != names:
            seen.append(names)
        time.sleep(0.002)
    out1, err1 = first.communicate()
    out2, err2 = second.communicate()
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    a = [FILES[y].name for y in (2021, 2022, 2023, 2024)]
    b = a + [FILES[2025].name, FILES[2026].name]
    final = tuple(manifest_names(root))
    if not seen or seen[-1] != final:
        seen.append(final)
    # every state ever visible is one of: before both, after the first, after both
    assert set(seen) <= {tuple(a[:1]), tuple(a), tuple(b)}, seen
    assert final == tuple(b)
    data = json.loads((root / "manifest.json").read_text())
    seqs = {Path(x["source_file"]).name: x["seq"] for x in data["loads"]}
    assert max(seqs[n] for n in a) < min(seqs[n] for n in b[4:])
    # the waiting writer compared its rows with the first one's committed state
    report = json.loads(out2)
    assert [r["status"] for r in report] == ["loaded", "loaded"]
    from contractwatch.store import Store

    catalog = Store(root).connect()
    t = catalog.transactions("keep")
    expr = t.group_by(["awarding_sub_agency_code", "fiscal_year"]).aggregate(
        s=t.federal_action_obligation.sum())
    got = {f"{r['awarding_sub_agency_code']}|{r['fiscal_year']}": str(r["s"])
           for r in catalog.con.to_pyarrow(expr).to_pylist()}
    assert got == plain_totals(b)
