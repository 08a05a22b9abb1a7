"""What each page of the web app shows, built from the library's analyses.

Every builder returns a Page: tables (rows, the SQL behind them, caveats, the loads they come
from), charts and facts. The routes only pick a builder and a format (HTML, JSON, CSV), so the
HTML page, its JSON twin and its CSV downloads are the same figures by construction.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from contractwatch import charts as ch
from contractwatch.analyze import Filters, caveats
from contractwatch.companies import BRAND_NOTE
from contractwatch.store import Catalog, Store
from contractwatch.web import queries as q
from contractwatch.web.queries import NotReady, Snapshot

ROWS_PAGE = 100
EVERY_COLUMN_ROWS = 25  # a rows page this short shows every column of each row
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


def _load_info(catalog: Catalog | Snapshot, ids: list[str]) -> dict[str, dict[str, Any]]:
    by_id = {ld.load_id: ld for ld in catalog.loads}
    return {i: {"source_file": by_id[i].source_file, "vintage": by_id[i].vintage,
                "source_format": by_id[i].source_format, "complete": by_id[i].complete}
            for i in ids if i in by_id}


def _by_vintage(catalog: Catalog | Snapshot, used: Any) -> list[str]:
    """The ids among `used` of the catalog's loads, oldest vintage first."""
    used = set(used or [])
    return [ld.load_id for ld in sorted(catalog.loads, key=lambda r: catalog.ranks[r.load_id])
            if ld.load_id in used]


# ---- home ----------------------------------------------------------------------------------

def home(snap: Snapshot, policy: str = "keep") -> Page:
    """The store at a glance: agencies and years covered, loads, caveats (the figures of
    `contractwatch status`)."""
    where, params = snap.scope(Filters(), policy)
    cov_sql = q.COVERAGE.format(where=where)
    rows = _coverage(snap, cov_sql, params)
    stored = int(snap.rows(q.STORED_ROWS)[0]["n"]) if snap.loads else 0
    current = _scope_facts(snap, Filters(), policy)
    copies = _copies(snap, Filters())
    notes = caveats(snap, Filters(), policy, copies)  # type: ignore[arg-type]
    notes += [f"{ld.source_file}: {w}" for ld in snap.loads for w in ld.warnings
              if "page boundary" not in w]
    loads = [{"load_id": ld.load_id, "source_file": ld.source_file,
              "source_format": ld.source_format, "vintage": ld.vintage,
              "complete": ld.complete, "rows_kept": ld.rows_kept,
              "duplicate_copies": ld.duplicate_copies, "loaded_at": ld.loaded_at}
             for ld in snap.loads]
    sql = snap.shown(cov_sql, params)
    agencies: dict[str, dict[str, Any]] = {}
    for r in rows:
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
    coverage = Table("Coverage by agency and fiscal year", STATUS_COLUMNS, rows, sql,
                     list(notes), [ld.load_id for ld in snap.loads],
                     [rows_url(agency=r["awarding_sub_agency_code"], fy=r["fiscal_year"])
                      for r in rows])
    load_table = Table("Loads (the files in the store)",
                       ["source_file", "source_format", "vintage", "complete", "rows_kept",
                        "duplicate_copies", "loaded_at", "load_id"], loads)
    return Page(
        "contractwatch — the store", "home.html",
        tables={"agencies": Table("Agencies in the store",
                                  ["awarding_sub_agency_code", "awarding_sub_agency_name",
                                   "fiscal_years", "transactions", "federal_action_obligation"],
                                  list(agencies.values()), sql),
                "coverage": coverage, "loads": load_table},
        facts={"rows_stored": stored, "rows_current": int(current["rows"]),
               "duplicate_copies_current": copies, "policy": policy,
               "superseded_or_withdrawn": stored - int(current["rows"])},
        caveats=notes, loads=_load_info(snap, [ld.load_id for ld in snap.loads]))


