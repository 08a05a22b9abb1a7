"""Commands that talk to the USAspending API: sync (keep a store current) and enrich."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Annotated

import typer

from contractwatch.cli.typer_app import (
    AgencyOpt,
    Format,
    FormatOpt,
    FyOpt,
    app,
    fiscal_year_option,
    state,
)

ApiUrlOpt = Annotated[str | None, typer.Option(
    "--api-url", help="API server (env CONTRACTWATCH_API_URL; default "
    "https://api.usaspending.gov)", show_default=False)]
RateOpt = Annotated[float | None, typer.Option(
    "--rate", help="Requests per second at most (env CONTRACTWATCH_API_RATE; default 4)",
    show_default=False)]


@app.command()
def sync(
    agency: AgencyOpt = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="First action date (YYYY-MM-DD) (default 2007-10-01, the API's "
        "earliest)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Last action date")] = None,
    keyword: Annotated[str | None, typer.Option(
        "--keyword", "-k", help="API keyword filter (prefix match on names, codes, "
        "descriptions)")] = None,
    recipient: Annotated[str | None, typer.Option(
        "--recipient", "-r", help="Recipient name, UEI or DUNS contains")] = None,
    name: Annotated[str | None, typer.Option(
        "--name", help="Name of the saved query (default: made from the options)")] = None,
    full: Annotated[bool, typer.Option(
        "--full", help="Refetch everything in range instead of what changed")] = False,
    via: Annotated[str, typer.Option(
        "--via", help="search (exact one-page windows) or download (download/transactions "
        "per fiscal year; for large pulls)")] = "search",
    overlap_days: Annotated[int, typer.Option(
        "--overlap-days", help="Incremental runs refetch records modified this many days "
        "before the last run's data date")] = 14,
    list_queries: Annotated[bool, typer.Option("--list", help="List saved queries and exit")]
    = False,
    subawards: Annotated[bool, typer.Option(
        "--subawards", help="Pull the contract subawards of the agency's primes (subaward "
        "action dates --since..--until) into the subaward store instead")] = False,
    api_url: ApiUrlOpt = None,
    rate: RateOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for another writer to finish")]
    = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Pull an agency's contract transactions from USAspending.gov; rerun to get what changed
    (--subawards: its primes' contract subawards).

    Example: contractwatch sync --agency ICE --since 2025-10-01
    """
    from contractwatch.analyze import Result
    from contractwatch.output import render
    from contractwatch.sync import make_query, saved_queries
    from contractwatch.sync import sync as run

    store = state.store()
    if list_queries:
        rows = saved_queries(store)
        render(Result("Saved sync queries", ["name", "agency_code", "since", "until", "keyword",
                                             "recipient", "via", "last_run",
                                             "data_last_updated", "loads", "run_pending"],
                      rows), fmt.value, columns=None if fmt != Format.table else [
                          "name", "agency_code", "since", "until", "last_run",
                          "data_last_updated", "loads", "run_pending"])
        return
    if not agency:
        raise ValueError("--agency is required (e.g. --agency ICE), or use --list")
    settings = state.settings()
    if subawards:
        _sync_subawards(agency, since, until, api_url or settings.api_url,
                        rate if rate is not None else settings.api_rate_per_second,
                        settings.api_timeout_seconds, wait, fmt)
        return
    query = make_query(agency, since, until, keyword, recipient, name, via)
    report = run(store, query, api_url=api_url or settings.api_url,
                 rate=rate if rate is not None else settings.api_rate_per_second,
                 timeout=settings.api_timeout_seconds, full=full, overlap_days=overlap_days,
                 progress=fmt == Format.table, wait=wait, on_wait=retry_countdown())
    notes = list(report.warnings)
    if report.mode == "up-to-date":
        notes.append("the API's data has not been updated since the last run; nothing fetched")
    elif not report.complete:
        notes.append("partial load: adds and revises rows by transaction key; rows withdrawn "
                     "upstream are only removed by a --full sync of whole fiscal years")
        if report.mode == "incremental" and not report.years_differing \
                and not (keyword or recipient):
            notes.append("the API's count of each fiscal year matches the store's")
    render(Result(f"Sync {report.name}", list(report.row()), [report.row()], caveats=notes),
           fmt.value, columns=None if fmt != Format.table else [
               "mode", "complete", "windows", "windows_resumed", "downloads", "rows_fetched",
               "requests", "retries", "seconds", "new", "changed", "unchanged"])


