"""`sync --subawards` against the local API: spending_by_award with `subawards: true`,
windows served whole or, for one day beyond a page, the cursor past the search window;
every report stored, each subaward counted once, a rerun storing nothing twice.

The subaward rows are built from the official Contracts_Subawards column list around real
ICE prime awards of the sample (as tests/test_subawards.py does: no real public subaward
file exists), served by the test server as the subaward search index; expected figures are
plain Python over those rows.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from contractwatch.analyze import award
from contractwatch.ingest import ingest
from contractwatch.sources.usaspending_api import UsaspendingClient
from contractwatch.store import Store
from contractwatch.sync_subawards import NOT_IN_API, sync_subawards
from tests.apiserver import ApiServer
from tests.apiserver.awards import subaward_hit
from tests.conftest import TRANSACTIONS
from tests.official_layouts import official_columns
from tests.plain import read_rows

ICE = "U.S. Immigration and Customs Enforcement"
FY2026 = TRANSACTIONS / "CBP_ICE_FY2026_Contract_Obligations.csv"


def _primes() -> list[tuple[str, str, str]]:
    """(key, PIID, recipient) of real ICE FY2026 awards in the sample."""
    out: dict[str, tuple[str, str, str]] = {}
    for r in read_rows(FY2026):
        if r["Agency"] == "ICE" and r["Generated Award ID"]:
            out.setdefault(r["Generated Award ID"],
                           (r["Generated Award ID"], r["Award ID"], r["Recipient Name"]))
    return sorted(out.values())


def _report(prime: tuple[str, str, str], number: str, who: str, amount: str, day: str,
            uei: str = "", month: int = 1) -> dict[str, str]:
    row = {c: "" for c in official_columns("subaward_contracts")}
    row.update(prime_award_unique_key=prime[0], prime_award_piid=prime[1],
               prime_award_awarding_agency_code="070",
               prime_award_awarding_agency_name="Department of Homeland Security",
               prime_award_awarding_sub_agency_code="7012",
               prime_award_awarding_sub_agency_name=ICE, prime_awardee_name=prime[2],
               subaward_sam_report_id=f"{number}-{month}", subaward_sam_report_year="2026",
               subaward_sam_report_month=str(month), subaward_number=number,
               subaward_amount=amount, subaward_action_date=day, subawardee_name=who,
               subawardee_uei=uei)
    return row


def _counted(rows: list[dict[str, str]]) -> dict[tuple[str, str, str], Decimal]:
    """Plain rule: per prime × number × subawardee (UEI, else upper name), the report with
    the latest action date, then the largest amount (API rows carry no report date)."""
    best: dict[tuple[str, str, str], tuple[str, Decimal]] = {}
    for r in rows:
        k = (r["prime_award_unique_key"], r["subaward_number"],
             r["subawardee_uei"] or r["subawardee_name"].upper())
        v = (r["subaward_action_date"], Decimal(r["subaward_amount"]))
        best[k] = max(best.get(k, v), v)
    return {k: v[1] for k, v in best.items()}


@pytest.fixture()
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    ingest(s, [FY2026], progress=False)
    return s


def _client(server: ApiServer) -> UsaspendingClient:
    return UsaspendingClient(server.url, rate_per_second=0, backoff_base=0.01)


def test_a_refiled_subaward_counts_once(store: Store) -> None:
    prime = next(p for p in _primes() if p[1] == "70CDCR26FR0000024")
    rows = [_report(prime, "SUB-1", "LOCATOR DATA INC", "100000.00", "2026-01-10",
                    "AAAABBBBCCCC", 1),
            _report(prime, "SUB-1", "LOCATOR DATA INC", "150000.00", "2026-01-10",
                    "AAAABBBBCCCC", 2),
            _report(prime, "SUB-1", "LOCATOR DATA, INC.", "200000.00", "2026-01-10",
                    "AAAABBBBCCCC", 3),
            _report(prime, "SUB-2", "FIELD AGENTS LLC", "75000.50", "2026-02-03")]
    server = ApiServer()
    server.subaward_hits = [subaward_hit(r) for r in rows]
    with server, _client(server) as client:
        report = sync_subawards(store, client, agency="ICE", since="2025-10-01",
                                until="2026-09-30")
        again = sync_subawards(store, client, agency="ICE", since="2025-10-01",
                               until="2026-09-30")
    assert server.violations == []
    assert report.rows_fetched == report.rows_stored == 4
    assert again.rows_already_stored == 4 and again.rows_stored == 0  # nothing stored twice
    catalog = store.connect()
    m = award(catalog, prime[1]).meta["subawards"]
    expected = _counted(rows)
    assert m["total"] == sum(expected.values())
    assert {r["subaward_number"]: r["subaward_amount"] for r in m["subawards"]} == {
        k[1]: v for k, v in expected.items()}
    assert m["refilings_set_aside"] == len(rows) - len(expected)
    stored = catalog.execute_arrow(catalog.subaward_reports()).to_pylist()
    assert all(r[c] is None for r in stored for c in NOT_IN_API)  # never made up
    assert {r["prime_award_awarding_sub_agency_code"] for r in stored} == {"7012"}


def test_one_day_beyond_the_window_pages_by_the_cursor_without_repeats(store: Store) -> None:
    """250 subawards on one day, pages of 50, a search window of 100 rows: the first
    window page, then the cursor; ties on amount and prime at page boundaries are asked
    again prime by prime, so every row arrives once."""
    primes = _primes()[:7]
    rows = []
    for i in range(250):
        prime = primes[i % len(primes)]
        amount = f"{1000 + (i // 21) * 10}.00"  # each prime 3 times per amount: ties
        rows.append(_report(prime, f"S-{i:03d}", f"SUB {i % 31} LLC", amount, "2026-03-02"))
    rows += [_report(primes[0], "OTHER-DAY", "SUB 1 LLC", "5.00", "2026-03-05")]
    server = ApiServer(search_window=100)
    server.subaward_hits = [subaward_hit(r) for r in rows]
    with server, _client(server) as client:
        report = sync_subawards(store, client, agency="ICE", since="2026-03-01",
                                until="2026-03-31", page_limit=50)
    assert server.violations == []
    assert report.cursor_pages >= 4 and report.primes_asked_again >= 1
    cursor_requests = [b for _, path, b, _ in server.requests
                       if path == "/api/v2/search/spending_by_award/"
                       and "last_record_unique_id" in b]
    assert cursor_requests and all(b["subawards"] is True for b in cursor_requests)
    catalog = store.connect()
    stored = catalog.execute_arrow(catalog.subaward_reports()).to_pylist()
    got = sorted((r["subaward_number"], r["subaward_amount"]) for r in stored)
    assert got == sorted((r["subaward_number"], Decimal(r["subaward_amount"])) for r in rows)
    assert report.rows_stored == len(rows) and not report.warnings


def test_sync_subawards_from_the_command_line(store: Store, monkeypatch, capsys) -> None:
    from tests.clitools import run_cli

    prime = _primes()[0]
    rows = [_report(prime, "CLI-1", "A SUBCONTRACTOR LLC", "1234.56", "2026-01-15")]
    server = ApiServer()
    server.subaward_hits = [subaward_hit(r) for r in rows]
    with server:
        code, out, err = run_cli(["--store", str(store.root), "sync", "--subawards",
                                  "--agency", "ICE", "--since", "2025-10-01", "--until",
                                  "2026-09-30", "--api-url", server.url, "--rate", "0",
                                  "--format", "json"], monkeypatch, capsys)
    assert code == 0, err
    assert '"rows_stored": 1' in out
    assert "subaward_report_id" in err  # the columns the API lacks, said once