def _coverage(snap: Snapshot, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows per agency and fiscal year (as analyze.status), with the loads covering each:
    `loads` counts the loads whose rows are current, `loads_covering` every vintage held."""
    rows = snap.rows_once(sql, params)
    covering = Counter((b.agency, b.fiscal_year) for ld in snap.loads for b in ld.blocks
                       if b.rows)
    for r in rows:
        r["loads_covering"] = covering[(r["awarding_sub_agency_code"], r["fiscal_year"])]
    return rows


# ---- agency overview -----------------------------------------------------------------------

def _scope_facts(snap: Snapshot, f: Filters, policy: str) -> dict[str, Any]:
    """Loads (oldest vintage first), rows, obligations and exact copies of a scope."""
    where, params = snap.scope(f, policy)
    key = (where, tuple(sorted(params.items())))
    if (facts := snap.memo.get(key)) is None:  # a page asks for the same scope 2–3 times
        facts = snap.rows(q.SCOPE_FACTS.format(where=where), params)[0]
        facts["loads"] = _by_vintage(snap, facts["loads"])
        if len(snap.memo) > 4096:
            snap.memo.clear()
        snap.memo[key] = facts
    return facts


def _caveats(snap: Snapshot, f: Filters, policy: str) -> list[str]:
    """The library's caveats for a scope (given the copies counted here, `caveats` reads
    only the loads, which the snapshot holds: no Ibis catalog needed)."""
    return caveats(snap, f, policy, _copies(snap, f))  # type: ignore[arg-type]


def _copies(snap: Snapshot, f: Filters) -> int:
    """Exact copies in scope as policy 'keep' counts them (the caveat's figure)."""
    if not any(ld.duplicate_copies for ld in snap.loads):
        return 0
    return int(_scope_facts(snap, f, "keep")["copies"])


def _trend(snap: Snapshot, f: Filters, policy: str, loads: list[str]) -> Table:
    """Obligations by fiscal year (as analyze.trend: a loaded year without rows is a zero)."""
    where, params = snap.scope(f, policy)
    found = {r["fiscal_year"]: r for r in snap.rows_once(q.TREND.format(where=where), params)}
    loaded = {b.fiscal_year for ld in snap.loads for b in ld.blocks
              if b.rows and f.selects_agency(b.agency) and (not f.fy or b.fiscal_year == f.fy)}
    rows = [found.get(fy) or {"fiscal_year": fy, "federal_action_obligation": Decimal("0.00"),
                              "transactions": 0, "awards": 0, "recipients": 0}
            for fy in sorted(loaded | set(found))]
    by_year = {r["fiscal_year"]: r for r in rows}
    for r in rows:
        prev = by_year.get(r["fiscal_year"] - 1)
        r["change_from_previous_year"] = None if prev is None else (
            r["federal_action_obligation"] - prev["federal_action_obligation"])
    notes = _caveats(snap, f, policy)
    gaps = [fy for fy in range(min(by_year, default=0), max(by_year, default=0))
            if fy not in by_year]
    if gaps:
        notes.append(f"no data loaded for {', '.join(f'FY{y}' for y in gaps)} in this scope: "
                     "the year after a gap has no change from the previous year")
    return Table(f"Obligations by fiscal year — {f.describe()}",
                 ["fiscal_year", "federal_action_obligation", "change_from_previous_year",
                  "transactions", "awards", "recipients"], rows,
                 snap.shown(q.TREND.format(where=where), params), notes, loads)


def _top(snap: Snapshot, sql: str, f: Filters, policy: str, limit: int, title: str,
         columns: list[str], loads: list[str], key: str = "", table: str | None = None
         ) -> Table:
    where, params = snap.scope(f, policy)
    text = sql.format(where=where, key=key)
    params["limit"] = limit
    rows = snap.rows(text, params, table)
    return Table(title, columns, rows, snap.shown(text, params), loads=loads)


def agency(snap: Snapshot, name: str, fy: int | None = None, policy: str = "keep",
           limit: int = 15, purpose: str | None = None) -> Page:
    """Obligations by year, who got them (recipients, families, brands), for what (purpose
    tags, PSC, NAICS), and how complete the data is; `purpose` narrows it all to one tag."""
    from contractwatch.agencies import resolve_agency
    from contractwatch.purposes import UNTAGGED, load_taxonomy

    a = resolve_agency(name)
    f_all = Filters(agency=a.code, purpose=purpose)
    f = Filters(agency=a.code, fy=fy, purpose=purpose)
    every = _scope_facts(snap, f_all, policy)
    if not every["rows"]:
        raise LookupError(f"no transactions of {a.name} ({a.code}) in the store")
    loads_all = every["loads"]
    in_fy = _scope_facts(snap, f, policy) if fy else every
    loads_fy = in_fy["loads"]
    years = f" FY{fy}" if fy else ", all years in the store"
    tables: dict[str, Table] = {}
    charts: dict[str, str | None] = {}

    tables["by_year"] = tr = _trend(snap, f_all, policy, loads_all)
    tr.sources = [rows_url(agency=a.code, fy=r["fiscal_year"]) for r in tr.rows]
    charts["by_year"] = ch.bar_by_year(tr.rows) if tr.rows else None

    # the year's queries read a table of the year's rows (on a large store), not every row
    fy_where, fy_params = snap.scope(f, policy)
    with snap.narrowed(fy_where, fy_params) if fy else contextlib.nullcontext() as table:
        rec = _top(snap, q.TOP, f, policy, limit, f"Top {limit} prime recipients (as recorded)"
                   f"{years}", ["recipient_name", "federal_action_obligation", "transactions",
                                "awards"], loads_fy, key="recipient_name", table=table)
        rec.caveats = _caveats(snap, f, policy)
        rec.sources = [rows_url(agency=a.code, fy=fy, recipient_name=r["recipient_name"] or "")
                       for r in rec.rows]
        tables["recipients"] = rec
        charts["recipients"] = ch.bar_ranked(rec.rows, "recipient_name") if rec.rows else None

        for by, label in (("family", "corporate families"),
                          ("brand", "brands named in descriptions")):
            try:
                if by == "family":
                    snap.families()
                    t = _top(snap, q.TOP_FAMILY, f, policy, limit, f"Top {limit} {label}{years}",
                             ["family_name", "federal_action_obligation", "transactions", "awards",
                              "members", "family_source"], loads_fy, table=table)
                    t.caveats = [FAMILY_NOTE]
                    t.sources = [rows_url(agency=a.code, fy=fy, family=r["family_id"])
                                 for r in t.rows]
                else:
                    snap.brands()
                    t = _top(snap, q.TOP_BRAND, f, policy, limit, f"Top {limit} {label}{years}",
                             ["brand", "federal_action_obligation", "transactions", "awards",
                              "prime_recipients", "shared_with_other_brands"], loads_fy,
                             table=table)
                    t.caveats = [BRAND_NOTE]
            except Exception as exc:  # the page stays useful without the section
                t = Table(f"Top {label}{years}", [], [], unavailable=_unavailable(label, exc))
            tables[by] = t

        tables["purpose"] = _purposes(snap, f, policy, years, loads_fy, table)

        for by, col, label in (("psc", "product_or_service_code_description", "product and "
                                "service categories (PSC)"),
                               ("naics", "naics_description", "industries (NAICS)")):
            t = _top(snap, q.TOP, f, policy, 10, f"Top 10 {label}{years}",
                     [col, "federal_action_obligation", "transactions", "awards"], loads_fy,
                     key=col, table=table)
            t.sources = [rows_url(agency=a.code, fy=fy, **{col: r[col] or ""}) for r in t.rows]
            tables[by] = t

    where, params = snap.scope(f_all, policy)
    cov_sql = q.COVERAGE.format(where=where)
    cov_rows = _coverage(snap, cov_sql, params)
    tables["coverage"] = Table(
        "Data coverage by fiscal year", STATUS_COLUMNS, cov_rows, snap.shown(cov_sql, params),
        loads=loads_all, sources=[rows_url(agency=a.code, fy=r["fiscal_year"])
                                  for r in cov_rows])
    dup = int(in_fy["copies"]) if policy == "keep" else 0
    total = rec.rows[0]["scope_total"] if rec.rows else None
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
               "purpose": f.purpose, "purposes": [
                   {"id": t.id, "name": t.name} for t in load_taxonomy()] + [
                   {"id": UNTAGGED, "name": "(no purpose tag)"}],
               "federal_action_obligation": total,
               "fiscal_years": [r["fiscal_year"] for r in tr.rows],
               "source_rows": rows_url(agency=a.code, fy=fy)},
        caveats=notes, loads=_load_info(snap, loads_all))


