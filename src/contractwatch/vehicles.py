"""Vehicles (IDVs): what a contract vehicle is, who holds it, what was ordered under it.

A task or delivery order is placed under a vehicle (IDIQ, BPA, GWAC, FSS schedule…); the
vehicle may itself sit under a parent vehicle, and several vehicles awarded from one
solicitation form a multiple-award program. Three ceilings must never be confused: an
order's own, its holder's vehicle's, and the program's (which each sibling vehicle often
repeats). They are shown side by side, never added across siblings, and a ceiling no source
holds is "unknown", never zero.

Obligations are still sums of transactions: on the vehicle itself, on its orders, and on
orders under its child vehicles (disjoint sets of transactions, so they add up). USAspending's
"combined" figures leave out the last two kinds.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from contractwatch.analyze import Result, award_key, run_query
from contractwatch.queries import sql_literal
from contractwatch.store import Catalog, resolve_dir, stored_folder, stored_version
from contractwatch.values.ids import PERMALINK, parse_award_key

# Each look-up below is an Ibis expression on placeholders (`key`: the vehicle's PIID in
# capitals, `agency`: its key agency or NULL, `text`: a solicitation id), run as a
# precompiled template on DuckDB (queries.py): `award` builds no Ibis expression.
OWN_COLUMNS = ("action_date", "federal_action_obligation", "potential_total_value_of_award",
               "recipient_name", "contract_award_unique_key", "award_type",
               "awarding_sub_agency_name", "load_id", "source_row")
FACT_COLUMNS = ("contract_award_unique_key", "award_id_piid", "fetched_at", "source",
                "base_and_all_options", "recipient_name", "idv_type",
                "solicitation_identifier", "multiple_or_single_award_idv",
                "api_child_idv_count", "api_child_award_count",
                "api_child_award_total_obligation", "api_grandchild_award_count",
                "api_grandchild_award_total_obligation")


def _money_sum(rows: list[dict[str, Any]], name: str) -> Decimal:
    return sum((r[name] or Decimal("0") for r in rows), Decimal("0"))


def parse_vehicle_id(text: str) -> tuple[str, str | None]:
    """(PIID, key agency or None) from a PIID or a CONT_IDV_ key."""
    key = text.strip().upper()
    parsed = parse_award_key(key) if key.startswith("CONT_") else None
    if parsed is not None:
        return parsed.piid, parsed.agency
    return key, None


def _values(vehicle_id: str, solicitation: str | None = None) -> dict[str, Any]:
    piid, agency = parse_vehicle_id(vehicle_id)
    return {"key": piid, "agency": agency, "text": solicitation}


def _query(catalog: Catalog, name: str, values: dict[str, Any], build: Any,
           policy: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """One look-up: its template on DuckDB, else its expression on the values as typed
    literals (the expressions test them as the templates' placeholders are tested)."""
    if catalog.engine == "duckdb":
        catalog.vehicle_facts_view()
    full = f"{name}:{policy}" if policy else name

    def built(v: dict[str, Any]) -> Any:
        import ibis

        return build(catalog, policy, {k: ibis.literal(x, "string") for k, x in v.items()})

    return run_query(catalog, full, values, built)


def _exists_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    """A row of the vehicle's own or of an order under it: two look-ups of one column each,
    which the engine filters while it reads (an OR of the two columns reads every row)."""
    t = catalog.transactions_all()
    own = t.filter((t.award_id_piid.upper() == v["key"]) & (t.award_or_idv_flag == "IDV"))
    under = t.filter(t.parent_award_id_piid.upper() == v["key"])
    return own.select("load_id").limit(1).union(under.select("load_id").limit(1), distinct=False)


def designates_vehicle(catalog: Catalog, text: str) -> bool:
    """A CONT_IDV_ key, or a PIID that is an IDV's or that orders name as their vehicle."""
    if text.strip().upper().startswith("CONT_IDV_"):
        return True
    if catalog.engine == "duckdb":
        path = str(vehicle_piids_folder(catalog) / "piids.parquet").replace("'", "''")
        return bool(catalog.fetch(f"SELECT 1 FROM read_parquet('{path}') WHERE piid = "
                                  f"{sql_literal(_values(text)['key'])} LIMIT 1"))
    return bool(_query(catalog, "vehicle_exists", _values(text), _exists_expr)[0])


# every PIID that designates a vehicle (an IDV's own, or one that orders name as their
# vehicle), over every stored row, sorted: a look-up reads one small file's row group
VEHICLE_PIIDS = """SELECT piid FROM (
SELECT upper(award_id_piid) AS piid FROM cw_rows
WHERE award_or_idv_flag = 'IDV' AND award_id_piid IS NOT NULL
UNION
SELECT upper(parent_award_id_piid) FROM cw_rows WHERE parent_award_id_piid IS NOT NULL
) ORDER BY piid"""


def vehicle_piids_folder(catalog: Catalog) -> Path:
    """The stored PIIDs that designate a vehicle (`VEHICLE_PIIDS`), computed once per state
    of the loads: whether a PIID is a vehicle's is asked by every `award`, and reading two
    columns of every stored row for it costs a pass over the store (half a second at ten
    million rows) each time."""
    def write(folder: Path) -> None:
        catalog.raw_tables()
        target = str(folder / "piids.parquet").replace("'", "''")
        catalog.duck.execute(f"COPY ({VEHICLE_PIIDS}) TO '{target}' (FORMAT parquet, "
                             "ROW_GROUP_SIZE 65536)")

    key = "vehicle-piids-folder"
    if key not in catalog._cache:
        catalog._cache[key] = stored_folder(
            resolve_dir(catalog) / "vehicle-piids",
            stored_version(catalog, "vehicle-piids", VEHICLE_PIIDS), write)
    return catalog._cache[key]


def _own_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    t = catalog.transactions(policy or "keep")
    own = t.filter((t.award_or_idv_flag == "IDV") & (t.award_id_piid.upper() == v["key"]))
    return own.select(*OWN_COLUMNS).order_by(["action_date", "source_row"])


def _placed_under(t: Any, v: dict[str, Any]) -> Any:
    """Rows whose recorded vehicle is `key` (of key agency `agency`, when given)."""
    agency = v["agency"]
    return t.filter((t.parent_award_id_piid.upper() == v["key"])
                    & (agency.isnull() | (t.parent_award_agency_id == agency)))


def _orders_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    return _per_order(_placed_under(catalog.transactions(policy or "keep"), v))


def _grandchildren_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    """Orders under the vehicle's child vehicles: IDVs placed under it in the store, and
    those the API's idvs/awards listing names under the vehicle's key (`text`)."""
    t = catalog.transactions(policy or "keep")
    children = _placed_under(t, v)
    children = children.filter(children.award_or_idv_flag == "IDV").select(
        child=children.award_id_piid.upper())
    listed = catalog.idv_listings()
    listed = listed.filter((listed.listed_under_key == v["text"])
                           & (listed.listing == "child_idvs") & listed.award_id_piid.notnull())
    children = children.union(listed.select(child=listed.award_id_piid.upper())).distinct()
    return _per_order(t.filter(t.parent_award_id_piid.upper().isin(children.child)))


def _per_order(orders: Any) -> Any:
    """One row per order: its recipient, obligations, own ceiling (its latest action's)."""
    o = orders.mutate(award_key=award_key(orders), _order=orders.action_date.cast("string")
                      .concat("|", orders.source_row.cast("string")))
    expr = o.group_by("award_key").aggregate(
        award_id_piid=o.award_id_piid.arbitrary(),
        recipient_name=o.recipient_name.argmax(o._order),
        obligated=o.federal_action_obligation.sum(),
        own_ceiling=o.potential_total_value_of_award.argmax(o._order),
        first_action_date=o.action_date.min(),
        last_action_date=o.action_date.max(),
        actions=o.count(),
        is_vehicle=(o.award_or_idv_flag == "IDV").any(),
        parent_award_agency_id=o.parent_award_agency_id.arbitrary(),
    )
    return expr.order_by([expr.obligated.desc(), expr.award_key])


def _facts_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    """Award facts of this vehicle from every source (summary files, API detail), newest
    first: each source's figures are shown with its name, none overrides another."""
    from contractwatch.sources.award_detail import LISTING_SOURCE

    d = catalog.award_facts_all()
    key = "CONT_IDV_" + v["key"] + "_" + v["agency"]
    match = (d.award_id_piid.upper() == v["key"]) & (
        d.source.isnull() | (d.source != LISTING_SOURCE)) & (
        (v["agency"].isnull() & d.contract_award_unique_key.startswith("CONT_IDV_"))
        | (d.contract_award_unique_key == key))
    return d.filter(match).select(*FACT_COLUMNS).order_by(d.fetched_at.desc())


def _listings_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    """What the API's idvs/awards listings name under the vehicle key `text`."""
    t = catalog.idv_listings()
    return t.filter(t.listed_under_key == v["text"]).select(
        "listing", "contract_award_unique_key", "award_id_piid", "total_obligation").order_by(
        ["listing", "contract_award_unique_key"])


def _source_facts_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    """The vehicle facts full downloads carry in source columns (type, solicitation) on the
    vehicle's own rows, newest first."""
    own = _own_expr(catalog, policy, v)
    src = catalog.vehicle_source_facts()
    joined = own.select("load_id", "source_row", "action_date").join(
        src, ["load_id", "source_row"])
    picked = joined.select("action_date", "idv_type", "solicitation_identifier",
                           "multiple_or_single_award_idv")
    return picked.order_by(picked.action_date.desc())


def _sibling_facts_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    d = catalog.award_details()
    return d.filter((d.solicitation_identifier == v["text"])
                    & d.contract_award_unique_key.startswith("CONT_IDV_")).select(
        vehicle_key=d.contract_award_unique_key, holder=d.recipient_name,
        ceiling=d.base_and_all_options, source=d.source).order_by("vehicle_key")


def _sibling_rows_expr(catalog: Catalog, policy: str | None, v: dict[str, Any]) -> Any:
    t = catalog.transactions(policy or "keep")
    idv = t.filter(t.award_or_idv_flag == "IDV")
    src = catalog.vehicle_source_facts().select("load_id", "source_row",
                                                "solicitation_identifier")
    j = idv.join(src, ["load_id", "source_row"])
    j = j.filter(j.solicitation_identifier == v["text"])
    j = j.mutate(_order=j.action_date.cast("string").concat("|", j.source_row.cast("string")))
    expr = j.group_by(vehicle_key=j.contract_award_unique_key).aggregate(
        holder=j.recipient_name.argmax(j._order),
        ceiling=j.potential_total_value_of_award.argmax(j._order))
    return expr.order_by("vehicle_key")


def vehicle(catalog: Catalog, vehicle_id: str, policy: str = "keep") -> Result:
    """The vehicle, its orders (and its child vehicles' orders), its siblings."""
    piid, agency = parse_vehicle_id(vehicle_id)
    v = _values(vehicle_id)
    own_rows, _ = _query(catalog, "vehicle_own", v, _own_expr, policy)
    per_order, sql = _query(catalog, "vehicle_orders", v, _orders_expr, policy)
    facts = _query(catalog, "vehicle_facts", v, _facts_expr)[0] if catalog.details else []
    listed_under = facts[0]["contract_award_unique_key"] if facts else None
    listings = _query(catalog, "vehicle_listings", {**v, "text": listed_under},
                      _listings_expr)[0] if listed_under else []
    # child vehicles: those the store holds, and those the API's listing names
    child_keys = sorted({r["award_id_piid"] for r in per_order if r["is_vehicle"]}
                        | {r["award_id_piid"] for r in listings if r["listing"] == "child_idvs"
                           and r["award_id_piid"]})
    grandchildren = _query(catalog, "vehicle_grandchildren", {**v, "text": listed_under},
                           _grandchildren_expr, policy)[0] if child_keys else []
    if not own_rows and not per_order and not facts:
        raise LookupError(f"no vehicle {vehicle_id!r} in the store: no IDV record and no "
                          "order placed under it (load a full download or award summaries, "
                          "or give a PIID such as 70CDCR26D00000015)")
    fact = facts[0] if facts else {}
    source_facts = _first_values(_query(catalog, "vehicle_source_facts", v, _source_facts_expr,
                                        policy)[0]) if own_rows else {}
    ceiling, ceiling_source = _vehicle_ceiling(own_rows, fact)
    holder = (own_rows[-1]["recipient_name"] if own_rows else None) or fact.get("recipient_name")
    key = (own_rows[-1]["contract_award_unique_key"] if own_rows else None) \
        or fact.get("contract_award_unique_key") \
        or (f"CONT_IDV_{piid}_{agency or per_order[0]['parent_award_agency_id']}"
            if agency or (per_order and per_order[0]["parent_award_agency_id"]) else None)
    solicitation = fact.get("solicitation_identifier") or source_facts.get(
        "solicitation_identifier")
    caveats = []
    if not own_rows and not fact:
        caveats.append("the vehicle's own record is not in the store (only orders placed under "
                       "it): its holder, type and ceiling are unknown; load a full download "
                       "with IDV rows or award summaries to know them")
    siblings = _siblings(catalog, solicitation, key, policy) if solicitation else []
    if siblings:
        caveats.append(f"{len(siblings)} other vehicle{'s' if len(siblings) != 1 else ''} "
                       f"come from solicitation {solicitation} (a multiple-award program): each "
                       "ceiling is shown on its own, never added up; a program's ceiling is "
                       "often repeated on every sibling")
    rows = [dict(r, level="order") for r in per_order] + [
        dict(r, level="order under a child vehicle") for r in grandchildren]
    on_vehicle = _money_sum(own_rows, "federal_action_obligation")
    on_orders = _money_sum([r for r in per_order if not r["is_vehicle"]], "obligated")
    on_child_vehicles = _money_sum([r for r in per_order if r["is_vehicle"]], "obligated")
    on_grandchildren = _money_sum(grandchildren, "obligated")
    counts = {"orders": sum(1 for r in per_order if not r["is_vehicle"]),
              "obligated_on_orders": on_orders,
              "orders_under_child_vehicles": len(grandchildren),
              "obligated_on_orders_under_child_vehicles": on_grandchildren}
    api_fact = next((f for f in facts if f.get("source") == "api:idv_detail"), None)
    api, api_caveats = _api_comparison(
        api_fact, counts, listings, {r["award_key"] for r in per_order + grandchildren})
    caveats += api_caveats
    meta = {
        "vehicle_piid": piid,
        "vehicle_key": key,
        "holder": holder,
        "vehicle_type": fact.get("idv_type") or source_facts.get("idv_type")
        or (own_rows[-1]["award_type"] if own_rows else None),
        "multiple_or_single_award": fact.get("multiple_or_single_award_idv")
        or source_facts.get("multiple_or_single_award_idv"),
        "solicitation_identifier": solicitation,
        "ceiling": ceiling,
        "ceiling_source": ceiling_source,
        "ceilings_by_source": _ceilings(own_rows, facts),
        "usaspending_child_figures": api,
        "first_action_date": own_rows[0]["action_date"] if own_rows else None,
        "obligated_on_vehicle": on_vehicle,
        "obligated_on_orders": on_orders,
        "obligated_on_child_vehicles": on_child_vehicles,
        "obligated_on_orders_under_child_vehicles": on_grandchildren,
        "obligated_total": on_vehicle + on_orders + on_child_vehicles + on_grandchildren,
        "orders": counts["orders"],
        "child_vehicles": len(child_keys),
        "orders_under_child_vehicles": len(grandchildren),
        "siblings": siblings,
        "usaspending_permalink": PERMALINK.format(key=key) if key else None,
        "sources": sorted(({"transactions (IDV rows)"} if own_rows else set())
                          | ({f"award facts: {fact.get('source')} {fact.get('fetched_at')}"}
                             if fact else set())),
    }
    return Result(
        title=f"Vehicle {piid}" + (f" held by {holder}" if holder else ""),
        columns=["level", "award_key", "award_id_piid", "recipient_name", "obligated",
                 "own_ceiling", "first_action_date", "last_action_date", "actions"],
        rows=rows, sql=sql, caveats=caveats, meta=meta,
        facts={"vehicle_piid": piid, "holder": holder, "vehicle_type": meta["vehicle_type"],
               "vehicle_ceiling": ceiling,
               "obligated_total": meta["obligated_total"], "orders": meta["orders"],
               "usaspending_permalink": meta["usaspending_permalink"]},
    )


def _ceilings(own_rows: list[dict[str, Any]], facts: list[dict[str, Any]]
              ) -> list[dict[str, Any]]:
    """The vehicle's own ceiling as each source gives it (never added together)."""
    out = []
    if own_rows and own_rows[-1]["potential_total_value_of_award"] is not None:
        out.append({"source": "the vehicle's latest action (potential_total_value_of_award)",
                    "ceiling": own_rows[-1]["potential_total_value_of_award"]})
    seen = set()
    for f in facts:  # newest first: one figure per source
        if f.get("base_and_all_options") is not None and f.get("source") not in seen:
            seen.add(f.get("source"))
            out.append({"source": f"{f.get('source')} {f.get('fetched_at')}",
                        "ceiling": f["base_and_all_options"]})
    return out


def _api_comparison(fact: dict[str, Any] | None, store: dict[str, Any],
                    listings: list[dict[str, Any]], order_keys: set[str]
                    ) -> tuple[dict[str, Any], list[str]]:
    """USAspending's idvs/amounts child figures beside the store's own sums, and what the
    listings name that the store does not hold; every difference said aloud."""
    if not fact:
        return {}, []
    when = fact.get("fetched_at")
    api = {"source": f"api:idvs/amounts {when}",
           "child_idvs": fact.get("api_child_idv_count"),
           "child_awards": fact.get("api_child_award_count"),
           "child_award_obligated": fact.get("api_child_award_total_obligation"),
           "grandchild_awards": fact.get("api_grandchild_award_count"),
           "grandchild_award_obligated": fact.get("api_grandchild_award_total_obligation")}
    caveats = ["USAspending's child totals (idvs/amounts) count orders under the vehicle and "
               "under its child vehicles only: they leave out obligations on the vehicle "
               "itself and on its child vehicles, which the store's total includes"]
    pairs = [("orders placed under it", "child_awards", "child_award_obligated", "orders",
              "obligated_on_orders"),
             ("orders under its child vehicles", "grandchild_awards",
              "grandchild_award_obligated", "orders_under_child_vehicles",
              "obligated_on_orders_under_child_vehicles")]
    from contractwatch.values.money import format_dollars

    for label, n_api, sum_api, n_store, sum_store in pairs:
        if api[n_api] is None or api[sum_api] is None:
            continue
        if (api[n_api], api[sum_api]) != (store[n_store], store[sum_store]):
            caveats.append(
                f"{label}: USAspending counts {api[n_api]:,} obligating "
                f"{format_dollars(api[sum_api])} ({api['source']}); the store holds "
                f"{store[n_store]:,} obligating {format_dollars(store[sum_store])} "
                f"(a difference of {format_dollars(api[sum_api] - store[sum_store])}): the "
                "store holds other transactions than the API's current records")
    listed = {r["contract_award_unique_key"]: r for r in listings
              if r["listing"] in ("child_awards", "grandchild_awards")}
    missing = [r for k, r in listed.items() if k not in order_keys]
    api["listed_orders"] = len(listed)
    api["listed_orders_not_in_store"] = len(missing)
    api["listed_orders_not_in_store_obligated"] = sum(
        (r["total_obligation"] or Decimal("0") for r in missing), Decimal("0"))
    if missing:
        caveats.append(
            f"the API lists {len(missing):,} order{'s' if len(missing) != 1 else ''} under "
            f"this vehicle that the store does not hold (USAspending's obligated "
            f"{format_dollars(api['listed_orders_not_in_store_obligated'])}; not added to "
            "the store's figures)")
    return api, caveats


def _first_values(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per column, the first non-null value of rows given newest first."""
    names = ("idv_type", "solicitation_identifier", "multiple_or_single_award_idv")
    return {n: next((r[n] for r in rows if r.get(n)), None) for n in names}


def _vehicle_ceiling(own_rows: list[dict[str, Any]], fact: dict[str, Any]
                     ) -> tuple[Decimal | None, str | None]:
    """The vehicle's own ceiling: its latest action's cumulative value, else award facts."""
    if own_rows and own_rows[-1]["potential_total_value_of_award"] is not None:
        return (own_rows[-1]["potential_total_value_of_award"],
                "the vehicle's latest action (potential_total_value_of_award)")
    if fact.get("base_and_all_options") is not None:
        return fact["base_and_all_options"], f"{fact.get('source')} {fact.get('fetched_at')}"
    return None, None


def _siblings(catalog: Catalog, solicitation: str, key: str | None,
              policy: str) -> list[dict[str, Any]]:
    """Other vehicles awarded from the same solicitation, each with its holder and ceiling."""
    found: dict[str, dict[str, Any]] = {}
    v = {"key": None, "agency": None, "text": solicitation}
    if catalog.details:
        for r in _query(catalog, "vehicle_sibling_facts", v, _sibling_facts_expr)[0]:
            found.setdefault(r["vehicle_key"], r)
    for r in _query(catalog, "vehicle_sibling_rows", v, _sibling_rows_expr, policy)[0]:
        found.setdefault(r["vehicle_key"], dict(r, source="transactions (IDV rows)"))
    found.pop(key or "", None)
    return sorted(found.values(), key=lambda r: r["vehicle_key"])


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The vehicle look-ups as templates (see queries.py)."""
    yield "vehicle_exists", _exists_expr(catalog, None, p)
    yield "vehicle_facts", _facts_expr(catalog, None, p)
    yield "vehicle_listings", _listings_expr(catalog, None, p)
    yield "vehicle_sibling_facts", _sibling_facts_expr(catalog, None, p)
    for policy in ("keep", "collapse"):
        for name, build in (("vehicle_own", _own_expr), ("vehicle_orders", _orders_expr),
                            ("vehicle_grandchildren", _grandchildren_expr),
                            ("vehicle_source_facts", _source_facts_expr),
                            ("vehicle_sibling_rows", _sibling_rows_expr)):
            yield f"{name}:{policy}", build(catalog, policy, p)


def describe(result: Result) -> list[str]:
    """The vehicle's headline facts as lines for people (ceilings labelled, never summed)."""
    from contractwatch.values.money import format_dollars

    m = result.meta

    def money(value: Decimal | None) -> str:
        return format_dollars(value) if value is not None else "unknown"

    lines = [f"its own ceiling: {money(m['ceiling'])}"
             + (f" (from {m['ceiling_source']})" if m["ceiling_source"] else ""),
             f"obligated {money(m['obligated_total'])}: on the vehicle itself "
             f"{money(m['obligated_on_vehicle'])}, on {m['orders']} orders "
             f"{money(m['obligated_on_orders'])}, on {m['child_vehicles']} child vehicles "
             f"{money(m['obligated_on_child_vehicles'])}, on "
             f"{m['orders_under_child_vehicles']} orders under them "
             f"{money(m['obligated_on_orders_under_child_vehicles'])}"]
    for c in m.get("ceilings_by_source", [])[1:]:
        lines.append(f"its own ceiling per {c['source']}: {money(c['ceiling'])} "
                     "(the same ceiling from another source, not added)")
    api = m.get("usaspending_child_figures") or {}
    if api.get("child_awards") is not None:
        lines.append(f"USAspending ({api['source']}): {api['child_awards']:,} orders "
                     f"{money(api['child_award_obligated'])}, "
                     f"{api['grandchild_awards'] or 0:,} orders under child vehicles "
                     f"{money(api['grandchild_award_obligated'])} (leaves out the vehicle's "
                     "own and its child vehicles' obligations)")
    if m["solicitation_identifier"]:
        lines.append(f"solicitation {m['solicitation_identifier']}")
    for s in m["siblings"]:
        lines.append(f"sibling vehicle {s['vehicle_key']} held by {s['holder'] or 'unknown'}, "
                     f"its own ceiling {money(s['ceiling'])} (not added)")
    return lines
