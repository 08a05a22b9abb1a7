"""What each page of the web app shows, built from the library's analyses.

Every builder returns a Page: tables (rows, the SQL behind them, caveats, the loads they come
from), charts and facts. The routes only pick a builder and a format (HTML, JSON, CSV), so the
HTML page, its JSON twin and its CSV downloads are the same figures by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from contractwatch.analyze import Filters, Result, apply_filters, copies_in_scope
from contractwatch.store import Catalog, Store
from contractwatch.web import charts as ch

ROWS_PAGE = 100
SEARCH_PAGE = 25


@dataclass
class Table:
    """One downloadable table and where its figures come from."""

    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    sql: str | None = None
    caveats: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)  # load ids whose rows feed the table
    # per row: URL of the source rows behind the row's amount (same order as rows)
    sources: list[str | None] = field(default_factory=list)
    unavailable: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns,
                "rows": [{c: r.get(c) for c in self.columns} for r in self.rows],
                "source_rows": self.sources or None, "sql": self.sql,
                "caveats": self.caveats, "loads": self.loads, "unavailable": self.unavailable}


@dataclass
class Page:
    title: str
    template: str
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict[str, str | None] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    caveats: list[str] = field(default_factory=list)
    loads: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → file, vintage

    def to_json(self) -> dict[str, Any]:
        facts = {k: asdict(v) if is_dataclass(v) and not isinstance(v, type) else v
                 for k, v in self.facts.items()}
        return {"title": self.title, "facts": facts, "caveats": self.caveats,
                "tables": {k: t.to_json() for k, t in self.tables.items()},
                "loads": self.loads}


def rows_url(**params: Any) -> str:
    """Link to the source rows behind a figure (the /rows page), empty params left out."""
    return "/rows?" + urlencode({k: v for k, v in params.items() if v not in (None, "")})


def _table(result: Result, columns: list[str] | None = None, **extra: Any) -> Table:
    return Table(result.title, columns or result.columns, result.rows, result.sql,
                 list(result.caveats), **extra)


def _loads_in(catalog: Catalog, scope: Any) -> list[str]:
    """Ids of the loads whose rows are in a scope, oldest vintage first."""
    used = set(catalog.con.to_pyarrow(scope.select("load_id").distinct())
               .column("load_id").to_pylist())
    return [ld.load_id for ld in sorted(catalog.loads, key=lambda r: catalog.ranks[r.load_id])
            if ld.load_id in used]


def _load_info(catalog: Catalog, ids: list[str]) -> dict[str, dict[str, Any]]:
    by_id = {ld.load_id: ld for ld in catalog.loads}
    return {i: {"source_file": by_id[i].source_file, "vintage": by_id[i].vintage,
                "source_format": by_id[i].source_format, "complete": by_id[i].complete}
            for i in ids if i in by_id}


def _optional(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, str | None]:
    """Run a section that depends on an optional layer (families, brands); on failure say why
    instead of failing the page."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # the page stays useful without the section
        return None, f"unavailable ({type(exc).__name__}: {exc})"


# ---- home ----------------------------------------------------------------------------------

