"""Exports: transactions, awards and families as CSV or Parquet, and FollowTheMoney entities.

CSV and Parquet are written by the engine straight from the query (no rows through Python),
money as exact decimals. The FtM export builds PublicBody (awarding agency), Company /
Organization (recipients), Contract (award), ContractAward (award → recipient, with the
obligations in scope) and Ownership (corporate-family links stated by the data's parent
fields or the curated families file; name-matched families are not ownership and are left
out). Recipients the data marks as individuals become a LegalEntity with the recorded name and
nothing else — never a Person, never enriched (DESIGN.md, product principle). Every entity is
checked against the installed followthemoney model before it is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from contractwatch.analyze import (
    Filters,
    amount_between,
    apply_values,
    award_key,
    awards,
    filter_values,
    run_query,
)
from contractwatch.output_paths import check_output_folder
from contractwatch.store import Catalog

TABLES = ("transactions", "awards", "families")
FORMATS = ("csv", "parquet", "ftm")
DATASET = "contractwatch"
_CORPORATE = re.compile(
    r"\b(INC|INCORPORATED|LLC|L\.?L\.?C|CORP|CORPORATION|CO|COMPANY|LTD|LIMITED|LP|L\.?P|LLP|"
    r"PLC|GMBH|AG|SA|NV|BV|PLLC|PC|HOLDINGS|GROUP|ENTERPRISES?)\b\.?"
)
# Families the resolver derived from these sources are statements of ownership; a name match
# is a guess about spelling, not about who owns whom.
OWNERSHIP_SOURCES = ("data-parent", "curated")


class ExportError(ValueError):
    """An export that cannot be written as asked."""


@dataclass
class ExportReport:
    files: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ---- tables --------------------------------------------------------------------------------

def transactions_expr(catalog: Catalog, f: Filters, policy: str = "keep",
                      where: dict[str, str] | None = None) -> Any:
    """Current transactions in scope: canonical columns, the vintage they came from, and
    every source column the loads kept (nothing a user downloaded is left out); `where`
    keeps the rows whose named columns (canonical or source) hold the given text."""
    from contractwatch.schema import COLUMN_NAMES

    t = _in_scope(catalog, f, policy)
    t = _amount_filter(t, "federal_action_obligation", f)
    t = catalog.with_source_columns(t.select(*COLUMN_NAMES, "vintage"))
    t = _with_purposes(catalog, t, award_key(t))
    for name, value in (where or {}).items():
        if name not in t.columns:
            raise LookupError(f"--where: no column {name!r} (a canonical column or a source "
                              "column the loads kept; see `contractwatch status --loads "
                              "--format json`)")
        t = t.filter(t[name].cast("string") == value)
    return t.order_by(
        ["awarding_sub_agency_code", "action_date", "award_id_piid", "modification_number",
         "source_file", "source_row"])


def awards_expr(catalog: Catalog, f: Filters, policy: str = "keep") -> Any:
    """One row per award over the actions in scope (a fiscal-year filter limits the sum to
    that year's actions; the ceiling is the latest action's, cumulative)."""
    scope = _in_scope(catalog, f, policy)
    a = awards(catalog, policy, scope)
    a = _amount_filter(a, "federal_action_obligation", f)
    a = _with_purposes(catalog, a, a.award_key)
    return a.order_by([a.federal_action_obligation.desc(), a.award_key])


def families_expr(catalog: Catalog, f: Filters, policy: str = "keep") -> Any:
    """One row per recipient as recorded, with its organisation and corporate family."""
    from contractwatch.companies import with_families

    scope = _in_scope(catalog, f, policy)
    t = with_families(catalog, scope, policy)
    expr = t.group_by(["recipient_name", "recipient_uei", "recipient_duns",
                       "organisation_id", "organisation_name", "family_id", "family_name",
                       "family_source"]).aggregate(
        federal_action_obligation=t.federal_action_obligation.sum(),
        transactions=t.count(),
        awards=award_key(t).nunique(),
    )
    return expr.order_by([expr.family_name, expr.federal_action_obligation.desc(),
                          expr.recipient_name])


def _in_scope(catalog: Catalog, f: Filters, policy: str) -> Any:
    """Current transactions under the filters (a purpose filter joins the stored tags)."""
    values = filter_values(f)
    if f.purpose:
        from contractwatch.purposes import attach_tags

        values["purpose_tags"] = catalog.table(attach_tags(catalog))
    return apply_values(catalog.transactions(policy), values)


def _with_purposes(catalog: Catalog, t: Any, key: Any) -> Any:
    """`purposes`: the award's purpose tags, ';'-separated in id order (empty: untagged)."""
    from contractwatch.purposes import attach_tags

    tags = catalog.table(attach_tags(catalog))
    per_award = tags.group_by("award_key").aggregate(
        purposes=tags.purpose.collect(order_by=tags.purpose).join(";"))
    keyed = t.mutate(_purpose_key=key)
    joined = keyed.left_join(per_award, keyed._purpose_key == per_award.award_key)
    return joined.select(*t.columns, purposes=joined.purposes.fill_null(""))


