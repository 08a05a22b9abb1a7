"""Core commands: ingest, status, top, trend, award, search."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated

import typer

from contractwatch.cli.app import (
    AgencyOpt,
    Format,
    FormatOpt,
    FyOpt,
    LimitOpt,
    SqlOpt,
    app,
    fiscal_year_option,
    state,
)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV files, folders or ZIP archives")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="When the files were fetched (YYYY-MM-DD); decides which version of a "
        "revised row is current. Default: a date in the file name, else none")] = None,
    partial: Annotated[bool, typer.Option(
        "--partial", help="The files are a selection (e.g. a keyword search), not a complete "
        "snapshot of their agencies and years: never treat missing rows as withdrawn")] = False,
    date_order: Annotated[str | None, typer.Option(
        "--date-order", help="dmy or mdy, for slash dates the file does not settle")] = None,
    skip_bad_rows: Annotated[bool, typer.Option(
        "--skip-bad-rows", help="Store good rows and list bad ones in the load's rejects.csv "
        "instead of refusing the file")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for another writer to finish")]
    = False,
    fmt: FormatOpt = Format.table,
) -> None:
    """Load USAspending files into the store (all or nothing).

    Example: contractwatch ingest ../shared/data/usaspending/transactions
    """
    from contractwatch.analyze import Result
    from contractwatch.ingest import ingest as run
    from contractwatch.output import render

    report = run(state.store(), list(paths), as_of=as_of, partial=partial,
                 date_order=date_order, skip_bad_rows=skip_bad_rows, wait=wait,
                 progress=fmt == Format.table and sys.stderr.isatty())  # bars are for people
    rows = report.rows()
    if fmt == Format.table:  # the full paths are in --format json/csv and `status --loads`
        for row in rows:
            row["source_file"] = Path(row["source_file"]).name
    notes = [f"{Path(r.source_file).name}: {w}" for r in report.results
             if r.load and r.status == "loaded" for w in r.load.warnings]
    notes += [f"{r['source_file']}: {r['message']}" for r in rows if r["message"]]
    cols = ["source_file", "status", "vintage", "rows_read", "rows_kept", "rows_rejected",
            "duplicate_copies", "new", "changed", "unchanged"]
    if fmt != Format.table:
        cols += ["source_format", "vintage_source", "load_id"]
    render(Result("Ingest", cols, rows, caveats=notes), fmt.value)


@app.command()
def status(fmt: FormatOpt = Format.table, loads: Annotated[bool, typer.Option(
        "--loads", help="List the loads (manifest) instead of coverage")] = False) -> None:
    """Loads, rows, date coverage per agency and fiscal year, duplicates and warnings.

    Example: contractwatch status --loads --format json
    """
    from contractwatch.analyze import Result
    from contractwatch.analyze import status as run
    from contractwatch.output import render, tell

    if state.store().repair_catalog():  # after a failed write (a full disk)
        tell("catalog.duckdb was missing or stale: written again")
    result = run(state.catalog(), state.policy)
    if loads:
        cols = ["load_id", "source_file", "source_format", "vintage", "vintage_source",
                "complete", "rows_read", "rows_kept", "rows_rejected", "duplicate_copies",
                "new", "changed", "unchanged", "deletes", "source_column_count", "loaded_at"]
        render(Result("Loads", cols, result.meta["loads"], caveats=result.caveats), fmt.value)
        return
    if fmt == Format.table:
        from rich.console import Console

        m = result.meta
        Console(stderr=True).print(
            f"{len(m['loads'])} loads, {m['rows_stored']:,} rows stored, "
            f"{m['rows_current']:,} current (policy {m['policy']}: "
            f"{m['duplicate_copies_current']:,} exact copies counted); "
            f"{m['superseded_or_withdrawn']:,} superseded by newer vintages or withdrawn")
    render(result, fmt.value, columns=None if fmt != Format.table else [
        "awarding_sub_agency_code", "fiscal_year", "transactions", "federal_action_obligation",
        "first_action_date", "last_action_date", "loads_covering", "newest_vintage"])


@app.command()
def top(
    by: Annotated[str, typer.Option(
        "--by", help="recipient | psc | naics | fy | agency | vehicle | family | brand | "
        "subrecipient"
    )] = "recipient",
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    keyword: Annotated[str | None, typer.Option(
        "--keyword", "-k", help="Only actions whose description, recipient, PSC or NAICS "
        "title contains this text")] = None,
    limit: LimitOpt = 20,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Who got the most: obligations by recipient, PSC, NAICS, fiscal year or agency.

    Example: contractwatch top --agency ICE --fy 2026 --limit 10
    """
    from contractwatch.analyze import Filters
    from contractwatch.analyze import top as run
    from contractwatch.output import render, tell

    f = Filters(agency=agency, fy=fiscal_year_option(fy), keyword=keyword)
    result = run(state.catalog(), by, f, limit, state.policy)
    total = result.meta.get("total_obligations")
    if total is not None:  # in every format: the rows may be only the first --limit groups
        from contractwatch.values.money import format_dollars

        tell(f"obligations in the whole scope: {format_dollars(total)}")
    render(result, fmt.value, show_sql=show_sql)