def home(catalog: Catalog, policy: str = "keep") -> Page:
    """The store at a glance: agencies and years covered, loads, caveats."""
    from contractwatch.analyze import status

    result = status(catalog, policy)
    agencies: dict[str, dict[str, Any]] = {}
    for r in result.rows:
        a = agencies.setdefault(r["awarding_sub_agency_code"], {
            "awarding_sub_agency_code": r["awarding_sub_agency_code"],
            "awarding_sub_agency_name": r["awarding_sub_agency_name"],
            "fiscal_years": [], "transactions": 0,
            "federal_action_obligation": Decimal("0")})
        a["fiscal_years"].append(r["fiscal_year"])
        a["transactions"] += r["transactions"]
        a["federal_action_obligation"] += r["federal_action_obligation"] or 0
    for a in agencies.values():
        years = sorted(y for y in a["fiscal_years"] if y is not None)
        a["fiscal_years"] = f"FY{years[0]}–FY{years[-1]}" if years else ""
    coverage = Table("Coverage by agency and fiscal year", result.columns, result.rows,
                     result.sql, list(result.caveats), [ld.load_id for ld in catalog.loads],
                     [rows_url(agency=r["awarding_sub_agency_code"], fy=r["fiscal_year"])
                      for r in result.rows])
    loads = Table("Loads (the files in the store)",
                  ["source_file", "source_format", "vintage", "complete", "rows_kept",
                   "duplicate_copies", "loaded_at", "load_id"], result.meta["loads"])
    return Page(
        "contractwatch — the store", "home.html",
        tables={"agencies": Table("Agencies in the store",
                                  ["awarding_sub_agency_code", "awarding_sub_agency_name",
                                   "fiscal_years", "transactions", "federal_action_obligation"],
                                  list(agencies.values()), result.sql),
                "coverage": coverage, "loads": loads},
        facts={k: result.meta[k] for k in ("rows_stored", "rows_current",
                                           "duplicate_copies_current", "policy",
                                           "superseded_or_withdrawn")},
        caveats=result.caveats, loads=_load_info(catalog, [ld.load_id for ld in catalog.loads]))


# ---- agency overview -----------------------------------------------------------------------

def agency(catalog: Catalog, name: str, fy: int | None = None, policy: str = "keep",
           limit: int = 15) -> Page:
    """Obligations by year, who got them (recipients, families, brands), for what, and how
    complete the data is."""
    from contractwatch.agencies import resolve_agency
    from contractwatch.analyze import status, top, trend

    a = resolve_agency(name)
    f_all = Filters(agency=a.code)
    f = Filters(agency=a.code, fy=fy)
    cur = catalog.transactions(policy)
    scope_all = apply_filters(cur, f_all)
    if not catalog.loads or not int(catalog.con.execute(scope_all.count())):
        raise LookupError(f"no transactions of {a.name} ({a.code}) in the store")
    scope = apply_filters(cur, f) if fy else scope_all
    loads_all = _loads_in(catalog, scope_all)
    loads_fy = _loads_in(catalog, scope) if fy else loads_all
    years = f" FY{fy}" if fy else ", all years in the store"
    tables: dict[str, Table] = {}
    charts: dict[str, str | None] = {}

    tr = trend(catalog, f_all, policy)
    tables["by_year"] = _table(tr, loads=loads_all, sources=[
        rows_url(agency=a.code, fy=r["fiscal_year"]) for r in tr.rows])
    charts["by_year"] = ch.checked(ch.bar_by_year(tr.rows)) if tr.rows else None

    rec = top(catalog, "recipient", f, limit, policy)
    tables["recipients"] = _table(rec, loads=loads_fy, sources=[
        rows_url(agency=a.code, fy=fy, recipient_name=r["recipient_name"] or "")
        for r in rec.rows])
    tables["recipients"].title = f"Top {limit} prime recipients (as recorded){years}"
    charts["recipients"] = ch.checked(ch.bar_ranked(rec.rows, "recipient_name")) \
        if rec.rows else None

    for by, label in (("family", "corporate families"), ("brand", "brands named in descriptions")):
        res, problem = _optional(top, catalog, by, f, limit, policy)
        if res is None:
            tables[by] = Table(f"Top {label}{years}", [], [], unavailable=f"{label} {problem}")
            continue
        cols = [c for c in res.columns if not c.endswith("_id")]
        tables[by] = _table(res, cols, loads=loads_fy)
        tables[by].title = f"Top {limit} {label}{years}"
        tables[by].caveats = [c for c in res.caveats if "view" in c]
        if by == "family":
            tables[by].sources = [rows_url(agency=a.code, fy=fy, family=r["family_id"])
                                  for r in res.rows]

    for by, col, label in (("psc", "product_or_service_code_description", "product and "
                            "service categories (PSC)"),
                           ("naics", "naics_description", "industries (NAICS)")):
        res = top(catalog, by, f, 10, policy)
        tables[by] = _table(res, loads=loads_fy, sources=[
            rows_url(agency=a.code, fy=fy, **{col: r[col] or ""}) for r in res.rows])
        tables[by].title = f"Top 10 {label}{years}"
        tables[by].caveats = []

    st = status(catalog, policy)
    cov_rows = [r for r in st.rows if r["awarding_sub_agency_code"] == a.code]
    tables["coverage"] = Table(
        "Data coverage by fiscal year", st.columns, cov_rows, st.sql, loads=loads_all,
        sources=[rows_url(agency=a.code, fy=r["fiscal_year"]) for r in cov_rows])
    dup = copies_in_scope(catalog, f) if policy == "keep" else 0
    total = rec.meta.get("total_obligations")
    notes = list(rec.caveats)  # the year chart's table carries the all-years caveats
    if fy:
        fy_last = max((r["last_action_date"] for r in cov_rows
                       if r["fiscal_year"] == fy and r["last_action_date"]), default=None)
        if fy_last and fy_last < date(fy, 9, 30):
            notes.append(f"FY{fy} is covered only through {fy_last} in the store: a partial "
                         "year")
    return Page(
        f"{a.name} ({a.abbreviation or a.code}){' — FY' + str(fy) if fy else ''}",
        "agency.html", tables=tables, charts=charts,
        facts={"agency_code": a.code, "agency_name": a.name, "abbreviation": a.abbreviation,
               "fiscal_year": fy, "policy": policy, "duplicate_copies_in_scope": dup,
               "federal_action_obligation": total,
               "fiscal_years": [r["fiscal_year"] for r in tr.rows],
               "source_rows": rows_url(agency=a.code, fy=fy)},
        caveats=notes, loads=_load_info(catalog, loads_all))