def _amount_filter(t: Any, column: str, f: Filters) -> Any:
    return amount_between(t, column, filter_values(f))


def export_tables(catalog: Catalog, fmt: str, out_dir: str | Path, f: Filters,
                  tables: tuple[str, ...] = TABLES, policy: str = "keep",
                  force: bool = False, where: dict[str, str] | None = None) -> ExportReport:
    """Write <out_dir>/<table>.csv|parquet for each table, straight from the engine.

    The folder must lie outside the store; existing table files are replaced only with
    `force`. CSV text that a spreadsheet would run as a formula is neutralised.
    """
    if fmt not in ("csv", "parquet"):
        raise ExportError(f"table export format must be csv or parquet, not {fmt!r}")
    unknown = set(tables) - set(TABLES)
    if unknown:
        raise ExportError(f"unknown table {sorted(unknown)[0]!r}; choose from {TABLES}")
    if not catalog.loads:
        raise LookupError("the store is empty: run `contractwatch ingest` first")
    out = check_output_folder(out_dir, catalog.store.root, [f"{t}.{fmt}" for t in tables],
                              force)
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    builders = {"transactions": transactions_expr, "awards": awards_expr,
                "families": families_expr}
    for name in tables:
        try:
            expr = (transactions_expr(catalog, f, policy, where) if name == "transactions"
                    else builders[name](catalog, f, policy))
        except ImportError as exc:
            report.notes.append(f"{name}: not written, the resolution layer is unavailable "
                                f"({exc})")
            continue
        path = out / f"{name}.{fmt}"
        tmp = path.with_name(path.name + ".tmp")
        try:
            if fmt == "csv":
                catalog.con.to_csv(csv_safe_expr(expr), tmp)
            else:
                catalog.con.to_parquet(expr, tmp)
            tmp.replace(path)
        finally:  # a failed write (a full disk) leaves no half file behind
            tmp.unlink(missing_ok=True)
        report.files.append(str(path))
        report.counts[name] = int(catalog.con.execute(expr.count()))
    return report


def csv_safe_expr(t: Any) -> Any:
    """The table with every text column as `output.csv_cell` writes it: text a spreadsheet
    would run as a formula gets a leading apostrophe; numbers (typed, or plain number text
    such as "-1234.50") stay numbers."""
    import ibis

    from contractwatch.output import FORMULA_START, NUMBER_TEXT

    safe = {}
    for name, dtype in t.schema().items():
        if dtype.is_string():
            c = t[name]
            risky = c.re_search(FORMULA_START) & ~c.re_search(NUMBER_TEXT)
            safe[name] = ibis.ifelse(risky.fill_null(False), "'" + c, c)
    return t.mutate(**safe) if safe else t


# ---- FollowTheMoney ------------------------------------------------------------------------

