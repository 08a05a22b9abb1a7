"""Purpose commands: what the money buys (list, explain, judge, review, update)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from contractwatch.cli.typer_app import Format, FormatOpt, LimitOpt, app, state
from contractwatch.output import tell

purpose_app = typer.Typer(help="What the money buys: purpose tags, why an award has them, "
                          "and decisions that override the rules.", no_args_is_help=True)
app.add_typer(purpose_app, name="purpose")


@purpose_app.command("list")
def list_tags(fmt: FormatOpt = Format.table) -> None:
    """The purpose tags: definition, PSC and NAICS codes, examples and sources.

    Example: contractwatch purpose list
    """
    from contractwatch.output import render
    from contractwatch.purposes import taxonomy_result

    result = taxonomy_result()
    render(result, fmt.value, columns=None if fmt != Format.table else [
        "purpose", "purpose_name", "definition"])


@purpose_app.command("explain")
def explain(award: Annotated[str, typer.Argument(help="PIID or CONT_AWD_… award key")],
            fmt: FormatOpt = Format.table) -> None:
    """Why an award has each of its purposes: the reason (code, phrase, judgement), the
    phrase or code, and the passage of its descriptions that matched; for an award the rules
    leave untagged or uncertain, the purpose its nearest examples suggest (text, tag, score).

    Example: contractwatch purpose explain 70CDCR26FR0000024
    """
    from contractwatch.output import render

    result = state.api().purposes(award)
    render(result, fmt.value, columns=None if fmt != Format.table else [
        "purpose", "status", "reason", "evidence", "passage", "score", "note"])


@purpose_app.command("judge")
def judge(
    award: Annotated[str, typer.Argument(help="PIID or CONT_AWD_… award key")],
    purpose: Annotated[str, typer.Argument(help="A purpose tag id, e.g. location-services")],
    yes: Annotated[bool | None, typer.Option(
        "--yes/--no", help="The award is (--yes) or is not (--no) for this purpose",
        show_default=False)] = None,
    why: Annotated[str, typer.Option("--why", help="The reason, kept with the decision")] = "",
    by: Annotated[str, typer.Option("--by", help="Who decided")] = "",
) -> None:
    """Decide an award's purpose: stored with the data, it overrides the rules.

    Example: contractwatch purpose judge 70CDCR26FR0000024 location-services --yes
    --why "a skip-tracing order"
    """
    from contractwatch.purposes import judge as run

    if yes is None:
        raise ValueError("say --yes or --no")
    row = run(state.catalog(), award, purpose, yes, why, by)
    tell(f"stored: {row['award_key']} {'is' if yes else 'is not'} {row['purpose']} "
         "(tags are computed again on the next question)")


@purpose_app.command("review")
def review(
    purpose: Annotated[str | None, typer.Option("--purpose", "-p", help="Only this tag")]
    = None,
    limit: LimitOpt = 50,
    fmt: FormatOpt = Format.table,
) -> None:
    """Purposes to decide: first those the nearest examples suggest for awards the rules
    leave untagged or uncertain (best score first), then uncertain tags, largest money first
    (tagged only by a weak phrase, by a code the text does not back, or held back by a tag's
    exclusions).

    Example: contractwatch purpose review --purpose location-services
    """
    from contractwatch.output import render

    result = state.api().purpose_review(limit, purpose)
    render(result, fmt.value, columns=None if fmt != Format.table else [
        "award_id_piid", "purpose", "status", "score", "federal_action_obligation", "note",
        "evidence"])


@purpose_app.command("update")
def update() -> None:
    """Tag every award now and store the tags with the data (otherwise the first question
    that needs them after a change does it), and the nearest-example suggestions.

    Example: contractwatch ingest new.zip && contractwatch purpose update
    """
    from contractwatch.purpose_examples import OFF_NOTE
    from contractwatch.purposes import purposes_folder, stored_tag_sets, suggestions_folder

    catalog = state.catalog()
    folder = purposes_folder(catalog)
    awards = catalog.fetch("SELECT count(*) AS n FROM read_parquet('"
                           + str(folder / "awards.parquet").replace("'", "''") + "')")[0]["n"]
    tagged = len(stored_tag_sets(catalog))
    print(f"{awards:,} awards: {tagged:,} with a purpose tag, {awards - tagged:,} untagged; "
          f"stored in {folder}")
    suggestions = suggestions_folder(catalog)
    if suggestions is None:
        tell(OFF_NOTE)
        return
    meta = json.loads((suggestions / "examples.json").read_text(encoding="utf-8"))
    print(f"{meta['suggestions']:,} purposes suggested by nearest examples for review, of "
          f"{meta['awards_compared']:,} awards the rules leave untagged or uncertain "
          f"({meta['examples']:,} examples); stored in {suggestions}")