# ---- company (corporate family) ------------------------------------------------------------

def company(catalog: Catalog, name: str, fy: int | None = None, policy: str = "keep",
            limit: int = 10) -> Page:
    """A corporate family: members, totals by year and agency, largest awards, brands."""
    from contractwatch.companies import company as family_view

    if not name.strip():
        raise ValueError("give a company name")
    f = Filters(fy=fy)
    res = family_view(catalog, name, f, limit, policy)
    m = res.meta
    members = m["members"]
    scope = apply_filters(catalog.transactions(policy), f)
    names = [r["recipient_name"] for r in members if r["recipient_name"]]
    loads = _loads_in(catalog, scope.filter(scope.recipient_name.isin(names))) if names else []
    tables = {
        "by_year": _table(res, ["fiscal_year", "awarding_sub_agency_name",
                                "federal_action_obligation", "transactions", "awards"],
                          loads=loads, sources=[
                              rows_url(fy=r["fiscal_year"], agency=r["awarding_sub_agency_code"],
                                       family=m["family_id"]) for r in res.rows]),
        "members": Table("Members (prime recipients as recorded)",
                         ["recipient_name", "federal_action_obligation", "transactions",
                          "family_source", "organisation_id"], members, loads=loads,
                         sources=[rows_url(fy=fy, recipient_name=r["recipient_name"] or "")
                                  for r in members]),
        "largest_awards": Table(f"Largest {limit} awards",
                                ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                                 "first_action_date", "last_action_date", "actions",
                                 "federal_action_obligation", "potential_total_value_of_award",
                                 "parent_award_id_piid", "description", "award_key"],
                                m["largest_awards"], loads=loads,
                                sources=[rows_url(award=r["award_key"])
                                         for r in m["largest_awards"]]),
        "brands": Table("Brands named in its actions' descriptions (resold)",
                        ["brand", "federal_action_obligation", "transactions"],
                        m["brands_resold"], loads=loads, caveats=list(res.caveats)),
    }
    tables["by_year"].title = "Obligations by fiscal year and awarding agency"
    tables["by_year"].caveats = []
    return Page(
        f"{m['family_name']} — corporate family", "company.html", tables=tables,
        charts={"by_year": ch.checked(ch.by_year_and_series(res.rows, "awarding_sub_agency_name"))
                if res.rows else None},
        facts={"family_id": m["family_id"], "family_name": m["family_name"],
               "family_source": m["family_source"], "fiscal_year": fy, "query": name,
               "federal_action_obligation": m["federal_action_obligation"],
               "members": len(members), "policy": policy},
        caveats=["family view: recipients grouped by parent fields in the data, the curated "
                 "families file and the name matcher; the prime recipient as recorded is "
                 "listed per member"] + list(res.caveats),
        loads=_load_info(catalog, loads))


