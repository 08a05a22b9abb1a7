"""Core commands: ingest, status, top, trend, award, search."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from contractwatch.cli.app import (
    AgencyOpt,
    ColumnsOpt,
    Format,
    FormatOpt,
    FyOpt,
    LimitOpt,
    PurposeOpt,
    SqlOpt,
    app,
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
    from contractwatch.analyze import Result, grouped_warnings
    from contractwatch.ingest import ingest as run
    from contractwatch.output import render

    report = run(state.store(), list(paths), as_of=as_of, partial=partial,
                 date_order=date_order, skip_bad_rows=skip_bad_rows, wait=wait,
                 progress=fmt == Format.table and sys.stderr.isatty())  # bars are for people
    rows = report.rows()
    if fmt == Format.table:  # the full paths are in --format json/csv and `status --loads`
        for row in rows:
            row["source_file"] = Path(row["source_file"]).name
    notes = grouped_warnings([(r.source_file, w) for r in report.results
                              if r.load and r.status == "loaded" for w in r.load.warnings])
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
    from contractwatch.output import render, tell

    if state.store().repair_catalog():  # after a failed write (a full disk)
        tell("catalog.duckdb was missing or stale: written again")
    result = state.api().status()
    if loads:
        cols = ["load_id", "source_file", "source_format", "vintage", "vintage_source",
                "complete", "rows_read", "rows_kept", "rows_rejected", "duplicate_copies",
                "new", "changed", "unchanged", "deletes", "source_column_count", "loaded_at"]
        render(Result("Loads", cols, result.meta["loads"], caveats=result.caveats), fmt.value)
        return
    render(result, fmt.value, columns=None if fmt != Format.table else [
        "awarding_sub_agency_code", "agency", "fiscal_year", "transactions",
        "federal_action_obligation",
        "first_action_date", "last_action_date", "loads_covering", "newest_vintage"])


@app.command()
def top(
    by: Annotated[str | None, typer.Option(
        "--by", help="recipient | psc | naics | fy | agency | vehicle | family | brand | "
        "subrecipient | purpose (default recipient; with --columns, those columns alone)"
    )] = None,
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    keyword: Annotated[str | None, typer.Option(
        "--keyword", "-k", help="Only actions whose description, recipient, PSC or NAICS "
        "title contains this text")] = None,
    purpose: PurposeOpt = None,
    limit: LimitOpt = 20,
    columns: ColumnsOpt = None,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Who got the most: obligations by recipient, PSC, NAICS, fiscal year or agency, or by
    any columns (--columns extent_competed splits the money by competition).

    Example: contractwatch top --agency ICE --fy 2026 --limit 10
    """
    from contractwatch.output import render

    # the scope's total is a headline fact of the answer (the rows may be only --limit groups)
    render(state.api().top(by, agency=agency, fy=fy, keyword=keyword, limit=limit,
                           columns=columns, purpose=purpose), fmt.value, show_sql=show_sql)


@app.command()
def trend(
    agency: AgencyOpt = None,
    recipient: Annotated[str | None, typer.Option(
        "--recipient", "-r", help="Recipient names with a word starting with this text "
        "('Dell' finds DELL MARKETING L.P., not CADDELL)")] = None,
    keyword: Annotated[str | None, typer.Option("--keyword", "-k")] = None,
    purpose: PurposeOpt = None,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Obligations by fiscal year for an agency, a recipient or a purpose.

    Example: contractwatch trend --agency ICE --purpose detention
    """
    from contractwatch.output import render

    render(state.api().trend(agency=agency, recipient=recipient, keyword=keyword,
                             purpose=purpose), fmt.value, show_sql=show_sql)


@app.command()
def award(
    award_id: Annotated[str, typer.Argument(help="PIID (70CDCR26FR0000024) or CONT_AWD_… key")],
    columns: ColumnsOpt = None,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """An award's actions in date order with a running total, its vehicle and its page.

    Example: contractwatch award 70CDCR26FR0000024
    """
    from contractwatch.output import render

    # collapses exact copies unless --duplicates keep
    result = state.api().award(award_id, columns=columns)
    if fmt == Format.table and "vehicle_key" in result.meta:  # an IDV: the vehicle's facts
        from rich.console import Console
        from rich.markup import escape

        from contractwatch.vehicles import describe

        render(result, fmt.value, show_sql=show_sql, columns=[
            "level", "award_id_piid", "recipient_name", "obligated", "own_ceiling",
            "last_action_date"])
        out = Console(highlight=False)
        for line in describe(result):  # the breakdown and the siblings, below the orders
            out.print(escape(line), soft_wrap=True)
        return
    render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
        "action_date", "modification_number", "federal_action_obligation", "running_total",
        *result.meta["columns"], "transaction_description"])  # the columns asked before text


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
    purpose: PurposeOpt = None,
    sort: Annotated[str, typer.Option("--sort", help="obligations | date | recipient | "
                                      "actions")] = "obligations",
    limit: LimitOpt = 50,
    offset: Annotated[int, typer.Option("--offset", min=0)] = 0,
    columns: ColumnsOpt = None,
    by: Annotated[str, typer.Option("--by", help="award | vehicle (the matching awards "
                                    "grouped by the vehicle they were ordered under)")]
    = "award",
    meaning: Annotated[bool, typer.Option(
        "--meaning", help="Rank awards by what their texts mean, with keyword scoring "
        "(BM25), each with the passage that matched; offline, needs the meaning extra")]
    = False,
    fmt: FormatOpt = Format.table,
    show_sql: SqlOpt = False,
) -> None:
    """Awards whose action descriptions contain TEXT, ranked by obligations.

    Example: contractwatch search "skip tracing" --agency ICE --fy 2026 --by vehicle

    By meaning: contractwatch search "locating people who missed hearings" --meaning
    """
    from contractwatch.output import render

    result = state.api().search(text, agency=agency, fy=fy, recipient=recipient, psc=psc,
                                naics=naics, min_amount=min_amount, max_amount=max_amount,
                                purpose=purpose, sort=sort, limit=limit, offset=offset,
                                columns=columns, by=by, meaning=meaning,
                                progress=meaning and fmt == Format.table
                                and sys.stderr.isatty())
    if by == "vehicle":
        render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
            "parent_award_id_piid", "parent_award_agency_id", "awards", "recipients",
            "federal_action_obligation", "largest_order_ceiling"])
        return
    if meaning:
        render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
            "award_id_piid", "recipient_name", "federal_action_obligation", "score_fused",
            "score_meaning", "score_bm25", "matched_passage", "awarding_sub_agency_name"])
        return
    render(result, fmt.value, show_sql=show_sql, columns=None if fmt != Format.table else [
        "award_id_piid", *result.meta["columns"], "recipient_name", "actions",
        "federal_action_obligation", "last_action_date", "matching_description",
        "awarding_sub_agency_name"])


@app.command()
def index(fmt: FormatOpt = Format.table) -> None:
    """Build the index behind `search --meaning` for the data now in the store (only the
    passages never embedded before are embedded). A meaning search builds it too when the
    data changed; this does it ahead, with a progress bar.

    Example: contractwatch index
    """
    from contractwatch.output import render

    render(state.api().index(progress=sys.stderr.isatty()), fmt.value)
