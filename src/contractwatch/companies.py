"""Analyses over resolved recipients: corporate families and brands named in descriptions.

Three views of the same money, always labelled: the prime recipient (as recorded, in
analyze.py), the corporate family (recipients resolved by contractwatch.resolve) and the brand
named in a description (an attribution, never added into the brand's own recipient total).

Resolving costs seconds (the name matcher), so it runs once per state of the data and is
stored with it: `<store>/resolve/families-<policy>/<version>/` holds the mapping, the scored
pairs and the evidence; `<store>/resolve/brands/<version>/` the brands named in each
distinct description. The version is a hash of the loads the result was computed from and
of the files that steer it (families, brands, judgements), so a new load or a new judgement
makes the next query compute it again; every other query reads it as a table.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from contractwatch import settings
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
from contractwatch.store import Catalog, resolve_dir, stored_folder, stored_version

KEY_COLUMNS = ["recipient_name", "recipient_uei", "recipient_duns", "recipient_parent_uei",
               "recipient_parent_duns", "recipient_parent_name"]
SEP = "\x1f"
BRAND_NOTE = (
    "brand view: money of actions whose description names the brand, paid to the prime "
    "recipients shown (often resellers); it is not the brand's own prime-recipient total, and "
    "an action naming two brands appears under both, so brand totals must not be added up"
)

FAMILY_NOTE = ("family view: recipients grouped by parent fields in the data, the curated "
               "families file and the name matcher (see `contractwatch resolve explain`)")


def judgements_path(catalog: Catalog) -> Path:
    return catalog.store.root / "resolve" / "judgements.csv"


def families_paths() -> list[str]:
    """User families files (CONTRACTWATCH_FAMILIES, ':'-separated) added to the shipped set."""
    return settings.families_files()


def families_folder(catalog: Catalog, policy: str = "keep") -> Path:
    """The stored resolution of the current state's recipients, computed when missing."""
    key = f"families-folder:{policy}"
    if key not in catalog._cache:
        shipped = resources.files("contractwatch.data").joinpath("families.yaml")
        files = [Path(str(shipped)), *map(Path, families_paths()), judgements_path(catalog)]
        version = stored_version(catalog, policy, files=files)
        catalog._cache[key] = stored_folder(
            resolve_dir(catalog) / f"families-{policy}", version,
            lambda folder: _write_resolution(catalog, policy, folder))
    return catalog._cache[key]


def _write_resolution(catalog: Catalog, policy: str, folder: Path) -> None:
    import logging

    import pyarrow as pa
    import pyarrow.parquet as pq

    from contractwatch.resolve import INPUT_COLUMNS, resolve
    from contractwatch.resolve.names import match_key

    logging.getLogger("splink").setLevel(logging.WARNING)
    t = catalog.transactions(policy)
    distinct = catalog.con.to_pyarrow(t.select(*INPUT_COLUMNS).distinct())
    res = resolve(distinct, families_paths=families_paths(),
                  judgements_path=judgements_path(catalog), engine=catalog.engine)
    mapping = res.mapping
    keys = [_row_key([r[c] for c in KEY_COLUMNS]) for r in mapping.select(KEY_COLUMNS)
            .to_pylist()]
    # the name as `resolve explain` compares it, so a look-up reads only its own rows
    match_keys = [match_key(n) for n in mapping.column("recipient_name").to_pylist()]
    pq.write_table(mapping.append_column("_rk", pa.array(keys, pa.string()))
                   .append_column("_mk", pa.array(match_keys, pa.string())),
                   folder / "mapping.parquet")
    if res.scores is not None:
        pq.write_table(res.scores, folder / "scores.parquet")
    (folder / "evidence.json").write_text(json.dumps({
        "org_names": res.org_names, "evidence": res.evidence, "threshold": res.threshold,
    }), encoding="utf-8")


def resolution(catalog: Catalog, policy: str = "keep") -> Any:
    """The stored resolution of the current state's recipients (see `families_folder`),
    its mapping and scored pairs as Arrow tables."""
    import pyarrow.parquet as pq

    return _read_resolution(catalog, policy, "arrow",
                            lambda path: pq.read_table(path).drop_columns(
                                [c for c in HIDDEN if c in pq.read_schema(path).names]))


