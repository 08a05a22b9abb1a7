"""The API client against a real local server: retries, Retry-After, shapes, downloads.

Expected values come from the shared CSV files read with the csv module, never from the
client under test.
"""

from __future__ import annotations

import time
import zipfile
from collections import Counter
from decimal import Decimal

import pytest

from contractwatch.sources.usaspending_api import ApiError, UsaspendingClient, agency_filter
from tests.apiserver import ApiServer, Dataset, Faults
from tests.conftest import SNAPSHOTS, TRANSACTIONS
from tests.plain import read_rows

ICE = "U.S. Immigration and Customs Enforcement"
FY2025 = TRANSACTIONS / "CBP_ICE_FY2025_Contract_Obligations.csv"


@pytest.fixture()
def server():
    ds = Dataset()
    ds.load([FY2025], "2026-08-22")
    with ApiServer(ds) as srv:
        yield srv
    assert srv.violations == []  # every response the tests saw was the contract's shape


def client_for(srv: ApiServer, **kw) -> UsaspendingClient:
    kw.setdefault("rate_per_second", 0)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("poll_interval", 0.01)
    return UsaspendingClient(srv.url, **kw)


def ice_fy2025_filters() -> dict:
    return {"agencies": agency_filter(ICE), "award_type_codes": ["A", "B", "C", "D"],
            "time_period": [{"start_date": "2024-10-01", "end_date": "2025-09-30"}]}


def distinct_keys(path, agency: str) -> set[tuple[str, str]]:
    return {(r["Award ID"], r["Modification"]) for r in read_rows(path) if r["Agency"] == agency}


def test_naive_paging_by_amount_repeats_and_skips_rows(server):
    """The trap the sync avoids: the server, like the live API, orders ties differently on
    every request, so paging by Transaction Amount serves some rows twice and others never."""
    expected = distinct_keys(FY2025, "ICE")
    with client_for(server) as c:
        seen: list[tuple[str, str]] = []
        page = 1
        while True:
            data = c.spending_by_transaction(ice_fy2025_filters(), page=page)
            seen += [(r["Award ID"], r["Mod"]) for r in data["results"]]
            if not data["page_metadata"]["hasNext"]:
                break
            page += 1
    repeats = sum(n - 1 for n in Counter(seen).values() if n > 1)
    assert len(seen) == len(expected)  # every page full, the count is right …
    assert repeats > 0  # … yet rows repeat
    assert len(expected - set(seen)) == repeats  # and exactly as many are never served


def test_retry_after_is_honoured(server):
    server.faults.plan = ["429"]
    server.faults.retry_after = "1"
    with client_for(server) as c:
        t0 = time.monotonic()
        assert c.last_updated() == "2026-08-22"
        elapsed = time.monotonic() - t0
    assert elapsed >= 1.0
    assert c.stats.retries == 1 and c.stats.requests == 2


def test_transient_faults_are_retried_until_a_good_reply(server):
    server.faults.plan = ["500", "html", "truncate", "empty", "429"]
    with client_for(server) as c:
        n = c.spending_by_transaction_count(ice_fy2025_filters())
    assert n == len(distinct_keys(FY2025, "ICE"))
    assert c.stats.retries == 5


def test_a_slow_reply_times_out_and_is_retried(server):
    server.faults.plan = ["slow"]
    server.faults.slow_seconds = 1.0
    with client_for(server, timeout=0.3) as c:
        assert c.last_updated() == "2026-08-22"
    assert c.stats.retries == 1


def test_persistent_failure_is_one_clear_error(server):
    server.faults.plan = ["500"] * 10
    with client_for(server, max_retries=2) as c, pytest.raises(ApiError) as err:
        c.last_updated()
    assert err.value.status == 500
    assert "gave up after 3 tries" in str(err.value)
    assert "/api/v2/awards/last_updated/" in str(err.value)


def test_refused_requests_report_the_api_detail(server):
    with client_for(server) as c:
        with pytest.raises(ApiError) as err:
            c.request_json("POST", "/api/v2/search/spending_by_transaction/",
                           {"filters": ice_fy2025_filters(), "fields": ["Award ID"],
                            "sort": "Award ID", "limit": 100, "page": 501})
        assert err.value.status == 422 and "maximum result limit (50000)" in str(err.value)
        with pytest.raises(ValueError, match="search window"):
            c.spending_by_transaction(ice_fy2025_filters(), page=501)
        with pytest.raises(ValueError, match="maximum of 100"):
            c.spending_by_transaction(ice_fy2025_filters(), limit=101)
    assert c.stats.requests == 1  # the client refused the last two itself


