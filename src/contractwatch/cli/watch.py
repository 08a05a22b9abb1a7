"""Publishing commands: watch (add/list/remove/check), report, export."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from contractwatch.cli.typer_app import (
    AgencyOpt,
    Format,
    FormatOpt,
    FyOpt,
    PurposeOpt,
    app,
    fiscal_year_option,
    state,
)
from contractwatch.output import tell

if TYPE_CHECKING:
    from contractwatch.watch import Finding

watch_app = typer.Typer(help="Saved searches that say what is new since last time.",
                        no_args_is_help=True)
app.add_typer(watch_app, name="watch")


class CheckFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    json = "json"


@watch_app.command("add")
def watch_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. ice-skip-tracing")],
    agency: AgencyOpt = None,
    keyword: Annotated[str | None, typer.Option(
        "--keyword", "-k", help="Awards with an action whose description, recipient, PSC or "
        "NAICS title contains this text")] = None,
    company: Annotated[str | None, typer.Option(
        "--company", help="Awards whose recipient name contains this text")] = None,
    psc: Annotated[str | None, typer.Option("--psc", help="PSC code or title text")] = None,
    min_amount: Annotated[float | None, typer.Option(
        "--min-amount", help="Only awards whose obligations (or ceiling) reach this")] = None,
    from_start: Annotated[bool, typer.Option(
        "--from-start", help="Let the first check report everything already stored")] = False,
) -> None:
    """Save a watch; `watch check` then reports what arrived since.

    Example: contractwatch watch add ice-skip --agency ICE --keyword "skip tracing"
    """
    from decimal import Decimal

    from contractwatch.watch import add_watch

    w = add_watch(state.store(), name, agency=agency, keyword=keyword, company=company,
                  psc=psc, min_amount=Decimal(str(min_amount)) if min_amount is not None
                  else None, from_start=from_start)
    tell(f"watch {w.name!r} saved: {w.describe()}; baseline {len(w.seen_loads)} loads "
         f"(vintage {w.seen_vintage or 'none'})")


@watch_app.command("list")
def watch_list(fmt: FormatOpt = Format.table) -> None:
    """The saved watches and when each was last checked.

    Example: contractwatch watch list
    """
    from contractwatch.analyze import Result
    from contractwatch.output import render
    from contractwatch.watch import list_watches

    rows = [{"name": w.name, "scope": w.describe(), "agency": w.agency, "keyword": w.keyword,
             "company": w.company, "psc": w.psc, "min_amount": w.min_amount,
             "created_at": w.created_at, "last_checked_at": w.last_checked_at,
             "seen_vintage": w.seen_vintage, "seen_loads": len(w.seen_loads)}
            for w in list_watches(state.store())]
    cols = ["name", "scope", "last_checked_at", "seen_vintage", "seen_loads"]
    render(Result("Watches", cols if fmt == Format.table else list(rows[0]) if rows else cols,
                  rows), fmt.value)


@watch_app.command("remove")
def watch_remove(name: Annotated[str, typer.Argument()]) -> None:
    """Delete a watch and its history.

    Example: contractwatch watch remove ice-skip
    """
    from contractwatch.watch import remove_watch

    remove_watch(state.store(), name)


@watch_app.command("check")
def watch_check(
    name: Annotated[str | None, typer.Argument(help="Watch to check (default: all)")] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f")] = CheckFormat.table,
    atom: Annotated[Path | None, typer.Option(
        "--atom", help="Also write an Atom feed of the recent checks to this file")] = None,
    no_update: Annotated[bool, typer.Option(
        "--no-update", help="Look without moving the watch forward")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace an existing --atom file that is not a contractwatch feed")]
    = False,
) -> None:
    """What is new since the watch last looked: new awards and modifications, revisions,
    obligation and ceiling changes, recipients new to the agency, rows gone from the source.

    Example: contractwatch watch check ice-skip --format markdown --atom ice.xml
    """
    from contractwatch.output import dumps
    from contractwatch.output_paths import check_output_file
    from contractwatch.watch import (
        check,
        get_watch,
        is_our_feed,
        list_watches,
        to_markdown,
        write_feed,
    )

    store = state.store()
    if atom:  # before the check moves the watch forward
        atom = check_output_file(atom, store.root, force, ours=is_our_feed)
    watches = [get_watch(store, name)] if name else list_watches(store)
    if not watches:
        raise LookupError("no watches yet: create one with `contractwatch watch add`")
    findings = [check(store, w.name, update=not no_update, engine=state.settings().engine)
                for w in watches]
    if fmt == CheckFormat.json:
        typer.echo(dumps([f.to_json() for f in findings]))
    elif fmt == CheckFormat.markdown:
        typer.echo("\n".join(to_markdown(f) for f in findings))
    else:
        for f in findings:
            _print_finding(f)
    if atom:
        write_feed(store, [get_watch(store, w.name) for w in watches], atom)


def _print_finding(f: Finding) -> None:
    from rich.console import Console

    from contractwatch.analyze import Result
    from contractwatch.output import render
    from contractwatch.watch import noise_summary

    err = Console(stderr=True)
    err.print(f"[bold]{escape(f.headline())}[/bold]  "
              f"{escape(f'(vintage {f.since_vintage} → {f.now_vintage})')}")
    sections = [
        ("New awards", f.new_awards, ["kind", "award_id_piid", "recipient_name",
                                      "first_action_date", "federal_action_obligation",
                                      "transaction_description"]),
        ("New modifications", f.new_modifications, ["award_id_piid", "modification_number",
                                                    "action_date", "federal_action_obligation",
                                                    "recipient_name"]),
        ("Obligation changes", f.obligation_changes, ["award_id_piid", "recipient_name",
                                                      "obligated_before", "obligated_now",
                                                      "from_new_actions", "from_revisions"]),
        ("Ceiling changes", f.ceiling_changes, ["award_id_piid", "recipient_name",
                                                "ceiling_before", "ceiling_now", "change"]),
        ("Recipients new to the agency", f.new_recipients, ["agency", "recipient_name",
                                                            "first_award",
                                                            "federal_action_obligation"]),
        ("Rows no longer listed (not de-obligations)",
         [e for e in f.disappeared if e["likely"] == "removed"],
         ["award_id_piid", "modification_number", "action_date", "federal_action_obligation",
          "recipient_name"]),
        ("New subaward reports (below the prime, never added to it)", f.new_subaward_reports,
         ["kind", "prime_award_piid", "prime_awardee_name", "subawardee_name",
          "subaward_number", "subaward_amount"]),
    ]
    for title, rows, cols in sections:
        if rows:
            render(Result(f"{title} ({len(rows)})", cols, rows[:50]), "table")
    if f.changed:
        rows = [{**e, "what_changed": "; ".join(f"{x['column']}: {x['before']} → {x['after']}"
                                                 for x in e["changes"])}
                for e in f.changed]
        render(Result(f"Revised actions ({len(rows)})",
                      ["award_id_piid", "modification_number", "what_changed"], rows[:50]),
               "table")
    for line in noise_summary(f):
        err.print(f"[dim]{escape(line)}[/dim]")
    if f.reappeared:
        err.print(f"[dim]{len(f.reappeared)} rows missing from an earlier fetch came back "
                  "(paging noise, not new)[/dim]")
    for note in f.notes:
        tell(note, "note")




@app.command()
def report(
    agency: Annotated[str, typer.Option("--agency", "-a", help="Awarding agency: ICE, 7012 …")],
    fy: Annotated[str, typer.Option("--fy", help="Fiscal year, e.g. 2026")],
    output: Annotated[Path, typer.Option("--output", "-o", help="report.html or report.md")],
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Rows per ranking")] = 10,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file")] = False,
    purpose: PurposeOpt = None,
) -> None:
    """A self-contained report (HTML or Markdown) with a footnote behind every figure.

    Example: contractwatch report --agency ICE --fy 2026 -o report.html
    """

    from contractwatch.output_paths import check_output_file
    from contractwatch.report import build_report, write_report

    year = fiscal_year_option(fy)
    assert year is not None
    if output.suffix.lower() not in (".html", ".htm", ".md", ".markdown"):
        raise ValueError(f"{output.name}: the report is written as .html or .md")
    output = check_output_file(output, state.store().root, force)
    r = build_report(state.catalog(), agency, year, state.policy, limit, purpose=purpose)
    path = write_report(r, output)
    tell(f"wrote {path} ({len(r.figures)} figures, {len(r.caveats)} caveats)")


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    ftm = "ftm"


@app.command()
def export(
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")],
    output: Annotated[str, typer.Option(
        "--output", "-o", help="Folder for csv/parquet; file for ftm ('-' = stdout)")] = "-",
    table: Annotated[list[str] | None, typer.Option(
        "--table", help="transactions | awards | families (repeatable; default all three)")]
    = None,
    agency: AgencyOpt = None,
    fy: FyOpt = None,
    keyword: Annotated[str | None, typer.Option("--keyword", "-k")] = None,
    recipient: Annotated[str | None, typer.Option("--recipient", "-r")] = None,
    psc: Annotated[str | None, typer.Option("--psc")] = None,
    naics: Annotated[str | None, typer.Option("--naics")] = None,
    min_amount: Annotated[float | None, typer.Option("--min-amount")] = None,
    max_amount: Annotated[float | None, typer.Option("--max-amount")] = None,
    purpose: PurposeOpt = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace existing output files")] = False,
    where: Annotated[list[str] | None, typer.Option(
        "--where", help="COLUMN=VALUE: only transactions whose column (canonical, or a source "
        "column such as extent_competed or solicitation_identifier) holds VALUE; repeatable")]
    = None,
) -> None:
    """Transactions, awards and families as CSV or Parquet; FollowTheMoney entities for Aleph.

    The transactions table carries every column the source files had, beside the canonical
    ones.

    Outputs are never written inside the store's folder, and an existing file is replaced
    only with --force. CSV text that a spreadsheet would run as a formula (=, +, -, @) gets
    a leading apostrophe; numbers stay numbers.

    Example: contractwatch export --format ftm --agency ICE --fy 2026 -o ice.ftm.json
    """
    import sys
    from decimal import Decimal

    from rich.console import Console

    from contractwatch.analyze import Filters
    from contractwatch.export import TABLES, export_ftm, export_tables
    from contractwatch.output_paths import check_output_file

    f = Filters(agency=agency, fy=fiscal_year_option(fy), keyword=keyword, recipient=recipient,
                psc=psc, naics=naics,
                min_amount=Decimal(str(min_amount)) if min_amount is not None else None,
                max_amount=Decimal(str(max_amount)) if max_amount is not None else None,
                purpose=purpose)
    catalog = state.catalog()
    err = Console(stderr=True)
    if fmt == ExportFormat.ftm:
        if output == "-":
            rep = export_ftm(catalog, sys.stdout, f, state.policy)
        else:
            path = check_output_file(output, catalog.store.root, force)
            tmp = path.with_name(path.name + ".tmp")
            try:
                with open(tmp, "w", encoding="utf-8") as fh:
                    rep = export_ftm(catalog, fh, f, state.policy)
                tmp.replace(path)
            finally:  # a failed write (a full disk) leaves no half file behind
                tmp.unlink(missing_ok=True)
    else:
        if output == "-":
            raise ValueError("--output: give a folder for csv/parquet exports")
        conditions = {}
        for item in where or []:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"--where {item!r}: give COLUMN=VALUE")
            conditions[name.strip()] = value
        rep = export_tables(catalog, fmt.value, output, f, tuple(table or TABLES),
                            state.policy, force, conditions)
    err.print(", ".join(f"{k}: {v:,}" for k, v in rep.counts.items()) or "nothing written")
    for note in rep.notes:
        tell(note, "note")
