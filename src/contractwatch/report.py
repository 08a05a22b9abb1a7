"""A publishable report on one agency and fiscal year, as one self-contained HTML or Markdown
file: charts inlined as SVG, no external request, and a footnote behind every figure giving the
query that produced it, the loads and vintages it used and links to the source records on
USAspending. Caveats are printed, not hidden.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.analyze import (
    Filters,
    Result,
    apply_values,
    award_key,
    awards,
    caveats,
    filter_values,
    run_query,
)
from contractwatch.columns import label
from contractwatch.store import Catalog


@dataclass
class Figure:
    """One figure: rows (exact decimals), the query behind them and their provenance."""

    id: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str | None = None
    loads: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    chart_svg: str | None = None
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None


@dataclass
class Report:
    title: str
    agency: str
    fiscal_year: int
    generated_at: str
    store: str
    policy: str
    summary: dict[str, Any]
    figures: list[Figure]
    caveats: list[str]




def _loads_used(catalog: Catalog, used: set[str]) -> list[dict[str, Any]]:
    """The loads (file, vintage) whose rows a figure's scope holds."""
    return [{"load_id": ld.load_id, "source_file": ld.source_file, "vintage": ld.vintage,
             "source_format": ld.source_format}
            for ld in sorted(catalog.loads, key=lambda r: catalog.ranks[r.load_id])
            if ld.load_id in used]


REPORT_PARTS = ("scope", "loads", "links", "new", "active", "ceilings", "vehicles")
VEHICLE_COLUMNS = ["vehicle_piid", "holder", "vehicle_type", "obligated", "orders",
                   "vehicle_ceiling", "ceiling_source", "solicitation_identifier",
                   "largest_order_ceiling"]


def _report_expr(catalog: Catalog, part: str, policy: str, v: dict[str, Any],
                 limit: Any = None) -> Any:
    """The report's own queries over the year's scope (`v`) and the agency's (`v` without
    the year); the figures shared with other commands come from `top` and `trend`."""
    from contractwatch import queries

    def limited(expr: Any) -> Any:
        n = v.get("limit")
        return expr.limit(queries.LIMIT_MARK if queries.is_placeholder(n) else n)

    cur = catalog.transactions(policy)
    scope = apply_values(cur, v)
    scope_all = apply_values(cur, {**v, "fy": None})
    if part == "scope":  # rows and dates of the year
        return scope.aggregate(n=scope.count(), first=scope.action_date.min(),
                               last=scope.action_date.max())
    if part == "loads":  # which loads hold rows of the agency, and of the year
        return scope_all.group_by("load_id").aggregate(
            in_year=(scope_all.fiscal_year == v["fy"]).fill_null(False).any())
    if part == "links":  # each recipient's largest award with a link
        per_award = awards(catalog, policy, scope)
        linked = per_award.filter(per_award.usaspending_permalink.notnull()
                                  & (per_award.usaspending_permalink != ""))
        ranked = linked.mutate(_rank=_row_number(
            linked.recipient_name, [linked.federal_action_obligation.desc(),
                                    linked.award_key]))
        return ranked.filter(ranked._rank == 0).select(
            "recipient_name", "award_key", "award_id_piid", "federal_action_obligation",
            "usaspending_permalink")
    if part == "vehicles":
        return limited(_vehicles_expr(catalog, cur, scope))
    whole = awards(catalog, policy, scope_all)
    if part == "new":  # largest awards whose base action (modification 0) is in the year
        base = scope.filter(scope.modification_number == "0")
        base_keys = base.select(base_key=award_key(base)).distinct()
        new = whole.join(base_keys, whole.award_key == base_keys.base_key).drop("base_key")
        new = limited(new.order_by([new.federal_action_obligation.desc(), new.award_key]))
        return new.select("award_id_piid", "recipient_name", "first_action_date", "actions",
                          "federal_action_obligation", "potential_total_value_of_award",
                          "parent_award_id_piid", "description", "usaspending_permalink")
    active = scope.select(active_key=award_key(scope)).distinct()
    act = whole.join(active, whole.award_key == active.active_key).drop("active_key")
    if part == "active":
        return act.aggregate(awards=act.count(),
                             known=act.potential_total_value_of_award.notnull().sum())
    known = act.filter(act.potential_total_value_of_award.notnull())
    known = known.order_by([known.potential_total_value_of_award.desc(), known.award_key])
    return limited(known).select(
        "award_id_piid", "recipient_name", "federal_action_obligation",
        "potential_total_value_of_award", "parent_award_id_piid", "usaspending_permalink")