def resolution_rows(catalog: Catalog, policy: str = "keep") -> Any:
    """`resolution` with the mapping and scored pairs as rows, read by DuckDB: a command
    that only looks names up needs no Arrow."""
    return _read_resolution(catalog, policy, "rows",
                            lambda path: _parquet_rows(catalog, path))


def _read_resolution(catalog: Catalog, policy: str, kind: str,
                     read: Callable[[Path], Any]) -> Any:
    key = f"resolution:{policy}:{kind}"
    if key in catalog._cache:
        return catalog._cache[key]
    from contractwatch.resolve import Resolution

    folder = families_folder(catalog, policy)
    meta = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    scores = folder / "scores.parquet"
    res = Resolution(
        mapping=read(folder / "mapping.parquet"),
        scores=read(scores) if scores.exists() else None,
        org_names=meta["org_names"], evidence=meta["evidence"], threshold=meta["threshold"])
    catalog._cache[key] = res
    return res


HIDDEN = ("_rk", "_mk")  # the stored mapping's look-up keys, not part of a resolution


def _parquet_rows(catalog: Catalog, path: Path, where: str = "") -> list[dict[str, Any]]:
    rows = catalog.fetch(f"SELECT * FROM read_parquet('{_quoted(path)}') {where}")
    for row in rows:
        for hidden in HIDDEN:
            row.pop(hidden, None)
    return rows


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def brands_folder(catalog: Catalog) -> Path:
    """The brands named in each distinct description of every stored row, computed when
    missing (a description names the same brands in any scope, so one table serves all)."""
    if "brands-folder" not in catalog._cache:
        shipped = resources.files("contractwatch.data").joinpath("brands.yaml")
        version = stored_version(catalog, files=[Path(str(shipped))])
        catalog._cache["brands-folder"] = stored_folder(
            resolve_dir(catalog) / "brands", version, lambda folder: _write_brands(catalog, folder))
    return catalog._cache["brands-folder"]


def _write_brands(catalog: Catalog, folder: Path) -> None:
    import pyarrow.parquet as pq

    from contractwatch.resolve import detect_brands
    from contractwatch.resolve.brands import load_brands

    if catalog.engine == "duckdb":  # cw_rows is every stored row (transactions_all)
        catalog.raw_tables()
        descriptions = [r["d"] for r in catalog.fetch(
            "SELECT DISTINCT transaction_description AS d FROM cw_rows")]
    else:
        t = catalog.transactions_all()
        descriptions = catalog.con.to_pyarrow(
            t.select("transaction_description").distinct()).column(0).to_pylist()
    rules = load_brands()
    found = brand_candidates(sorted(d for d in descriptions if d is not None), rules)
    pq.write_table(detect_brands(found, rules), folder / "brands.parquet")


def brand_candidates(descriptions: list[str], rules: list[Any]) -> list[str]:
    """The descriptions that any brand pattern matches at all: the only ones that can name a
    brand (exclusions only ever take hits away). One combined regex search per description
    instead of every rule's, which makes brand detection over a whole store ~20x cheaper."""
    import re

    try:
        anything = re.compile("|".join(f"(?:{p.pattern})" for r in rules for p in r.patterns))
    except re.error:  # a pattern that cannot be combined: check every description
        return descriptions
    space = re.compile(r"\s+")
    return [d for d in descriptions if anything.search(space.sub(" ", d.upper()))]


def attach_families(catalog: Catalog, policy: str) -> str:
    """The stored family mapping as the table the family queries name."""
    name = f"cw_family_map_{policy}"
    catalog.attach_parquet(name, [str(families_folder(catalog, policy) / "mapping.parquet")])
    return name


def attach_brands(catalog: Catalog) -> str:
    catalog.attach_parquet("cw_brands", [str(brands_folder(catalog) / "brands.parquet")])
    return "cw_brands"


def _row_key(values: list[Any]) -> str:
    return SEP.join("" if v is None else str(v) for v in values)