def _recipient_schema(name: str, individual: bool) -> str:
    if individual:
        return "LegalEntity"
    return "Company" if _CORPORATE.search(name.upper()) else "Organization"


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def ftm_entities(catalog: Catalog, f: Filters, policy: str = "keep",
                 report: ExportReport | None = None) -> Iterator[Any]:
    """Entity proxies for the awards in scope (see the module docstring)."""
    from contractwatch.extras import require

    require("ftm", "export --format ftm", "followthemoney")
    from followthemoney import model

    from contractwatch.resolve import organisation_id

    report = report if report is not None else ExportReport()
    rows, _ = run_query(catalog, f"ftm_awards:{policy}", filter_values(f),
                        lambda v: _ftm_awards_expr(catalog, policy, v))
    families = _families(catalog, policy, report)

    # A recipient any record marks as an individual is treated as one everywhere.
    individuals = {organisation_id(r["recipient_name"] or "", r["recipient_uei"],
                                   r["recipient_duns"]) for r in rows if r["individual"]}
    names: dict[str, list[str]] = {}  # every spelling the records use, first one first
    for r in rows:
        org = organisation_id(r["recipient_name"] or "", r["recipient_uei"], r["recipient_duns"])
        if r["recipient_name"] and r["recipient_name"] not in names.setdefault(org, []):
            names[org].append(r["recipient_name"])
    emitted: set[str] = set()
    primes: dict[str, tuple[str, str]] = {}  # award key -> (contract id, supplier id)
    yield from _entities(model, rows, families, individuals, names, emitted, report, primes)
    yield from _subaward_entities(model, catalog, f, primes, emitted, report)


def _subaward_entities(model: Any, catalog: Catalog, f: Filters,
                       primes: dict[str, tuple[str, str]], emitted: set[str],
                       report: ExportReport) -> Iterator[Any]:
    """Each counted subaward under an exported prime award as a Contract whose authority is
    the prime recipient and a ContractAward to the subrecipient (its amount: the subaward's
    total as reported, latest report). Subrecipients the record marks as individuals become
    a LegalEntity with the recorded name only, one per subaward: never matched, never a
    Person. Other subrecipients share the prime recipients' id scheme (name, UEI, DUNS)."""
    from contractwatch.resolve import organisation_id
    from contractwatch.subcontracts import RULE, counted_in_scope

    subs = counted_in_scope(catalog, f)
    outside = 0
    for r in subs:
        prime = primes.get(r["prime_key"])
        if prime is None:
            outside += 1
            continue
        contract_id, prime_supplier = prime
        name = r["subawardee_name"] or "(subrecipient not recorded)"
        if r["recorded_as_individual"]:
            sub = model.make_entity("LegalEntity")
            sub.id = sub.make_id("us-subrecipient-individual", r["prime_key"],
                                 r["subaward_number"], name)
            sub.add("name", name)
            if sub.id not in emitted:
                report.counts["subaward_individuals"] = report.counts.get(
                    "subaward_individuals", 0) + 1
        else:
            sub = model.make_entity(_recipient_schema(name, False))
            sub.id = sub.make_id("us-recipient", organisation_id(
                name, r["subawardee_uei"], r["subawardee_duns"]))
            sub.add("name", name)
            sub.add("uniqueEntityId", r["subawardee_uei"])
            sub.add("dunsCode", r["subawardee_duns"])
        if sub.id not in emitted:
            emitted.add(sub.id)
            yield sub
        number = r["subaward_number"] or "(number not recorded)"
        contract = model.make_entity("Contract")
        contract.id = contract.make_id("us-subaward", r["prime_key"], number,
                                       r["subawardee_uei"] or name.upper())
        contract.add("title", r["subaward_description"] or f"Subaward {number}")
        contract.add("name", number)
        contract.add("authority", prime_supplier)  # the prime recipient awards the subaward
        contract.add("contractDate", r["subaward_action_date"])
        contract.add("country", "us")
        contract.add("description", f"subaward under prime award {r['prime_key']} "
                     f"({r['prime_award_piid']})")
        contract.add("summary", "subaward reported by the prime recipient; money below the "
                     "prime award, not added to its obligations")
        award = model.make_entity("ContractAward")
        award.id = award.make_id("us-subaward-supplier", contract.id, sub.id)
        award.add("contract", contract.id)
        award.add("supplier", sub.id)
        award.add("amount", _money(r["subaward_amount"]))
        award.add("currency", "USD")
        award.add("startDate", r["subaward_action_date"])
        award.add("recordId", r["subaward_report_id"])
        award.add("summary", f"subaward amount: {RULE}")
        award.add("description", f"under prime contract entity {contract_id}")
        for proxy in (contract, award):
            if proxy.id not in emitted:
                emitted.add(proxy.id)
                yield proxy
    if subs:
        report.notes.append(f"{len(subs) - outside:,} subawards (each counted once: the latest "
                            "report) written as Contract + ContractAward from the prime "
                            "recipient to the subrecipient; never added to prime obligations")
    if outside:
        report.notes.append(f"{outside:,} counted subawards left out: their prime award is not "
                            "among the exported awards")
    if report.counts.get("subaward_individuals"):
        report.notes.append(f"{report.counts['subaward_individuals']} subrecipients the record "
                            "marks as individuals were written as LegalEntity with the "
                            "recorded name only, never matched")