def _purposes(snap: Snapshot, f: Filters, policy: str, years: str,
              loads: list[str], table: str | None = None) -> Table:
    """What the money buys: obligations by purpose tag (an award counts under each)."""
    from contractwatch.purposes import MULTI_TAG_NOTE, RULES_NOTE, UNTAGGED, load_taxonomy

    try:
        snap.purposes()
    except Exception as exc:  # the page stays useful without the section
        return Table(f"What the money buys{years}", [], [],
                     unavailable=_unavailable("purposes", exc))
    names = {t.id: t.name for t in load_taxonomy()} | {UNTAGGED: "(no purpose tag)"}
    where, params = snap.scope(f, policy)
    text = q.TOP_PURPOSE.format(where=where)
    rows = snap.rows(text, params, table)
    for r in rows:
        r["purpose_name"] = names.get(r["purpose"], r["purpose"])
    return Table(f"What the money buys: obligations by purpose{years}",
                 ["purpose_name", "federal_action_obligation", "transactions", "awards",
                  "purpose"], rows, snap.shown(text, params),
                 [MULTI_TAG_NOTE, RULES_NOTE], loads)


def _unavailable(label: str, exc: Exception) -> str:
    """What a section says in place of its table: a derived result not computed yet, or
    the error that stopped it."""
    if isinstance(exc, NotReady):
        return str(exc)
    return f"{label} unavailable ({type(exc).__name__}: {exc})"