def _key_expr(t: Any) -> Any:
    parts = [t[c].cast("string").fill_null("") for c in KEY_COLUMNS]
    out = parts[0]
    for p in parts[1:]:
        out = out + SEP + p
    return out


def with_families(catalog: Catalog, t: Any, policy: str = "keep") -> Any:
    """Transactions with organisation and family columns joined on."""
    added = ["organisation_id", "organisation_name", "family_id", "family_name",
             "family_source"]
    m = catalog.table(attach_families(catalog, policy)).select("_rk", *added)
    # the columns by name, not drop(): its order varies per process, and so would the SQL
    joined = t.mutate(_rk=_key_expr(t)).left_join(m, "_rk")
    return joined.select(*t.columns, *added)


def with_brands(catalog: Catalog, t: Any) -> Any:
    """One row per (transaction, brand named in its description); others dropped."""
    return t.join(catalog.table(attach_brands(catalog)), "transaction_description")


def top_by_family_or_brand(catalog: Catalog, by: str, f: Filters, limit: int,
                           policy: str = "keep") -> Result:
    if by == "family":
        attach_families(catalog, policy)
        cols = ["family_name", "federal_action_obligation", "transactions", "awards", "members",
                "family_source", "family_id"]
        title = f"Obligations by corporate family — {f.describe()}"
        notes = [FAMILY_NOTE]
    else:
        attach_brands(catalog)
        cols = ["brand", "federal_action_obligation", "transactions", "awards",
                "prime_recipients", "shared_with_other_brands", "brand_id"]
        title = f"Obligations named in description, by brand — {f.describe()}"
        notes = [BRAND_NOTE]
    rows, sql = run_query(catalog, f"top:{by}:{policy}", {**filter_values(f), "limit": limit},
                          lambda v: _top_expr(catalog, by, policy, v))
    facts = {}
    if by == "family" and rows:  # families partition the money: their sum is the scope's
        from contractwatch.analyze import top

        facts["scope_total_obligations"] = top(catalog, "fy", f, 0, policy).meta[
            "total_obligations"]
    return Result(title=title, columns=cols, rows=rows, sql=sql,
                  caveats=notes + caveats(catalog, f, policy),
                  meta={"by": by, "policy": policy}, facts=facts)


