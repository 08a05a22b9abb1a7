"""Company and resolution commands: company, resolve explain, resolve review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from contractwatch.cli import answers
from contractwatch.cli.typer_app import (
    AgencyOpt,
    Format,
    FormatOpt,
    FyOpt,
    LimitOpt,
    PurposeOpt,
    app,
    state,
)
from contractwatch.output import tell

resolve_app = typer.Typer(help="Inspect and steer how recipients are grouped into companies.",
                          no_args_is_help=True)
app.add_typer(resolve_app, name="resolve")


@app.command()
def company(
    name: Annotated[str, typer.Argument(help="A recipient spelling, family name or family id")],
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    purpose: PurposeOpt = None,
    limit: LimitOpt = 10,
    fmt: FormatOpt = Format.table,
) -> None:
    """A corporate family: members, totals by year and agency, largest awards, brands resold.

    Example: contractwatch company "Capgemini"
    """
    answers.company(name, agency, fy, purpose, limit, fmt)


@resolve_app.command("explain")
def explain(name: Annotated[str, typer.Argument(help="A recipient name, any spelling")],
            fmt: FormatOpt = Format.table) -> None:
    """Why a recipient sits in its family: the links and the matcher's scored pairs.

    Example: contractwatch resolve explain "NET DIRECT SYSTEMS LLC"
    """
    answers.resolve_explain(name, fmt)


@resolve_app.command("update")
def update() -> None:
    """Resolve recipients into families and find brands now, and store the result with the
    data (otherwise the first family, brand or company question after a change does it).

    Example: contractwatch ingest new.zip && contractwatch resolve update
    """
    from contractwatch.companies import brands_folder, candidates_folder, families_folder

    catalog = state.catalog()
    for folder in (families_folder(catalog, state.policy), brands_folder(catalog),
                   candidates_folder(catalog, state.policy)):
        tell(f"stored {folder}")


@resolve_app.command("review")
def review(
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write uncertain pairs to "
                                             "this CSV (fill in its 'judgement' column)")] = None,
    decisions: Annotated[Path | None, typer.Option(
        "--import", help="Store the decisions of a filled-in review CSV")] = None,
    by: Annotated[str, typer.Option("--by", help="Who decided (recorded with each decision)")]
    = "",
    force: Annotated[bool, typer.Option("--force", help="Replace an existing --out file")]
    = False,
) -> None:
    """Export uncertain name pairs for review, or import reviewed decisions.

    Decisions (positive / negative / unsure) are stored in the store's resolve/judgements.csv
    and respected on every later run. Example: contractwatch resolve review -o pairs.csv
    """
    from rich.console import Console

    from contractwatch.companies import import_decisions
    from contractwatch.companies import review as run

    err = Console(stderr=True)
    if decisions is not None:
        n = import_decisions(state.catalog(), decisions, by)
        err.print(f"stored {n} decisions")
        return
    if out is None:
        raise ValueError("give --out FILE to export pairs, or --import FILE to store decisions")
    from contractwatch.output_paths import check_output_file

    out = check_output_file(out, state.store().root, force)
    n = run(state.catalog(), out, state.policy)
    tell(f"wrote {n} uncertain pairs to {out}")
    json.dumps(n)