def _vehicles_expr(catalog: Catalog, cur: Any, scope: Any) -> Any:
    """The vehicles orders of the year were placed under, by obligations on those orders,
    each with its holder and its own ceiling from its own record in the store (its latest
    IDV action, else award facts). Ceilings stay per vehicle: never added up."""
    import ibis

    # full downloads keep the vehicle's type and solicitation in source columns: on its own
    # rows (idv_type, solicitation_identifier) and on its orders' rows (parent_award_type)
    src = catalog.vehicle_source_facts()
    orders = scope.filter(scope.parent_award_id_piid.notnull())
    orders = orders.left_join(src, ["load_id", "source_row"]).select(
        orders, recorded_type=src.parent_award_type)
    orders = orders.mutate(vehicle_key="CONT_IDV_" + orders.parent_award_id_piid + "_"
                           + orders.parent_award_agency_id.fill_null(""))
    per = orders.group_by("vehicle_key").aggregate(
        vehicle_piid=orders.parent_award_id_piid.arbitrary(),
        obligated=orders.federal_action_obligation.sum(),
        orders=award_key(orders).nunique(),
        largest_order_ceiling=orders.potential_total_value_of_award.max(),
        orders_type=orders.recorded_type.max())
    idv = cur.filter(cur.award_or_idv_flag == "IDV")
    idv = idv.left_join(src, ["load_id", "source_row"]).select(
        idv, own_idv_type=src.idv_type, own_solicitation=src.solicitation_identifier)
    idv_order = idv.action_date.cast("string") + "|" + idv.source_row.cast("string")
    own = idv.group_by(own_key=idv.contract_award_unique_key).aggregate(
        own_holder=idv.recipient_name.argmax(idv_order),
        own_ceiling=idv.potential_total_value_of_award.argmax(idv_order),
        own_type=idv.own_idv_type.fill_null(idv.award_type).argmax(idv_order),
        own_solicitation=idv.own_solicitation.argmax(idv_order))
    d = catalog.award_details()
    facts = d.filter(d.contract_award_unique_key.startswith("CONT_IDV_")).select(
        fact_key=d.contract_award_unique_key, fact_holder=d.recipient_name,
        fact_ceiling=d.base_and_all_options, fact_type=d.idv_type,
        fact_source=d.source + " " + d.fetched_at.fill_null(""),
        solicitation_identifier=d.solicitation_identifier)
    j = per.left_join(own, per.vehicle_key == own.own_key).select(per, *[
        own[c] for c in ("own_holder", "own_ceiling", "own_type", "own_solicitation")])
    j = j.left_join(facts, j.vehicle_key == facts.fact_key).select(j, *[
        facts[c] for c in ("fact_holder", "fact_ceiling", "fact_type", "fact_source",
                           "solicitation_identifier")])
    return j.select(
        "vehicle_key", "vehicle_piid",
        holder=j.own_holder.fill_null(j.fact_holder),
        vehicle_type=j.fact_type.fill_null(j.own_type).fill_null(j.orders_type),
        obligated=j.obligated, orders=j.orders,
        vehicle_ceiling=j.own_ceiling.fill_null(j.fact_ceiling),
        ceiling_source=ibis.cases(
            (j.own_ceiling.notnull(), "the vehicle's latest action"),
            (j.fact_ceiling.notnull(), j.fact_source), else_=ibis.null("string")),
        solicitation_identifier=j.solicitation_identifier.fill_null(j.own_solicitation),
        largest_order_ceiling=j.largest_order_ceiling,
    ).order_by([ibis.desc("obligated"), "vehicle_key"])


def _row_number(partition: Any, order: list[Any]) -> Any:
    import ibis

    return ibis.row_number().over(group_by=partition, order_by=order)


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Any:
    """The report's queries as templates (see queries.py)."""
    for policy in ("keep", "collapse"):
        for part in REPORT_PARTS:
            yield f"report_{part}:{policy}", _report_expr(catalog, part, policy, p)


def _chart(fn: Any, *args: Any, **kwargs: Any) -> str | None:
    if not args[0]:
        return None
    return fn(*args, **kwargs)