def _ftm_awards_expr(catalog: Catalog, policy: str, v: dict[str, Any]) -> Any:
    """One row per award in scope, with what its entities state."""
    scope = apply_values(catalog.transactions(policy), v)
    scope = scope.mutate(award_key=award_key(scope))
    order = scope.action_date.cast("string") + "|" + scope.modification_number.fill_null("")
    per_award = scope.group_by("award_key").aggregate(
        award_id_piid=scope.award_id_piid.arbitrary(),
        agency_code=scope.awarding_sub_agency_code.argmax(order),
        agency_name=scope.awarding_sub_agency_name.argmax(order),
        toptier_name=scope.awarding_agency_name.argmax(order),
        recipient_name=scope.recipient_name.argmax(order),
        recipient_uei=scope.recipient_uei.argmax(order),
        recipient_duns=scope.recipient_duns.argmax(order),
        recipient_parent_uei=scope.recipient_parent_uei.argmax(order),
        recipient_parent_duns=scope.recipient_parent_duns.argmax(order),
        recipient_parent_name=scope.recipient_parent_name.argmax(order),
        individual=scope.recipient_is_individual.max(),
        obligations=scope.federal_action_obligation.sum(),
        actions=scope.count(),
        first=scope.action_date.min(),
        last=scope.action_date.max(),
        ceiling=scope.potential_total_value_of_award.argmax(order),
        description=scope.transaction_description.argmin(order),
        psc=scope.product_or_service_code_description.argmax(order),
        parent_piid=scope.parent_award_id_piid.argmax(order),
        permalink=scope.usaspending_permalink.argmax(order),
    )
    return amount_between(per_award, "obligations", v).order_by("award_key")