# ---- award ---------------------------------------------------------------------------------

def award(catalog: Catalog, award_id: str, policy: str = "collapse",
          total_policy: str = "keep") -> Page:
    """An award's actions over time, its ceiling, its vehicle and the vehicle's other orders."""
    from contractwatch.analyze import award as award_result
    from contractwatch.analyze import awards

    res = award_result(catalog, award_id, policy)
    m = res.meta
    loads = list(dict.fromkeys(r["load_id"] for r in res.rows))
    loads = [ld.load_id for ld in sorted(catalog.loads, key=lambda r: catalog.ranks[r.load_id])
             if ld.load_id in loads]
    siblings = Table("Sibling orders: other awards in the store under the same parent vehicle",
                     ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                      "first_action_date", "last_action_date", "actions",
                      "federal_action_obligation", "potential_total_value_of_award",
                      "award_key"], [])
    parent = m["parent_award_id_piid"]
    if parent:
        per = awards(catalog, total_policy)
        sib = per.filter((per.parent_award_id_piid == parent)
                         & ~per.award_key.isin(m["award_keys"] or [m["award_id_piid"]])
                         & (per.award_id_piid != m["award_id_piid"]))
        sib = sib.order_by([sib.federal_action_obligation.desc(), sib.award_key]).limit(100)
        siblings.rows = catalog.con.to_pyarrow(sib.select(*siblings.columns)).to_pylist()
        siblings.sql = catalog.to_sql(sib)
        siblings.sources = [rows_url(award=r["award_key"]) for r in siblings.rows]
        siblings.caveats = [f"awards whose latest action names {parent} as parent; obligations "
                            f"under duplicate policy '{total_policy}'; a vehicle's ceiling is "
                            "not any order's ceiling"]
    else:
        siblings.unavailable = "no parent vehicle recorded for this award"
    actions = _table(res, ["action_date", "fiscal_year", "modification_number",
                           "federal_action_obligation", "running_total",
                           "potential_total_value_of_award", "transaction_description",
                           "recipient_name", "source_file", "source_row", "vintage"],
                     loads=loads)
    actions.title = "Actions (transactions) in date order, with the running total"
    actions.sources = [rows_url(award=award_id, load=r["load_id"], row=r["source_row"])
                       for r in res.rows]
    facts = {k: m[k] for k in ("award_id_piid", "award_keys", "recipient_names", "agency",
                               "actions", "federal_action_obligation", "ceiling",
                               "ceiling_source", "parent_award_id_piid", "parent_award_key",
                               "parent_permalink", "usaspending_permalink",
                               "first_action_date", "last_action_date")}
    facts["policy"] = policy
    facts["source_rows"] = rows_url(award=award_id)
    return Page(
        f"Award {m['award_id_piid']}", "award.html",
        tables={"actions": actions, "siblings": siblings},
        charts={"timeline": ch.checked(ch.timeline(res.rows, m["ceiling"]))},
        facts=facts,
        caveats=list(res.caveats) + [
            f"per-action view under duplicate policy '{policy}' (exact copies inside an API "
            "export are paging noise for a timeline)",
            "ceiling = the award's own potential value from its latest action, never summed; "
            "its vehicle's ceiling is a different number"],
        loads=_load_info(catalog, loads))


# ---- search --------------------------------------------------------------------------------

