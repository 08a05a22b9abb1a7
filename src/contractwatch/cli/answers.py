"""The query commands' answers: ask the library, render the result. Plain functions without
Typer, so that `cli/fastpath.py` answers a query without building the command tree; the
Typer commands (`cli/commands.py`) call the same functions, so both paths print the same."""

from __future__ import annotations

import sys

from contractwatch.cli.state import Format, state


def status(fmt: Format = Format.table, loads: bool = False) -> None:
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


def top(by: str | None = None, agency: str | None = None, fy: str | None = None,
        keyword: str | None = None, purpose: str | None = None, limit: int = 20,
        columns: str | None = None, fmt: Format = Format.table,
        show_sql: bool = False) -> None:
    from contractwatch.output import render

    # the scope's total is a headline fact of the answer (the rows may be only --limit groups)
    render(state.api().top(by, agency=agency, fy=fy, keyword=keyword, limit=limit,
                           columns=columns, purpose=purpose), fmt.value, show_sql=show_sql)


def trend(agency: str | None = None, recipient: str | None = None,
          keyword: str | None = None, purpose: str | None = None,
          fmt: Format = Format.table, show_sql: bool = False) -> None:
    from contractwatch.output import render

    render(state.api().trend(agency=agency, recipient=recipient, keyword=keyword,
                             purpose=purpose), fmt.value, show_sql=show_sql)


def award(award_id: str, columns: str | None = None, fmt: Format = Format.table,
          show_sql: bool = False) -> None:
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


def search(text: str, agency: str | None = None, fy: str | None = None,
           recipient: str | None = None, psc: str | None = None, naics: str | None = None,
           min_amount: float | None = None, max_amount: float | None = None,
           purpose: str | None = None, sort: str = "obligations", limit: int = 50,
           offset: int = 0, columns: str | None = None, by: str = "award",
           meaning: bool = False, fmt: Format = Format.table, show_sql: bool = False) -> None:
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


def company(name: str, agency: str | None = None, fy: str | None = None,
            purpose: str | None = None, limit: int = 10, fmt: Format = Format.table) -> None:
    from contractwatch.output import caveat, dumps, render

    result = state.api().company(name, agency=agency, fy=fy, limit=limit, purpose=purpose)
    m = result.meta
    received = result.parts["received_as_subcontractor"]
    if fmt == Format.json:
        sys.stdout.write(dumps({
            **result.facts, "family_id": m["family_id"], "family_name": m["family_name"],
            "family_source": m["family_source"],
            "federal_action_obligation": m["federal_action_obligation"],
            "members": m["members"], "by_fiscal_year_and_agency": result.rows,
            "largest_awards": m["largest_awards"], "brands_resold": m["brands_resold"],
            # below the prime, never added to federal_action_obligation above
            "received_as_subcontractor": {
                "subaward_amount": received.meta.get("subaward_amount"),
                "rows": received.rows, "caveats": received.caveats},
            "caveats": result.caveats}) + "\n")
        caveat(*result.caveats, *received.caveats)
        return
    if fmt == Format.csv:
        render(result, "csv")
        return
    render(result.parts["members"], "table")
    render(result, "table")
    for part in ("largest_awards", "brands_resold", "received_as_subcontractor"):
        if result.parts[part].rows:
            render(result.parts[part], "table")


def resolve_explain(name: str, fmt: Format = Format.table) -> None:
    from contractwatch.output import dumps, render

    result = state.api().explain(name)
    if fmt == Format.json:  # the nested answer: organisations, their links and pairs
        sys.stdout.write(dumps(result.meta["explained"]) + "\n")
        return
    render(result, fmt.value)