def _top_expr(catalog: Catalog, by: str, policy: str, v: dict[str, Any]) -> Any:
    from contractwatch import queries

    scope = apply_values(catalog.transactions(policy), v)
    if by == "family":
        t = with_families(catalog, scope, policy)
        expr = t.group_by(["family_id", "family_name"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(),
            awards=award_key(t).nunique(),
            members=t.recipient_name.nunique(),
            family_source=t.family_source.arbitrary(),
        )
        first = "family_name"
    else:
        t = with_brands(catalog, scope)
        expr = t.group_by(["brand_id", "brand"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(),
            awards=award_key(t).nunique(),
            prime_recipients=t.recipient_name.nunique(),
            shared_with_other_brands=(t.brands_in_description > 1).sum(),
        )
        first = "brand"
    expr = expr.order_by([expr.federal_action_obligation.desc(), expr[first]])
    limit = v["limit"]
    if queries.is_placeholder(limit):
        return expr.limit(queries.LIMIT_MARK)
    return expr.limit(limit) if limit else expr


def family_totals(catalog: Catalog, policy: str = "keep") -> dict[str, Any]:
    """Obligations per family over the whole store (cached): they rank look-up candidates."""
    key = f"family_totals:{policy}"
    if key not in catalog._cache:
        attach_families(catalog, policy)  # the ranking by family, every family, no filter
        rows, _ = run_query(catalog, f"top:family:{policy}",
                            {**filter_values(Filters()), "limit": 0},
                            lambda v: _top_expr(catalog, "family", policy, v))
        catalog._cache[key] = {r["family_id"]: r["federal_action_obligation"] for r in rows}
    return catalog._cache[key]


def family_candidates(catalog: Catalog, policy: str = "keep") -> list[Any]:
    """Every family as a look-up candidate: its name and its brands' names win outright;
    its members' and organisations' spellings are matched by words. Stored beside the
    resolution they come from (with the whole store's family ranking as their weights), so
    a look-up reads one small file instead of ranking every family."""
    from decimal import Decimal

    from contractwatch.lookup import Candidate

    cache_key = f"family_candidates:{policy}"
    if cache_key in catalog._cache:
        return catalog._cache[cache_key]
    folder = candidates_folder(catalog, policy)
    stored = json.loads((folder / "candidates.json").read_text(encoding="utf-8"))
    catalog._cache[cache_key] = [
        Candidate(key=c["key"], label=c["label"], names=c["names"],
                  weight=Decimal(c["weight"]) if c["weight"] is not None else 0,
                  exact=c["exact"], source=c["source"]) for c in stored]
    return catalog._cache[cache_key]


def candidates_folder(catalog: Catalog, policy: str = "keep") -> Path:
    """The stored look-up candidates: a version per resolution and brands file."""
    shipped = resources.files("contractwatch.data").joinpath("brands.yaml")
    version = stored_version(catalog, policy, families_folder(catalog, policy).name,
                             files=[Path(str(shipped))])
    return stored_folder(resolve_dir(catalog) / f"candidates-{policy}", version,
                         lambda folder: _write_candidates(catalog, policy, folder))


def _write_candidates(catalog: Catalog, policy: str, folder: Path) -> None:
    rows = [{"key": c.key, "label": c.label, "names": c.names,
             "weight": None if c.weight is None else str(c.weight), "exact": c.exact,
             "source": c.source} for c in _compute_candidates(catalog, policy)]
    (folder / "candidates.json").write_text(json.dumps(rows), encoding="utf-8")


def _compute_candidates(catalog: Catalog, policy: str) -> list[Any]:
    from contractwatch.lookup import Candidate
    from contractwatch.resolve.brands import load_brands

    brands: dict[str, list[str]] = {}
    for rule in load_brands():
        if rule.family_id:
            brands.setdefault(rule.family_id, []).extend([rule.brand, rule.brand_id])
    totals = family_totals(catalog, policy)
    families: dict[str, Any] = {}
    for r in resolution_rows(catalog, policy).mapping:
        fid = r["family_id"]
        c = families.get(fid)
        if c is None:
            c = families[fid] = Candidate(
                key=fid, label=r["family_name"] or fid, names=[r["family_name"] or ""],
                weight=totals.get(fid) or 0,
                exact=[r["family_name"] or "", *brands.get(fid.split(":", 1)[-1], [])],
                source=r["family_source"])
        for name in (r["recipient_name"], r["organisation_name"]):
            if name and name not in c.names:
                c.names.append(name)
    return list(families.values())


def find_family(catalog: Catalog, name: str, policy: str = "keep") -> dict[str, Any]:
    """The family a typed name means: the exact family, brand or id; else the family whose
    names match by whole words, then prefixes, then spelling (see contractwatch.lookup).
    Ambiguous names are refused with the candidates ranked by their obligations."""
    from contractwatch.lookup import choose, rank
    from contractwatch.values.money import format_dollars

    if not name.strip():
        raise LookupError("give a company name")
    matches = rank(name, family_candidates(catalog, policy))
    chosen, others = choose(matches)
    if chosen is None and not others:
        raise LookupError(f"no company {name!r} in the store (names are matched by whole "
                          "words, then word beginnings, then similar spelling)")
    if chosen is None:
        listed = "; ".join(f"{m.candidate.label} ({m.candidate.key}, "
                           f"{format_dollars(m.candidate.weight)})" for m in others[:8])
        more = f" and {len(others) - 8} more" if len(others) > 8 else ""
        raise LookupError(f"{name!r} matches {len(others)} families equally well: {listed}"
                          f"{more}. Give a fuller name or the family id")
    c = chosen.candidate
    return {"family_id": c.key, "family_name": c.label,
            "family_source": c.source,
            "also_matched": [m.candidate.label for m in others[:5]]}


def company(catalog: Catalog, name: str, filters: Filters | None = None, limit: int = 10,
            policy: str = "keep") -> Result:
    """A corporate family: members, totals by fiscal year and agency, largest awards, brands."""
    f = filters or Filters()
    family = find_family(catalog, name, policy)
    attach_families(catalog, policy)
    attach_brands(catalog)
    values = {**filter_values(f), "key": family["family_id"], "limit": limit}
    parts = _company_parts(catalog, policy, values)
    rows, sql = parts["by_year"]
    member_rows = parts["members"][0]
    brand_rows = parts["brands"][0]
    largest_rows = parts["largest"][0]
    total = sum((r["federal_action_obligation"] for r in rows), start=type(
        rows[0]["federal_action_obligation"])(0)) if rows else 0
    received = received_as_subcontractor(catalog, family, f, policy)
    return Result(
        title=f"{family['family_name']} — corporate family ({family['family_source']}) — "
              f"{f.describe()}",
        columns=["fiscal_year", "awarding_sub_agency_name", "federal_action_obligation",
                 "transactions", "awards"],
        rows=rows, sql=sql,
        caveats=[*_also_matched(name, family), FAMILY_NOTE, *([BRAND_NOTE] if brand_rows else []),
                 *caveats(catalog, f, policy)],
        meta={**family, "members": member_rows, "largest_awards": largest_rows,
              "brands_resold": brand_rows, "federal_action_obligation": total},
        facts={"family_name": family["family_name"], "family_id": family["family_id"],
               "family_source": family["family_source"], "scope_total_obligations": total,
               # below the prime, never added to the total above
               **({"subawards_received": received.meta["subaward_amount"]}
                  if received.rows else {})},
        parts={
            "members": Result(f"{family['family_name']}: members (prime recipients as "
                              "recorded)", ["recipient_name", "federal_action_obligation",
                                            "transactions", "family_source"], member_rows),
            "largest_awards": Result("Largest awards", [
                "award_id_piid", "recipient_name", "federal_action_obligation",
                "potential_total_value_of_award", "last_action_date"], largest_rows),
            "brands_resold": Result("Brands named in its descriptions (resold or supplied)",
                                    ["brand", "federal_action_obligation", "transactions"],
                                    brand_rows),
            "received_as_subcontractor": received},
    )


def received_as_subcontractor(catalog: Catalog, family: dict[str, Any], f: Filters,
                              policy: str = "keep") -> Result:
    """Money the family (`find_family`'s answer) received as a subcontractor, apart from its
    prime money (subcontracts.received_expr)."""
    from contractwatch.subcontracts import received_result, set_aside

    name = family["family_name"]
    if not catalog.subaward_files:
        return received_result(name, [], None, 0, False)
    attach_families(catalog, policy)
    values = {**filter_values(f), "key": family["family_id"]}
    rows, sql = run_query(catalog, f"company_subawards:{policy}", values,
                          lambda v: _received_expr(catalog, policy, v))
    return received_result(name, rows, sql, set_aside(catalog, f), True)


def _received_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """The family's members over the whole store (UEIs and recorded names) matched against
    the subawardees of the scope's counted subawards (subcontracts.received_expr)."""
    from contractwatch.subcontracts import received_expr

    t = with_families(catalog, catalog.transactions(policy), policy)
    members = t.filter(t.family_id == v["key"]).select("recipient_uei", "recipient_name")
    return received_expr(catalog, members, v)


def _also_matched(name: str, family: dict[str, Any]) -> list[str]:
    if not family.get("also_matched"):
        return []
    return [f"{name!r} is read as {family['family_name']}, the largest of the families it "
            f"matches; also matched: {'; '.join(family['also_matched'])}"]


COMPANY_PARTS = ("by_year", "members", "largest", "brands")
COMPANY_ROWS = "cw_company_rows"  # the family's rows in scope, read once per `company`
# the columns the parts read (awards() and the brands' join among them), nothing wider:
# the rows of a family lie all over the store, so each column more is read from every part
COMPANY_COLUMNS = (
    "contract_award_unique_key", "award_id_piid", "modification_number", "transaction_number",
    "action_date", "fiscal_year", "awarding_sub_agency_code", "awarding_sub_agency_name",
    "recipient_name", "recipient_uei", "parent_award_id_piid", "parent_award_agency_id",
    "federal_action_obligation", "potential_total_value_of_award", "transaction_description",
    "usaspending_permalink", "organisation_id", "family_id", "family_source")


def _company_parts(catalog: Catalog, policy: str, values: dict[str, Any]
                   ) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """Each part of `company`. On DuckDB the family's rows in scope are read from the store
    once, into a temporary table the parts' templates read (four passes over every stored
    row cost seconds at ten million rows); elsewhere each part is one Ibis expression."""
    from contractwatch.analyze import template_sql

    if values.get("purpose") is not None:  # the stored tags the purpose filter joins
        from contractwatch.purposes import attach_tags

        attach_tags(catalog)
    sql = template_sql(catalog, f"company_rows:{policy}", values)
    if sql is None:
        return {part: run_query(catalog, f"company_{part}:{policy}", values,
                                lambda v, part=part: _company_expr(
                                    catalog, part, policy, v, _company_rows_expr(
                                        catalog, policy, v)), precompiled=False)
                for part in COMPANY_PARTS}
    read = f"CREATE OR REPLACE TEMP TABLE {COMPANY_ROWS} AS {sql}"
    catalog.duck.execute(read)
    try:
        parts = {part: run_query(catalog, f"company_{part}:{policy}", values,
                                 lambda v: None) for part in COMPANY_PARTS}
        # the SQL shown is the SQL that ran: the read of the rows, then the part's query
        return {part: (rows, f"{read};\n{part_sql}") for part, (rows, part_sql)
                in parts.items()}
    finally:
        catalog.duck.execute(f"DROP TABLE IF EXISTS {COMPANY_ROWS}")


def _company_rows_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """The rows in scope under a name the family `v["key"]`'s mapping holds, with their
    family columns (only those rows can join the family: one column compared first, so the
    six-column join key is built for them, not for the whole store)."""
    scope = apply_values(catalog.transactions(policy), v)
    m = catalog.table(attach_families(catalog, policy))
    spelled = m.filter(m.family_id == v["key"]).select(name=m.recipient_name.fill_null(""))
    scope = scope.filter(scope.recipient_name.fill_null("").isin(spelled.name))
    return with_families(catalog, scope, policy).select(*COMPANY_COLUMNS)


def _company_expr(catalog: Catalog, part: str, policy: str, v: dict[str, Any],
                  rows: Any) -> Any:
    """One part of `company` for the family `v["key"]` from `rows` (`_company_rows_expr`,
    or the table it was read into). Its members are the recipient names of the family's
    rows in scope; the largest awards and brands count every row in scope under those
    names."""
    from contractwatch import queries

    scope = rows
    t = scope.filter(scope.family_id == v["key"])
    if part == "by_year":
        return t.group_by(["fiscal_year", "awarding_sub_agency_code",
                           "awarding_sub_agency_name"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(), awards=award_key(t).nunique(),
        ).order_by(["fiscal_year", "awarding_sub_agency_code"])
    if part == "members":
        members = t.group_by(["recipient_name", "organisation_id", "family_source"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(),
        )
        return members.order_by([members.federal_action_obligation.desc(),
                                 members.recipient_name, members.organisation_id])
    names = t.filter(t.recipient_name.notnull()).select("recipient_name").distinct()
    member_scope = scope.semi_join(names, "recipient_name")
    if part == "largest":
        largest = awards(catalog, policy, member_scope)
        largest = largest.order_by([largest.federal_action_obligation.desc(),
                                    largest.award_key])
        limit = v["limit"]
        if queries.is_placeholder(limit):
            return largest.limit(queries.LIMIT_MARK)
        return largest.limit(limit) if limit else largest
    bt = with_brands(catalog, member_scope)
    brands = bt.group_by(["brand_id", "brand"]).aggregate(
        federal_action_obligation=bt.federal_action_obligation.sum(),
        transactions=bt.count(),
    )
    return brands.order_by([brands.federal_action_obligation.desc(), brands.brand_id])


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The family, brand and company queries as templates (see queries.py)."""
    for policy in ("keep", "collapse"):
        for by in ("family", "brand"):
            yield f"top:{by}:{policy}", _top_expr(catalog, by, policy, p)
        rows = _company_rows_expr(catalog, policy, p)
        yield f"company_rows:{policy}", rows
        # the parts read the rows' table (an empty one of the same columns, to compile)
        catalog.con.create_table(COMPANY_ROWS, schema=rows.schema(), temp=True,
                                 overwrite=True)
        catalog._cache.pop(COMPANY_ROWS, None)
        for part in COMPANY_PARTS:
            yield f"company_{part}:{policy}", _company_expr(catalog, part, policy, p,
                                                            catalog.table(COMPANY_ROWS))
        yield f"company_subawards:{policy}", _received_expr(catalog, policy, p)


def explain_name(catalog: Catalog, name: str, policy: str = "keep") -> dict[str, Any]:
    """Why `name` sits in its family. Reads only the rows of that name (by its stored match
    key) and the scored pairs of their organisations: the same answer as explaining over
    the whole resolution, without comparing every stored name in Python."""
    from contractwatch import queries
    from contractwatch.resolve import Resolution, explain
    from contractwatch.resolve.names import match_key

    folder = families_folder(catalog, policy)
    meta = json.loads((folder / "evidence.json").read_text(encoding="utf-8"))
    mapping = _parquet_rows(catalog, folder / "mapping.parquet",
                            f"WHERE _mk = {queries.sql_literal(match_key(name))}")
    scores = None
    if (folder / "scores.parquet").exists():
        ids = ", ".join(queries.sql_literal(r["organisation_id"]) for r in mapping) or "NULL"
        scores = _parquet_rows(catalog, folder / "scores.parquet",
                               f"WHERE unique_id_l IN ({ids}) OR unique_id_r IN ({ids})")
    out = explain(Resolution(mapping=mapping, scores=scores, org_names=meta["org_names"],
                             evidence=meta["evidence"], threshold=meta["threshold"]), name)
    if not out["organisations"]:
        raise LookupError(f"no recipient named {name!r} in the store")
    return out


def explanation(found: dict[str, Any]) -> Result:
    """`explain_name`'s answer as a table: one row per link or scored pair of each
    organisation the name belongs to."""
    rows = []
    for org in found["organisations"]:
        base = {c: org[c] for c in ("organisation_name", "family_name", "family_source",
                                    "family_id")}
        for link in org["links"] or ["(no link: a family of its own)"]:
            rows.append({**base, "evidence_kind": "link", "evidence": link})
        for pair in org["scored_pairs"]:
            verdict = "merged" if pair["merged"] else "kept apart"
            rows.append({**base, "evidence_kind": f"scored pair, {verdict}",
                         "other_name": pair["other_name"],
                         "match_probability": pair["match_probability"],
                         "evidence": pair["evidence"]})
    return Result(
        title=f"Why {found['query']!r} is grouped as it is",
        columns=["organisation_name", "family_name", "evidence_kind", "evidence",
                 "other_name", "match_probability", "family_source", "family_id"],
        rows=rows, caveats=[FAMILY_NOTE], meta={"explained": found})


def review(catalog: Catalog, out: Path, policy: str = "keep") -> int:
    """Write uncertain pairs (not yet judged) to a CSV for people to decide."""
    from contractwatch.resolve import review_pairs
    from contractwatch.resolve.judgements import export_review

    pairs = review_pairs(resolution(catalog, policy), judgements_path=judgements_path(catalog))
    return export_review(pairs, out)


def import_decisions(catalog: Catalog, review_csv: Path, decided_by: str = "") -> int:
    """Store the judgements filled into a review CSV; every later run respects them."""
    from contractwatch.resolve.judgements import import_review

    path = judgements_path(catalog)
    path.parent.mkdir(parents=True, exist_ok=True)
    return import_review(review_csv, path, decided_by=decided_by)