def test_undocumented_shapes_are_errors_not_empty_results(httpserver):
    path = "/api/v2/search/spending_by_transaction/"
    httpserver.expect_ordered_request(path, method="POST").respond_with_json({"results": []})
    httpserver.expect_ordered_request(path, method="POST").respond_with_json(
        {"results": [{"Award ID": "X", "Mod": "0", "Action Date": "2026-01-01"}],
         "page_metadata": {"page": 1, "hasNext": False}})
    httpserver.expect_ordered_request("/api/v2/awards/last_updated/").respond_with_data(
        "last_updated=yesterday", content_type="text/plain")
    with UsaspendingClient(httpserver.url_for("/"), rate_per_second=0) as c:
        with pytest.raises(ApiError, match="lacks the documented field 'page_metadata'"):
            c.spending_by_transaction({"award_type_codes": ["A"]})
        with pytest.raises(ApiError, match="result 0 lacks Transaction Amount"):
            c.spending_by_transaction({"award_type_codes": ["A"]})
        with pytest.raises(ApiError, match="not JSON"):
            c.last_updated()


def test_download_job_is_polled_and_its_zip_saved(server, tmp_path):
    server.faults.plan = ["500"]  # the start request fails once
    dest = tmp_path / "ice.zip"
    with client_for(server) as c:
        status = c.download_transactions(ice_fy2025_filters(), dest)
        count = c.download_count(ice_fy2025_filters())
    assert status["status"] == "finished"
    assert status["file_url"].startswith("/")  # a path on the API host, resolved by the client
    assert server.hits["/api/v2/download/status"] == server.download_polls + 1
    with zipfile.ZipFile(dest) as z:
        prime, sub = sorted(z.namelist())
        lines = z.read(prime).decode().splitlines()
        sub_lines = z.read(sub).decode().splitlines()
    assert prime.startswith("Contracts_PrimeTransactions_")
    assert sub.startswith("Contracts_Subawards_") and len(sub_lines) == 1  # header only
    expected = len(distinct_keys(FY2025, "ICE"))
    assert len(lines) - 1 == expected == count


def test_award_history_and_vehicle_children_follow_the_rows(server):
    rows = [r for r in read_rows(SNAPSHOTS / "FY2025_fetched_2026-08-22.csv")
            if r["Agency"] == "ICE"]
    gid = rows[0]["Generated Award ID"]
    mine = [r for r in rows if r["Generated Award ID"] == gid]
    total = sum((Decimal(r["Federal Action Obligation"]) for r in mine), Decimal(0))
    with client_for(server) as c:
        award = c.award(gid)
        history = c.transactions(gid, limit=2)  # force paging through page_metadata
        parent = gid.split("_")[4]
        children = c.idv_awards(f"CONT_IDV_{parent}_{gid.split('_')[5]}", limit=3) \
            if parent != "-NONE-" else []
    assert award["generated_unique_award_id"] == gid
    assert Decimal(str(award["total_obligation"])) == total
    assert sorted(h["modification_number"] for h in history) == \
        sorted({r["Modification"] for r in mine})
    if parent != "-NONE-":
        expected = {r["Generated Award ID"] for r in read_rows(FY2025)
                    if r["Generated Award ID"].split("_")[4] == parent}
        assert {ch["generated_unique_award_id"] for ch in children} == expected