FAMILY_NOTE = ("family view: recipients grouped by parent fields in the data, the curated "
               "families file and the name matcher; the prime recipient as recorded is "
               "listed per member")
STATUS_COLUMNS = ["awarding_sub_agency_code", "awarding_sub_agency_name", "fiscal_year",
                  "transactions", "federal_action_obligation", "first_action_date",
                  "last_action_date", "loads", "loads_covering", "newest_vintage"]
AWARD_COLUMNS = ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                 "first_action_date", "last_action_date", "actions",
                 "federal_action_obligation", "potential_total_value_of_award", "award_key"]


# ---- company (corporate family) ------------------------------------------------------------

def company(snap: Snapshot, name: str, fy: int | None = None, policy: str = "keep",
            limit: int = 10) -> Page:
    """A corporate family: members, totals by year and agency, largest awards, brands."""
    if not name.strip():
        raise ValueError("give a company name")
    family = snap.family_of(name)
    f = Filters(fy=fy)
    where, params = snap.scope(f, policy)
    params["family"] = family["family_id"]
    by_year_sql = q.COMPANY_BY_YEAR.format(where=where)
    by_year = snap.rows(by_year_sql, params)
    members = snap.rows(q.COMPANY_MEMBERS.format(where=where), params)
    names = [r["recipient_name"] for r in members if r["recipient_name"]]
    member_where, member_params = snap.scope(f, policy, ["list_contains($names, recipient_name)"])
    member_params["names"] = names
    loads = _scope_facts_where(snap, member_where, member_params) if names else []
    largest_sql = ("SELECT * FROM (" + q.AWARDS.format(where=member_where) + ") "
                   "ORDER BY federal_action_obligation DESC, award_key LIMIT $limit")
    largest = snap.rows(largest_sql, {**member_params, "limit": limit}) if names else []
    brands: list[dict[str, Any]] = []
    brands_missing = None
    if names:
        try:
            snap.brands()
            brands = snap.rows(q.COMPANY_BRANDS.format(where=where),
                               {**params, "names": names})
        except NotReady as exc:  # the rest of the page does not need them
            brands_missing = str(exc)
    total = sum((r["federal_action_obligation"] for r in by_year), start=Decimal("0"))
    from contractwatch.companies import received_as_subcontractor

    with snap.library:
        received = received_as_subcontractor(snap.catalog, family, f, policy)
    tables = {
        "by_year": Table("Obligations by fiscal year and awarding agency",
                         ["fiscal_year", "awarding_sub_agency_name", "federal_action_obligation",
                          "transactions", "awards"], by_year, snap.shown(by_year_sql, params),
                         loads=loads, sources=[
                             rows_url(fy=r["fiscal_year"], agency=r["awarding_sub_agency_code"],
                                      family=family["family_id"]) for r in by_year]),
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
                                largest, snap.shown(largest_sql, {**member_params,
                                                                  "limit": limit}),
                                loads=loads, sources=[rows_url(award=r["award_key"])
                                                      for r in largest]),
        "brands": Table("Brands named in its actions' descriptions (resold)",
                        ["brand", "federal_action_obligation", "transactions"], brands,
                        loads=loads, caveats=[BRAND_NOTE] if brands else [],
                        unavailable=brands_missing),
        # below the prime, apart from the totals above and never added to them
        "received_as_subcontractor": Table(
            "Received as a subcontractor (subawards; not in the obligations above)",
            received.columns, received.rows, received.sql, received.caveats,
            unavailable=None if received.rows else (
                received.caveats[0] if received.caveats and "no subaward file" in
                received.caveats[0] else "no subaward to this company in the store")),
    }
    return Page(
        f"{family['family_name']} — corporate family", "company.html", tables=tables,
        charts={"by_year": ch.by_year_and_series(by_year, "awarding_sub_agency_name")
                if by_year else None},
        facts={"family_id": family["family_id"], "family_name": family["family_name"],
               "family_source": family["family_source"], "fiscal_year": fy, "query": name,
               "federal_action_obligation": total, "members": len(members), "policy": policy,
               "subawards_received": received.meta.get("subaward_amount")},
        caveats=[FAMILY_NOTE] + ([BRAND_NOTE] if brands else []),
        loads=_load_info(snap, loads))


