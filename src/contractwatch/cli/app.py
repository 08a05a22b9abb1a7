"""The Typer app, the global options and the shared per-command options."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="contractwatch",
    help="Follow public money from a government agency to the companies it pays.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class Policy(StrEnum):
    keep = "keep"
    collapse = "collapse"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


@dataclass
class State:
    store_dir: Path | None = None
    duplicates: str | None = None
    engine: str | None = None

    def settings(self) -> Any:
        from contractwatch import settings

        return settings.load(self.store_dir, duplicate_policy=self.duplicates,
                             engine=self.engine)

    def store(self) -> Any:
        from contractwatch.store import Store

        return Store(self.settings().store_dir)

    def catalog(self) -> Any:
        s = self.settings()
        from contractwatch.store import Store

        return Store(s.store_dir).connect(engine=s.engine)

    def api(self) -> Any:
        """The Python API's view of the store, as the options set it (contractwatch.api)."""
        from contractwatch.api import OpenStore

        return OpenStore(self.store_dir, engine=self.engine, duplicates=self.duplicates)

    @property
    def policy(self) -> str:
        return self.settings().duplicate_policy


state = State()


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