def build_report(catalog: Catalog, agency: str, fy: int, policy: str = "keep",
                 limit: int = 10, charts: bool = True, purpose: str | None = None) -> Report:
    """Every figure of the report, computed; rendering is separate (to_html, to_markdown)."""
    from contractwatch import charts as ch
    from contractwatch.agencies import resolve_agency
    from contractwatch.analyze import top, trend

    if not catalog.loads:
        raise LookupError("the store is empty: run `contractwatch ingest` first")
    a = resolve_agency(agency)
    f_all = Filters(agency=a.code, purpose=purpose)
    f = Filters(agency=a.code, fy=fy, purpose=purpose)
    values = {**filter_values(f), "limit": limit}

    def part(name: str) -> tuple[list[dict[str, Any]], str]:
        if name == "vehicles" and catalog.engine == "duckdb":
            catalog.vehicle_facts_view()  # the source columns its precompiled SQL joins
        return run_query(catalog, f"report_{name}:{policy}", values,
                         lambda v: _report_expr(catalog, name, policy, v))

    in_scope = part("scope")[0][0]
    if not in_scope["n"]:
        raise LookupError(f"no {a.abbreviation or a.name} transactions in FY{fy} in the store")
    figures: list[Figure] = []
    used = part("loads")[0]
    loads_all = _loads_used(catalog, {r["load_id"] for r in used})
    loads_fy = _loads_used(catalog, {r["load_id"] for r in used if r["in_year"]})

    # F1 totals by year
    tr = trend(catalog, f_all, policy)
    figures.append(Figure(
        "F1", f"Obligations by fiscal year — {a.name}",
        ["fiscal_year", "federal_action_obligation", "change_from_previous_year",
         "transactions", "awards", "recipients"], tr.rows, tr.sql, loads_all,
        chart_svg=_chart(ch.bar_by_year, tr.rows) if charts else None,
        notes=["sum of federal_action_obligation over every current transaction (negative "
               "amounts are de-obligations and are included)"]))
    fy_row = next((r for r in tr.rows if r["fiscal_year"] == fy), None)

    # F2 top recipients
    tp = top(catalog, "recipient", f, limit, policy)
    largest = {r["recipient_name"]: r for r in part("links")[0]}
    links: list[tuple[str, str]] = []
    for r in sorted((largest[r["recipient_name"]] for r in tp.rows
                     if r["recipient_name"] in largest),
                    key=lambda r: (-r["federal_action_obligation"], r["award_key"])):
        links.append((f"{r['recipient_name']}: largest award {r['award_id_piid']}",
                      r["usaspending_permalink"]))
    figures.append(Figure(
        "F2", f"Top {limit} prime recipients, FY{fy}",
        ["recipient_name", "federal_action_obligation", "transactions", "awards"], tp.rows,
        tp.sql, loads_fy, links, _chart(ch.bar_ranked, tp.rows, "recipient_name")
        if charts else None,
        notes=["prime recipient as recorded on each action; the same firm can appear under "
               "several spellings or registrations (see the corporate-family view)"]))

    # F3, F4 families and brands (the resolution layer)
    for fid, by, label_col, title in (("F3", "family", "family_name", "corporate families"),
                                      ("F4", "brand", "brand", "brands named in descriptions")):
        figures.append(_family_or_brand(catalog, fid, by, label_col, title, f, fy, limit,
                                        policy, loads_fy, charts))

    # F5 largest new awards: base action (modification 0) dated in the fiscal year
    rows, new_sql = part("new")
    figures.append(Figure(
        "F5", f"Largest new awards, FY{fy}",
        ["award_id_piid", "recipient_name", "first_action_date", "federal_action_obligation",
         "potential_total_value_of_award", "parent_award_id_piid", "description"], rows,
        new_sql, loads_all,
        [(r["award_id_piid"], r["usaspending_permalink"]) for r in rows
         if r["usaspending_permalink"]],
        notes=["new = the award's base action (modification 0) is dated in the fiscal year; "
               "obligations are the award's total over all actions in the store"]))

    # F6 obligated versus ceiling, awards active in the year
    counts = part("active")[0][0]
    rows, known_sql = part("ceilings")
    for r in rows:
        c = r["potential_total_value_of_award"]
        r["share_of_ceiling"] = (f"{r['federal_action_obligation'] / c:.1%}" if c else None)
    unknown = int(counts["awards"]) - int(counts["known"] or 0)
    notes = [f"{int(counts['known'] or 0):,} of {int(counts['awards']):,} awards active in "
             f"FY{fy} have a known ceiling; ceiling unknown for {unknown:,} (the source rows "
             "carry none: null, not zero)",
             "ceiling = potential_total_value_of_award of the award's latest action "
             "(cumulative, never summed); a task order's ceiling is not its vehicle's"]
    figures.append(Figure(
        "F6", f"Obligated versus ceiling, largest ceilings among awards active in FY{fy}",
        ["award_id_piid", "recipient_name", "federal_action_obligation",
         "potential_total_value_of_award", "share_of_ceiling", "parent_award_id_piid"], rows,
        known_sql, loads_all,
        [(r["award_id_piid"], r["usaspending_permalink"]) for r in rows
         if r["usaspending_permalink"]],
        chart_svg=_chart(ch.obligated_vs_ceiling, rows) if charts else None, notes=notes,
        unavailable=None if rows else "ceiling unknown for every award in scope"))

    # F7 what the money buys: purpose tags (an award counts under each of its tags)
    figures.append(_purposes_figure(catalog, f, fy, policy, loads_fy, charts))
    # F8, F9 above and below the award: vehicles, and subawards under the primes
    figures.extend(_vehicles_and_subawards(catalog, part, f, fy, limit, policy, loads_fy))

    summary = {
        "obligations": fy_row["federal_action_obligation"] if fy_row else Decimal(0),
        "transactions": fy_row["transactions"] if fy_row else 0,
        "awards": fy_row["awards"] if fy_row else 0,
        "recipients": fy_row["recipients"] if fy_row else 0,
        "first_action_date": in_scope["first"],
        "last_action_date": in_scope["last"],
    }
    notes = caveats(catalog, f, policy) + caveats(catalog, f_all, policy, copies=0)
    if policy == "keep":
        notes.append("duplicate policy 'keep': every row of an export counts toward totals")
    if fy_row and summary["last_action_date"] and summary["last_action_date"] < date(fy, 9, 30):
        notes.append(f"FY{fy} is covered only through {summary['last_action_date']} in the "
                     "store: a partial year")
    for fig in figures:
        if fig.unavailable:
            notes.append(f"{fig.id} {fig.title}: {fig.unavailable}")
    return Report(
        title=f"{a.name} ({a.abbreviation or a.code}) — contracts, FY{fy}",
        agency=a.code, fiscal_year=fy,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        store=str(catalog.store.root), policy=policy, summary=summary, figures=figures,
        caveats=list(dict.fromkeys(notes)))