def _scope_facts_where(snap: Snapshot, where: str, params: dict[str, Any]) -> list[str]:
    """Ids of the loads whose rows match a WHERE text, oldest vintage first."""
    return _by_vintage(snap,
                       snap.rows(q.SCOPE_FACTS.format(where=where), params)[0]["loads"])


# ---- award ---------------------------------------------------------------------------------

def award(snap: Snapshot, award_id: str, policy: str = "collapse",
          total_policy: str = "keep") -> Page:
    """An award's actions over time, its ceiling, its vehicle and the vehicle's other orders.

    Per-transaction view: exact copies inside an API export are noise here, so the default
    policy collapses them (and says how many were dropped), as analyze.award does.
    """
    from contractwatch.analyze import order_vehicle
    from contractwatch.subcontracts import award_subawards
    from contractwatch.values.ids import PERMALINK
    from contractwatch.values.money import format_dollars

    key = award_id.strip().upper()
    if snap.designates_vehicle(key):  # vehicles.designates_vehicle, for every PIID at once
        return vehicle_page(snap, key)
    every = snap.rows(q.AWARD_ACTIONS, {"key": key})
    rows = [r for r in every if not (policy == "collapse" and r["is_copy"])]
    if not rows:
        raise LookupError(f"no award {award_id!r} in the store (give a PIID such as "
                          "70CDCR26FR0000024 or a generated id CONT_AWD_…)")
    running = Decimal("0")
    for r in rows:
        running += r["federal_action_obligation"] or Decimal("0")
        r["running_total"] = running
    keys = sorted({r["contract_award_unique_key"] for r in rows if r["contract_award_unique_key"]})
    latest = rows[-1]
    ceiling = latest["potential_total_value_of_award"]
    ceiling_source = "latest action (potential_total_value_of_award)" if ceiling is not None \
        else None
    detail = snap.award_detail(keys)
    if ceiling is None and detail and detail.get("base_and_all_options") is not None:
        ceiling = detail["base_and_all_options"]
        ceiling_source = f"USAspending award detail fetched {detail.get('fetched_at')}"
    parent, parent_agency = latest["parent_award_id_piid"], latest["parent_award_agency_id"]
    parent_key = f"CONT_IDV_{parent}_{parent_agency}" if parent and parent_agency else None
    notes = []
    if len(keys) > 1:
        notes.append(f"this PIID maps to {len(keys)} award keys (the recorded parent vehicle "
                     f"changed or the PIID is reused): {', '.join(keys)}")
    dropped = len(every) - len(rows)
    if dropped:
        kept_total = sum((r["federal_action_obligation"] or Decimal("0") for r in every),
                         start=Decimal("0"))
        notes.append(
            f"{dropped} exact {'copy' if dropped == 1 else 'copies'} of actions from API "
            f"exports {'is' if dropped == 1 else 'are'} not shown (paging noise) nor in "
            f"the running total; under policy 'keep', as in `top` and `search`, this "
            f"award's obligations are {format_dollars(kept_total)}")
    loads = _by_vintage(snap, [r["load_id"] for r in rows])
    siblings = Table("Sibling orders: other awards in the store under the same parent vehicle",
                     AWARD_COLUMNS, [])
    if parent:
        where, params = snap.scope(Filters(), total_policy)
        params.update(parent=parent, exclude=keys or [latest["award_id_piid"]],
                      piid=latest["award_id_piid"])
        sql = q.SIBLINGS.format(where=where)
        siblings.rows = sibling_orders(snap, where, params)
        siblings.sql = snap.shown(sql, params)
        siblings.sources = [rows_url(award=r["award_key"]) for r in siblings.rows]
        siblings.caveats = [f"awards whose latest action names {parent} as parent; obligations "
                            f"under duplicate policy '{total_policy}'; a vehicle's ceiling is "
                            "not any order's ceiling"]
    else:
        siblings.unavailable = "no parent vehicle recorded for this award"
    actions = Table("Actions (transactions) in date order, with the running total",
                    ["action_date", "fiscal_year", "modification_number",
                     "federal_action_obligation", "running_total",
                     "potential_total_value_of_award", "transaction_description",
                     "recipient_name", "source_file", "source_row", "vintage"], rows,
                    snap.shown(q.AWARD_ACTIONS, {"key": key}), loads=loads,
                    sources=[rows_url(award=award_id, load=r["load_id"], row=r["source_row"])
                             for r in rows])
    # the vehicle's figures are the same for each of its orders: looked up once
    on_vehicle = snap.look_up(("order_vehicle", parent_key or parent),
                              lambda catalog: order_vehicle(catalog, parent_key or parent))
    with snap.library:
        subs = award_subawards(snap.catalog, key, latest["award_id_piid"], running)
    if on_vehicle:
        notes.append("the order's own ceiling and its vehicle's ceiling are different figures, "
                     "shown side by side and never added")
    if subs["exceeds_prime_obligations"]:
        notes.append("the counted subawards of this award exceed its prime obligations: a "
                     "reporting problem of the prime's, shown as reported")
    tables = {"actions": actions, "siblings": siblings, **subaward_tables(subs)}
    facts = {"award_id_piid": latest["award_id_piid"], "award_keys": keys,
             "recipient_names": sorted({r["recipient_name"] for r in rows
                                        if r["recipient_name"]}),
             "agency": latest["awarding_sub_agency_name"], "actions": len(rows),
             "federal_action_obligation": running, "ceiling": ceiling,
             "ceiling_source": ceiling_source, "parent_award_id_piid": parent,
             "parent_award_key": parent_key,
             "parent_permalink": PERMALINK.format(key=parent_key) if parent_key else None,
             "usaspending_permalink": latest["usaspending_permalink"],
             "first_action_date": rows[0]["action_date"],
             "last_action_date": latest["action_date"], "policy": policy,
             "source_rows": rows_url(award=award_id), "vehicle": on_vehicle,
             "subawards_total": subs["total"]}
    return Page(
        f"Award {latest['award_id_piid']}", "award.html",
        tables=tables,
        charts={"timeline": ch.timeline(rows, ceiling)},
        facts=facts,
        caveats=notes + [
            f"per-action view under duplicate policy '{policy}' (exact copies inside an API "
            "export are paging noise for a timeline)",
            "ceiling = the award's own potential value from its latest action, never summed; "
            "its vehicle's ceiling is a different number"],
        loads=_load_info(snap, loads))