def _sync_subawards(agency: str, since: str | None, until: str | None, api_url: str,
                    rate: float, timeout: float, wait: bool, fmt: Format) -> None:
    from contractwatch.analyze import Result
    from contractwatch.output import render
    from contractwatch.sources.usaspending_api import EARLIEST_SEARCH_DATE, UsaspendingClient
    from contractwatch.sync_subawards import sync_subawards

    with UsaspendingClient(api_url, rate_per_second=rate, timeout=timeout,
                           on_wait=retry_countdown()) as client:
        report = sync_subawards(state.store(), client, agency=agency,
                                since=since or EARLIEST_SEARCH_DATE, until=until, wait=wait)
    notes = list(report.warnings) + [
        "the API's subaward rows carry no report id, report month or report date, no "
        "subawardee DUNS or parent: those columns are left empty ("
        + ", ".join(report.columns_not_in_api) + "); among re-filings of one subaward from "
        "the API the latest action date, then the largest amount, is counted",
        "subaward amounts are never added to prime obligations"]
    render(Result("Sync subawards", list(report.row()), [report.row()], caveats=notes),
           fmt.value, columns=None if fmt != Format.table else [
               "windows", "cursor_pages", "primes_asked_again", "rows_fetched", "rows_stored",
               "rows_already_stored", "requests", "seconds"])


@app.command()
def enrich(
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most this many awards "
                                       "(0 = all)")] = 0,
    refresh: Annotated[bool, typer.Option("--refresh", help="Refetch awards that already "
                                          "have detail")] = False,
    vehicles: Annotated[bool, typer.Option(
        "--vehicles", help="Fetch the vehicles (IDVs) the store knows instead: IDV detail, "
        "idvs/amounts and the child/grandchild listings of idvs/awards")] = False,
    api_url: ApiUrlOpt = None,
    rate: RateOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for another writer to finish")]
    = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fetch ceilings, parent vehicles, parent companies, UEIs and pricing for stored awards
    (--vehicles: the vehicles' IDV detail, child totals and child/grandchild orders).

    Example: contractwatch enrich --agency ICE --fy 2026
    """
    from contractwatch.analyze import Result
    from contractwatch.enrich import enrich, enrich_vehicles
    from contractwatch.output import render
    from contractwatch.sources.usaspending_api import UsaspendingClient

    settings = state.settings()
    with UsaspendingClient(api_url or settings.api_url,
                           rate_per_second=rate if rate is not None
                           else settings.api_rate_per_second,
                           timeout=settings.api_timeout_seconds,
                           on_wait=retry_countdown()) as client:
        run = enrich_vehicles if vehicles else enrich
        report = run(state.store(), client, agency=agency, fy=fiscal_year_option(fy),
                     limit=limit or None, refresh=refresh, progress=fmt == Format.table,
                     wait=wait)
    render(Result("Enrich", list(report.row()), [report.row()], caveats=report.warnings[:20]),
           fmt.value)


def retry_countdown() -> Callable[[str], None]:
    """Show a retry's countdown on stderr: one line rewritten each second on a terminal, one
    line per wait otherwise (a log gets no ticking)."""
    from contractwatch.output import tell

    last: list[str] = [""]

    def show(message: str) -> None:
        if sys.stderr.isatty():
            end = "\n" if re.search(r"retrying in 1 s", message) else ""
            sys.stderr.write(f"\r\x1b[Kretry: {message}{end}")
            sys.stderr.flush()
            return
        key = re.sub(r"retrying in \d+ s", "", message)
        if key != last[0]:
            last[0] = key
            tell(message, "retry")

    return show