@app.command()
def trend(
    agency: AgencyOpt = None,
    recipient: Annotated[str | None, typer.Option(
        "--recipient", "-r", help="Recipient name contains this text")] = None,
    keyword: Annotated[str | None, typer.Option("--keyword", "-k")] = None,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Obligations by fiscal year for an agency or a recipient.

    Example: contractwatch trend --agency ICE
    """
    from contractwatch.analyze import Filters
    from contractwatch.analyze import trend as run
    from contractwatch.output import render

    f = Filters(agency=agency, recipient=recipient, keyword=keyword)
    render(run(state.catalog(), f, state.policy), fmt.value, show_sql=show_sql)


@app.command()
def award(
    award_id: Annotated[str, typer.Argument(help="PIID (70CDCR26FR0000024) or CONT_AWD_… key")],
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """An award's actions in date order with a running total, its vehicle and its page.

    Example: contractwatch award 70CDCR26FR0000024
    """
    from contractwatch.analyze import award as run
    from contractwatch.output import render

    policy = state.duplicates or "collapse"
    result = run(state.catalog(), award_id, policy)
    if fmt == Format.table:
        from rich.console import Console
        from rich.markup import escape

        from contractwatch.values.money import format_dollars

        m = result.meta
        err = Console(stderr=True, highlight=False)
        if "vehicle_key" in m:
            from contractwatch.vehicles import describe

            for line in describe(result):
                err.print(escape(line))
            render(result, fmt.value, show_sql=show_sql, columns=[
                "level", "award_id_piid", "recipient_name", "obligated", "own_ceiling",
                "last_action_date"])
            return
        err.print(f"[bold]{escape(m['award_id_piid'])}[/bold] — "
                  f"{escape(', '.join(m['recipient_names']))} — {escape(m['agency'] or '')}")
        err.print(f"obligated {format_dollars(m['federal_action_obligation'])} in "
                  f"{m['actions']} actions, {m['first_action_date']} … {m['last_action_date']}")
        ceiling = format_dollars(m["ceiling"]) if m["ceiling"] is not None else \
            "unknown (not in this source; run `contractwatch enrich`)"
        err.print(f"ceiling (this award's own): {ceiling}")
        subs = m.get("subawards") or {}
        if subs.get("subawards"):
            err.print(f"subawards (below the prime, not added to it): "
                      f"{format_dollars(subs['total'])} in {len(subs['subawards'])} subawards, "
                      f"each counted once ({subs['refilings_set_aside']} re-filed reports set "
                      "aside)")
        if m["parent_award_key"]:
            err.print(escape(f"ordered under vehicle {m['parent_award_id_piid']} "
                             f"({m['parent_permalink']})"))
        if m["usaspending_permalink"]:
            err.print(escape(f"USAspending: {m['usaspending_permalink']}"))
    render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
        "action_date", "modification_number", "federal_action_obligation", "running_total",
        "transaction_description"])


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Phrase to find in transaction descriptions")],
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    recipient: Annotated[str | None, typer.Option("--recipient", "-r")] = None,
    psc: Annotated[str | None, typer.Option("--psc", help="PSC code or title text")] = None,
    naics: Annotated[str | None, typer.Option("--naics", help="NAICS code or title text")]
    = None,
    min_amount: Annotated[float | None, typer.Option("--min-amount")] = None,
    max_amount: Annotated[float | None, typer.Option("--max-amount")] = None,
    sort: Annotated[str, typer.Option("--sort", help="obligations | date | recipient | "
                                      "actions")] = "obligations",
    limit: LimitOpt = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Awards whose action descriptions contain TEXT, ranked by obligations.

    Example: contractwatch search "skip tracing" --agency ICE --fy 2026
    """
    from decimal import Decimal

    from contractwatch.analyze import Filters
    from contractwatch.analyze import search as run
    from contractwatch.output import render, tell

    for name, amount in (("--min-amount", min_amount), ("--max-amount", max_amount)):
        if amount is not None and not math.isfinite(amount):
            raise ValueError(f"{name} {amount}: not an amount")
    f = Filters(agency=agency, fy=fiscal_year_option(fy), recipient=recipient, psc=psc,
                naics=naics,
                min_amount=Decimal(str(min_amount)) if min_amount is not None else None,
                max_amount=Decimal(str(max_amount)) if max_amount is not None else None)
    result = run(state.catalog(), text, f, limit, offset, sort, state.policy)
    # in every format: JSON and CSV hold one page, so how many pages there are goes here
    tell(f"{result.meta['total_awards']} awards match")
    render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
        "award_id_piid", "recipient_name", "awarding_sub_agency_name", "actions",
        "federal_action_obligation", "last_action_date", "matching_description"])