def sibling_orders(snap: Snapshot, where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows q.SIBLINGS gives, from the vehicle's orders listed once per snapshot (many
    orders share a vehicle; at 10M rows the query took 0.4–0.6 s per award page); the
    query itself when the list kept is too short to leave 100 after the exclusions."""
    kept = q.VEHICLE_ORDERS_KEPT
    orders = snap.rows_once(q.VEHICLE_ORDERS.format(where=where),
                            {**{k: params[k] for k in params if k not in ("exclude", "piid")},
                             "limit": kept})
    exclude = set(params["exclude"])
    rows = [r for r in orders if r["award_key"] not in exclude  # IS DISTINCT FROM: None too
            and r["award_id_piid"] != params["piid"]]
    if len(orders) == kept and len(rows) < q.SIBLINGS_SHOWN:
        return snap.rows(q.SIBLINGS.format(where=where), params)
    return rows[:q.SIBLINGS_SHOWN]


SUBAWARD_COLUMNS = ["subaward_number", "subawardee_name", "subaward_amount",
                    "subaward_action_date", "subaward_report_id",
                    "subaward_report_last_modified_date", "subaward_description"]


def subaward_tables(subs: dict[str, Any]) -> dict[str, Table]:
    """An award's subawards (subcontracts.award_subawards): counted ones, and re-filings."""
    from contractwatch.subcontracts import NOT_ADDED, RULE

    counted = Table("Subawards (below the prime, each counted once)", SUBAWARD_COLUMNS,
                    subs["subawards"], caveats=[f"{RULE}; {NOT_ADDED}"] if subs["subawards"]
                    else [])
    aside = Table("Re-filed subaward reports set aside (not counted)", SUBAWARD_COLUMNS,
                  subs["set_aside"], caveats=["earlier reports of a subaward counted above: "
                                              "each is the subaward's total as of its report, "
                                              "so adding them would count it again"]
                  if subs["set_aside"] else [])
    if not subs["subawards"]:
        counted.unavailable = "no subaward reported under this award in the store"
    return {"subawards": counted, "subawards_set_aside": aside}