def _vehicles_and_subawards(catalog: Catalog, part: Any, f: Filters, fy: int, limit: int,
                            policy: str, loads: list[dict[str, Any]]) -> list[Figure]:
    """F8: the vehicles the year's orders were placed under; F9: subawards reported under
    the agency's prime awards (each counted once, apart from prime money)."""
    from contractwatch.subcontracts import under_primes
    from contractwatch.values.ids import PERMALINK

    rows, sql = part("vehicles")
    known = sum(1 for r in rows if r["vehicle_ceiling"] is not None)
    vehicles = Figure(
        "F8", f"Top {limit} vehicles (IDVs) by obligations on orders placed under them, FY{fy}",
        VEHICLE_COLUMNS, rows, sql, loads,
        [(r["vehicle_piid"], PERMALINK.format(key=r["vehicle_key"])) for r in rows
         if not r["vehicle_key"].endswith("_")],  # the vehicle's agency is known
        notes=["obligated = the year's obligations on orders placed under the vehicle (sums of "
               "transactions); the vehicle's own ceiling, its type and holder come from its "
               "own record where the store holds one (its latest IDV action, or award facts)",
               f"{known} of {len(rows)} vehicles listed have a known ceiling (unknown: no "
               "source holds it, never zero); ceilings are shown side by side, per vehicle and "
               "per order (the largest order's own ceiling), and never added up: vehicles of "
               "one solicitation often repeat their program's ceiling"],
        unavailable=None if rows else "no order in scope names a vehicle")
    subs = under_primes(catalog, f, policy)
    shown = subs.rows[:limit]
    notes = list(subs.caveats) if subs.rows else []
    if len(subs.rows) > limit:
        notes.append(f"{len(subs.rows) - limit} more prime awards with subawards not listed")
    subawards = Figure(
        "F9", f"Subawards reported under the agency's prime awards, FY{fy} (largest "
        f"{limit} primes)", subs.columns, shown, subs.sql, loads, notes=notes,
        unavailable=None if subs.rows else (
            subs.caveats[0] if not catalog.subaward_files
            else "no subaward reported under the agency's prime awards in the year"))
    return [vehicles, subawards]