def query_expressions(catalog: Catalog, p: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The FtM export's query as a template (see queries.py)."""
    for policy in ("keep", "collapse"):
        yield f"ftm_awards:{policy}", _ftm_awards_expr(catalog, policy, p)


def _entities(model: Any, rows: list[dict[str, Any]], families: dict[str, dict[str, Any]],
              individuals: set[str], names: dict[str, list[str]], emitted: set[str],
              report: ExportReport, primes: dict[str, tuple[str, str]]) -> Iterator[Any]:
    from contractwatch.resolve import organisation_id

    def once(proxy: Any) -> Iterator[Any]:
        if proxy.id not in emitted:
            emitted.add(proxy.id)
            yield proxy

    for r in rows:
        body = model.make_entity("PublicBody")
        body.id = body.make_id("us-agency", r["agency_code"])
        body.add("name", r["agency_name"] or r["agency_code"])
        body.add("jurisdiction", "us")
        body.add("country", "us")
        if r["toptier_name"]:
            body.add("description", f"sub-tier agency of {r['toptier_name']}")
        body.add("registrationNumber", r["agency_code"])
        yield from once(body)

        name = r["recipient_name"] or "(recipient not recorded)"
        org = organisation_id(name, r["recipient_uei"], r["recipient_duns"])
        individual = org in individuals
        supplier = model.make_entity(_recipient_schema(name, individual))
        supplier.id = supplier.make_id("us-recipient", org)
        supplier.add("name", names.get(org) or [name])
        if not individual:  # an individual gets the recorded name and nothing else
            supplier.add("uniqueEntityId", r["recipient_uei"])
            supplier.add("dunsCode", r["recipient_duns"])
        elif supplier.id not in emitted:
            report.counts["individuals"] = report.counts.get("individuals", 0) + 1
        yield from once(supplier)

        contract = model.make_entity("Contract")
        contract.id = contract.make_id("us-award", r["award_key"])
        contract.add("title", r["description"] or f"Award {r['award_id_piid']}")
        contract.add("name", r["award_id_piid"])
        contract.add("authority", body.id)
        contract.add("contractDate", r["first"])
        contract.add("classification", r["psc"])
        contract.add("sourceUrl", r["permalink"])
        contract.add("country", "us")
        if r["ceiling"] is not None:
            contract.add("summary", "ceiling (potential total value of the award): "
                         f"{_money(r['ceiling'])} USD")
        else:
            contract.add("summary", "ceiling unknown in the source")
        if r["parent_piid"]:
            contract.add("notes", f"ordered under vehicle (IDV) {r['parent_piid']}")
        yield from once(contract)

        award = model.make_entity("ContractAward")
        award.id = award.make_id("us-award-supplier", r["award_key"], supplier.id)
        award.add("contract", contract.id)
        award.add("supplier", supplier.id)
        award.add("amount", _money(r["obligations"]))
        award.add("currency", "USD")
        award.add("startDate", r["first"])
        award.add("endDate", r["last"])
        award.add("recordId", r["award_key"])
        award.add("sourceUrl", r["permalink"])
        award.add("summary", f"obligations (sum of federal_action_obligation over "
                  f"{r['actions']} actions dated {r['first']} … {r['last']})")
        yield from once(award)
        primes[r["award_key"]] = (contract.id, supplier.id)

        link = None if individual else families.get(name)
        if link and link["family_id"] != link["organisation_id"]:
            # same id scheme as suppliers: a parent that is itself a recipient is one entity
            owner = model.make_entity(_recipient_schema(link["family_name"] or "", False))
            owner.id = owner.make_id("us-recipient", link["family_id"])
            owner.add("name", link["family_name"])
            yield from once(owner)
            own = model.make_entity("Ownership")
            own.id = own.make_id("us-ownership", owner.id, supplier.id)
            own.add("owner", owner.id)
            own.add("asset", supplier.id)
            own.add("role", "parent company")
            own.add("summary", f"family source: {link['family_source']}")
            own.add("description", link["family_evidence"])
            yield from once(own)


def _families(catalog: Catalog, policy: str, report: ExportReport) -> dict[str, dict[str, Any]]:
    """Recipient name → its family link where the family is stated, not matched."""
    try:
        from contractwatch.companies import resolution_rows

        mapping = resolution_rows(catalog, policy).mapping  # read by DuckDB: no Arrow
    except Exception as exc:  # the resolution layer is optional here
        report.notes.append(f"no Ownership entities: the resolution layer is unavailable "
                            f"({type(exc).__name__}: {exc})")
        return {}
    out = {}
    for m in mapping:
        if m["family_source"] in OWNERSHIP_SOURCES and m["recipient_name"]:
            out[m["recipient_name"]] = m
    report.notes.append("Ownership links come from the data's parent fields and the curated "
                        "families file; families found by name matching are not exported as "
                        "ownership")
    return out


def validate_entity(proxy: Any) -> None:
    """Raise ExportError unless the entity survives the model: schema, required properties,
    and every value unchanged by the model's own cleaning."""
    from followthemoney import model

    data = proxy.to_dict()
    schema = model.get(data["schema"])
    if schema is None or schema.abstract:
        raise ExportError(f"{proxy.id}: not a concrete FtM schema {data['schema']!r}")
    missing = [p for p in schema.required if not proxy.get(p)]
    if missing:
        raise ExportError(f"{proxy.id} ({schema.name}): missing required {missing}")
    again = model.get_proxy(data, cleaned=False)
    if again.to_dict()["properties"] != data["properties"]:
        raise ExportError(f"{proxy.id} ({schema.name}): values change when re-cleaned")


def export_ftm(catalog: Catalog, out: IO[str], f: Filters, policy: str = "keep"
               ) -> ExportReport:
    """Newline-delimited FtM JSON (the format `ftm` and Aleph's `alephclient` read)."""
    if not catalog.loads:
        raise LookupError("the store is empty: run `contractwatch ingest` first")
    report = ExportReport()
    entities = list(ftm_entities(catalog, f, policy, report))
    ids = {e.id for e in entities}
    for e in entities:
        validate_entity(e)
        for prop in e.schema.properties.values():
            if prop.type.name == "entity":
                for ref in e.get(prop):
                    if ref not in ids:
                        raise ExportError(f"{e.id}: {prop.name} points to a missing entity")
    for e in entities:
        out.write(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
        report.counts[e.schema.name] = report.counts.get(e.schema.name, 0) + 1
    if report.counts.get("individuals"):
        report.notes.append(f"{report.counts['individuals']} recipients the data marks as "
                            "individuals were written as LegalEntity with the recorded name only")
    return report