def vehicle_page(snap: Snapshot, key: str) -> Page:
    """A vehicle (IDV): holder, type, its own ceiling, its orders and siblings (the library's
    vehicles.vehicle, as `contractwatch award <IDV>`)."""
    from contractwatch.vehicles import vehicle

    result = snap.look_up(("vehicle", key), lambda catalog: vehicle(catalog, key, "keep"))
    m = result.meta
    orders = Table("Orders placed under the vehicle (and under its child vehicles)",
                   ["level", "award_id_piid", "recipient_name", "obligated", "own_ceiling",
                    "first_action_date", "last_action_date", "actions", "award_key"],
                   result.rows, result.sql,
                   caveats=["each order's own ceiling, beside the vehicle's: never added up"],
                   sources=[rows_url(award=r["award_key"]) for r in result.rows])
    siblings = Table("Sibling vehicles of the same solicitation (a multiple-award program)",
                     ["vehicle_key", "holder", "ceiling", "source"], m["siblings"],
                     caveats=["each sibling's own ceiling, never added: a program's ceiling "
                              "is often repeated on every sibling"] if m["siblings"] else [])
    if not m["siblings"]:
        siblings.unavailable = ("no sibling vehicle in the store" if m["solicitation_identifier"]
                                else "solicitation unknown: siblings cannot be found")
    return Page(f"Vehicle {m['vehicle_piid']}", "vehicle.html",
                tables={"orders": orders, "siblings": siblings},
                facts={k: v for k, v in m.items() if k != "siblings"}
                | {"siblings": len(m["siblings"])},
                caveats=result.caveats)


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
    meaning: bool = False  # rank by meaning (meaning.py) instead of matching the phrase

    def filters(self) -> Filters:
        return Filters(agency=self.agency, fy=self.fy, recipient=self.recipient, psc=self.psc,
                       naics=self.naics, min_amount=self.min_amount, max_amount=self.max_amount)

    def params(self, **change: Any) -> dict[str, Any]:
        values = {"q": self.q, "agency": self.agency, "fy": self.fy,
                  "recipient": self.recipient, "psc": self.psc, "naics": self.naics,
                  "min": self.min_amount, "max": self.max_amount,
                  "sort": None if self.sort == "obligations" else self.sort,
                  "page": None if self.page == 1 else self.page,
                  "meaning": 1 if self.meaning else None}
        values.update(change)
        return {k: v for k, v in values.items() if v not in (None, "")}

    def url(self, path: str = "/search", **change: Any) -> str:
        return f"{path}?{urlencode(self.params(**change))}"


SEARCH_COLUMNS = ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                  "first_action_date", "last_action_date", "actions", "matching_actions",
                  "federal_action_obligation", "potential_total_value_of_award",
                  "matching_description", "parent_award_id_piid", "award_key"]


