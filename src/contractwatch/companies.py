"""Analyses over resolved recipients: corporate families and brands named in descriptions.

Three views of the same money, always labelled: the prime recipient (as recorded, in
analyze.py), the corporate family (recipients resolved by contractwatch.resolve) and the brand
named in a description (an attribution, never added into the brand's own recipient total).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from contractwatch.analyze import Filters, Result, _rows, apply_filters, award_key, caveats
from contractwatch.store import Catalog

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
    value = os.environ.get("CONTRACTWATCH_FAMILIES", "")
    return [p for p in value.split(os.pathsep) if p]


def resolution(catalog: Catalog, policy: str = "keep") -> Any:
    """Resolve the distinct recipients of the current state (cached on the catalog)."""
    key = f"resolution:{policy}"
    if key in catalog._cache:
        return catalog._cache[key]
    import logging

    from contractwatch.resolve import INPUT_COLUMNS, resolve

    logging.getLogger("splink").setLevel(logging.WARNING)
    t = catalog.transactions(policy)
    distinct = catalog.con.to_pyarrow(t.select(*INPUT_COLUMNS).distinct())
    res = resolve(distinct, families_paths=families_paths(),
                  judgements_path=judgements_path(catalog), engine=catalog.engine)
    catalog._cache[key] = res
    return res


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
    import pyarrow as pa

    name = f"cw_family_map_{policy}"
    if name not in catalog._cache:
        mapping = resolution(catalog, policy).mapping
        keys = [_row_key([r[c] for c in KEY_COLUMNS]) for r in mapping.select(KEY_COLUMNS)
                .to_pylist()]
        table = pa.table({
            "_rk": keys,
            "organisation_id": mapping.column("organisation_id"),
            "organisation_name": mapping.column("organisation_name"),
            "family_id": mapping.column("family_id"),
            "family_name": mapping.column("family_name"),
            "family_source": mapping.column("family_source"),
        })
        catalog._cache[name] = catalog._register_arrow(name, table)
    m = catalog._cache[name]
    t = t.mutate(_rk=_key_expr(t))
    return t.left_join(m, "_rk").drop("_rk", "_rk_right")


def with_brands(catalog: Catalog, t: Any) -> Any:
    """One row per (transaction, brand named in its description); others dropped."""
    from contractwatch.resolve import detect_brands

    descriptions = catalog.con.to_pyarrow(
        t.select("transaction_description").distinct()).column(0).to_pylist()
    brands = detect_brands(descriptions)
    name = f"cw_brands_{len(catalog._cache)}"
    table = catalog._register_arrow(name, brands)
    return t.join(table, "transaction_description")


def top_by_family_or_brand(catalog: Catalog, by: str, f: Filters, limit: int,
                           policy: str = "keep") -> Result:
    scope = apply_filters(catalog.transactions(policy), f)
    if by == "family":
        t = with_families(catalog, scope, policy)
        expr = t.group_by(["family_id", "family_name"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(),
            awards=award_key(t).nunique(),
            members=t.recipient_name.nunique(),
            family_source=t.family_source.arbitrary(),
        )
        cols = ["family_name", "federal_action_obligation", "transactions", "awards", "members",
                "family_source", "family_id"]
        title = f"Obligations by corporate family — {f.describe()}"
        notes = [FAMILY_NOTE]
    else:
        t = with_brands(catalog, scope)
        expr = t.group_by(["brand_id", "brand"]).aggregate(
            federal_action_obligation=t.federal_action_obligation.sum(),
            transactions=t.count(),
            awards=award_key(t).nunique(),
            prime_recipients=t.recipient_name.nunique(),
            shared_with_other_brands=(t.brands_in_description > 1).sum(),
        )
        cols = ["brand", "federal_action_obligation", "transactions", "awards",
                "prime_recipients", "shared_with_other_brands", "brand_id"]
        title = f"Obligations named in description, by brand — {f.describe()}"
        notes = [BRAND_NOTE]
    if by == "family":  # families partition the money: their sum is the scope's total
        expr = expr.mutate(_scope_total=expr.federal_action_obligation.sum().over())
    expr = expr.order_by([expr.federal_action_obligation.desc(), expr[cols[0]]])
    if limit:
        expr = expr.limit(limit)
    rows = _rows(catalog, expr)
    facts = {"scope_total_obligations": rows[0].pop("_scope_total")} if rows and \
        by == "family" else {}
    for row in rows:
        row.pop("_scope_total", None)
    return Result(title=title, columns=cols, rows=rows, sql=catalog.to_sql(expr),
                  caveats=notes + caveats(catalog, f, policy),
                  meta={"by": by, "policy": policy}, facts=facts)


def family_totals(catalog: Catalog, policy: str = "keep") -> dict[str, Any]:
    """Obligations per family over the whole store (cached): they rank look-up candidates."""
    key = f"family_totals:{policy}"
    if key not in catalog._cache:
        t = with_families(catalog, catalog.transactions(policy), policy)
        expr = t.group_by("family_id").aggregate(total=t.federal_action_obligation.sum())
        catalog._cache[key] = {r["family_id"]: r["total"] for r in _rows(catalog, expr)}
    return catalog._cache[key]


def family_candidates(catalog: Catalog, policy: str = "keep") -> list[Any]:
    """Every family as a look-up candidate: its name and its brands' names win outright;
    its members' and organisations' spellings are matched by words."""
    from contractwatch.lookup import Candidate
    from contractwatch.resolve.brands import load_brands

    cache_key = f"family_candidates:{policy}"
    if cache_key in catalog._cache:
        return catalog._cache[cache_key]
    brands: dict[str, list[str]] = {}
    for rule in load_brands():
        if rule.family_id:
            brands.setdefault(rule.family_id, []).extend([rule.brand, rule.brand_id])
    totals = family_totals(catalog, policy)
    families: dict[str, Any] = {}
    for r in resolution(catalog, policy).mapping.to_pylist():
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
    catalog._cache[cache_key] = list(families.values())
    return catalog._cache[cache_key]


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
    from contractwatch.analyze import awards

    f = filters or Filters()
    family = find_family(catalog, name, policy)
    scope = apply_filters(catalog.transactions(policy), f)
    t = with_families(catalog, scope, policy)
    t = t.filter(t.family_id == family["family_id"])
    by_year = t.group_by(["fiscal_year", "awarding_sub_agency_code",
                          "awarding_sub_agency_name"]).aggregate(
        federal_action_obligation=t.federal_action_obligation.sum(),
        transactions=t.count(), awards=award_key(t).nunique(),
    ).order_by(["fiscal_year", "awarding_sub_agency_code"])
    members = t.group_by(["recipient_name", "organisation_id", "family_source"]).aggregate(
        federal_action_obligation=t.federal_action_obligation.sum(), transactions=t.count(),
    ).order_by(lambda x: x.federal_action_obligation.desc())
    member_rows = _rows(catalog, members)
    names = [m["recipient_name"] for m in member_rows]
    base = catalog.transactions(policy)
    member_scope = apply_filters(base, f).filter(base.recipient_name.isin(names)) if names \
        else apply_filters(base, f).filter(base.recipient_name.isnull() & False)
    largest = awards(catalog, policy, member_scope)
    largest = largest.order_by(largest.federal_action_obligation.desc()).limit(limit)
    brand_rows: list[dict[str, Any]] = []
    if names:
        bt = with_brands(catalog, member_scope)
        brands = bt.group_by(["brand_id", "brand"]).aggregate(
            federal_action_obligation=bt.federal_action_obligation.sum(),
            transactions=bt.count(),
        ).order_by(lambda x: x.federal_action_obligation.desc())
        brand_rows = _rows(catalog, brands)
    rows = _rows(catalog, by_year)
    largest_rows = _rows(catalog, largest)
    total = sum((r["federal_action_obligation"] for r in rows), start=type(
        rows[0]["federal_action_obligation"])(0)) if rows else 0
    return Result(
        title=f"{family['family_name']} — corporate family ({family['family_source']}) — "
              f"{f.describe()}",
        columns=["fiscal_year", "awarding_sub_agency_name", "federal_action_obligation",
                 "transactions", "awards"],
        rows=rows, sql=catalog.to_sql(by_year),
        caveats=[*_also_matched(name, family), FAMILY_NOTE, *([BRAND_NOTE] if brand_rows else []),
                 *caveats(catalog, f, policy)],
        meta={**family, "members": member_rows, "largest_awards": largest_rows,
              "brands_resold": brand_rows, "federal_action_obligation": total},
        facts={"family_name": family["family_name"], "family_id": family["family_id"],
               "family_source": family["family_source"], "scope_total_obligations": total},
        parts={
            "members": Result(f"{family['family_name']}: members (prime recipients as "
                              "recorded)", ["recipient_name", "federal_action_obligation",
                                            "transactions", "family_source"], member_rows),
            "largest_awards": Result("Largest awards", [
                "award_id_piid", "recipient_name", "federal_action_obligation",
                "potential_total_value_of_award", "last_action_date"], largest_rows),
            "brands_resold": Result("Brands named in its descriptions (resold or supplied)",
                                    ["brand", "federal_action_obligation", "transactions"],
                                    brand_rows)},
    )


def _also_matched(name: str, family: dict[str, Any]) -> list[str]:
    if not family.get("also_matched"):
        return []
    return [f"{name!r} is read as {family['family_name']}, the largest of the families it "
            f"matches; also matched: {'; '.join(family['also_matched'])}"]


def explain_name(catalog: Catalog, name: str, policy: str = "keep") -> dict[str, Any]:
    from contractwatch.resolve import explain

    out = explain(resolution(catalog, policy), name)
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
