"""Core commands: ingest, status, top, trend, award, search."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from contractwatch.cli import answers
from contractwatch.cli.typer_app import (
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
    answers.status(fmt, loads)


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
    answers.top(by, agency, fy, keyword, purpose, limit, columns, fmt, show_sql)


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
    answers.trend(agency, recipient, keyword, purpose, fmt, show_sql)


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
    answers.award(award_id, columns, fmt, show_sql)


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
    answers.search(text, agency, fy, recipient, psc, naics, min_amount, max_amount, purpose,
                   sort, limit, offset, columns, by, meaning, fmt, show_sql)


@app.command()
def index(fmt: FormatOpt = Format.table) -> None:
    """Build the index behind `search --meaning` for the data now in the store (only the
    passages never embedded before are embedded). A meaning search builds it too when the
    data changed; this does it ahead, with a progress bar.

    Example: contractwatch index
    """
    from contractwatch.output import render

    render(state.api().index(progress=sys.stderr.isatty()), fmt.value)