def search(snap: Snapshot, sq: SearchQuery, policy: str = "keep",
           per_page: int = SEARCH_PAGE) -> Page:
    """Awards with an action whose description contains a phrase, filtered, sorted, paged.

    One query answers the page and the count (a window over the matching awards).
    """
    page = Page("Search descriptions", "search.html", facts={"query": sq, "policy": policy})
    if not sq.q.strip():
        return page
    if sq.meaning:
        return search_by_meaning(snap, sq, page, policy, per_page)
    if sq.page < 1:
        raise ValueError("page must be 1 or more")
    if sq.sort not in q.SEARCH_ORDER:
        raise ValueError(f"sort must be one of {', '.join(q.SEARCH_ORDER)}")
    f = sq.filters()
    where, params = snap.scope(f, policy)
    params.update(q=sq.q.strip(), min=sq.min_amount, max=sq.max_amount, limit=per_page,
                  offset=(sq.page - 1) * per_page)
    text = q.SEARCH_RANKED if sq.sort in q.RANKED_ORDERS else q.SEARCH
    sql = text.format(where=where, order=q.SEARCH_ORDER[sq.sort])
    rows = snap.rows(sql, params)
    if rows:
        total = int(rows[0]["total_awards"])
    else:  # past the last page (or nothing matched): count on the first page
        first = snap.rows(sql, {**params, "limit": 1, "offset": 0})
        total = int(first[0]["total_awards"]) if first else 0
    t = Table(f"Awards whose descriptions contain {sq.q.strip()!r} — {f.describe()}",
              SEARCH_COLUMNS, rows, snap.shown(sql, params),
              sources=[rows_url(award=r["award_key"]) for r in rows])
    pages = max(1, -(-total // per_page))
    page.title = f"Search: {sq.q}"
    page.tables = {"results": t}
    page.caveats = _caveats(snap, f, policy)
    page.facts.update({"total_awards": total, "page": sq.page, "pages": pages,
                       "per_page": per_page, "describe": t.title,
                       "prev": sq.url(page=sq.page - 1 if sq.page > 2 else None)
                       if sq.page > 1 else None,
                       "next": sq.url(page=sq.page + 1) if sq.page < pages else None})
    return page


MEANING_COLUMNS = ["award_id_piid", "recipient_name", "awarding_sub_agency_name",
                   "federal_action_obligation", "score_fused", "score_meaning", "score_bm25",
                   "matched_passage", "passage_kind", "last_action_date", "award_key"]


def search_by_meaning(snap: Snapshot, sq: SearchQuery, page: Page, policy: str,
                      per_page: int) -> Page:
    """The library's search by meaning (the same Result as the CLI's and the notebook's):
    one page of the best-ranked awards, each with the passage that matched and its scores."""
    from contractwatch import meaning
    from contractwatch.extras import MissingExtra

    if sq.page != 1 or sq.sort != "obligations":
        raise ValueError("a search by meaning is one page ranked by its scores: page and "
                         "sort do not apply")
    try:
        with snap.library:
            result = meaning.search(snap.catalog, sq.q, sq.filters(), per_page, policy)
    except MissingExtra as exc:
        raise ValueError(str(exc)) from None
    t = Table(result.title, MEANING_COLUMNS, result.rows, result.sql,
              sources=[rows_url(award=r["award_key"]) for r in result.rows])
    page.title = f"Search by meaning: {sq.q}"
    page.tables = {"results": t}
    page.caveats = result.caveats
    page.facts.update({"total_awards": len(result.rows), "page": 1, "pages": 1,
                       "per_page": per_page, "describe": t.title, "prev": None, "next": None,
                       "meaning": True})
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


def source_rows(snap: Snapshot, params: dict[str, str], policy: str = "keep",
                offset: int = 0, limit: int = ROWS_PAGE) -> Page:
    """The current stored rows behind a figure, with the file and row each came from.

    Parameters narrow by agency, fiscal year, award, family and exact column values; the
    page's sum over every matching row is the figure the link came from.
    """
    f = Filters(agency=params.get("agency") or None,
                fy=int(params["fy"]) if params.get("fy") else None)
    described = [f.describe()] if f.agency or f.fy else []
    extra, values = [], {}
    for param, col in EXACT.items():
        if param in params:
            value = params[param]
            if value == "":
                extra.append(f"{col} IS NULL")
            else:
                extra.append(f"{col} = ${param}")
                values[param] = value
            described.append(f"{param} = {value!r}")
    if params.get("award"):
        values["award"] = params["award"].strip().upper()
        extra.append("(piid_upper = $award OR award_key_upper = $award)")
        described.append(f"award {values['award']}")
    if params.get("row"):
        values["row"] = int(params["row"])
        extra.append("source_row = $row")
        described.append(f"source row {params['row']}")
    join = ""
    if params.get("family"):
        snap.families()
        join = q.FAMILY_JOIN
        values["family"] = params["family"]
        extra.append("f.family_id = $family")
        described.append(f"family {params['family']}")
    if not described:
        raise ValueError("say which rows: give agency, fy, award, recipient_name or another "
                         "filter")
    where, bound = snap.scope(f, policy, extra)
    bound.update(values)
    summary = snap.rows(q.SCOPE_FACTS.replace("FROM web_rows", "FROM web_rows " + join)
                        .format(where=where), bound)[0]
    sql = q.SOURCE_ROWS.format(where=where, join=join)
    if limit:
        sql += " LIMIT $limit OFFSET $offset"
        bound.update(limit=limit, offset=offset)
    rows = snap.rows(sql, bound)
    catalog = snap.catalog
    loads = _by_vintage(catalog, summary["loads"])
    total, copies = int(summary["rows"]), int(summary["copies"])
    # every column of each row (canonical and kept as the file gave it), on a page of few
    # rows; on a longer page each row links to its own page
    every = []
    if limit and len(rows) <= EVERY_COLUMN_ROWS:
        found = snap.every_column([(r["load_id"], r["source_row"]) for r in rows])
        every = [{"load_id": r["load_id"], "source_row": r["source_row"],
                  "source_file": r["source_file"], "award_id_piid": r["award_id_piid"],
                  "action_date": r["action_date"],
                  **found.get((r["load_id"], r["source_row"]),
                              {"canonical": {}, "source": {}})} for r in rows]
    return Page(
        "Source rows: " + ", ".join(described), "rows.html",
        tables={"rows": Table("Stored rows (current state)", ROW_COLUMNS, rows,
                              snap.shown(sql, bound), loads=loads, sources=[
                                  rows_url(load=r["load_id"], row=r["source_row"])
                                  for r in rows] if len(rows) > EVERY_COLUMN_ROWS else [])},
        facts={"rows": total, "federal_action_obligation": summary["federal_action_obligation"]
               or Decimal("0"), "exact_copies": copies, "offset": offset, "limit": limit,
               "policy": policy, "params": params, "every_column": every,
               "every_column_rows": EVERY_COLUMN_ROWS,
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