def _family_or_brand(catalog: Catalog, fid: str, by: str, label_col: str, title: str,
                     f: Filters, fy: int, limit: int, policy: str,
                     loads: list[dict[str, Any]], charts: bool) -> Figure:
    """Families and brands come from the resolution layer; without it, say so."""
    from contractwatch import charts as ch
    from contractwatch.analyze import top

    result: Result | None = None
    problem = None
    try:
        result = top(catalog, by, f, limit, policy)
    except Exception as exc:  # the resolution layer is optional for a report: say so
        problem = f"{by} view unavailable ({type(exc).__name__}: {exc})"
    if result is None:
        return Figure(fid, f"Top {title}, FY{fy}", [], [], unavailable=problem)
    cols = [c for c in result.columns if not c.endswith("_id")]
    notes = [c for c in result.caveats if "view" in c]
    return Figure(fid, f"Top {limit} {title}, FY{fy}", cols, result.rows, result.sql, loads,
                  chart_svg=_chart(ch.bar_ranked, result.rows, label_col) if charts else None,
                  notes=notes)


def _purposes_figure(catalog: Catalog, f: Filters, fy: int, policy: str,
                     loads: list[dict[str, Any]], charts: bool) -> Figure:
    """What the money buys: obligations by purpose tag, untagged money as its own row."""
    from contractwatch import charts as ch
    from contractwatch.analyze import top

    result = top(catalog, "purpose", f, 0, policy)
    total = result.facts.get("scope_total_obligations")
    notes = [c for c in result.caveats if "purpose" in c]
    if total is not None:
        notes.append(f"the scope's total is {format_total(total)}, once; the rows are not to "
                     "be added up")
    return Figure("F7", f"What the money buys: obligations by purpose, FY{fy}",
                  ["purpose_name", "federal_action_obligation", "transactions", "awards",
                   "purpose"], result.rows, result.sql, loads,
                  chart_svg=_chart(ch.bar_ranked, result.rows, "purpose_name")
                  if charts else None, notes=notes)


def format_total(value: Any) -> str:
    from contractwatch.values.money import format_dollars

    return format_dollars(Decimal(str(value)))


# ---- rendering -----------------------------------------------------------------------------