def test_spending_by_award_lists_each_award_once(server):
    expected = {r["Generated Award ID"] for r in read_rows(FY2025) if r["Agency"] == "ICE"}
    with client_for(server) as c:
        got = [a["generated_internal_id"] for a in
               c.spending_by_award(ice_fy2025_filters(), ["Award ID", "Award Amount"])]
    assert server.total_hits("/api/v2/search/spending_by_award/") == -(-len(expected) // 100)
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == expected


def test_faults_switch_off(server):
    server.faults = Faults()
    with client_for(server) as c:
        c.last_updated()
    assert c.stats.retries == 0


def test_spending_by_award_past_the_search_window_follows_the_cursor():
    """A window of 250 records (the real one is 50,000): page 4 of 100 is refused, the
    cursor serves every award once, and the server ignores `page` with a cursor, so a client
    that increments `page` instead would be served the same rows again."""
    ds = Dataset()
    ds.load([FY2025], "2026-08-22")
    expected = {r["Generated Award ID"] for r in read_rows(FY2025) if r["Agency"] == "ICE"}
    assert len(expected) > 400
    with ApiServer(ds, search_window=250) as srv, client_for(srv) as c:
        got = [a["generated_internal_id"] for a in
               c.spending_by_award(ice_fy2025_filters(), ["Award ID", "Award Amount"])]
        body = {"filters": ice_fy2025_filters(), "fields": ["Award ID", "Award Amount"],
                "sort": "Award Amount", "limit": 100, "page": 4}
        with pytest.raises(ApiError, match="last_record_sort_value") as err:
            c.request_json("POST", "/api/v2/search/spending_by_award/", body)
        assert err.value.status == 422
        first = c.request_json("POST", "/api/v2/search/spending_by_award/", {**body, "page": 1})
        meta = first["page_metadata"]
        cursor = {"last_record_unique_id": meta["last_record_unique_id"],
                  "last_record_sort_value": meta["last_record_sort_value"]}
        pages = [c.request_json("POST", "/api/v2/search/spending_by_award/",
                                {**body, **cursor, "page": n}) for n in (2, 3)]
    assert len(got) == len(set(got)) == len(expected) and set(got) == expected
    assert [r["internal_id"] for r in pages[0]["results"]] == \
        [r["internal_id"] for r in pages[1]["results"]]  # `page` ignored: the same rows
    assert srv.violations == []


def test_award_history_with_a_modification_of_two_transactions_is_complete():
    """Transaction numbers 0 and 1 of one modification tie on every sort key; the server
    orders ties anew on each request. Paged three at a time, each transaction comes once."""
    from dataclasses import replace

    ds = Dataset()
    ds.load([FY2025], "2026-08-22")
    by_award: dict[str, list] = {}
    for r in ds.records:
        by_award.setdefault(r.generated_id, []).append(r)
    gid, rows = max(by_award.items(), key=lambda kv: len(kv[1]))
    assert len(rows) >= 3
    for r in list(rows):  # every modification gets a second transaction
        ds.add_record(replace(r, tnum="1", amount=r.amount + 1))
    expected = sorted(f"CONT_TX_{r.transaction_key}" for r in ds.records
                      if r.generated_id == gid)
    with ApiServer(ds) as srv, client_for(srv) as c:
        for _ in range(5):
            history = c.transactions(gid, limit=3)  # pages split pairs of tied rows
            assert sorted(h["id"] for h in history) == expected
        naive: list[str] = []  # one pass over the pages, no asking again: rows go missing
        for _ in range(3):
            try:
                c.transactions(gid, limit=3, max_rounds=0)
            except ApiError as exc:
                naive.append(str(exc))
    assert naive and "ties in the sort kept hiding the rest" in naive[0]
    assert len(expected) == 2 * len(rows)
    assert srv.violations == []


def test_empty_last_updated_and_bare_string_errors(server):
    with client_for(server) as c:
        server.dataset.as_of = ""
        assert c.last_updated() is None  # the contract: "" when there is no date
        server.dataset.as_of = "2026-08-22"
        server.faults.plan = ["bare_string"]
        with pytest.raises(ApiError, match="answered with an error message: Request could"):
            c.last_updated()
        assert c.stats.retries == 0


def test_idv_amounts_count_the_orders_under_a_vehicle(server):
    rows = [r for r in read_rows(FY2025) if r["Agency"] == "ICE"
            and r["Generated Award ID"].split("_")[4] != "-NONE-"]
    parts = rows[0]["Generated Award ID"].split("_")
    orders = {r["Generated Award ID"] for r in read_rows(FY2025)
              if r["Generated Award ID"].split("_")[4] == parts[4]}
    with client_for(server) as c:
        amounts = c.idv_amounts(f"CONT_IDV_{parts[4]}_{parts[5]}")
    assert amounts["child_award_count"] == len(orders)


def test_a_host_that_does_not_resolve_fails_at_once():
    said: list[str] = []
    t0 = time.monotonic()
    with UsaspendingClient("http://usaspending.invalid", on_wait=said.append) as c, \
            pytest.raises(ApiError) as err:
        c.last_updated()
    assert time.monotonic() - t0 < 5
    assert "cannot resolve the host name 'usaspending.invalid'" in str(err.value)
    assert "\n" not in str(err.value) and said == [] and c.stats.requests == 1


def test_a_refused_connection_fails_fast_with_a_countdown():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    said: list[str] = []
    t0 = time.monotonic()
    with UsaspendingClient(f"http://127.0.0.1:{port}", rate_per_second=0,
                           on_wait=said.append) as c, pytest.raises(ApiError) as err:
        c.last_updated()
    assert time.monotonic() - t0 < 5
    assert f"cannot connect to http://127.0.0.1:{port}" in str(err.value)
    assert "tried 3 times" in str(err.value) and c.stats.requests == 3
    assert all("retrying in " in m and " s (try " in m for m in said)
    assert {m.split("(try ")[1] for m in said} <= {"2 of 3)", "3 of 3)"}
