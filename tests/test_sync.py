"""`sync` and `enrich` end to end against the local API server over the real rows.

Expected rows are the distinct rows of the shared snapshot files, read with the csv module.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.sources.usaspending_api import UsaspendingClient
from contractwatch.store import Store
from contractwatch.sync import SyncError, make_query, sync
from tests.apiserver import ApiServer, Dataset, Faults
from tests.conftest import ROOT, SNAPSHOTS, TRANSACTIONS
from tests.plain import read_rows

AUG19 = SNAPSHOTS / "FY2026_through_2026-08-19.csv"
AUG20 = SNAPSHOTS / "FY2026_through_2026-08-20.csv"
CODES = {"ICE": "7012", "CBP": "7014"}


def expected_rows(paths: list[Path], agency: str, since: str = "",
                  until: str = "9999") -> Counter:
    """Distinct (piid, mod, amount, date, recipient) of the files, newest file winning."""
    by_key: dict[tuple[str, str], tuple] = {}
    for path in paths:
        for r in read_rows(path):
            if r["Agency"] != agency or not since <= r["Action Date"] <= until:
                continue
            by_key[(r["Award ID"], r["Modification"])] = (
                r["Award ID"], r["Modification"], Decimal(r["Federal Action Obligation"]),
                r["Action Date"], r["Recipient Name"])
    return Counter(by_key.values())


def stored_rows(store: Store, agency: str) -> Counter:
    catalog = store.connect()
    t = catalog.transactions("keep")
    t = t.filter(t.awarding_sub_agency_code == CODES[agency])
    table = catalog.con.to_pyarrow(t.select("award_id_piid", "modification_number",
                                            "federal_action_obligation", "action_date",
                                            "recipient_name"))
    return Counter((a, m, amt, d.isoformat(), rec) for a, m, amt, d, rec in
                   zip(*(table.column(i).to_pylist() for i in range(5)), strict=True))


def client_for(srv: ApiServer, **kw) -> UsaspendingClient:
    kw.setdefault("rate_per_second", 0)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("poll_interval", 0.01)
    return UsaspendingClient(srv.url, **kw)


@pytest.fixture()
def server():
    ds = Dataset()
    ds.load([AUG19], "2026-08-19")
    with ApiServer(ds) as srv:
        yield srv
    assert srv.violations == []  # every response was the contract's shape


def test_sync_through_faults_stores_every_row_exactly_once(server, tmp_path):
    # A fifth of all requests fail in one of six ways; ties are reordered on every request.
    server.faults = Faults(rate=0.2, slow_seconds=0.6, retry_after="0")
    store = Store(tmp_path / "store")
    with client_for(server, timeout=0.3, max_retries=12) as c:
        report = sync(store, make_query("ICE", "2025-10-01"), api_url=server.url, client=c)
    expected = expected_rows([AUG19], "ICE")
    got = stored_rows(store, "ICE")
    assert got == expected  # no gap, no duplicate, no changed value
    assert max(got.values()) == 1
    assert report.retries > 10 and report.mode == "full" and report.complete
    assert report.rows_fetched == report.expected_rows == sum(expected.values())
    (load,) = store.loads()
    assert load.complete and load.origin == "sync:ice-2025-10-01"
    assert load.duplicate_copies == 0


def test_rerun_fetches_only_what_changed_and_full_refetch_withdraws(server, tmp_path):
    store = Store(tmp_path / "store")
    query = make_query("ICE", "2025-10-01")
    with client_for(server) as c:
        first = sync(store, query, api_url=server.url, client=c)

        # nothing changed upstream: one request (awards/last_updated)
        again = sync(store, query, api_url=server.url, client=c)
        assert again.mode == "up-to-date" and again.requests == 1

        # the server gains the next day's rows (new actions, revisions)
        server.dataset.add([AUG20], "2026-08-20")
        second = sync(store, query, api_url=server.url, client=c)
        before = expected_rows([AUG19], "ICE")
        union = expected_rows([AUG19, AUG20], "ICE")
        assert stored_rows(store, "ICE") == union
        new_keys = {k[:2] for k in union} - {k[:2] for k in before}
        assert second.mode == "incremental" and not second.complete
        assert second.new == len(new_keys) > 0
        assert second.requests < first.requests / 2
        assert second.years_differing == []  # nothing withdrawn: the counts agree

        # the server now withdraws what the 08-20 file lacks: an incremental run cannot
        # fetch a row that is gone, but the per-year counts show it and say what to do
        server.dataset.load([AUG20], "2026-08-21")
        third = sync(store, query, api_url=server.url, client=c)
        held, served = len(union), len(expected_rows([AUG20], "ICE"))
        assert third.mode == "incremental" and held > served
        assert third.years_differing == [2026]
        (note,) = [w for w in third.warnings if w.startswith("FY2026")]
        assert f"holds {held:,} current" in note and f"counts {served:,}: " \
            f"{held - served:,} were withdrawn" in note and "--full" in note
        assert stored_rows(store, "ICE") == union  # told, not silently changed

        full = sync(store, query, api_url=server.url, client=c, full=True)
    assert full.mode == "full" and full.complete
    assert stored_rows(store, "ICE") == expected_rows([AUG20], "ICE")


def test_a_day_too_big_for_one_page_goes_through_the_download(tmp_path):
    # CBP placed 71 delivery orders on 2024-09-30: with pages of 50, no date or award-type
    # window holds them on one page, so that window is fetched as a download.
    fy2024 = TRANSACTIONS / "CBP_ICE_FY2024_Contract_Obligations.csv"
    ds = Dataset()
    ds.load([fy2024], "2026-02-17")
    store = Store(tmp_path / "store")
    with ApiServer(ds) as srv, client_for(srv) as c:
        report = sync(store, make_query("CBP", "2024-09-16", "2024-09-30"), api_url=srv.url,
                      client=c, page_limit=50)
    assert report.downloads >= 1 and not report.complete
    assert stored_rows(store, "CBP") == expected_rows([fy2024], "CBP", "2024-09-16",
                                                      "2024-09-30")


def test_via_download_fetches_whole_fiscal_years(server, tmp_path):
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        report = sync(store, make_query("CBP", "2025-10-01", via="download"),
                      api_url=server.url, client=c)
    # one download per fiscal year from FY2026 to the one holding today
    assert report.downloads == report.windows >= 1 and report.complete
    assert stored_rows(store, "CBP") == expected_rows([AUG19], "CBP")


def test_saved_query_options_cannot_change_under_the_same_name(server, tmp_path):
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        sync(store, make_query("ICE", "2026-08-01", name="mine"), api_url=server.url, client=c)
        with pytest.raises(SyncError, match="made with other options"):
            sync(store, make_query("ICE", "2026-07-01", name="mine"), api_url=server.url,
                 client=c)
    with pytest.raises(SyncError, match="starts at 2007-10-01"):
        make_query("ICE", "2001-01-01")


def test_killed_sync_resumes_without_duplicates_or_gaps(server, tmp_path):
    """Kill the CLI mid-run (SIGKILL), rerun it: the windows already done are not refetched
    and the store holds each row once."""
    server.faults = Faults(plan=[], rate=0.0)
    store_dir = tmp_path / "store"
    cmd = [sys.executable, "-m", "contractwatch", "--store", str(store_dir), "sync",
           "--agency", "CBP", "--since", "2025-10-01", "--api-url", server.url,
           "--rate", "15", "--format", "json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    leaves = store_dir / "sync" / "cbp-2025-10-01" / "run" / "w"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if leaves.exists() and len(list(leaves.glob("*.json"))) >= 15:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (store_dir / "manifest.json").exists()  # killed before any commit
    done_before = len(list(leaves.glob("*.json")))
    assert done_before >= 15
    hits_before = server.total_hits()

    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (report,) = json.loads(out.stdout)
    assert report["windows_resumed"] >= 10
    store = Store(store_dir)
    assert stored_rows(store, "CBP") == expected_rows([AUG19], "CBP")
    assert len(store.loads()) == 1
    assert not (store_dir / "sync" / "cbp-2025-10-01" / "run").exists()
    # the second run did not fetch again what the first had finished
    assert server.total_hits() - hits_before < report["windows"] + 20


def test_enrich_stores_the_award_detail_the_api_served(server, tmp_path):
    from contractwatch.analyze import award
    from contractwatch.enrich import awards_lacking_detail, enrich

    store = Store(tmp_path / "store")
    with client_for(server) as c:
        sync(store, make_query("ICE", "2026-08-01"), api_url=server.url, client=c)
        lacking = awards_lacking_detail(store)
        report = enrich(store, c, limit=5)
        assert report.fetched == 5 and report.batches == 1
        assert awards_lacking_detail(store) == lacking[5:]  # a rerun skips them
    key = lacking[0]
    rows = [r for r in read_rows(AUG19) if r["Generated Award ID"] == key]
    obligated = sum((Decimal(r["Federal Action Obligation"]) for r in rows), Decimal(0))
    catalog = store.connect()
    result = award(catalog, key, "collapse")
    # the local server's ceiling is 1.5 × the award's obligations (see tests/apiserver)
    assert result.meta["ceiling"] == (obligated * Decimal("1.5")).quantize(Decimal("0.01"))
    assert result.meta["detail"]["total_obligation"] == obligated


def test_a_failed_count_check_is_a_warning_not_a_failed_sync(tmp_path):
    """The per-year count check runs after the load is in; if the API stops answering then,
    the run says so and keeps what it loaded."""
    from contractwatch.sync import Sync, SyncReport

    ds = Dataset()
    ds.load([AUG19], "2026-08-19")
    store = Store(tmp_path / "store")
    query = make_query("ICE", "2025-10-01")
    with ApiServer(ds) as srv:
        with client_for(srv) as c:
            sync(store, query, api_url=srv.url, client=c)
        url = srv.url
    loads = store.loads()
    report = SyncReport(query.name, "incremental", "2026-08-22T00:00:00")
    with UsaspendingClient(url, rate_per_second=0, max_retries=1, backoff_base=0.01) as dead:
        Sync(store, query, dead)._compare_year_counts({"last_updated": "2026-08-21"}, report)
    assert report.years_differing == []
    assert [w for w in report.warnings if w.startswith("could not compare the per-year counts")]
    assert store.loads() == loads


REAL = ROOT / "tests" / "data" / "real"
REAL_DOWNLOADS = [REAL / "contracts_full" / "FY2026_012_Contracts_Full_20260909_1.csv",
                  REAL / "contracts_prime_transactions" / "usaspending_transactions_lmt.csv"]
FS_ORDER = "CONT_AWD_12024B26M0522_12C2_12024B24T7051_12C2"  # a real Forest Service order


def subaward_report(number: str, amount: str, month: int) -> dict[str, str]:
    """One Contracts_Subawards row (the official columns) below the real Forest Service
    order; no public real subaward file exists, so the report itself is made up."""
    from tests.apiserver import SUBAWARD_COLUMNS

    row = dict.fromkeys(SUBAWARD_COLUMNS, "")
    row.update(prime_award_unique_key=FS_ORDER, prime_award_piid="12024B26M0522",
               prime_award_awarding_agency_code="012",
               prime_award_awarding_sub_agency_code="12C2",
               prime_awardee_name="NOMADIC LAND CAMPS, LLC",
               subaward_sam_report_id=f"{number}-{month}", subaward_sam_report_year="2026",
               subaward_sam_report_month=str(month),
               subaward_sam_report_last_modified_date=f"2026-{month:02d}-15 10:00:00+00",
               subaward_number=number, subaward_amount=amount,
               subaward_action_date="2026-08-01", subawardee_name="CAMP SUPPLY LLC")
    return row


def contract_rows(agency_name: str, since: str) -> list[dict[str, str]]:
    """Rows of the real download files a contract-transaction download for the agency
    selects: contract award types only (an IDV's rows have none), action date from since."""
    return [r for path in REAL_DOWNLOADS for r in read_rows(path)
            if r["awarding_sub_agency_name"] == agency_name and r["action_date"] >= since
            and r["award_type_code"] in ("A", "B", "C", "D")]


def test_via_download_loads_every_member_of_a_real_download(server, tmp_path):
    """A download ZIP built from the real files: every column of its transactions kept, its
    subaward member loaded as subawards; figures equal plain sums over the files' rows."""
    server.download_files = REAL_DOWNLOADS
    server.subaward_rows = [subaward_report("S-1", "1000.00", 8),
                            subaward_report("S-1", "1500.00", 9),  # re-filed: counts once
                            subaward_report("S-2", "250.50", 9)]
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        report = sync(store, make_query("FS", "2025-10-01", via="download"),
                      api_url=server.url, client=c)
    expected = contract_rows("Forest Service", "2025-10-01")
    assert len(expected) == 5 and report.rows_fetched == report.expected_rows == 5
    assert report.complete and report.downloads >= 1
    # the test server serves the same subaward rows with every window: the second copy of
    # the member is the same bytes, nothing to add
    assert set(report.ingest_status.split(", ")) <= {"loaded", "already-loaded"}
    assert report.subaward_rows == 3 * report.downloads
    assert not [w for w in report.warnings if "counted" in w or "not loaded" in w]
    catalog = store.connect()
    t = catalog.transactions("keep")
    got = catalog.execute_arrow(t.group_by("fiscal_year").aggregate(
        total=t.federal_action_obligation.sum(), n=t.count())).to_pylist()
    plain = sum((Decimal(r["federal_action_obligation"]) for r in expected), Decimal("0"))
    assert got == [{"fiscal_year": 2026, "total": plain, "n": 5}]  # 156,673.00
    # every column of the file is kept: a source column queryable by name, as in the file
    kept = {ld.load_id: ld.source_columns for ld in catalog.loads}
    assert all(len(cols) > 200 for cols in kept.values() if cols)
    from contractwatch.analyze import Filters, award, top

    by_office = top(catalog, None, Filters(), limit=0, columns="funding_office_name")
    plain_office: dict[str, Decimal] = {}
    for r in expected:
        plain_office[r["funding_office_name"]] = plain_office.get(
            r["funding_office_name"], Decimal("0")) + Decimal(r["federal_action_obligation"])
    assert {r["funding_office_name"]: r["federal_action_obligation"]
            for r in by_office.rows} == plain_office
    subs = award(catalog, "12024B26M0522").meta["subawards"]
    assert subs["total"] == Decimal("1500.00") + Decimal("250.50")
    # a rerun with nothing new at the API fetches nothing and changes nothing
    loads = store.loads()
    with client_for(server) as c:
        again = sync(store, make_query("FS", "2025-10-01", via="download"),
                     api_url=server.url, client=c)
    assert again.mode == "up-to-date" and store.loads() == loads


def test_incremental_download_leaves_out_rows_outside_the_range(server, tmp_path):
    """An incremental run's download (last-modified window) holds rows acted on before the
    query's start: left out of the ZIP's transaction member unless they revise a stored row;
    what stays keeps every column."""
    server.download_files = REAL_DOWNLOADS
    store = Store(tmp_path / "store")
    query = make_query("FS", "2026-07-20", via="download")
    with client_for(server) as c:
        sync(store, query, api_url=server.url, client=c)
        server.dataset.as_of = "2026-09-10"  # the API's data moved on
        again = sync(store, query, api_url=server.url, client=c)
    in_range = contract_rows("Forest Service", "2026-07-20")
    before = [r for r in contract_rows("Forest Service", "2025-10-01")
              if r["action_date"] < "2026-07-20"]
    assert again.mode == "incremental" and again.rows_outside_range == len(before) == 2
    assert again.rows_fetched == len(in_range) == 3
    assert again.new == again.changed == 0  # the same rows: the same bytes, nothing to add
    catalog = store.connect()
    t = catalog.transactions("keep")
    (got,) = catalog.execute_arrow(t.aggregate(total=t.federal_action_obligation.sum(),
                                               n=t.count())).to_pylist()
    assert got == {"total": sum((Decimal(r["federal_action_obligation"]) for r in in_range),
                                Decimal("0")), "n": 3}
    assert all(len(ld.source_columns) > 200 for ld in catalog.loads
               if ld.source_format == "usaspending-prime-transactions")


def test_via_download_refuses_a_broken_member_and_leaves_the_store_as_it_was(
        server, tmp_path):
    """A bad value in a downloaded member stops the one ingest call: nothing of the run is
    committed (not the good member either), and the checkpoint stays for a rerun."""
    server.download_files = REAL_DOWNLOADS
    server.subaward_rows = [dict(subaward_report("S-1", "1000.00", 8),
                                 subaward_action_date="2026-02-30")]  # no such day
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        sync(store, make_query("CBP", "2025-10-01", until="2026-07-31"), api_url=server.url,
             client=c)
    before = store.manifest()
    with client_for(server) as c, pytest.raises(Exception, match="Contracts_Subawards"):
        sync(store, make_query("FS", "2025-10-01", via="download"), api_url=server.url,
             client=c)
    assert store.manifest() == before
    assert list((store.root / "sync" / "fs-2025-10-01" / "run" / "z").glob("*.zip"))


def test_download_zip_with_subawards_loads_them_as_subawards(server, tmp_path):
    """download/transactions serves Contracts_PrimeTransactions_*.csv and
    Contracts_Subawards_*.csv (header only when there are none); the sync hands both to
    ingest, as `contractwatch ingest ZIP` takes them."""
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        quiet = sync(store, make_query("CBP", "2026-08-01", via="download"),
                     api_url=server.url, client=c)
    assert quiet.subaward_rows == 0
    assert not [w for w in quiet.warnings if "subaward" in w]
    server.download_files = REAL_DOWNLOADS
    server.subaward_rows = [subaward_report("S-1", "1000.00", 8),
                            subaward_report("S-2", "250.50", 9)]
    store_dir = tmp_path / "store2"
    cmd = [sys.executable, "-m", "contractwatch", "--store", str(store_dir), "sync",
           "--agency", "FS", "--since", "2025-10-01", "--via", "download", "--api-url",
           server.url, "--rate", "0", "--format", "json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "lacks columns" not in out.stderr and "not loaded" not in out.stderr
    (report,) = json.loads(out.stdout)
    assert report["subaward_rows"] == 2 * report["downloads"] > 0
    shown = subprocess.run([sys.executable, "-m", "contractwatch", "--store", str(store_dir),
                            "award", "12024B26M0522", "--format", "json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "1250.50" in shown.stdout.replace(",", "")


def test_sync_when_the_api_has_no_last_updated_date(server, tmp_path):
    server.dataset.as_of = ""  # awards/last_updated answers "" (its contract allows it)
    store = Store(tmp_path / "store")
    with client_for(server) as c:
        report = sync(store, make_query("ICE", "2026-08-01"), api_url=server.url, client=c)
        again = sync(store, make_query("ICE", "2026-08-01"), api_url=server.url, client=c)
    assert report.mode == "full" and again.mode == "up-to-date"
    assert stored_rows(store, "ICE") == expected_rows([AUG19], "ICE", "2026-08-01")


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("where", ["unresolvable", "closed-port"])
def test_offline_sync_fails_fast_in_one_line_and_leaves_no_folder(tmp_path, where):
    """No traffic leaves the machine: a .invalid name never resolves (RFC 6761) and the
    closed port is on 127.0.0.1."""
    url = "http://usaspending.invalid" if where == "unresolvable" \
        else f"http://127.0.0.1:{_closed_port()}"
    store_dir = tmp_path / "store"
    cmd = [sys.executable, "-m", "contractwatch", "--store", str(store_dir), "sync",
           "--agency", "ICE", "--since", "2026-08-01", "--api-url", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.monotonic()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - t0
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0]
    if where == "unresolvable":
        assert lines == errors and "cannot resolve the host name 'usaspending.invalid'" \
            in errors[0]
    else:
        assert f"cannot connect to {url}" in errors[0]
        countdown = lines[:-1]  # one line per wait when stderr is not a terminal
        assert len(countdown) == 2 and all(line.startswith("retry:") and "retrying in" in line
                                           for line in countdown)
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert not store_dir.exists()


def test_offline_enrich_fails_fast(server, tmp_path):
    from contractwatch.enrich import enrich
    from contractwatch.sources.usaspending_api import ApiError

    store = Store(tmp_path / "store")
    with client_for(server) as c:
        sync(store, make_query("ICE", "2026-08-01"), api_url=server.url, client=c)
    loads = store.loads()
    t0 = time.monotonic()
    with UsaspendingClient(f"http://127.0.0.1:{_closed_port()}", rate_per_second=0) as dead, \
            pytest.raises(ApiError, match="cannot connect"):
        enrich(store, dead, limit=3)
    assert time.monotonic() - t0 < 5
    assert store.loads() == loads and not (store.root / "details").exists()