@dataclass
class SearchQuery:
    q: str = ""
    agency: str | None = None
    fy: int | None = None
    recipient: str | None = None
    psc: str | None = None
    naics: str | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    sort: str = "obligations"
    page: int = 1

    def filters(self) -> Filters:
        return Filters(agency=self.agency, fy=self.fy, recipient=self.recipient, psc=self.psc,
                       naics=self.naics, min_amount=self.min_amount, max_amount=self.max_amount)

    def params(self, **change: Any) -> dict[str, Any]:
        values = {"q": self.q, "agency": self.agency, "fy": self.fy,
                  "recipient": self.recipient, "psc": self.psc, "naics": self.naics,
                  "min": self.min_amount, "max": self.max_amount,
                  "sort": None if self.sort == "obligations" else self.sort,
                  "page": None if self.page == 1 else self.page}
        values.update(change)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def url(self, path: str = "/search", **change: Any) -> str:
        return f"{path}?{urlencode(self.params(**change))}"


def search(catalog: Catalog, sq: SearchQuery, policy: str = "keep",
           per_page: int = SEARCH_PAGE) -> Page:
    """Awards with an action whose description contains a phrase, filtered, sorted, paged."""
    from contractwatch.analyze import search as run

    page = Page("Search descriptions", "search.html", facts={"query": sq, "policy": policy})
    if not sq.q.strip():
        return page
    if sq.page < 1:
        raise ValueError("page must be 1 or more")
    res = run(catalog, sq.q, sq.filters(), per_page, (sq.page - 1) * per_page, sq.sort, policy)
    total = res.meta["total_awards"]
    t = _table(res, ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                     "first_action_date", "last_action_date", "actions", "matching_actions",
                     "federal_action_obligation", "potential_total_value_of_award",
                     "matching_description", "parent_award_id_piid", "award_key"])
    t.sources = [rows_url(award=r["award_key"]) for r in res.rows]
    t.caveats = []
    pages = max(1, -(-total // per_page))
    page.title = f"Search: {sq.q}"
    page.tables = {"results": t}
    page.caveats = list(res.caveats)
    page.facts.update({"total_awards": total, "page": sq.page, "pages": pages,
                       "per_page": per_page, "describe": res.title,
                       "prev": sq.url(page=sq.page - 1 if sq.page > 2 else None)
                       if sq.page > 1 else None,
                       "next": sq.url(page=sq.page + 1) if sq.page < pages else None})
    return page


# ---- source rows ---------------------------------------------------------------------------

ROW_COLUMNS = ["action_date", "fiscal_year", "awarding_sub_agency_code", "award_id_piid",
               "modification_number", "recipient_name", "federal_action_obligation",
               "transaction_description", "product_or_service_code_description",
               "naics_description", "contract_award_unique_key", "source_file", "source_row",
               "load_id", "vintage"]
# exact-match parameters of /rows → canonical column
EXACT = {"recipient_name": "recipient_name",
         "product_or_service_code_description": "product_or_service_code_description",
         "naics_description": "naics_description", "load": "load_id"}


def source_rows(catalog: Catalog, params: dict[str, str], policy: str = "keep",
                offset: int = 0, limit: int = ROWS_PAGE) -> Page:
    """The current stored rows behind a figure, with the file and row each came from.

    Parameters narrow by agency, fiscal year, award, family and exact column values; the
    page's sum over every matching row is the figure the link came from.
    """
    t = catalog.transactions(policy)
    f = Filters(agency=params.get("agency") or None,
                fy=int(params["fy"]) if params.get("fy") else None)
    t = apply_filters(t, f)
    described = [f.describe()] if f.agency or f.fy else []
    for param, col in EXACT.items():
        if param in params:
            value = params[param]
            t = t.filter(t[col].isnull() if value == "" else t[col] == value)
            described.append(f"{param} = {value!r}")
    if params.get("award"):
        key = params["award"].strip().upper()
        t = t.filter((t.award_id_piid.upper() == key)
                     | (t.contract_award_unique_key.upper() == key))
        described.append(f"award {key}")
    if params.get("row"):
        t = t.filter(t.source_row == int(params["row"]))
        described.append(f"source row {params['row']}")
    if params.get("family"):
        from contractwatch.companies import with_families

        t = with_families(catalog, t, policy)
        t = t.filter(t.family_id == params["family"])
        described.append(f"family {params['family']}")
    if not described:
        raise ValueError("say which rows: give agency, fy, award, recipient_name or another "
                         "filter")
    summary = catalog.con.to_pyarrow(t.aggregate(
        rows=t.count(), federal_action_obligation=t.federal_action_obligation.sum(),
    )).to_pylist()[0]
    copies = int(catalog.con.execute(t.semi_join(catalog.copies_table(),
                                                 ["load_id", "source_row"]).count()))
    ordered = t.order_by(["action_date", "award_id_piid", "modification_number", "load_id",
                          "source_row"]).select(*ROW_COLUMNS)
    page_expr = ordered.limit(limit, offset=offset) if limit else ordered
    rows = catalog.con.to_pyarrow(page_expr).to_pylist()
    loads = _loads_in(catalog, t)
    total = int(summary["rows"])
    return Page(
        "Source rows: " + ", ".join(described), "rows.html",
        tables={"rows": Table("Stored rows (current state)", ROW_COLUMNS, rows,
                              catalog.to_sql(ordered), loads=loads)},
        facts={"rows": total, "federal_action_obligation": summary["federal_action_obligation"]
               or Decimal("0"), "exact_copies": copies, "offset": offset, "limit": limit,
               "policy": policy, "params": params,
               "prev": rows_url(**params, offset=max(0, offset - limit) or None)
               if offset else None,
               "next": rows_url(**params, offset=offset + limit)
               if limit and offset + limit < total else None},
        caveats=[f"{copies} of these rows are exact copies inside one API export; policy "
                 f"'{policy}' counts them" if copies and policy == "keep" else ""] +
        ["each row names the file and row it was read from, and its load's vintage"],
        loads=_load_info(catalog, loads))


# ---- watches -------------------------------------------------------------------------------

def watches(store: Store) -> Page:
    """Saved watches and their latest check (read from the store; nothing is re-run)."""
    from contractwatch.watch import history, list_watches

    rows = []
    for w in list_watches(store):
        last = history(store, w)[-1:] if w.checks else []
        row = {"name": w.name, "description": w.describe(), "last_checked_at":
               w.last_checked_at, "seen_vintage": w.seen_vintage,
               "headline": last[0].headline() if last else "never checked"}
        rows.append(row)
    return Page("Watches", "watches.html", tables={"watches": Table(
        "Watches", ["name", "description", "last_checked_at", "seen_vintage", "headline"],
        rows)}, caveats=[] if rows else ["no watches yet: create one with "
                                         "`contractwatch watch add`"])


WATCH_SECTIONS = ("new_awards", "new_modifications", "changed", "obligation_changes",
                  "ceiling_changes", "new_recipients", "reappeared", "disappeared")


def watch(store: Store, name: str) -> Page:
    """One watch: each stored check's findings, newest first."""
    from contractwatch.watch import WatchError, get_watch, history

    try:
        w = get_watch(store, name)
    except WatchError as exc:  # a bad or unknown name: nothing to show
        raise LookupError(str(exc)) from None
    found = list(reversed(history(store, w)))
    tables: dict[str, Table] = {}
    if found:
        latest = found[0]
        for section in WATCH_SECTIONS:
            rows = getattr(latest, section)
            cols = list(dict.fromkeys(k for r in rows for k in r)) if rows else []
            tables[section] = Table(section.replace("_", " "), cols, rows)
    checks = Table("Checks", ["check_id", "checked_at", "since_vintage", "now_vintage",
                              "headline"],
                   [{"check_id": f.check_id, "checked_at": f.checked_at,
                     "since_vintage": f.since_vintage, "now_vintage": f.now_vintage,
                     "headline": f.headline()} for f in found])
    return Page(f"Watch {w.name}", "watch.html", tables={"checks": checks, **tables},
                facts={"name": w.name, "description": w.describe(),
                       "last_checked_at": w.last_checked_at},
                caveats=(found[0].notes if found else ["never checked: run "
                                                       f"`contractwatch watch check {w.name}`"]))
