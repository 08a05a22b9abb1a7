"""The Typer app, the global options and the shared per-command options."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from contractwatch.cli.state import Engine, Format, Policy, state

app = typer.Typer(
    name="contractwatch",
    help="Follow public money from a government agency to the companies it pays.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _global(
    store: Annotated[Path | None, typer.Option(
        "--store", help="Store folder (default: a per-user data folder; env CONTRACTWATCH_STORE)",
        show_default=False)] = None,
    duplicates: Annotated[Policy | None, typer.Option(
        "--duplicates", help="Identical rows inside one API export: keep (right for totals) "
        "or collapse (env CONTRACTWATCH_DUPLICATE_POLICY; default keep, but collapse for the "
        "`award` timeline, which says what it hid)",
        show_default=False)] = None,
    engine: Annotated[Engine | None, typer.Option(
        "--engine", help="Query engine (env CONTRACTWATCH_ENGINE; default duckdb)",
        show_default=False)] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No caveats on stderr (the answer and errors still print)")]
    = False,
) -> None:
    from contractwatch.output import new_run

    new_run(quiet=quiet)
    state.store_dir = store
    state.duplicates = duplicates.value if duplicates else None
    state.engine = engine.value if engine else None


FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="Output format")]
AgencyOpt = Annotated[str | None, typer.Option(
    "--agency", "-a", help="Awarding agency: ICE, 7012 or 'U.S. Immigration and Customs "
    "Enforcement'")]
FyOpt = Annotated[str | None, typer.Option("--fy", help="Fiscal year, e.g. 2026 or FY2026")]
LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=0, help="Rows to show (0 = all)")]
ColumnsOpt = Annotated[str | None, typer.Option(
    "--columns", "-c", help="COL,COL: canonical or source columns to show (top: to group by), "
    "e.g. extent_competed,solicitation_identifier; rows of files lacking one read 'not in "
    "source'")]
PurposeOpt = Annotated[str | None, typer.Option(
    "--purpose", "-p", help="Only awards tagged with this purpose (e.g. detention, "
    "location-services, untagged; `contractwatch purpose list`)")]
SqlOpt = Annotated[bool, typer.Option("--show-sql", help="Print the query behind the figures "
                                      "(to stderr)")]


def fiscal_year_option(value: str | None) -> int | None:
    from contractwatch.values.fiscal import parse_fiscal_year

    return parse_fiscal_year(value) if value else None