def _cell(value: Any, column: str) -> str:
    from contractwatch.columns import format_value

    return format_value(value, column, width=160)


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{{ r.title }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.9em}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.caveats{background:#fff8e1;border-left:4px solid #f0b400;padding:.5em 1em}
.unavailable{color:#a33}
pre{white-space:pre-wrap;font-size:.8em;background:#f6f6f6;padding:.5em}
sup a{text-decoration:none} .fn{font-size:.9em}
</style></head><body>
<h1>{{ r.title }}</h1>
<p>Generated {{ r.generated_at }} from the store <code>{{ r.store }}</code>
(duplicate policy <code>{{ r.policy }}</code>). FY{{ r.fiscal_year }}:
<strong>{{ money(r.summary.obligations) }}</strong> obligated in
{{ "{:,}".format(r.summary.transactions) }} actions on {{ "{:,}".format(r.summary.awards) }}
awards to {{ "{:,}".format(r.summary.recipients) }} recipients, actions dated
{{ r.summary.first_action_date }} … {{ r.summary.last_action_date }}.
<sup><a href="#fn-F1">F1</a></sup></p>
<div class="caveats"><strong>Caveats</strong><ul>
{% for c in r.caveats %}<li>{{ c }}</li>{% endfor %}
</ul></div>
{% for fig in r.figures %}
<h2 id="{{ fig.id }}">{{ fig.title }}<sup><a href="#fn-{{ fig.id }}">{{ fig.id }}</a></sup></h2>
{% if fig.unavailable and not fig.rows %}
<p class="unavailable">{{ fig.unavailable }}</p>{% endif %}
{% if fig.chart_svg %}<figure>{{ fig.chart_svg | safe }}</figure>{% endif %}
{% if fig.rows %}<table><thead><tr>
{%- for c in fig.columns %}<th>{{ label(c) }}</th>{% endfor %}</tr></thead><tbody>
{% for row in fig.rows %}<tr>{% for c in fig.columns -%}
<td{% if numeric(row[c]) %} class="n"{% endif %}>{{ cell(row[c], c) }}</td>
{%- endfor %}</tr>
{% endfor %}</tbody></table>{% endif %}
{% for n in fig.notes %}<p class="fn">{{ n }}</p>{% endfor %}
{% endfor %}
<h2>Footnotes: how each figure was made</h2>
{% for fig in r.figures %}
<div id="fn-{{ fig.id }}"><h3>{{ fig.id }}. {{ fig.title }}</h3>
{% if fig.sql %}<p>Query (DuckDB SQL over the store's Parquet files):</p>
<pre>{{ fig.sql }}</pre>{% endif %}
{% if fig.loads %}<p>Loads used (newest vintage wins for each transaction):</p><ul>
{% for ld in fig.loads %}<li><code>{{ ld.source_file }}</code>,
 vintage {{ ld.vintage or "none" }}, load <code>{{ ld.load_id }}</code>
 ({{ ld.source_format }})</li>{% endfor %}
</ul>{% endif %}
{% if fig.links %}<p>Source records on USAspending:</p><ul>
{% for text, url in fig.links %}<li><a href="{{ url }}">{{ text }}</a></li>{% endfor %}
</ul>{% endif %}
{% if fig.unavailable %}<p class="unavailable">{{ fig.unavailable }}</p>{% endif %}
</div>
{% endfor %}
</body></html>
"""


def to_html(report: Report) -> str:
    """One self-contained HTML file: inline CSS and SVG, no scripts, no external request."""
    from jinja2 import Environment

    from contractwatch.values.money import format_dollars

    env = Environment(autoescape=True)
    return env.from_string(_HTML).render(
        r=report, money=format_dollars, cell=_cell, label=label,
        numeric=lambda v: isinstance(v, (int, Decimal)) and not isinstance(v, bool))


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The same report as Markdown; charts are embedded as SVG data URIs."""
    from contractwatch.values.money import format_dollars

    r = report
    s = r.summary
    out = [f"# {r.title}", "",
           f"Generated {r.generated_at} from the store `{r.store}` (duplicate policy "
           f"`{r.policy}`). FY{r.fiscal_year}: **{format_dollars(s['obligations'])}** "
           f"obligated in {s['transactions']:,} actions on {s['awards']:,} awards to "
           f"{s['recipients']:,} recipients, actions dated {s['first_action_date']} … "
           f"{s['last_action_date']}.[^F1]", "", "## Caveats", ""]
    out += [f"- {c}" for c in r.caveats] + [""]
    for fig in r.figures:
        out += [f"## {fig.title}[^{fig.id}]", ""]
        if fig.unavailable and not fig.rows:
            out += [f"*{fig.unavailable}*", ""]
        if fig.chart_svg:
            data = base64.b64encode(fig.chart_svg.encode("utf-8")).decode("ascii")
            out += [f"![{fig.title}](data:image/svg+xml;base64,{data})", ""]
        if fig.rows:
            out.append("| " + " | ".join(label(c) for c in fig.columns) + " |")
            out.append("|" + "---|" * len(fig.columns))
            for row in fig.rows:
                out.append("| " + " | ".join(_md(_cell(row[c], c)) for c in fig.columns)
                           + " |")
            out.append("")
        out += [f"*{n}*" for n in fig.notes] + [""]
    for fig in r.figures:
        parts = []
        if fig.sql:
            parts.append("query: `" + " ".join(fig.sql.split()).replace("`", "'") + "`")
        if fig.loads:
            parts.append("loads: " + "; ".join(
                f"{ld['source_file']} (vintage {ld['vintage'] or 'none'}, load {ld['load_id']})"
                for ld in fig.loads))
        if fig.links:
            parts.append("source records: " + ", ".join(f"[{t}]({u})" for t, u in fig.links))
        if fig.unavailable:
            parts.append(fig.unavailable)
        out.append(f"[^{fig.id}]: " + ". ".join(parts))
    return "\n".join(out).rstrip() + "\n"


def write_report(report: Report, path: str | Path) -> Path:
    """Write as HTML or Markdown by the file's extension (.html/.htm, .md)."""
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        text = to_html(report)
    elif suffix in (".md", ".markdown"):
        text = to_markdown(report)
    else:
        raise ValueError(f"{out.name}: the report is written as .html or .md")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    finally:  # a failed write (a full disk) leaves no half file behind
        tmp.unlink(missing_ok=True)
    return out
